/* The OpenCL network engine against the C reference interpreter, in the
 * manner of ggml's test-backend-ops: every op over tuples of its shape and
 * options, then random residual networks, ResNet-8 and the course LeNet-5;
 * every output and every statistic must be equal, at widths 2..32, saturating
 * and wrapping. Skipped (with a message) when there is no OpenCL device. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/model.h"

#ifdef ACCSIM_HAVE_OPENCL
#include "accsim/network.h"
#include "netbuild.h"
#include "opencl/network_engine.h"

#ifdef ACCSIM_SANITIZED
#define SCALE_DOWN 4
#else
#define SCALE_DOWN 1
#endif

static const int widths[] = {2, 3, 8, 12, 16, 17, 24, 31, 32};
#define NWIDTHS (int)(sizeof widths / sizeof widths[0])

static accsim_netcl *engine(void)
{
    accsim_netcl *e = NULL;
    accsim_error err;
    if (accsim_netcl_create(&e, NULL, &err) != 0) {
        cr_skip_test("no OpenCL device: %s", err.message);
        return NULL;
    }
    return e;
}

static int8_t *random_inputs(const accsim_network *net, size_t count, nb_rng *rng)
{
    size_t n = accsim_network_input_count(net) * count;
    int8_t *x = malloc(n + 1);
    cr_assert_not_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (int8_t)nb_in(rng, -128, 127);
    return x;
}

/* Runs both engines on images[count] with the configuration and compares
 * everything. indices: which loaded images (the engine has all of them). */
static void compare(accsim_netcl *e, const accsim_network *net, const int8_t *inputs,
                    size_t loaded, const uint32_t *indices, size_t count, const int *bits,
                    const int *bits_out, accsim_overflow ov, const char *label)
{
    accsim_error err;
    size_t in_count = accsim_network_input_count(net);
    int8_t *sel = malloc(count * in_count + 1);
    cr_assert_not_null(sel);
    for (size_t i = 0; i < count; i++) {
        size_t idx = indices ? indices[i] : i;
        cr_assert_lt(idx, loaded);
        memcpy(sel + i * in_count, inputs + idx * in_count, in_count);
    }
    accsim_network_config cfg = {.bits = bits, .bits_out = bits_out, .overflow = ov, .threads = 1};
    accsim_network_result ref, got;
    cr_assert_eq(accsim_network_result_init(&ref, net, count, &err), 0);
    cr_assert_eq(accsim_network_result_init(&got, net, count, &err), 0);
    cr_assert_eq(accsim_network_run(net, &cfg, sel, count, &ref, &err), 0, "%s", err.message);
    cr_assert_eq(accsim_netcl_run(e, &cfg, indices, count, &got, &err), 0, "%s: %s", label,
                 err.message);
    for (size_t i = 0; i < count; i++) {
        for (size_t c = 0; c < ref.output_count; c++)
            cr_assert_eq(got.outputs[i * ref.output_count + c],
                         ref.outputs[i * ref.output_count + c],
                         "%s %s B=%d: image %zu output %zu: %d, expected %d", label,
                         ov == ACCSIM_WRAP ? "wrap" : "saturate", bits[0], i, c,
                         got.outputs[i * ref.output_count + c],
                         ref.outputs[i * ref.output_count + c]);
        cr_assert_eq(got.predictions[i], ref.predictions[i], "%s: prediction of image %zu", label,
                     i);
        for (int m = 0; m < net->mac_count; m++) {
            size_t s = i * (size_t)net->mac_count + (size_t)m;
            const char *what = NULL;
            long long a = 0, b = 0;
            if (got.saturations[s] != ref.saturations[s])
                what = "saturations", a = got.saturations[s], b = ref.saturations[s];
            else if (got.psum_min[s] != ref.psum_min[s])
                what = "psum_min", a = got.psum_min[s], b = ref.psum_min[s];
            else if (got.psum_max[s] != ref.psum_max[s])
                what = "psum_max", a = got.psum_max[s], b = ref.psum_max[s];
            else if (got.out_min[s] != ref.out_min[s])
                what = "out_min", a = got.out_min[s], b = ref.out_min[s];
            else if (got.out_max[s] != ref.out_max[s])
                what = "out_max", a = got.out_max[s], b = ref.out_max[s];
            cr_assert_null(what, "%s %s B=%d: image %zu MAC layer %d: %s %lld, expected %lld",
                           label, ov == ACCSIM_WRAP ? "wrap" : "saturate", bits[m], i, m,
                           what ? what : "", a, b);
        }
    }
    accsim_network_result_free(&ref);
    accsim_network_result_free(&got);
    free(sel);
}

