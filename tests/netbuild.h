/* Builds accsim_network descriptions in memory, without a manifest: random
 * weights, requantization scaled to keep activations spread. For the network
 * engine's tests and tools/bench_network.c. Ops are added in execution order;
 * accsim_network_free releases the result. */
#ifndef ACCSIM_NETBUILD_H
#define ACCSIM_NETBUILD_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/network.h"

#define NB_MAX_OPS 128

typedef struct nb_rng {
    uint64_t s;
} nb_rng;

static inline uint64_t nb_next(nb_rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}
static inline int nb_in(nb_rng *r, int lo, int hi)
{
    return lo + (int)(nb_next(r) % (uint64_t)(hi - lo + 1));
}

/* Accumulator and requantization options of a MAC layer. */
typedef struct nb_mac {
    int order;   /* 0 hwc, 1 chw, -1 the layout's default */
    int tile;
    int bias;    /* 0 none, 1 first, 2 last */
    int zp_mode; /* accsim_zp_mode */
    bool fixed, per_channel;
    int zout, clamp_lo, clamp_hi;
    double gain; /* scale = gain * 100 / typical |acc| (1 when 0) */
} nb_mac;

static inline void nb_init(accsim_network *net, accsim_layout layout, int ndim, const int *dims,
                           int zero_point)
{
    memset(net, 0, sizeof *net);
    snprintf(net->name, sizeof net->name, "built");
    net->layout = layout;
    net->ops = calloc(NB_MAX_OPS, sizeof *net->ops);
    net->exec_order = calloc(NB_MAX_OPS, sizeof *net->exec_order);
    net->tensors = calloc(NB_MAX_OPS + 1, sizeof *net->tensors);
    net->mac_ops = calloc(NB_MAX_OPS, sizeof *net->mac_ops);
    if (!net->ops || !net->exec_order || !net->tensors || !net->mac_ops)
        abort();
    accsim_tensor *t = &net->tensors[0];
    snprintf(t->name, sizeof t->name, "input");
    t->ndim = ndim;
    t->count = 1;
    for (int i = 0; i < ndim; i++) {
        t->dims[i] = dims[i];
        t->count *= (size_t)dims[i];
    }
    t->zero_point = zero_point;
    t->producer = -1;
    net->tensor_count = 1;
    net->input = 0;
    net->output = 0;
}

/* H, W, C of a 3-D tensor in the layout's order. */
static inline void nb_hwc(const accsim_network *net, int t, int *H, int *W, int *C)
{
    const accsim_tensor *x = &net->tensors[t];
    if (net->layout == ACCSIM_NHWC)
        *H = x->dims[0], *W = x->dims[1], *C = x->dims[2];
    else
        *C = x->dims[0], *H = x->dims[1], *W = x->dims[2];
}

static inline int nb_new_tensor(accsim_network *net, int ndim, const int *dims, int zp, int producer)
{
    if (net->tensor_count > NB_MAX_OPS)
        abort();
    int i = net->tensor_count++;
    accsim_tensor *t = &net->tensors[i];
    snprintf(t->name, sizeof t->name, "t%d", i);
    t->ndim = ndim;
    t->count = 1;
    for (int k = 0; k < ndim; k++) {
        t->dims[k] = dims[k];
        t->count *= (size_t)dims[k];
    }
    t->zero_point = zp;
    t->producer = producer;
    net->output = i;
    return i;
}

static inline int nb_new_tensor3(accsim_network *net, int H, int W, int C, int zp, int producer)
{
    int d[3];
    if (net->layout == ACCSIM_NHWC)
        d[0] = H, d[1] = W, d[2] = C;
    else
        d[0] = C, d[1] = H, d[2] = W;
    return nb_new_tensor(net, 3, d, zp, producer);
}

static inline accsim_op *nb_new_op(accsim_network *net, accsim_op_kind kind, const char *prefix)
{
    if (net->op_count >= NB_MAX_OPS)
        abort();
    int i = net->op_count++;
    accsim_op *op = &net->ops[i];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    snprintf(op->name, sizeof op->name, "%s%d", prefix, i);
    op->mac_index = -1;
    op->clamp_lo = -128;
    op->clamp_hi = 127;
    net->exec_order[i] = i;
    return op;
}

