/* Data-free accumulator bounds: the width a MAC layer needs for ANY input of
 * its input type, from its weights alone. These are what the peers give
 * (Brevitas A2Q, FINN); accsim puts them beside the exact need on real data.
 *
 * One output channel reduces `reduction` products w[r] * x[r], where every
 * multiplicand x lies in [input_min, input_max] (for an asymmetric input, x is
 * the input minus its zero point). */
#ifndef ACCSIM_BOUNDS_H
#define ACCSIM_BOUNDS_H

#include <stddef.h>
#include <stdint.h>

typedef struct accsim_mac_shape {
    const int8_t *weights; /* [out_channels][reduction] */
    int out_channels;
    int reduction;
    const int32_t *bias;   /* [out_channels] or NULL */
    int input_min, input_max; /* the multiplicand's range; input_min <= 0 <= input_max */
} accsim_mac_shape;

typedef struct accsim_mac_bounds {
    /* accsim's safe width: the smallest B at which no input in range makes any
     * partial sum (in any order, bias included) leave the B-bit range. Exact
     * worst case: every prefix of the reduction lies between the sums of the
     * smallest and of the largest products. */
    int safe;
    /* Brevitas A2Q, weight-level bound (Colbert et al., calculate_min_accumulator_bit_width):
     * alpha = log2(max_c ||w_c||_1) + N - s, B = ceil(alpha + log2(1 + 2^-alpha) + 1),
     * N the input bit width, s = 1 for a signed input. Bias excluded. */
    int a2q;
    /* Brevitas A2Q, data-type bound: alpha = log2(K) + N + M - s - 1 with K
     * products of M-bit (8) weights. */
    int a2q_datatype;
    /* FINN's MinimizeAccumulatorWidth (calculate_matvec_accumulator_range):
     * [-max|x| * max_c ||w_c||_1, +max|x| * max_c ||w_c||_1] (lower end 0 when
     * weights and inputs are both non-negative), as a signed width. Bias
     * excluded. */
    int finn;
    int64_t max_l1;   /* max over output channels of sum |w| */
    int input_bits;   /* N: bits of the input type implied by the range */
    int input_signed; /* s */
} accsim_mac_bounds;

void accsim_mac_bounds_compute(const accsim_mac_shape *shape, accsim_mac_bounds *out);

#endif