/* Loads the network with count random images and compares at every width
 * (all layers alike, and bits_out = B + 3 capped when tiled), both modes. */
static void check_all_widths(accsim_netcl *e, const accsim_network *net, size_t count,
                             nb_rng *rng, const char *label)
{
    accsim_error err;
    int8_t *x = random_inputs(net, count, rng);
    cr_assert_eq(accsim_netcl_load(e, net, x, count, &err), 0, "%s: %s", label, err.message);
    int bits[NB_MAX_OPS], bits_out[NB_MAX_OPS];
    for (int ov = 0; ov < 2; ov++)
        for (int w = 0; w < NWIDTHS; w++) {
            for (int m = 0; m < net->mac_count; m++) {
                bits[m] = widths[w];
                bits_out[m] = widths[(w + 2 + m) % NWIDTHS];
            }
            compare(e, net, x, count, NULL, count, bits, NULL, (accsim_overflow)ov, label);
            compare(e, net, x, count, NULL, count, bits, bits_out, (accsim_overflow)ov, label);
        }
    free(x);
}

/* ---- single ops ------------------------------------------------------------ */

typedef struct conv_case {
    accsim_layout layout;
    int H, W, C, O, kh, kw, sh, sw, pad_mode, pads[4], groups;
    nb_mac m;
} conv_case;

static void run_conv_case(accsim_netcl *e, const conv_case *c, nb_rng *rng)
{
    accsim_network net;
    int dims[3];
    if (c->layout == ACCSIM_NHWC)
        dims[0] = c->H, dims[1] = c->W, dims[2] = c->C;
    else
        dims[0] = c->C, dims[1] = c->H, dims[2] = c->W;
    int zin = nb_in(rng, -128, 127);
    nb_init(&net, c->layout, 3, dims, zin);
    nb_conv(&net, rng, 0, c->O, c->kh, c->kw, c->sh, c->sw, c->pad_mode, c->pads, c->groups, &c->m);
    char label[300];
    snprintf(label, sizeof label,
             "conv %s %dx%dx%d->%d k%dx%d s%dx%d pad%d[%d,%d,%d,%d] g%d order%d tile%d bias%d "
             "zp%d(z=%d) %s%s",
             c->layout == ACCSIM_NHWC ? "NHWC" : "NCHW", c->H, c->W, c->C, c->O, c->kh, c->kw,
             c->sh, c->sw, c->pad_mode, c->pads[0], c->pads[1], c->pads[2], c->pads[3],
             c->groups, c->m.order, c->m.tile, c->m.bias, c->m.zp_mode, zin,
             c->m.fixed ? "fixed" : "float", c->m.per_channel ? " per-channel" : "");
    check_all_widths(e, &net, 3, rng, label);
    accsim_network_free(&net);
}

static nb_mac random_mac(nb_rng *rng, int R)
{
    nb_mac m = {0};
    m.order = nb_in(rng, -1, 1);
    int t = nb_in(rng, 0, 3);
    m.tile = t == 0 ? 0 : t == 1 ? nb_in(rng, 1, R) : t == 2 ? R + nb_in(rng, 0, 3) : 3;
    m.bias = nb_in(rng, 0, 2);
    m.zp_mode = nb_in(rng, 0, 2);
    m.fixed = nb_in(rng, 0, 1);
    m.per_channel = nb_in(rng, 0, 1);
    m.zout = nb_in(rng, -20, 20);
    m.clamp_lo = nb_in(rng, -128, 0);
    m.clamp_hi = nb_in(rng, 0, 127);
    m.gain = 0.5 + nb_in(rng, 0, 40) / 10.0;
    return m;
}