static inline void nb_mac_common(accsim_network *net, nb_rng *rng, accsim_op *op, int R,
                                 const nb_mac *m)
{
    op->mac_index = net->mac_count;
    net->mac_ops[net->mac_count++] = (int)(op - net->ops);
    size_t nw = (size_t)op->c_out * (size_t)R;
    op->weights = malloc(nw + 1);
    for (size_t i = 0; i < nw; i++)
        op->weights[i] = (int8_t)nb_in(rng, -128, 127);
    if (m->bias) {
        op->bias = malloc(sizeof(int32_t) * (size_t)op->c_out);
        for (int o = 0; o < op->c_out; o++)
            op->bias[o] = nb_in(rng, -200000, 200000);
    }
    op->bias_first = m->bias == 1;
    op->tile = m->tile;
    op->zp_mode = (accsim_zp_mode)m->zp_mode;
    op->order = m->order < 0 ? (net->layout == ACCSIM_NHWC ? ACCSIM_ORDER_HWC : ACCSIM_ORDER_CHW)
                             : (accsim_acc_order)m->order;
    op->clamp_lo = m->clamp_lo;
    op->clamp_hi = m->clamp_hi;
    double typical = sqrt((double)R) * 128 * 74;
    double gain = m->gain > 0 ? m->gain : 1;
    op->requant.kind = m->fixed ? ACCSIM_REQ_FIXED : ACCSIM_REQ_FLOAT;
    if (m->fixed) {
        op->requant.multiplier = malloc(sizeof(int32_t) * (size_t)op->c_out);
        op->requant.shift = malloc(sizeof(int32_t) * (size_t)op->c_out);
    } else {
        op->requant.scale = malloc(sizeof(double) * (size_t)op->c_out);
    }
    for (int o = 0; o < op->c_out; o++) {
        double s = gain * (m->per_channel || o == 0 ? 0.5 + nb_in(rng, 0, 1000) / 1000.0 : 1) *
                   100.0 / typical;
        if (!m->per_channel && o > 0)
            s = m->fixed ? 0 : op->requant.scale[0];
        if (m->fixed) {
            if (!m->per_channel && o > 0) {
                op->requant.multiplier[o] = op->requant.multiplier[0];
                op->requant.shift[o] = op->requant.shift[0];
                continue;
            }
            int e;
            double f = frexp(s, &e);
            int64_t mult = llround(f * 2147483648.0);
            op->requant.multiplier[o] = mult > INT32_MAX ? INT32_MAX : (int32_t)mult;
            op->requant.shift[o] = e;
        } else {
            op->requant.scale[o] = s;
        }
    }
}

/* pad_mode 0 valid, 1 same, 2 explicit pads {top, bottom, left, right}. */
static inline int nb_conv(accsim_network *net, nb_rng *rng, int in, int c_out, int kh, int kw,
                          int sh, int sw, int pad_mode, const int *pads, int groups,
                          const nb_mac *m)
{
    int H, W, C;
    nb_hwc(net, in, &H, &W, &C);
    int pt = 0, pb = 0, pl = 0, pr = 0;
    if (pad_mode == 1) {
        int th = ((H + sh - 1) / sh - 1) * sh + kh - H, tw = ((W + sw - 1) / sw - 1) * sw + kw - W;
        th = th < 0 ? 0 : th;
        tw = tw < 0 ? 0 : tw;
        pt = th / 2, pb = th - pt, pl = tw / 2, pr = tw - pl;
    } else if (pad_mode == 2) {
        pt = pads[0], pb = pads[1], pl = pads[2], pr = pads[3];
    }
    accsim_op *op = nb_new_op(net, ACCSIM_OP_CONV2D, "conv");
    op->inputs[0] = in;
    op->input_count = 1;
    op->c_in = C, op->c_out = c_out, op->groups = groups;
    op->kh = kh, op->kw = kw, op->sh = sh, op->sw = sw;
    op->pad_top = pt, op->pad_bottom = pb, op->pad_left = pl, op->pad_right = pr;
    nb_mac_common(net, rng, op, (C / groups) * kh * kw, m);
    int OH = (H + pt + pb - kh) / sh + 1, OW = (W + pl + pr - kw) / sw + 1;
    op->output = nb_new_tensor3(net, OH, OW, c_out, m->zout, (int)(op - net->ops));
    return op->output;
}

static inline int nb_fc(accsim_network *net, nb_rng *rng, int in, int c_out, const nb_mac *m)
{
    accsim_op *op = nb_new_op(net, ACCSIM_OP_FULLY_CONNECTED, "fc");
    op->inputs[0] = in;
    op->input_count = 1;
    op->c_in = (int)net->tensors[in].count, op->c_out = c_out, op->groups = 1;
    op->kh = op->kw = op->sh = op->sw = 1;
    nb_mac_common(net, rng, op, op->c_in, m);
    int d[1] = {c_out};
    op->output = nb_new_tensor(net, 1, d, m->zout, (int)(op - net->ops));
    return op->output;
}

static inline int nb_pool(accsim_network *net, int in, bool max, int kh, int kw, int sh, int sw,
                          const int *pads, int clo, int chi)
{
    int H, W, C;
    nb_hwc(net, in, &H, &W, &C);
    accsim_op *op = nb_new_op(net, max ? ACCSIM_OP_MAX_POOL : ACCSIM_OP_AVG_POOL, "pool");
    op->inputs[0] = in;
    op->input_count = 1;
    op->kh = kh, op->kw = kw, op->sh = sh, op->sw = sw;
    if (pads)
        op->pad_top = pads[0], op->pad_bottom = pads[1], op->pad_left = pads[2],
        op->pad_right = pads[3];
    op->clamp_lo = clo, op->clamp_hi = chi;
    int OH = (H + op->pad_top + op->pad_bottom - kh) / sh + 1;
    int OW = (W + op->pad_left + op->pad_right - kw) / sw + 1;
    op->output = nb_new_tensor3(net, OH, OW, C, net->tensors[in].zero_point, (int)(op - net->ops));
    return op->output;
}

