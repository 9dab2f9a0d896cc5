/* The C reference interpreter for network descriptions.
 *
 * Like the former course engine (tests/course_oracle.c) it follows the semantics literally, one add at a
 * time in int64 so that the exact sum is known before it is saturated or
 * wrapped to the register's width. Each MAC layer gets a plan once per run
 * (weights in reduction order, tap offsets), shared read-only by the threads;
 * images are split between threads. */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accsim/network.h"

/* ---- TFLite fixed-point arithmetic (gemmlowp fixedpoint.h, common.h) ---- */

int32_t accsim_srdhm(int32_t a, int32_t b)
{
    bool overflow = a == b && a == INT32_MIN;
    int64_t ab = (int64_t)a * (int64_t)b;
    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    int32_t high = (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* truncating division */
    return overflow ? INT32_MAX : high;
}

int32_t accsim_rounding_divide_by_pot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t accsim_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift)
{
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    /* x * (1 << left) in int32: wraps here where TFLite's would overflow. */
    int32_t shifted = (int32_t)((uint32_t)x << left);
    return accsim_rounding_divide_by_pot(accsim_srdhm(shifted, multiplier), right);
}

int32_t accsim_mbqm_smaller_than_one_exp(int32_t x, int32_t multiplier, int left_shift)
{
    return accsim_rounding_divide_by_pot(accsim_srdhm(x, multiplier), -left_shift);
}

/* ---- Registers ------------------------------------------------------------ */

typedef struct reg {
    int64_t lo, hi;
    int bits;
    bool wrap;
} reg;

typedef struct stats {
    uint32_t events;
    int32_t pmin, pmax; /* every value held (registers start at 0) */
    int32_t omin, omax; /* final accumulators */
    /* Histograms (SPEC 7), NULL when not asked for. */
    accsim_layer_hist *h;          /* outputs and peaks */
    accsim_layer_hist *ph;         /* every held value (forces one add at a time) */
    accsim_lin_range out_range, peak_range, psum_range;
} stats;

static inline uint32_t lin_bin(int64_t v, accsim_lin_range r)
{
    if (v < r.lo)
        return 0;
    uint64_t bin = (uint64_t)(v - r.lo) >> r.shift;
    return bin < ACCSIM_LIN_BINS - 1 ? (uint32_t)bin : ACCSIM_LIN_BINS - 1;
}

static inline int32_t wrap_to(int64_t v, int bits)
{
    uint64_t shifted = (uint64_t)v << (64 - bits);
    return (int32_t)((int64_t)shifted >> (64 - bits));
}

static inline int32_t radd(const reg *r, stats *st, int32_t acc, int64_t term)
{
    int64_t exact = (int64_t)acc + term;
    int32_t held;
    if (exact < r->lo || exact > r->hi) {
        st->events++;
        held = r->wrap ? wrap_to(exact, r->bits) : (int32_t)(exact < r->lo ? r->lo : r->hi);
    } else {
        held = (int32_t)exact;
    }
    if (held < st->pmin)
        st->pmin = held;
    if (held > st->pmax)
        st->pmax = held;
    if (st->ph) {
        st->ph->psum_bits[accsim_bits_needed(held)]++;
        st->ph->psum_lin[lin_bin(held, st->psum_range)]++;
    }
    return held;
}

static reg make_reg(int bits, accsim_overflow overflow)
{
    return (reg){.lo = -((int64_t)1 << (bits - 1)), .hi = ((int64_t)1 << (bits - 1)) - 1,
                 .bits = bits, .wrap = overflow == ACCSIM_WRAP};
}

/* ---- Plans ---------------------------------------------------------------- */

typedef struct mac_plan {
    int R;             /* reduction positions per output */
    int32_t *w;        /* [c_out][R] in reduction order */
    int *dy, *dx;      /* [R] tap position in the window (conv) */
    ptrdiff_t *off;    /* [R] input offset from the window origin, group 0 */
    int64_t *wsum;     /* [c_out] sum of the weights over all taps */
    ptrdiff_t group_stride;
    reg inner, outer;  /* tile register, outer (or only) register */
} mac_plan;

static void plan_free(mac_plan *p)
{
    free(p->w);
    free(p->dy);
    free(p->dx);
    free(p->off);
    free(p->wsum);
}