Test(network_opencl, conv2d_parameter_tuples, .timeout = 600)
{
    accsim_netcl *e = engine();
    nb_rng rng = {0x1234567};
    /* Hand-picked tuples: kernel sizes, strides, paddings, groups. */
    static const int shapes[][10] = {
        /* H, W, C, O, kh, kw, sh, sw, pad_mode, groups */
        {5, 5, 3, 4, 3, 3, 1, 1, 0, 1},   {6, 7, 3, 5, 3, 3, 2, 2, 1, 1},
        {7, 6, 4, 8, 1, 1, 2, 2, 0, 1},   {6, 6, 4, 4, 3, 3, 1, 1, 1, 4},  /* depthwise */
        {6, 5, 4, 8, 3, 3, 2, 1, 2, 4},   /* depthwise x2 */
        {5, 7, 6, 4, 2, 3, 1, 2, 2, 2},   {9, 9, 2, 18, 5, 5, 2, 2, 1, 1},
        {4, 4, 8, 20, 3, 3, 1, 1, 2, 1},  {8, 8, 16, 32, 3, 3, 1, 1, 1, 1},
        {3, 3, 4, 6, 3, 3, 3, 3, 2, 2},   {1, 1, 5, 3, 1, 1, 1, 1, 0, 1},
    };
    int n = (int)(sizeof shapes / sizeof shapes[0]);
    for (int i = 0; i < n; i++) {
        const int *s = shapes[i];
        conv_case c = {.layout = i % 2 ? ACCSIM_NCHW : ACCSIM_NHWC, .H = s[0], .W = s[1],
                       .C = s[2], .O = s[3], .kh = s[4], .kw = s[5], .sh = s[6], .sw = s[7],
                       .pad_mode = s[8], .groups = s[9]};
        if (c.pad_mode == 2)
            for (int k = 0; k < 4; k++)
                c.pads[k] = nb_in(&rng, 0, 2);
        c.m = random_mac(&rng, c.kh * c.kw * c.C / c.groups);
        run_conv_case(e, &c, &rng);
    }
    /* Every bias position with every zero-point mode on one shape (orders
     * alternating; the random cases cover the rest). */
    for (int bias = 0; bias < 3; bias++)
        for (int zp = 0; zp < 3; zp++) {
            int order = (bias + zp) % 2;
            conv_case c = {.layout = bias % 2 ? ACCSIM_NCHW : ACCSIM_NHWC, .H = 5, .W = 4,
                           .C = 3, .O = 5, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pad_mode = 2,
                           .pads = {1, 0, 2, 1}, .groups = 1};
            c.m = random_mac(&rng, 27);
            c.m.order = order;
            c.m.bias = bias;
            c.m.zp_mode = zp;
            c.m.tile = (order + bias + zp) % 3 == 0 ? 0 : (order + bias + zp) % 3 == 1 ? 9 : 4;
            c.m.fixed = zp % 2 == 0;
            run_conv_case(e, &c, &rng);
        }
    accsim_netcl_destroy(e);
}

Test(network_opencl, conv2d_random, .timeout = 600)
{
    accsim_netcl *e = engine();
    nb_rng rng = {0xfeedbeef};
    for (int i = 0; i < 12 / SCALE_DOWN; i++) {
        conv_case c = {.layout = nb_in(&rng, 0, 1) ? ACCSIM_NCHW : ACCSIM_NHWC};
        c.groups = nb_in(&rng, 1, 3);
        c.C = c.groups * nb_in(&rng, 1, 3);
        c.O = c.groups * nb_in(&rng, 1, 7);
        c.kh = nb_in(&rng, 1, 4);
        c.kw = nb_in(&rng, 1, 4);
        c.sh = nb_in(&rng, 1, 3);
        c.sw = nb_in(&rng, 1, 3);
        c.pad_mode = nb_in(&rng, 0, 2);
        for (int k = 0; k < 4; k++)
            c.pads[k] = nb_in(&rng, 0, 3);
        c.H = c.kh + nb_in(&rng, 0, 6);
        c.W = c.kw + nb_in(&rng, 0, 6);
        c.m = random_mac(&rng, c.kh * c.kw * c.C / c.groups);
        run_conv_case(e, &c, &rng);
    }
    accsim_netcl_destroy(e);
}

Test(network_opencl, fully_connected_tuples, .timeout = 600)
{
    accsim_netcl *e = engine();
    nb_rng rng = {0xabcdef};
    static const int shapes[][2] = {{1, 1}, {7, 3}, {40, 10}, {16, 16}, {100, 33}};
    for (int i = 0; i < 5; i++) {
        accsim_network net;
        int dims[1] = {shapes[i][0]};
        int zin = nb_in(&rng, -128, 127);
        nb_init(&net, i % 2 ? ACCSIM_NCHW : ACCSIM_NHWC, 1, dims, zin);
        nb_mac m = random_mac(&rng, shapes[i][0]);
        nb_fc(&net, &rng, 0, shapes[i][1], &m);
        char label[200];
        snprintf(label, sizeof label, "fc %d->%d tile %d bias %d zp %d %s", shapes[i][0],
                 shapes[i][1], m.tile, m.bias, m.zp_mode, m.fixed ? "fixed" : "float");
        check_all_widths(e, &net, 4, &rng, label);
        accsim_network_free(&net);
    }
    accsim_netcl_destroy(e);
}

/* Biases near the int32 limits and large folded constants: exact sums that
 * leave int32 (no unclamped pass; 32-bit registers saturate and wrap there). */