/* fixed: TFLite-style multipliers; else float scales. */
static inline int nb_add(accsim_network *net, nb_rng *rng, int a, int b, bool fixed, int zout,
                         int clo, int chi)
{
    accsim_op *op = nb_new_op(net, ACCSIM_OP_ADD, "add");
    op->inputs[0] = a, op->inputs[1] = b;
    op->input_count = 2;
    op->add_fixed = fixed;
    op->clamp_lo = clo, op->clamp_hi = chi;
    if (fixed) {
        op->add_left_shift = 20;
        op->add_in_mult[0] = 1073741824 + nb_in(rng, -100000000, 100000000);
        op->add_in_mult[1] = 1073741824 + nb_in(rng, -100000000, 100000000);
        op->add_in_shift[0] = -nb_in(rng, 0, 1);
        op->add_in_shift[1] = -nb_in(rng, 0, 1);
        op->add_out_mult = 1073741824 + nb_in(rng, -100000000, 100000000);
        op->add_out_shift = -nb_in(rng, 18, 20);
    } else {
        op->add_scales[0] = 0.3 + nb_in(rng, 0, 1000) / 2000.0;
        op->add_scales[1] = 0.3 + nb_in(rng, 0, 1000) / 2000.0;
    }
    const accsim_tensor *t = &net->tensors[a];
    op->output = nb_new_tensor(net, t->ndim, t->dims, zout, (int)(op - net->ops));
    return op->output;
}

static inline int nb_clamp(accsim_network *net, int in, int lo, int hi)
{
    accsim_op *op = nb_new_op(net, ACCSIM_OP_CLAMP, "clamp");
    op->inputs[0] = in;
    op->input_count = 1;
    op->clamp_lo = lo, op->clamp_hi = hi;
    const accsim_tensor *t = &net->tensors[in];
    op->output = nb_new_tensor(net, t->ndim, t->dims, t->zero_point, (int)(op - net->ops));
    return op->output;
}

static inline int nb_reshape(accsim_network *net, int in, int ndim, const int *dims)
{
    accsim_op *op = nb_new_op(net, ACCSIM_OP_RESHAPE, "reshape");
    op->inputs[0] = in;
    op->input_count = 1;
    op->output = nb_new_tensor(net, ndim, dims, net->tensors[in].zero_point,
                               (int)(op - net->ops));
    return op->output;
}

static inline nb_mac nb_tflite_mac(int zout)
{
    return (nb_mac){.order = -1, .tile = 0, .bias = 2, .zp_mode = ACCSIM_ZP_PER_PRODUCT,
                    .fixed = true, .per_channel = true, .zout = zout, .clamp_lo = zout,
                    .clamp_hi = 127};
}

/* ResNet-8 (MLPerf Tiny): 32x32x3 NHWC, conv 3x3 16; three stages of two 3x3
 * convs (16, 32 s2, 64 s2) with residual adds (1x1 stride-2 shortcuts in the
 * last two), global average pool, fc 10. Zero point -128, TFLite conventions. */
static inline void nb_resnet8(accsim_network *net, uint64_t seed)
{
    nb_rng rng = {seed | 1};
    int dims[3] = {32, 32, 3};
    nb_init(net, ACCSIM_NHWC, 3, dims, -128);
    snprintf(net->name, sizeof net->name, "resnet8-random");
    nb_mac relu = nb_tflite_mac(-128), lin = nb_tflite_mac(-128);
    lin.clamp_lo = -128;
    int x = nb_conv(net, &rng, 0, 16, 3, 3, 1, 1, 1, NULL, 1, &relu);
    const int widths[3] = {16, 32, 64};
    for (int s = 0; s < 3; s++) {
        int st = s == 0 ? 1 : 2;
        int y = nb_conv(net, &rng, x, widths[s], 3, 3, st, st, 1, NULL, 1, &relu);
        y = nb_conv(net, &rng, y, widths[s], 3, 3, 1, 1, 1, NULL, 1, &lin);
        int sc = s == 0 ? x : nb_conv(net, &rng, x, widths[s], 1, 1, 2, 2, 0, NULL, 1, &lin);
        x = nb_add(net, &rng, sc, y, true, -128, -128, 127);
    }
    int H, W, C;
    nb_hwc(net, x, &H, &W, &C);
    x = nb_pool(net, x, false, H, W, 1, 1, NULL, -128, 127);
    int flat[1] = {C};
    x = nb_reshape(net, x, 1, flat);
    nb_mac fc = nb_tflite_mac(0);
    fc.clamp_lo = -128;
    nb_fc(net, &rng, x, 10, &fc);
}

#endif