static int plan_build(const accsim_network *net, const accsim_op *op, int bits, int bits_out,
                      accsim_overflow overflow, mac_plan *p)
{
    memset(p, 0, sizeof *p);
    const accsim_tensor *in = &net->tensors[op->inputs[0]];
    bool conv = op->kind == ACCSIM_OP_CONV2D;
    int cg = conv ? op->c_in / op->groups : op->c_in;
    int kh = conv ? op->kh : 1, kw = conv ? op->kw : 1;
    size_t R = (size_t)cg * (size_t)kh * (size_t)kw;
    p->R = (int)R;
    p->w = malloc(sizeof(int32_t) * R * (size_t)op->c_out + 1);
    p->dy = malloc(sizeof(int) * R + 1);
    p->dx = malloc(sizeof(int) * R + 1);
    p->off = malloc(sizeof(ptrdiff_t) * R + 1);
    p->wsum = malloc(sizeof(int64_t) * (size_t)op->c_out + 1);
    if (!p->w || !p->dy || !p->dx || !p->off || !p->wsum) {
        plan_free(p);
        return -1;
    }
    bool tiled = op->tile > 0;
    p->inner = make_reg(bits, overflow);
    p->outer = make_reg(tiled ? bits_out : bits, overflow);
    if (!conv) {
        for (size_t r = 0; r < R; r++) {
            p->dy[r] = p->dx[r] = 0;
            p->off[r] = (ptrdiff_t)r;
        }
        for (int o = 0; o < op->c_out; o++) {
            int64_t s = 0;
            for (size_t r = 0; r < R; r++) {
                int32_t w = op->weights[(size_t)o * R + r];
                p->w[(size_t)o * R + r] = w;
                s += w;
            }
            p->wsum[o] = s;
        }
        return 0;
    }
    int H, W, C;
    if (net->layout == ACCSIM_NHWC) {
        H = in->dims[0];
        W = in->dims[1];
        C = in->dims[2];
        p->group_stride = cg;
    } else {
        C = in->dims[0];
        H = in->dims[1];
        W = in->dims[2];
        p->group_stride = (ptrdiff_t)cg * H * W;
    }
    (void)C;
    size_t r = 0;
    /* Reduction order: hwc = ky, kx, c (c innermost); chw = c, ky, kx. */
    for (int a = 0; a < (op->order == ACCSIM_ORDER_HWC ? kh : cg); a++) {
        for (int b = 0; b < (op->order == ACCSIM_ORDER_HWC ? kw : kh); b++) {
            for (int d = 0; d < (op->order == ACCSIM_ORDER_HWC ? cg : kw); d++, r++) {
                int ky, kx, c;
                if (op->order == ACCSIM_ORDER_HWC) {
                    ky = a, kx = b, c = d;
                } else {
                    c = a, ky = b, kx = d;
                }
                p->dy[r] = ky;
                p->dx[r] = kx;
                p->off[r] = net->layout == ACCSIM_NHWC
                                ? ((ptrdiff_t)ky * W + kx) * in->dims[2] + c
                                : (ptrdiff_t)c * H * W + (ptrdiff_t)ky * W + kx;
                for (int o = 0; o < op->c_out; o++) {
                    /* Stored weights: NHWC [o][ky][kx][c], NCHW [o][c][ky][kx]. */
                    size_t widx = net->layout == ACCSIM_NHWC
                                      ? (((size_t)o * kh + ky) * kw + kx) * cg + c
                                      : (((size_t)o * cg + c) * kh + ky) * kw + kx;
                    p->w[(size_t)o * R + r] = op->weights[widx];
                }
            }
        }
    }
    for (int o = 0; o < op->c_out; o++) {
        int64_t s = 0;
        for (size_t k = 0; k < R; k++)
            s += p->w[(size_t)o * R + k];
        p->wsum[o] = s;
    }
    return 0;
}

/* ---- Ops ------------------------------------------------------------------ */