Test(network_opencl, sums_beyond_int32, .timeout = 600)
{
    accsim_netcl *e = engine();
    nb_rng rng = {0x31337};
    for (int i = 0; i < 4; i++) {
        accsim_network net;
        int dims[3] = {4, 4, 8};
        nb_init(&net, i % 2 ? ACCSIM_NCHW : ACCSIM_NHWC, 3, dims, i < 2 ? -128 : 127);
        nb_mac m = random_mac(&rng, 72);
        m.bias = 1 + i % 2;
        m.zp_mode = i % 3;
        m.tile = i == 3 ? 8 : 0;
        int x = nb_conv(&net, &rng, 0, 6, 3, 3, 1, 1, 1, NULL, 1, &m);
        nb_mac f = random_mac(&rng, 96);
        f.bias = 2 - i % 2;
        f.zp_mode = (i + 1) % 3;
        nb_fc(&net, &rng, x, 7, &f);
        for (int k = 0; k < net.op_count; k++) {
            accsim_op *op = &net.ops[k];
            for (int o = 0; op->bias && o < op->c_out; o++)
                op->bias[o] = (o % 2 ? INT32_MAX : INT32_MIN) + (o % 2 ? -1 : 1) * nb_in(&rng, 0, 3000);
            /* All-equal weights make the folded constant -z * sum(w) large. */
            if (i >= 2)
                for (int w = 0; w < op->c_out * op->c_in * op->kh * op->kw / (op->groups ? op->groups : 1); w++)
                    op->weights[w] = (int8_t)(w % 5 ? -128 : 127);
        }
        char label[100];
        snprintf(label, sizeof label, "sums beyond int32, case %d", i);
        check_all_widths(e, &net, 3, &rng, label);
        accsim_network_free(&net);
    }
    accsim_netcl_destroy(e);
}

/* ---- float requantization's tie rule ---------------------------------------- */

/* Every float MAC layer rounds by `rounding`; pow2: its scales become the
 * nearest powers of two, which make 1 in 2^k accumulators exact ties. */
static void set_float_rounding(accsim_network *net, accsim_float_rounding rounding, bool pow2)
{
    for (int l = 0; l < net->mac_count; l++) {
        accsim_op *op = &net->ops[net->mac_ops[l]];
        if (op->requant.kind != ACCSIM_REQ_FLOAT)
            continue;
        op->requant.rounding = rounding;
        for (int o = 0; pow2 && o < op->c_out; o++)
            op->requant.scale[o] = exp2(round(log2(op->requant.scale[o])));
    }
}

/* Output values on which the C reference's half-away and half-even runs
 * differ at B = 32 (there were ties, and the rule decided them). */
static size_t rounding_differences(accsim_network *net, const int8_t *x, size_t count)
{
    accsim_error err;
    accsim_network_result r[2];
    int bits[NB_MAX_OPS];
    for (int m = 0; m < net->mac_count; m++)
        bits[m] = 32;
    accsim_network_config cfg = {.bits = bits, .overflow = ACCSIM_SATURATE, .threads = 1};
    for (int k = 0; k < 2; k++) {
        set_float_rounding(net, k ? ACCSIM_ROUND_HALF_AWAY : ACCSIM_ROUND_HALF_EVEN, false);
        cr_assert_eq(accsim_network_result_init(&r[k], net, count, &err), 0);
        cr_assert_eq(accsim_network_run(net, &cfg, x, count, &r[k], &err), 0, "%s", err.message);
    }
    size_t differ = 0;
    for (size_t i = 0; i < count * r[0].output_count; i++)
        differ += r[0].outputs[i] != r[1].outputs[i];
    accsim_network_result_free(&r[0]);
    accsim_network_result_free(&r[1]);
    return differ; /* the network is left at half away */
}

