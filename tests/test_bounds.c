/* Data-free bounds (host/analysis/bounds.c) against hand-computed values and
 * against brute force over every input in range. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "accsim/bounds.h"
#include "accsim/engine.h"

Test(bounds, hand_computed)
{
    /* One channel, weights 100, -50, 27; inputs -128..127.
     * Products: [-12800, 12700], [-6350, 6400], [-3456, 3429]:
     * lo = -22606, hi = 22529 -> 16 bits. ||w||_1 = 177. */
    const int8_t w[] = {100, -50, 27};
    accsim_mac_shape s = {w, 1, 3, NULL, -128, 127};
    accsim_mac_bounds b;
    accsim_mac_bounds_compute(&s, &b);
    cr_expect_eq(b.safe, 16);
    cr_expect_eq(b.max_l1, 177);
    cr_expect_eq(b.input_bits, 8);
    cr_expect_eq(b.input_signed, 1);
    /* A2Q: alpha = log2(177) + 8 - 1 = 14.467; + log2(1 + 2^-14.467) + 1 -> 16. */
    cr_expect_eq(b.a2q, 16);
    /* data type: log2(3) + 8 + 8 - 1 - 1 = 15.585 -> 17 */
    cr_expect_eq(b.a2q_datatype, 17);
    /* FINN: 128 * 177 = 22656 -> [-22656, 22656] -> 16 bits */
    cr_expect_eq(b.finn, 16);
}

Test(bounds, unsigned_inputs_and_bias)
{
    /* After a ReLU with zero point -128 the multiplicand is 0..255 (8 bits,
     * unsigned); all weights positive: FINN's range starts at 0. */
    const int8_t w[] = {127, 127, 127, 127};
    const int32_t bias[] = {-70000};
    accsim_mac_shape s = {w, 1, 4, bias, 0, 255};
    accsim_mac_bounds b;
    accsim_mac_bounds_compute(&s, &b);
    cr_expect_eq(b.input_bits, 8);
    cr_expect_eq(b.input_signed, 0);
    /* products sum to 0..129540; the bias adds -70000 at one end: [-70000, 129540] -> 18 */
    cr_expect_eq(b.safe, 18);
    /* FINN: [0, 255 * 508 = 129540] -> 18 bits signed */
    cr_expect_eq(b.finn, 18);
    /* A2Q: log2(508) + 8 = 16.99 -> ceil(16.99 + ~0 + 1) = 18 */
    cr_expect_eq(b.a2q, 18);
}

/* The safe width is exact: brute force over every input of a small layer, in
 * the given order, finds a partial sum needing exactly that many bits. */
Test(bounds, safe_width_is_reached)
{
    srand(7);
    for (int trial = 0; trial < 50; trial++) {
        int8_t w[3 * 4];
        for (int i = 0; i < 12; i++)
            w[i] = (int8_t)(rand() % 256 - 128);
        int lo_in = -(rand() % 129), hi_in = rand() % 128;
        accsim_mac_shape s = {w, 3, 4, NULL, lo_in, hi_in};
        accsim_mac_bounds b;
        accsim_mac_bounds_compute(&s, &b);
        int widest = 1;
        for (int o = 0; o < 3; o++) {
            /* The extremes are reached at the range's ends: try all 2^4 corner
             * inputs and every prefix. */
            for (int mask = 0; mask < 16; mask++) {
                int64_t sum = 0;
                for (int r = 0; r < 4; r++) {
                    sum += (int64_t)w[o * 4 + r] * ((mask >> r) & 1 ? hi_in : lo_in);
                    int need = accsim_bits_needed(sum);
                    if (need > widest)
                        widest = need;
                }
            }
        }
        cr_expect_eq(b.safe, widest, "trial %d", trial);
        /* Both peers' bounds are sound (never below the exact worst case). */
        cr_expect_geq(b.finn, b.safe, "trial %d", trial);
        cr_expect_geq(b.a2q, b.safe, "trial %d", trial);
    }
}
