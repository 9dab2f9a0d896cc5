/* Data-free accumulator bounds (include/accsim/bounds.h): accsim's exact
 * worst case and the peers' published formulas, on the same weights. */
#include <assert.h>
#include <math.h>

#include "accsim/bounds.h"
#include "accsim/engine.h"

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

/* Signed width holding every value of [lo, hi]. */
static int signed_width(int64_t lo, int64_t hi)
{
    return max_int(accsim_bits_needed(lo), accsim_bits_needed(hi));
}

/* Bits of the input type: unsigned when no input is negative (0..255 needs
 * 8, 0..127 needs 7), else signed (-128..127 needs 8). */
static void input_type(int lo, int hi, int *bits, int *is_signed)
{
    *is_signed = lo < 0;
    if (*is_signed) {
        *bits = signed_width(lo, hi);
    } else {
        int b = 1;
        while (b < 32 && ((int64_t)1 << b) - 1 < hi)
            b++;
        *bits = b;
    }
}

/* ceil(alpha + log2(1 + 2^-alpha) + 1), Brevitas's closing step. */
static int a2q_width(double alpha)
{
    return (int)ceil(alpha + log2(1.0 + pow(2.0, -alpha)) + 1.0);
}

void accsim_mac_bounds_compute(const accsim_mac_shape *shape, accsim_mac_bounds *out)
{
    assert(shape->input_min <= 0 && shape->input_max >= 0);
    assert(shape->out_channels > 0 && shape->reduction > 0);
    int safe = 1;
    int64_t max_l1 = 0;
    int any_negative_weight = 0;
    for (int o = 0; o < shape->out_channels; o++) {
        const int8_t *w = shape->weights + (size_t)o * (size_t)shape->reduction;
        /* Each product's extremes are at the ends of the input range; because
         * 0 is in the range, the smallest is <= 0 and the largest >= 0, so
         * the prefix sums are monotone in both bounds and every partial sum
         * lies within [lo, hi] of the whole reduction. */
        int64_t lo = 0, hi = 0, l1 = 0;
        for (int r = 0; r < shape->reduction; r++) {
            int64_t a = (int64_t)w[r] * shape->input_min, b = (int64_t)w[r] * shape->input_max;
            lo += a < b ? a : b;
            hi += a > b ? a : b;
            l1 += w[r] < 0 ? -(int64_t)w[r] : w[r];
            any_negative_weight |= w[r] < 0;
        }
        if (shape->bias) {
            /* Before or after the products, the bias widens one end. */
            lo += shape->bias[o] < 0 ? shape->bias[o] : 0;
            hi += shape->bias[o] > 0 ? shape->bias[o] : 0;
        }
        safe = max_int(safe, signed_width(lo, hi));
        if (l1 > max_l1)
            max_l1 = l1;
    }
    out->safe = safe;
    out->max_l1 = max_l1;
    input_type(shape->input_min, shape->input_max, &out->input_bits, &out->input_signed);

    /* Brevitas clamps the norm at 1e-10 so that log2 stays finite. */
    double l1 = max_l1 > 0 ? (double)max_l1 : 1e-10;
    out->a2q = a2q_width(log2(l1) + out->input_bits - out->input_signed);
    out->a2q_datatype = a2q_width(log2((double)shape->reduction) + out->input_bits + 8 -
                                  out->input_signed - 1.0);

    int64_t max_input = -(int64_t)shape->input_min > shape->input_max ? -(int64_t)shape->input_min
                                                                        : shape->input_max;
    int64_t top = max_input * max_l1;
    int64_t bottom = (any_negative_weight || out->input_signed) ? -top : 0;
    out->finn = signed_width(bottom, top);
}