Test(network_opencl, float_rounding_half_away, .timeout = 600)
{
    accsim_netcl *e = engine();
    accsim_error err;
    nb_rng rng = {0x7e5e};
    /* y = x * 0.5 for every int8 x: every odd x is a tie, negative ones too. */
    accsim_network net;
    int one[1] = {1};
    nb_init(&net, ACCSIM_NHWC, 1, one, 0);
    nb_mac half = {.clamp_lo = -128, .clamp_hi = 127};
    nb_fc(&net, &rng, 0, 1, &half);
    net.ops[0].weights[0] = 1;
    net.ops[0].requant.scale[0] = 0.5;
    int8_t x[256];
    for (int i = 0; i < 256; i++)
        x[i] = (int8_t)(i - 128);
    cr_assert_eq(rounding_differences(&net, x, 256), 64); /* x = +-1, +-5, +-9, ... */
    cr_assert_eq(accsim_network_requantize(&net, &net.ops[0], 0, -5), -3);
    for (int k = 0; k < 2; k++) {
        set_float_rounding(&net, k ? ACCSIM_ROUND_HALF_AWAY : ACCSIM_ROUND_HALF_EVEN, false);
        cr_assert_eq(accsim_netcl_load(e, &net, x, 256, &err), 0, "%s", err.message);
        int bits[1] = {32};
        compare(e, &net, x, 256, NULL, 256, bits, NULL, ACCSIM_SATURATE,
                k ? "x * 0.5 half_away" : "x * 0.5 half_even");
    }
    accsim_network_free(&net);

    /* Conv and fully-connected layers, per channel, both layouts, tiled and
     * not, at every width: ties seen by the reference, the same on OpenCL. */
    for (int i = 0; i < 4; i++) {
        int dims[3] = {8, 8, 8};
        nb_init(&net, i % 2 ? ACCSIM_NCHW : ACCSIM_NHWC, 3, dims, nb_in(&rng, -128, 127));
        nb_mac m = random_mac(&rng, 72);
        m.fixed = false;
        m.per_channel = i < 2;
        m.clamp_lo = -128, m.clamp_hi = 127;
        m.gain = 1;
        m.tile = i == 3 ? 9 : 0;
        int t = nb_conv(&net, &rng, 0, 8, 3, 3, 1, 1, 1, NULL, 1, &m);
        if (i >= 2) { /* and a fully-connected layer on top */
            m.per_channel = i == 3;
            nb_fc(&net, &rng, t, 16, &m);
        }
        set_float_rounding(&net, ACCSIM_ROUND_HALF_AWAY, true);
        int8_t *xs = random_inputs(&net, 16, &rng);
        cr_assert_gt(rounding_differences(&net, xs, 16), 0, "case %d: no ties decided", i);
        free(xs);
        char label[80];
        snprintf(label, sizeof label, "half_away case %d", i);
        check_all_widths(e, &net, 4, &rng, label);
        accsim_network_free(&net);
    }
    accsim_netcl_destroy(e);
}

/* ---- float32 precision (onnxruntime's arithmetic) ------------------------------ */

/* Switches every float MAC layer to "precision": "float32" (scales rounded to
 * float32 values) and every float add to the float32 form with offset
 * z_out - (a1 z_a + a2 z_b) in float32 and value offset k. */
static void set_float32(accsim_network *net, int k)
{
    for (int i = 0; i < net->op_count; i++) {
        accsim_op *op = &net->ops[i];
        if ((op->kind == ACCSIM_OP_CONV2D || op->kind == ACCSIM_OP_FULLY_CONNECTED) &&
            op->requant.kind == ACCSIM_REQ_FLOAT) {
            op->requant.float32 = true;
            for (int o = 0; o < op->c_out; o++)
                op->requant.scale[o] = (float)op->requant.scale[o];
        }
        if (op->kind == ACCSIM_OP_ADD && !op->add_fixed) {
            float a1 = (float)op->add_scales[0], a2 = (float)op->add_scales[1];
            int za = net->tensors[op->inputs[0]].zero_point + k;
            int zb = net->tensors[op->inputs[1]].zero_point + k;
            int zo = net->tensors[op->output].zero_point + k;
            op->add_float32 = true;
            op->add_scales[0] = a1, op->add_scales[1] = a2;
            op->add_offset = (float)zo - (a1 * (float)za + a2 * (float)zb);
            op->add_value_offset = k;
        }
    }
}

/* Output values on which the float32 and float64 forms differ at B = 32 on
 * the C reference (so that the comparison below is not vacuous). */
static size_t float32_differences(accsim_network *net, const int8_t *x, size_t count, int k)
{
    accsim_error err;
    accsim_network_result r[2];
    int bits[NB_MAX_OPS];
    for (int m = 0; m < net->mac_count; m++)
        bits[m] = 32;
    accsim_network_config cfg = {.bits = bits, .overflow = ACCSIM_SATURATE, .threads = 1};
    for (int f = 0; f < 2; f++) {
        if (f)
            set_float32(net, k);
        cr_assert_eq(accsim_network_result_init(&r[f], net, count, &err), 0);
        cr_assert_eq(accsim_network_run(net, &cfg, x, count, &r[f], &err), 0, "%s", err.message);
    }
    size_t differ = 0;
    for (size_t i = 0; i < count * r[0].output_count; i++)
        differ += r[0].outputs[i] != r[1].outputs[i];
    accsim_network_result_free(&r[0]);
    accsim_network_result_free(&r[1]);
    return differ; /* the network is left in float32 */
}