static inline int8_t clamp8(int64_t v, int lo, int hi)
{
    return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

static inline int8_t requantize(const accsim_op *op, int o, int32_t acc, int zp)
{
    if (op->requant.kind == ACCSIM_REQ_FLOAT) {
        double x = (double)acc * op->requant.scale[o];
        if (op->requant.float32) /* one float32 product (the scale is a float32 value) */
            x = (double)((float)acc * (float)op->requant.scale[o]);
        double r = (op->requant.rounding == ACCSIM_ROUND_HALF_AWAY ? round(x) : nearbyint(x)) + zp;
        return (int8_t)(r < op->clamp_lo ? op->clamp_lo : r > op->clamp_hi ? op->clamp_hi : r);
    }
    int64_t r = (int64_t)accsim_multiply_by_quantized_multiplier(acc, op->requant.multiplier[o],
                                                                  op->requant.shift[o]) + zp;
    return clamp8(r, op->clamp_lo, op->clamp_hi);
}

int8_t accsim_network_requantize(const accsim_network *net, const accsim_op *op, int o,
                                 int32_t acc)
{
    return requantize(op, o, acc, net->tensors[op->output].zero_point);
}

/* Adds the products of reduction positions [r0, r1) into acc through register
 * rg. Fast path: the running sum in int64 with its extremes; when it never
 * left the register's range, no add saturated or wrapped and the values held
 * were exactly those running sums. Otherwise the positions are redone one add
 * at a time. Either way the result and statistics are those of the one-add-
 * at-a-time definition. */
static inline int32_t sum_range(const accsim_op *op, const mac_plan *p, const reg *rg, stats *st,
                                int32_t acc, const int8_t *in, ptrdiff_t base, bool interior,
                                int iy0, int ix0, int H, int W, int z, const int32_t *w, int r0,
                                int r1)
{
    const bool per_product = op->zp_mode == ACCSIM_ZP_PER_PRODUCT;
    const int zsub = per_product ? z : 0;
    const ptrdiff_t *off = p->off;
    /* With partial-sum histograms every held value is recorded: one add at a time. */
    if (!st->ph) {
        int64_t s = acc, mn = acc, mx = acc;
        if (interior) {
            for (int r = r0; r < r1; r++) {
                s += (int32_t)(in[base + off[r]] - zsub) * w[r];
                mn = s < mn ? s : mn;
                mx = s > mx ? s : mx;
            }
        } else {
            for (int r = r0; r < r1; r++) {
                int y = iy0 + p->dy[r], x = ix0 + p->dx[r];
                int32_t v;
                if (y >= 0 && y < H && x >= 0 && x < W)
                    v = in[base + off[r]];
                else if (per_product)
                    continue; /* padding tap: no add at all */
                else
                    v = z;
                s += (v - zsub) * w[r];
                mn = s < mn ? s : mn;
                mx = s > mx ? s : mx;
            }
        }
        if (mn >= rg->lo && mx <= rg->hi) {
            if (mn < st->pmin)
                st->pmin = (int32_t)mn;
            if (mx > st->pmax)
                st->pmax = (int32_t)mx;
            return (int32_t)s;
        }
    }
    for (int r = r0; r < r1; r++) {
        int32_t v;
        if (interior) {
            v = in[base + off[r]];
        } else {
            int y = iy0 + p->dy[r], x = ix0 + p->dx[r];
            if (y >= 0 && y < H && x >= 0 && x < W)
                v = in[base + off[r]];
            else if (per_product)
                continue;
            else
                v = z;
        }
        acc = radd(rg, st, acc, (v - zsub) * w[r]);
    }
    return acc;
}

/* One output's accumulation. in is the whole input tensor, base the window
 * origin's offset (may be negative at borders: only valid taps are read). */
static inline int32_t mac_output(const accsim_op *op, const mac_plan *p, const int8_t *in,
                                 ptrdiff_t base, bool interior, int iy0, int ix0, int H, int W,
                                 int z, int o, stats *st)
{
    const int32_t *w = p->w + (size_t)o * (size_t)p->R;
    const int R = p->R;
    int32_t outer = 0;
    /* Histograms need this output's peak: its held values start from 0. */
    int32_t layer_pmin = st->pmin, layer_pmax = st->pmax;
    if (st->h)
        st->pmin = st->pmax = 0;
    if (op->bias && op->bias_first)
        outer = radd(&p->outer, st, outer, op->bias[o]);
    if (op->zp_mode == ACCSIM_ZP_FOLDED_FIRST)
        outer = radd(&p->outer, st, outer, -(int64_t)z * p->wsum[o]);
    if (op->tile == 0) {
        outer = sum_range(op, p, &p->outer, st, outer, in, base, interior, iy0, ix0, H, W, z, w,
                          0, R);
    } else {
        for (int r0 = 0; r0 < R; r0 += op->tile) {
            int r1 = R - r0 < op->tile ? R : r0 + op->tile;
            int32_t t = sum_range(op, p, &p->inner, st, 0, in, base, interior, iy0, ix0, H, W, z,
                                  w, r0, r1);
            outer = radd(&p->outer, st, outer, t);
        }
    }
    if (op->zp_mode == ACCSIM_ZP_FOLDED_LAST)
        outer = radd(&p->outer, st, outer, -(int64_t)z * p->wsum[o]);
    if (op->bias && !op->bias_first)
        outer = radd(&p->outer, st, outer, op->bias[o]);
    if (outer < st->omin)
        st->omin = outer;
    if (outer > st->omax)
        st->omax = outer;
    if (st->h) {
        accsim_layer_hist *h = st->h;
        int32_t pmin = st->pmin, pmax = st->pmax;
        int bmin = accsim_bits_needed(pmin), bmax = accsim_bits_needed(pmax);
        int64_t magnitude = -(int64_t)pmin > pmax ? -(int64_t)pmin : pmax;
        h->out_bits[accsim_bits_needed(outer)]++;
        h->out_lin[lin_bin(outer, st->out_range)]++;
        h->peak_bits[bmin > bmax ? bmin : bmax]++;
        h->peak_lin[lin_bin(magnitude, st->peak_range)]++;
        st->pmin = pmin < layer_pmin ? pmin : layer_pmin;
        st->pmax = pmax > layer_pmax ? pmax : layer_pmax;
    }
    return outer;
}

static void run_conv(const accsim_network *net, const accsim_op *op, const mac_plan *plan,
                     const int8_t *in, int8_t *out, stats *st_out)
{
    stats st = *st_out;
    const accsim_tensor *ti = &net->tensors[op->inputs[0]], *to = &net->tensors[op->output];
    bool nhwc = net->layout == ACCSIM_NHWC;
    int H = nhwc ? ti->dims[0] : ti->dims[1], W = nhwc ? ti->dims[1] : ti->dims[2];
    int C = nhwc ? ti->dims[2] : ti->dims[0];
    int OH = nhwc ? to->dims[0] : to->dims[1], OW = nhwc ? to->dims[1] : to->dims[2];
    int z = ti->zero_point, zout = to->zero_point;
    int per_group = op->c_out / op->groups;
    for (int o = 0; o < op->c_out; o++) {
        ptrdiff_t gbase = (ptrdiff_t)(o / per_group) * plan->group_stride;
        for (int oy = 0; oy < OH; oy++) {
            int iy0 = oy * op->sh - op->pad_top;
            for (int ox = 0; ox < OW; ox++) {
                int ix0 = ox * op->sw - op->pad_left;
                bool interior = iy0 >= 0 && ix0 >= 0 && iy0 + op->kh <= H && ix0 + op->kw <= W;
                ptrdiff_t base = gbase + (nhwc ? ((ptrdiff_t)iy0 * W + ix0) * C
                                               : (ptrdiff_t)iy0 * W + ix0);
                int32_t acc = mac_output(op, plan, in, base, interior, iy0, ix0, H, W, z, o, &st);
                size_t oi = nhwc ? ((size_t)oy * OW + ox) * op->c_out + o
                                 : ((size_t)o * OH + oy) * OW + ox;
                out[oi] = requantize(op, o, acc, zout);
            }
        }
    }
    *st_out = st;
}

static void run_fc(const accsim_network *net, const accsim_op *op, const mac_plan *plan,
                   const int8_t *in, int8_t *out, stats *st_out)
{
    stats st = *st_out;
    int z = net->tensors[op->inputs[0]].zero_point, zout = net->tensors[op->output].zero_point;
    for (int o = 0; o < op->c_out; o++) {
        int32_t acc = mac_output(op, plan, in, 0, true, 0, 0, 1, 1, z, o, &st);
        out[o] = requantize(op, o, acc, zout);
    }
    *st_out = st;
}

static void run_pool(const accsim_network *net, const accsim_op *op, const int8_t *in, int8_t *out)
{
    const accsim_tensor *ti = &net->tensors[op->inputs[0]], *to = &net->tensors[op->output];
    bool nhwc = net->layout == ACCSIM_NHWC;
    int H = nhwc ? ti->dims[0] : ti->dims[1], W = nhwc ? ti->dims[1] : ti->dims[2];
    int C = nhwc ? ti->dims[2] : ti->dims[0];
    int OH = nhwc ? to->dims[0] : to->dims[1], OW = nhwc ? to->dims[1] : to->dims[2];
    for (int c = 0; c < C; c++) {
        for (int oy = 0; oy < OH; oy++) {
            int iy0 = oy * op->sh - op->pad_top;
            int y0 = iy0 < 0 ? 0 : iy0, y1 = iy0 + op->kh > H ? H : iy0 + op->kh;
            for (int ox = 0; ox < OW; ox++) {
                int ix0 = ox * op->sw - op->pad_left;
                int x0 = ix0 < 0 ? 0 : ix0, x1 = ix0 + op->kw > W ? W : ix0 + op->kw;
                int32_t m = INT32_MIN, sum = 0, count = 0;
                for (int y = y0; y < y1; y++) {
                    for (int x = x0; x < x1; x++) {
                        int32_t v = in[nhwc ? ((size_t)y * W + x) * C + c
                                            : ((size_t)c * H + y) * W + x];
                        if (v > m)
                            m = v;
                        sum += v;
                        count++;
                    }
                }
                int32_t r;
                if (op->kind == ACCSIM_OP_MAX_POOL)
                    r = m;
                else /* TFLite: round half away from zero, C division */
                    r = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                size_t oi = nhwc ? ((size_t)oy * OW + ox) * C + c : ((size_t)c * OH + oy) * OW + ox;
                out[oi] = clamp8(r, op->clamp_lo, op->clamp_hi);
            }
        }
    }
}

/* onnxruntime's QLinearAdd (MlasQLinearAddKernelAvx2Helper) on raw values
 * x + k: two fused multiply-adds in float32, the offset holding the zero
 * points, rounded half to even; bounded before the conversion (the op's clamp
 * follows). fmaf is correctly rounded, as the AVX2 instruction. */
static int64_t add_float32(const accsim_op *op, int a, int b)
{
    const int k = op->add_value_offset;
    float t = fmaf((float)(b + k), (float)op->add_scales[1], (float)op->add_offset);
    t = fmaf((float)(a + k), (float)op->add_scales[0], t);
    float r = nearbyintf(t);
    return r < -1000.0f ? -1000 : r > 1000.0f ? 1000 : (int64_t)r - k;
}

static void run_add(const accsim_network *net, const accsim_op *op, const int8_t *a,
                    const int8_t *b, int8_t *out)
{
    const accsim_tensor *to = &net->tensors[op->output];
    int za = net->tensors[op->inputs[0]].zero_point, zb = net->tensors[op->inputs[1]].zero_point;
    int zo = to->zero_point;
    for (size_t i = 0; i < to->count; i++) {
        int64_t r;
        if (op->add_fixed) {
            int32_t va = (int32_t)((a[i] - za) * (1 << op->add_left_shift));
            int32_t vb = (int32_t)((b[i] - zb) * (1 << op->add_left_shift));
            va = accsim_mbqm_smaller_than_one_exp(va, op->add_in_mult[0], op->add_in_shift[0]);
            vb = accsim_mbqm_smaller_than_one_exp(vb, op->add_in_mult[1], op->add_in_shift[1]);
            r = (int64_t)accsim_mbqm_smaller_than_one_exp(va + vb, op->add_out_mult,
                                                          op->add_out_shift) + zo;
        } else if (op->add_float32) {
            r = add_float32(op, a[i], b[i]);
        } else {
            double v = nearbyint(op->add_scales[0] * (a[i] - za) + op->add_scales[1] * (b[i] - zb));
            r = v < -1000 ? -1000 : v > 1000 ? 1000 : (int64_t)v + zo;
        }
        out[i] = clamp8(r, op->clamp_lo, op->clamp_hi);
    }
}

/* ---- Running -------------------------------------------------------------- */

size_t accsim_network_input_count(const accsim_network *net)
{
    return net->tensors[net->input].count;
}

size_t accsim_network_output_count(const accsim_network *net)
{
    return net->tensors[net->output].count;
}

int accsim_network_mac_position(const accsim_network *net, int layer)
{
    return layer >= 0 && layer < net->mac_count ? net->mac_pos[layer] : 0;
}

int accsim_network_result_init(accsim_network_result *res, const accsim_network *net,
                               size_t count, accsim_error *err)
{
    memset(res, 0, sizeof *res);
    res->count = count;
    res->mac_count = net->mac_count;
    res->output_count = net->tensors[net->output].count;
    size_t n = count ? count : 1, m = n * (size_t)(net->mac_count ? net->mac_count : 1);
    res->outputs = calloc(n, res->output_count ? res->output_count : 1);
    res->predictions = calloc(n, sizeof(uint32_t));
    res->saturations = calloc(m, sizeof(uint32_t));
    res->out_min = calloc(m, sizeof(int32_t));
    res->out_max = calloc(m, sizeof(int32_t));
    res->psum_min = calloc(m, sizeof(int32_t));
    res->psum_max = calloc(m, sizeof(int32_t));
    res->hist = calloc((size_t)(net->mac_count ? net->mac_count : 1), sizeof *res->hist);
    if (!res->outputs || !res->predictions || !res->saturations || !res->out_min ||
        !res->out_max || !res->psum_min || !res->psum_max || !res->hist) {
        accsim_network_result_free(res);
        return accsim_fail(err, "out of memory for the results of %zu images", count);
    }
    return 0;
}

void accsim_network_result_free(accsim_network_result *res)
{
    if (!res)
        return;
    free(res->outputs);
    free(res->predictions);
    free(res->saturations);
    free(res->out_min);
    free(res->out_max);
    free(res->psum_min);
    free(res->psum_max);
    free(res->hist);
    memset(res, 0, sizeof *res);
}

/* Where each MAC layer runs and what is live just before it (the restart
 * state): tensors produced before it (or the input) and read at or after it
 * (the network output counts as read at the end). */
typedef struct live_plan {
    int *pos;        /* [mac_count] exec position of each MAC layer */
    int *tensors;    /* [mac_count][tensor_count] live tensor lists (tensor order) */
    int *ntensors;   /* [mac_count] */
    size_t *bytes;   /* [mac_count] */
} live_plan;

static void live_free(live_plan *lp)
{
    free(lp->pos);
    free(lp->tensors);
    free(lp->ntensors);
    free(lp->bytes);
}

static int live_build(const accsim_network *net, live_plan *lp)
{
    size_t M = (size_t)(net->mac_count ? net->mac_count : 1), T = (size_t)net->tensor_count;
    lp->pos = calloc(M, sizeof(int));
    lp->tensors = calloc(M * T + 1, sizeof(int));
    lp->ntensors = calloc(M, sizeof(int));
    lp->bytes = calloc(M, sizeof(size_t));
    int *opos = calloc((size_t)net->op_count + 1, sizeof(int));
    int *last_read = calloc(T + 1, sizeof(int));
    if (!lp->pos || !lp->tensors || !lp->ntensors || !lp->bytes || !opos || !last_read) {
        free(opos);
        free(last_read);
        live_free(lp);
        return -1;
    }
    for (int k = 0; k < net->op_count; k++)
        opos[net->exec_order[k]] = k;
    for (size_t t = 0; t < T; t++)
        last_read[t] = -1;
    for (int k = 0; k < net->op_count; k++) {
        const accsim_op *op = &net->ops[net->exec_order[k]];
        for (int a = 0; a < op->input_count; a++)
            last_read[op->inputs[a]] = k;
    }
    last_read[net->output] = net->op_count;
    for (int m = 0; m < net->mac_count; m++) {
        int k = opos[net->mac_ops[m]];
        lp->pos[m] = k;
        for (size_t t = 0; t < T; t++) {
            int prod = net->tensors[t].producer;
            bool produced = (int)t == net->input || (prod >= 0 && opos[prod] < k);
            if (produced && last_read[t] >= k) {
                lp->tensors[(size_t)m * T + (size_t)lp->ntensors[m]++] = (int)t;
                lp->bytes[m] += net->tensors[t].count;
            }
        }
    }
    free(opos);
    free(last_read);
    return 0;
}

int accsim_network_restart_sizes(const accsim_network *net, size_t *bytes)
{
    live_plan lp = {0};
    if (live_build(net, &lp) != 0)
        return -1;
    for (int m = 0; m < net->mac_count; m++)
        bytes[m] = lp.bytes[m];
    live_free(&lp);
    return 0;
}

int accsim_network_restart_tensors(const accsim_network *net, int layer, int *tensors)
{
    live_plan lp = {0};
    if (layer < 0 || layer >= net->mac_count || live_build(net, &lp) != 0)
        return -1;
    int n = lp.ntensors[layer];
    memcpy(tensors, lp.tensors + (size_t)layer * (size_t)net->tensor_count, (size_t)n * sizeof *tensors);
    live_free(&lp);
    return n;
}

size_t accsim_network_restart_bytes(const accsim_network *net, int layer)
{
    live_plan lp = {0};
    if (layer < 0 || layer >= net->mac_count || live_build(net, &lp) != 0)
        return 0;
    size_t bytes = lp.bytes[layer];
    live_free(&lp);
    return bytes;
}

typedef struct run_shared {
    const accsim_network *net;
    const accsim_network_config *cfg;
    const int8_t *inputs;
    mac_plan *plans;  /* [op_count], MAC ops only */
    size_t *offsets;  /* [tensor_count] arena offsets (the input has one too, for restarts) */
    size_t arena_size;
    live_plan live;
    int start_pos;    /* exec position the run starts at */
    accsim_network_result *res;
    pthread_mutex_t *progress_lock;
} run_shared;

typedef struct worker {
    pthread_t thread;
    const run_shared *sh;
    size_t first, end;
    accsim_layer_hist *hist; /* [mac_count] this thread's, or NULL */
    int failed;
    bool started;
} worker;

static void run_image(const run_shared *sh, int8_t *arena, size_t i, accsim_layer_hist *hist)
{
    const accsim_network *net = sh->net;
    const accsim_network_config *cfg = sh->cfg;
    size_t in_count = net->tensors[net->input].count;
    const int8_t *input = NULL;
    accsim_network_result *res = sh->res;
    const size_t T = (size_t)net->tensor_count;
    if (sh->start_pos > 0) {
        /* Restart: the live tensors from start_acts, in tensor order. */
        int m = cfg->start_layer;
        const int8_t *src = cfg->start_acts + i * sh->live.bytes[m];
        for (int k = 0; k < sh->live.ntensors[m]; k++) {
            int t = sh->live.tensors[(size_t)m * T + (size_t)k];
            memcpy(arena + sh->offsets[t], src, net->tensors[t].count);
            src += net->tensors[t].count;
        }
        input = arena + sh->offsets[net->input];
    } else {
        input = sh->inputs + (size_t)(cfg->indices ? cfg->indices[i] : i) * in_count;
    }
#define TENSOR(t) ((t) == net->input ? input : arena + sh->offsets[t])
    for (int k = sh->start_pos; k < net->op_count; k++) {
        const accsim_op *op = &net->ops[net->exec_order[k]];
        const int8_t *in = TENSOR(op->inputs[0]);
        int8_t *out = arena + sh->offsets[op->output];
        switch (op->kind) {
        case ACCSIM_OP_CONV2D:
        case ACCSIM_OP_FULLY_CONNECTED: {
            int m = op->mac_index;
            if (cfg->capture) {
                int8_t *dst = res->acts[m] + i * sh->live.bytes[m];
                for (int a = 0; a < sh->live.ntensors[m]; a++) {
                    int t = sh->live.tensors[(size_t)m * T + (size_t)a];
                    memcpy(dst, TENSOR(t), net->tensors[t].count);
                    dst += net->tensors[t].count;
                }
            }
            stats st = {.events = 0, .pmin = 0, .pmax = 0, .omin = INT32_MAX, .omax = INT32_MIN};
            if (hist && cfg->histograms) {
                st.h = &hist[m];
                st.out_range = cfg->out_range[m];
                st.peak_range = cfg->peak_range[m];
            }
            if (hist && cfg->psum_histograms) {
                st.ph = &hist[m];
                st.psum_range = cfg->psum_range[m];
            }
            const mac_plan *plan = &sh->plans[net->exec_order[k]];
            if (op->kind == ACCSIM_OP_CONV2D)
                run_conv(net, op, plan, in, out, &st);
            else
                run_fc(net, op, plan, in, out, &st);
            size_t s = i * (size_t)net->mac_count + (size_t)m;
            res->saturations[s] = st.events;
            res->psum_min[s] = st.pmin;
            res->psum_max[s] = st.pmax;
            res->out_min[s] = st.omin;
            res->out_max[s] = st.omax;
            break;
        }
        case ACCSIM_OP_MAX_POOL:
        case ACCSIM_OP_AVG_POOL:
            run_pool(net, op, in, out);
            break;
        case ACCSIM_OP_ADD:
            run_add(net, op, in, TENSOR(op->inputs[1]), out);
            break;
        case ACCSIM_OP_CLAMP: {
            size_t n = net->tensors[op->output].count;
            for (size_t e = 0; e < n; e++)
                out[e] = clamp8(in[e], op->clamp_lo, op->clamp_hi);
            break;
        }
        case ACCSIM_OP_RESHAPE:
            memcpy(out, in, net->tensors[op->output].count);
            break;
        }
    }
    const int8_t *o = TENSOR(net->output);
#undef TENSOR
    size_t n = res->output_count;
    memcpy(res->outputs + i * n, o, n);
    uint32_t best = 0;
    for (size_t c = 1; c < n; c++)
        if (o[c] > o[best])
            best = (uint32_t)c;
    res->predictions[i] = best;
}

static void *work(void *arg)
{
    worker *w = arg;
    int8_t *arena = malloc(w->sh->arena_size + 1);
    if (!arena) {
        w->failed = 1;
        return NULL;
    }
    accsim_progress *progress = w->sh->cfg->progress;
    size_t reported = w->first;
    for (size_t i = w->first; i < w->end; i++) {
        run_image(w->sh, arena, i, w->hist);
        if (progress && (i + 1 - reported >= 64 || i + 1 == w->end)) {
            pthread_mutex_lock(w->sh->progress_lock);
            accsim_progress_advance(progress, i + 1 - reported);
            pthread_mutex_unlock(w->sh->progress_lock);
            reported = i + 1;
        }
    }
    free(arena);
    return NULL;
}

int accsim_network_check_run(const accsim_network *net, const accsim_network_config *cfg,
                             size_t count, const accsim_network_result *res, accsim_error *err)
{
    if (res->count != count || res->mac_count != net->mac_count ||
        res->output_count != net->tensors[net->output].count)
        return accsim_fail(err, "network run: the result was not made for this network and count");
    if (cfg->overflow != ACCSIM_SATURATE && cfg->overflow != ACCSIM_WRAP)
        return accsim_fail(err, "unknown overflow mode %d", (int)cfg->overflow);
    for (int m = 0; m < net->mac_count; m++) {
        const char *name = net->ops[net->mac_ops[m]].name;
        if (!cfg->bits || cfg->bits[m] < 2 || cfg->bits[m] > 32)
            return accsim_fail(err, "accumulator width of MAC layer %d (%s): %d is outside 2..32",
                               m, name, cfg->bits ? cfg->bits[m] : 0);
        if (cfg->bits_out && (cfg->bits_out[m] < 2 || cfg->bits_out[m] > 32))
            return accsim_fail(err, "outer register width of MAC layer %d (%s): %d is outside 2..32",
                               m, name, cfg->bits_out[m]);
    }
    if ((cfg->histograms && (!cfg->out_range || !cfg->peak_range)) ||
        (cfg->psum_histograms && !cfg->psum_range))
        return accsim_fail(err, "network run: histograms need their ranges");
    if (cfg->start_layer < 0 || (cfg->start_layer > 0 && cfg->start_layer >= net->mac_count))
        return accsim_fail(err, "start layer %d is outside 0..%d", cfg->start_layer,
                           net->mac_count - 1);
    if (cfg->start_layer > 0 && !cfg->start_acts)
        return accsim_fail(err, "start layer %s needs its restart state",
                           net->ops[net->mac_ops[cfg->start_layer]].name);
    return 0;
}

int accsim_network_run(const accsim_network *net, const accsim_network_config *cfg,
                       const int8_t *inputs, size_t count, accsim_network_result *res,
                       accsim_error *err)
{
    if (accsim_network_check_run(net, cfg, count, res, err) != 0)
        return -1;
    run_shared sh = {.net = net, .cfg = cfg, .inputs = inputs, .res = res};
    sh.plans = calloc((size_t)net->op_count, sizeof *sh.plans);
    sh.offsets = calloc((size_t)net->tensor_count, sizeof *sh.offsets);
    if (!sh.plans || !sh.offsets || live_build(net, &sh.live) != 0) {
        free(sh.plans);
        free(sh.offsets);
        return accsim_fail(err, "out of memory");
    }
    sh.start_pos = cfg->start_layer > 0 ? sh.live.pos[cfg->start_layer] : 0;
    if (cfg->capture) {
        for (int m = 0; m < net->mac_count; m++)
            if (sh.live.pos[m] >= sh.start_pos && !res->acts[m] && count > 0) {
                live_free(&sh.live);
                free(sh.plans);
                free(sh.offsets);
                return accsim_fail(err, "network run: no buffer to capture %s's restart state",
                                   net->ops[net->mac_ops[m]].name);
            }
    }
    for (int t = 0; t < net->tensor_count; t++) {
        sh.offsets[t] = sh.arena_size;
        sh.arena_size += net->tensors[t].count;
    }
    int rc = 0;
    uint64_t macs = 0;
    for (int k = 0; k < net->op_count && rc == 0; k++) {
        const accsim_op *op = &net->ops[k];
        if (op->mac_index < 0)
            continue;
        int b = cfg->bits[op->mac_index];
        int bo = cfg->bits_out ? cfg->bits_out[op->mac_index] : b;
        if (plan_build(net, op, b, bo, cfg->overflow, &sh.plans[k]) != 0)
            rc = accsim_fail(err, "out of memory");
        else if (sh.live.pos[op->mac_index] >= sh.start_pos)
            macs += (uint64_t)sh.plans[k].R * net->tensors[op->output].count;
    }
    bool want_hist = cfg->histograms || cfg->psum_histograms;
    size_t hist_layers = (size_t)(net->mac_count ? net->mac_count : 1);
    if (res->hist)
        memset(res->hist, 0, hist_layers * sizeof *res->hist);
    pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;
    sh.progress_lock = &progress_lock;
    if (rc == 0 && count > 0) {
        /* A thread per core, but at least about a million MACs each: the
         * search makes thousands of runs of a few images through the last
         * layers, where starting threads costs more than the work. */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        size_t threads = cfg->threads > 0 ? (size_t)cfg->threads
                         : cores < 1      ? 1
                         : cores > 64     ? 64
                                          : (size_t)cores;
        uint64_t total = macs * count;
        if (cfg->threads <= 0 && threads > total / 1000000)
            threads = total / 1000000 ? (size_t)(total / 1000000) : 1;
        if (threads > count)
            threads = count;
        worker *workers = calloc(threads, sizeof *workers);
        accsim_layer_hist *hists =
            want_hist ? calloc(threads * hist_layers, sizeof *hists) : NULL;
        if (!workers || (want_hist && !hists)) {
            rc = accsim_fail(err, "out of memory");
        } else {
            for (size_t t = 0; t < threads; t++) {
                worker *w = &workers[t];
                *w = (worker){.sh = &sh, .first = count * t / threads,
                              .end = count * (t + 1) / threads,
                              .hist = hists ? hists + t * hist_layers : NULL};
                w->started = t > 0 && pthread_create(&w->thread, NULL, work, w) == 0;
            }
            int failed = 0;
            for (size_t t = 0; t < threads; t++) {
                if (workers[t].started)
                    pthread_join(workers[t].thread, NULL);
                else
                    work(&workers[t]);
                failed |= workers[t].failed;
            }
            if (failed)
                rc = accsim_fail(err, "out of memory in the network interpreter");
            /* Integer sums: the same bits in any order. */
            for (size_t t = 0; hists && res->hist && t < threads; t++) {
                const uint64_t *src = (const uint64_t *)(hists + t * hist_layers);
                uint64_t *dst = (uint64_t *)res->hist;
                size_t n = hist_layers * sizeof(accsim_layer_hist) / sizeof(uint64_t);
                for (size_t b = 0; b < n; b++)
                    dst[b] += src[b];
            }
        }
        free(workers);
        free(hists);
    }
    pthread_mutex_destroy(&progress_lock);
    for (int k = 0; k < net->op_count; k++)
        plan_free(&sh.plans[k]);
    live_free(&sh.live);
    free(sh.plans);
    free(sh.offsets);
    return rc;
}

int accsim_network_quantize_images(const accsim_network *net, const uint8_t *pixels,
                                   size_t count, int8_t *out, accsim_error *err)
{
    const accsim_tensor *t = &net->tensors[net->input];
    const accsim_input_quant *q = &net->quantize;
    if (q->kind == ACCSIM_QUANT_NONE)
        return accsim_fail(err, "%s: the input states no quantize rule for data-set pixels",
                           net->name[0] ? net->name : "network");
    int H, W, C;
    bool nhwc = net->layout == ACCSIM_NHWC;
    if (t->ndim == 3) {
        H = nhwc ? t->dims[0] : t->dims[1];
        W = nhwc ? t->dims[1] : t->dims[2];
        C = nhwc ? t->dims[2] : t->dims[0];
    } else {
        H = C = 1;
        W = (int)t->count; /* a flat input takes the record's bytes in order */
        nhwc = false;
    }
    size_t n = t->count;
    int8_t table[16][256];
    int channels = q->kind == ACCSIM_QUANT_AFFINE ? q->channels : 1;
    for (int c = 0; c < channels; c++) {
        for (int p = 0; p < 256; p++) {
            int64_t v;
            if (q->kind == ACCSIM_QUANT_COURSE) {
                v = accsim_quantize_pixel((uint8_t)p, q->scale);
            } else if (q->kind == ACCSIM_QUANT_OFFSET) {
                v = p + q->offset;
            } else {
                double x = nearbyint(((p / 255.0 - q->mean[c]) / q->std[c]) / q->scale);
                v = x < -1000 ? -1000 : x > 1000 ? 1000 : (int64_t)x + q->zero_point;
            }
            table[c][p] = clamp8(v, -128, 127);
        }
    }
    for (size_t i = 0; i < count; i++) {
        const uint8_t *rec = pixels + i * n;
        int8_t *dst = out + i * n;
        for (int c = 0; c < C; c++) {
            const int8_t *tab = table[channels > 1 ? c : 0];
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    size_t src = ((size_t)c * H + y) * W + x;
                    size_t di = nhwc ? ((size_t)y * W + x) * C + c : src;
                    dst[di] = tab[rec[src]];
                }
        }
    }
    return 0;
}