Test(network_opencl, float32_precision, .timeout = 600)
{
    accsim_netcl *e = engine();
    nb_rng rng = {0xf32};
    /* y = x * 0.1f: 5 * 0.1f is the double 0.50000000745 (1) but the float 0.5 (0). */
    accsim_network net;
    int one[1] = {1};
    nb_init(&net, ACCSIM_NHWC, 1, one, 0);
    nb_mac m1 = {.clamp_lo = -128, .clamp_hi = 127};
    nb_fc(&net, &rng, 0, 1, &m1);
    net.ops[0].weights[0] = 1;
    net.ops[0].requant.scale[0] = 0.1f;
    int8_t x[256];
    for (int i = 0; i < 256; i++)
        x[i] = (int8_t)(i - 128);
    cr_assert_gt(float32_differences(&net, x, 256, 0), 0);
    cr_assert_eq(accsim_network_requantize(&net, &net.ops[0], 0, 5), 0);
    accsim_error err;
    cr_assert_eq(accsim_netcl_load(e, &net, x, 256, &err), 0, "%s", err.message);
    int bits1[1] = {32};
    compare(e, &net, x, 256, NULL, 256, bits1, NULL, ACCSIM_SATURATE, "x * 0.1f float32");
    accsim_network_free(&net);

    /* Convolutions, a float add (value offsets 0 and 128) and a fully-connected
     * layer, both layouts, at every width. */
    for (int i = 0; i < 4; i++) {
        int dims[3] = {8, 8, 4};
        nb_init(&net, i % 2 ? ACCSIM_NCHW : ACCSIM_NHWC, 3, dims, nb_in(&rng, -128, 127));
        nb_mac m = random_mac(&rng, 36);
        m.fixed = false;
        m.per_channel = i < 2;
        m.clamp_lo = -128, m.clamp_hi = 127;
        int c1 = nb_conv(&net, &rng, 0, 8, 3, 3, 1, 1, 1, NULL, 1, &m);
        nb_mac m2 = random_mac(&rng, 72);
        m2.fixed = false;
        m2.clamp_lo = -128, m2.clamp_hi = 127;
        int c2 = nb_conv(&net, &rng, c1, 8, 3, 3, 1, 1, 1, NULL, 1, &m2);
        int a = nb_add(&net, &rng, c1, c2, false, nb_in(&rng, -10, 10), -120, 120);
        int AH, AW, AC;
        nb_hwc(&net, a, &AH, &AW, &AC);
        int flat[1] = {AH * AW * AC};
        a = nb_reshape(&net, a, 1, flat);
        nb_mac f = random_mac(&rng, flat[0]);
        f.fixed = false;
        nb_fc(&net, &rng, a, 10, &f);
        int8_t *xs = random_inputs(&net, 16, &rng);
        size_t d = float32_differences(&net, xs, 16, i % 2 ? 128 : 0);
        free(xs);
        char label[80];
        snprintf(label, sizeof label, "float32 case %d (%zu outputs differ from float64)", i, d);
        check_all_widths(e, &net, 4, &rng, label);
        accsim_network_free(&net);
    }
    accsim_netcl_destroy(e);
}

/* Pools (max/avg, paddings, strides, global), add (fixed/float), clamp and
 * reshape, around one conv so that the statistics are there too. */
Test(network_opencl, pool_add_clamp_reshape, .timeout = 600)
{
    accsim_netcl *e = engine();
    nb_rng rng = {0x5eed};
    for (int i = 0; i < 8; i++) {
        accsim_network net;
        accsim_layout layout = i % 2 ? ACCSIM_NCHW : ACCSIM_NHWC;
        int H = nb_in(&rng, 5, 9), W = nb_in(&rng, 5, 9), C = nb_in(&rng, 1, 4);
        int dims[3];
        if (layout == ACCSIM_NHWC)
            dims[0] = H, dims[1] = W, dims[2] = C;
        else
            dims[0] = C, dims[1] = H, dims[2] = W;
        nb_init(&net, layout, 3, dims, nb_in(&rng, -128, 0));
        nb_mac m = random_mac(&rng, 9 * C);
        int x = nb_conv(&net, &rng, 0, 4, 3, 3, 1, 1, 1, NULL, 1, &m);
        int kh = nb_in(&rng, 1, 3), kw = nb_in(&rng, 1, 3);
        int pads[4] = {nb_in(&rng, 0, kh - 1), nb_in(&rng, 0, kh - 1), nb_in(&rng, 0, kw - 1),
                       nb_in(&rng, 0, kw - 1)};
        int p = nb_pool(&net, x, i % 4 < 2, kh, kw, nb_in(&rng, 1, 2), nb_in(&rng, 1, 2), pads,
                        nb_in(&rng, -128, -60), nb_in(&rng, 60, 127));
        int q = nb_pool(&net, x, i % 4 >= 2, kh, kw, nb_in(&rng, 1, 2), nb_in(&rng, 1, 2), pads,
                        -128, 127);
        /* Two pools of the same shape when the strides agree; else add x to itself. */
        const accsim_tensor *tp = &net.tensors[p], *tq = &net.tensors[q];
        bool same = tp->count == tq->count && memcmp(tp->dims, tq->dims, sizeof tp->dims) == 0;
        int a = same ? nb_add(&net, &rng, p, q, i % 3 != 0, nb_in(&rng, -10, 10), -128, 127)
                     : nb_add(&net, &rng, x, x, i % 3 != 0, nb_in(&rng, -10, 10), -100, 120);
        a = nb_clamp(&net, a, nb_in(&rng, -128, 0), nb_in(&rng, 0, 127));
        int AH, AW, AC;
        nb_hwc(&net, a, &AH, &AW, &AC);
        a = nb_pool(&net, a, false, AH, AW, 1, 1, NULL, -128, 127); /* global average */
        int flat[1] = {AC};
        a = nb_reshape(&net, a, 1, flat);
        nb_mac f = random_mac(&rng, AC);
        nb_fc(&net, &rng, a, 5, &f);
        char label[100];
        snprintf(label, sizeof label, "pool/add/clamp/reshape case %d", i);
        check_all_widths(e, &net, 3, &rng, label);
        accsim_network_free(&net);
    }
    accsim_netcl_destroy(e);
}

/* ---- networks ---------------------------------------------------------------- */

Test(network_opencl, random_residual_networks, .timeout = 600)
{
    accsim_netcl *e = engine();
    nb_rng rng = {0x77777};
    for (int i = 0; i < 4; i++) {
        /* Networks 2 and 3 with NX = 4 and 2 output positions per step (a
         * tuning knob read at load). */
        if (i >= 2)
            setenv("ACCSIM_NETCL_NX", i == 2 ? "4" : "2", 1);
        accsim_network net;
        accsim_layout layout = i % 2 ? ACCSIM_NCHW : ACCSIM_NHWC;
        int dims[3];
        int H = nb_in(&rng, 6, 12), W = nb_in(&rng, 6, 12), C = nb_in(&rng, 1, 3);
        if (layout == ACCSIM_NHWC)
            dims[0] = H, dims[1] = W, dims[2] = C;
        else
            dims[0] = C, dims[1] = H, dims[2] = W;
        nb_init(&net, layout, 3, dims, -128);
        nb_mac m = random_mac(&rng, 9 * C);
        int ch = 4 * nb_in(&rng, 1, 3);
        int x = nb_conv(&net, &rng, 0, ch, 3, 3, 1, 1, 1, NULL, 1, &m);
        for (int b = 0; b < 2; b++) {
            int st = nb_in(&rng, 1, 2);
            int ch2 = ch * nb_in(&rng, 1, 2);
            nb_mac m1 = random_mac(&rng, 9 * ch), m2 = random_mac(&rng, 9 * ch2);
            m1.zout = m2.zout = -128;
            int y = nb_conv(&net, &rng, x, ch2, 3, 3, st, st, 1, NULL, nb_in(&rng, 0, 1) ? 1 : ch,
                            &m1);
            y = nb_conv(&net, &rng, y, ch2, 3, 3, 1, 1, 1, NULL, 1, &m2);
            nb_mac ms = random_mac(&rng, ch);
            int sc = (st == 1 && ch2 == ch) ? x
                                            : nb_conv(&net, &rng, x, ch2, 1, 1, st, st, 1, NULL,
                                                      1, &ms);
            x = nb_add(&net, &rng, sc, y, nb_in(&rng, 0, 1), -128, -128, 127);
            ch = ch2;
        }
        int AH, AW, AC;
        nb_hwc(&net, x, &AH, &AW, &AC);
        x = nb_pool(&net, x, false, AH, AW, 1, 1, NULL, -128, 127);
        int flat[1] = {AC};
        x = nb_reshape(&net, x, 1, flat);
        nb_mac f = random_mac(&rng, AC);
        nb_fc(&net, &rng, x, 10, &f);
        char label[100];
        snprintf(label, sizeof label, "random residual network %d", i);
        check_all_widths(e, &net, 4, &rng, label);
        accsim_network_free(&net);
    }
    accsim_netcl_destroy(e);
}

/* ResNet-8 at a few widths, on a chosen list of images (out of order, with
 * repeats); the program cache keeps one program per distinct layer shape. */
Test(network_opencl, resnet8_and_program_cache, .timeout = 600)
{
    accsim_netcl *e = engine();
    accsim_error err;
    accsim_network net;
    nb_resnet8(&net, 42);
    nb_rng rng = {99};
    size_t loaded = 12;
    int8_t *x = random_inputs(&net, loaded, &rng);
    accsim_netcl_set_batch(e, 4);
    cr_assert_eq(accsim_netcl_load(e, &net, x, loaded, &err), 0, "%s", err.message);
    uint32_t idx[6] = {11, 3, 3, 0, 7, 5};
    int bits[16];
    static const int some[] = {32, 16, 12, 24};
    for (int w = 0; w < 4; w++) {
        for (int m = 0; m < net.mac_count; m++)
            bits[m] = some[w];
        compare(e, &net, x, loaded, idx, 6, bits, NULL, w == 2 ? ACCSIM_WRAP : ACCSIM_SATURATE,
                "resnet8");
    }
    /* 9 MAC layers of 7 distinct shapes (the conv3x3 16 layer appears 3 times): at most
     * 7 shapes x 2 width classes (32 or not) x 2 modes + pool/add/io programs. */
    int built = accsim_netcl_programs_built(e);
    cr_assert_leq(built, 7 * 3 + 6, "%d programs", built);
    for (int m = 0; m < net.mac_count; m++)
        bits[m] = 10 + m;
    compare(e, &net, x, loaded, idx, 6, bits, NULL, ACCSIM_SATURATE, "resnet8 mixed widths");
    cr_assert_eq(accsim_netcl_programs_built(e), built, "a width change rebuilt programs");
    free(x);
    accsim_network_free(&net);
    accsim_netcl_destroy(e);
}

Test(network_opencl, course_lenet5, .timeout = 600)
{
    accsim_netcl *e = engine();
    accsim_error err;
    accsim_model model;
    accsim_model_random(&model, 7);
    accsim_network net;
    cr_assert_eq(accsim_network_from_course_model(&model, &net, &err), 0, "%s", err.message);
    nb_rng rng = {1234};
    size_t count = 6;
    int8_t *x = random_inputs(&net, count, &rng);
    cr_assert_eq(accsim_netcl_load(e, &net, x, count, &err), 0, "%s", err.message);
    int bits[8];
    for (int ov = 0; ov < 2; ov++)
        for (int w = 0; w < NWIDTHS; w++) {
            for (int m = 0; m < net.mac_count; m++)
                bits[m] = widths[w];
            compare(e, &net, x, count, NULL, count, bits, NULL, (accsim_overflow)ov, "lenet5");
        }
    free(x);
    accsim_network_free(&net);
    accsim_model_free(&model);
    accsim_netcl_destroy(e);
}

Test(network_opencl, errors_are_clear)
{
    accsim_netcl *e = engine();
    accsim_error err;
    accsim_network net;
    nb_resnet8(&net, 1);
    accsim_network_result res;
    cr_assert_eq(accsim_network_result_init(&res, &net, 1, &err), 0);
    int bits[16] = {0};
    accsim_network_config cfg = {.bits = bits, .overflow = ACCSIM_SATURATE};
    cr_assert_neq(accsim_netcl_run(e, &cfg, NULL, 1, &res, &err), 0);
    cr_assert(strstr(err.message, "no network loaded"), "%s", err.message);
    int8_t x[3072] = {0};
    cr_assert_eq(accsim_netcl_load(e, &net, x, 1, &err), 0, "%s", err.message);
    cr_assert_neq(accsim_netcl_run(e, &cfg, NULL, 1, &res, &err), 0);
    cr_assert(strstr(err.message, "outside 2..32"), "%s", err.message);
    for (int m = 0; m < net.mac_count; m++)
        bits[m] = 16;
    uint32_t bad = 5;
    cr_assert_neq(accsim_netcl_run(e, &cfg, &bad, 1, &res, &err), 0);
    cr_assert(strstr(err.message, "not in the loaded set"), "%s", err.message);
    cr_assert_neq(accsim_netcl_create(&(accsim_netcl *){NULL}, "no-such-device-xyz", &err), 0);
    cr_assert(strstr(err.message, "matches no OpenCL device"), "%s", err.message);
    accsim_network_result_free(&res);
    accsim_network_free(&net);
    accsim_netcl_destroy(e);
}

#else

Test(network_opencl, not_built)
{
    cr_skip_test("accsim was built without OpenCL (ACCSIM_OPENCL=OFF)");
}

#endif
