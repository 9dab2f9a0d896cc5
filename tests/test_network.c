/* Network descriptions: the .npy reader, the manifest loader's checks, the
 * interpreter against the course engine and against naive per-op references,
 * and the command line on a description directory. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accsim/analysis.h"
#include "accsim/dataset.h"
#include "accsim/energy.h"
#include "accsim/engine.h"
#include "accsim/fileio.h"
#include "accsim/network.h"
#include "testdata.h"

#ifdef ACCSIM_SANITIZED
#define SCALE_DOWN 4
#else
#define SCALE_DOWN 1
#endif

/* ---- small helpers ------------------------------------------------------ */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static int rnd_in(int lo, int hi) { return lo + (int)(rnd() % (uint64_t)(hi - lo + 1)); }

/* A growing string. */
typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->n + (size_t)need + 1 > b->cap) {
        b->cap = (b->n + (size_t)need + 1) * 2;
        b->s = realloc(b->s, b->cap);
        cr_assert_not_null(b->s);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

/* In-memory .npy files, served to accsim_network_parse through its callback
 * (encoded and parsed again, so the reader is exercised as well). */
typedef struct memfile {
    char name[64];
    char *bytes;
    size_t size;
} memfile;
typedef struct memfs {
    memfile f[32];
    int n;
} memfs;

static void fs_add(memfs *fs, const char *name, accsim_npy_dtype dtype, int ndim,
                   const size_t *shape, const void *data)
{
    cr_assert_lt(fs->n, 32);
    memfile *m = &fs->f[fs->n++];
    snprintf(m->name, sizeof m->name, "%s", name);
    accsim_error err;
    cr_assert_eq(accsim_npy_encode(dtype, ndim, shape, data, &m->bytes, &m->size, &err), 0);
}

static void fs_free(memfs *fs)
{
    for (int i = 0; i < fs->n; i++)
        free(fs->f[i].bytes);
    fs->n = 0;
}

static int fs_get(void *ctx, const char *file, accsim_npy *out, accsim_error *err)
{
    memfs *fs = ctx;
    for (int i = 0; i < fs->n; i++)
        if (strcmp(fs->f[i].name, file) == 0)
            return accsim_npy_parse(fs->f[i].bytes, fs->f[i].size, file, out, err);
    return accsim_fail(err, "%s: no such file", file);
}

/* Writes the files and the manifest into dir. */
static void fs_write_dir(const memfs *fs, const char *json, const char *dir)
{
    char path[1200];
    for (int i = 0; i < fs->n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, fs->f[i].name);
        FILE *fp = fopen(path, "wb");
        cr_assert_not_null(fp, "%s", path);
        cr_assert_eq(fwrite(fs->f[i].bytes, 1, fs->f[i].size, fp), fs->f[i].size);
        fclose(fp);
    }
    snprintf(path, sizeof path, "%s/network.json", dir);
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    fputs(json, fp);
    fclose(fp);
}

static void parse_ok(accsim_network *net, const char *json, memfs *fs)
{
    accsim_error err;
    int rc = accsim_network_parse(net, json, strlen(json), "network.json", fs_get, fs, &err);
    cr_assert_eq(rc, 0, "%s\n%s", err.message, json);
}

/* ---- the course model ----------------------------------------------------- */

static void compare_course(const accsim_model *model, const int8_t *images, size_t count,
                           const int *widths, int nwidths)
{
    accsim_error err;
    accsim_network net;
    cr_assert_eq(accsim_network_from_course_model(model, &net, &err), 0, "%s", err.message);
    cr_assert_eq(net.mac_count, ACCSIM_LAYERS);
    cr_assert_eq(accsim_network_input_count(&net), ACCSIM_IMAGE_BYTES);
    accsim_engine *engine = accsim_course_oracle_create(&err) /* the former course engine */;
    cr_assert_not_null(engine);
    for (int ov = 0; ov < 2; ov++) {
        for (int wi = 0; wi < nwidths; wi++) {
            accsim_config cfg;
            accsim_config_default(&cfg);
            cfg.overflow = ov ? ACCSIM_WRAP : ACCSIM_SATURATE;
            int bits[ACCSIM_LAYERS];
            for (int l = 0; l < ACCSIM_LAYERS; l++) {
                /* Mix: the width itself, and neighbours per layer. */
                int b = widths[wi] + (wi % 2 ? (l % 3) - 1 : 0);
                bits[l] = cfg.bits[l] = b < 2 ? 2 : b > 32 ? 32 : b;
            }
            accsim_result ref;
            testdata_run(engine, model, images, count, &cfg, &ref);
            accsim_network_result res;
            cr_assert_eq(accsim_network_result_init(&res, &net, count, &err), 0);
            accsim_network_config ncfg = {.bits = bits, .overflow = cfg.overflow};
            cr_assert_eq(accsim_network_run(&net, &ncfg, images, count, &res, &err), 0, "%s",
                         err.message);
            for (size_t i = 0; i < count; i++) {
                for (int c = 0; c < ACCSIM_CLASSES; c++)
                    cr_assert_eq(res.outputs[i * 10 + c], ref.outputs[i * 10 + c],
                                 "image %zu output %d, B=%d %s", i, c, bits[0],
                                 ov ? "wrap" : "saturate");
                cr_assert_eq(res.predictions[i], ref.predictions[i], "image %zu prediction", i);
                for (int l = 0; l < ACCSIM_LAYERS; l++) {
                    size_t k = i * ACCSIM_LAYERS + (size_t)l;
                    cr_assert_eq(res.saturations[k], ref.saturations[k], "image %zu layer %d sat", i, l);
                    cr_assert_eq(res.out_min[k], ref.out_min[k], "image %zu layer %d out_min", i, l);
                    cr_assert_eq(res.out_max[k], ref.out_max[k], "image %zu layer %d out_max", i, l);
                    cr_assert_eq(res.psum_min[k], ref.psum_min[k], "image %zu layer %d psum_min", i, l);
                    cr_assert_eq(res.psum_max[k], ref.psum_max[k], "image %zu layer %d psum_max", i, l);
                }
            }
            accsim_network_result_free(&res);
            accsim_result_free(&ref);
        }
    }
    accsim_engine_destroy(engine);
    accsim_network_free(&net);
}

static const int course_widths[] = {2, 8, 12, 16, 18, 24, 32};

Test(network, course_random_models_equal_the_c_engine)
{
    size_t count = 12 / SCALE_DOWN + 2;
    int8_t *images = malloc(count * ACCSIM_IMAGE_BYTES);
    cr_assert_not_null(images);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        accsim_model model;
        accsim_model_random(&model, seed);
        rng_state = seed * 7919 + 1;
        for (size_t i = 0; i < count * ACCSIM_IMAGE_BYTES; i++)
            images[i] = (int8_t)rnd_in(-128, 127);
        compare_course(&model, images, count, course_widths, 7);
        accsim_model_free(&model);
    }
    free(images);
}

Test(network, course_shipped_model_on_cifar)
{
    const char *mdir = testdata_shipped_model_dir(), *ddir = testdata_cifar_dir();
    if (!mdir || !ddir)
        cr_skip_test("shipped model or CIFAR-10 data absent");
    accsim_error err;
    accsim_model model;
    cr_assert_eq(accsim_model_load(&model, mdir, &err), 0, "%s", err.message);
    accsim_dataset data;
    cr_assert_eq(accsim_dataset_load(&data, ddir, ACCSIM_SPLIT_TEST, &err), 0, "%s", err.message);
    size_t count = 200 / SCALE_DOWN;
    int8_t *ref = malloc(data.count * ACCSIM_IMAGE_BYTES), *mine = malloc(count * ACCSIM_IMAGE_BYTES);
    cr_assert(ref && mine);
    accsim_dataset_quantize(&data, model.input_scale, ref);
    accsim_network net;
    cr_assert_eq(accsim_network_from_course_model(&model, &net, &err), 0, "%s", err.message);
    cr_assert_eq(accsim_network_quantize_images(&net, data.pixels, count, mine, &err), 0);
    cr_assert_eq(memcmp(ref, mine, count * ACCSIM_IMAGE_BYTES), 0, "input quantization differs");
    accsim_network_free(&net);
    compare_course(&model, ref, count, course_widths, 7);
    free(ref);
    free(mine);
    accsim_dataset_free(&data);
    accsim_model_free(&model);
}

/* ---- TFLite fixed point ---------------------------------------------------- */

Test(network, fixed_point_known_values)
{
    /* SaturatingRoundingDoublingHighMul: round(a*b / 2^31), ties upwards. */
    cr_assert_eq(accsim_srdhm(3, 1 << 30), 2);   /* 1.5 -> 2 */
    cr_assert_eq(accsim_srdhm(-3, 1 << 30), -1); /* -1.5 -> -1 */
    cr_assert_eq(accsim_srdhm(-5, 1 << 30), -2); /* -2.5 -> -2 */
    cr_assert_eq(accsim_srdhm(5, 1 << 30), 3);
    cr_assert_eq(accsim_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);
    cr_assert_eq(accsim_srdhm(INT32_MAX, INT32_MAX), INT32_MAX - 1);
    cr_assert_eq(accsim_srdhm(1000, 1 << 29), 250);
    /* RoundingDivideByPOT: ties away from zero. */
    cr_assert_eq(accsim_rounding_divide_by_pot(3, 1), 2);
    cr_assert_eq(accsim_rounding_divide_by_pot(-3, 1), -2);
    cr_assert_eq(accsim_rounding_divide_by_pot(5, 2), 1);   /* 1.25 */
    cr_assert_eq(accsim_rounding_divide_by_pot(6, 2), 2);   /* 1.5 */
    cr_assert_eq(accsim_rounding_divide_by_pot(-6, 2), -2); /* -1.5 */
    cr_assert_eq(accsim_rounding_divide_by_pot(-5, 2), -1); /* -1.25 */
    cr_assert_eq(accsim_rounding_divide_by_pot(-7, 2), -2); /* -1.75 */
    cr_assert_eq(accsim_rounding_divide_by_pot(INT32_MIN, 31), -1);
    cr_assert_eq(accsim_rounding_divide_by_pot(INT32_MAX, 31), 1);
    cr_assert_eq(accsim_rounding_divide_by_pot(12345, 0), 12345);
    /* MultiplyByQuantizedMultiplier(x, m, s) ~ x * m/2^31 * 2^s, double rounding. */
    cr_assert_eq(accsim_multiply_by_quantized_multiplier(100, 1 << 30, 0), 50);
    cr_assert_eq(accsim_multiply_by_quantized_multiplier(101, 1 << 30, 0), 51);   /* 50.5 up */
    cr_assert_eq(accsim_multiply_by_quantized_multiplier(-101, 1 << 30, 0), -50); /* -50.5 up */
    cr_assert_eq(accsim_multiply_by_quantized_multiplier(-101, 1 << 30, -1), -25);
    cr_assert_eq(accsim_multiply_by_quantized_multiplier(-102, 1 << 30, -2), -13); /* -12.75 */
    cr_assert_eq(accsim_multiply_by_quantized_multiplier(-100, 1 << 30, -3), -6);  /* -6.25 */
    cr_assert_eq(accsim_multiply_by_quantized_multiplier(-12, 1 << 30, -2), -2);   /* -6/4=-1.5 */
    cr_assert_eq(accsim_multiply_by_quantized_multiplier(12, 1 << 30, -2), 2);
    cr_assert_eq(accsim_multiply_by_quantized_multiplier(7, 1 << 30, 2), 14);
    /* Double rounding: 0.75 * 5 = 3.75 -> srdhm 4 (3.75 rounds) ; then /4 ... */
    cr_assert_eq(accsim_multiply_by_quantized_multiplier(5, 1610612736, -2), 1); /* 3.75/4 */
    /* A realistic multiplier: 0.0123 * 2^-4 applied to 123456. */
    int32_t m = (int32_t)llround(0.0123 * 64 * 2147483648.0); /* 0.7872 in Q31, shift -6 */
    /* 123456 * m / 2^31 = 97184.999.. -> 97185, / 64 = 1518.52 -> 1519 (1518.49 in one rounding) */
    cr_assert_eq(m, 1690499128);
    cr_assert_eq(accsim_multiply_by_quantized_multiplier(123456, m, -6), 1519);
    cr_assert_eq(accsim_mbqm_smaller_than_one_exp(-3 * (1 << 20), 1 << 30, -20), -2); /* -1.5 away */
    cr_assert_eq(accsim_mbqm_smaller_than_one_exp(3 << 20, 1 << 30, -20), 2);
}

/* ---- naive references --------------------------------------------------------- */

typedef struct nstats {
    uint32_t events;
    int32_t pmin, pmax, omin, omax;
} nstats;

static int64_t nadd(int64_t acc, int64_t term, int bits, bool wrap, nstats *st)
{
    int64_t lo = -((int64_t)1 << (bits - 1)), hi = ((int64_t)1 << (bits - 1)) - 1;
    int64_t v = acc + term;
    if (v < lo || v > hi) {
        st->events++;
        if (!wrap) {
            v = v < lo ? lo : hi;
        } else {
            int64_t m = (int64_t)1 << bits;
            v = ((v - lo) % m + m) % m + lo;
        }
    }
    if (v < st->pmin)
        st->pmin = (int32_t)v;
    if (v > st->pmax)
        st->pmax = (int32_t)v;
    return v;
}

static int8_t nclamp(int64_t v, int lo, int hi) { return (int8_t)(v < lo ? lo : v > hi ? hi : v); }

typedef struct mac_case {
    bool conv;
    int nhwc;
    int H, W, C, O, groups, kh, kw, sh, sw;
    int pad_mode, pads[4]; /* 0 valid, 1 same, 2 explicit */
    int order;             /* 0 hwc, 1 chw, -1 default */
    int tile, bias;        /* bias 0 none, 1 first, 2 last */
    int zp_mode, zin, zout;
    bool fixed, per_channel;
    /* float: 0 no "rounding" key (half to even), 1 "half_even", 2 "half_away";
     * 1 and 2 use power-of-two scales, which make many accumulators exact ties. */
    int rounding;
    int clamp_lo, clamp_hi;
    int bits, bits_out;
    bool wrap;
} mac_case;

/* Builds the one-op network of a case into json + fs; returns weights etc. for the reference. */
typedef struct mac_data {
    int8_t *w;
    int32_t *bias;
    double *scale;
    int32_t *mult, *shift;
} mac_data;

static void build_mac(const mac_case *c, sbuf *json, memfs *fs, mac_data *d)
{
    int cg = c->conv ? c->C / c->groups : c->C * c->H * c->W;
    int kh = c->conv ? c->kh : 1, kw = c->conv ? c->kw : 1;
    size_t nw = (size_t)c->O * kh * kw * cg;
    d->w = malloc(nw);
    d->bias = malloc(sizeof(int32_t) * (size_t)c->O);
    d->scale = malloc(sizeof(double) * (size_t)c->O);
    d->mult = malloc(sizeof(int32_t) * (size_t)c->O);
    d->shift = malloc(sizeof(int32_t) * (size_t)c->O);
    for (size_t i = 0; i < nw; i++)
        d->w[i] = (int8_t)rnd_in(-128, 127);
    double typical = sqrt((double)kh * kw * cg) * 128 * 74;
    for (int o = 0; o < c->O; o++) {
        d->bias[o] = rnd_in(-200000, 200000);
        d->scale[o] = (c->per_channel ? (0.5 + (double)rnd_in(0, 1000) / 1000) : 1.0) * 100.0 / typical;
        int e;
        double f = frexp(d->scale[o], &e); /* scale = f * 2^e, f in [0.5, 1) */
        d->mult[o] = (int32_t)llround(f * 2147483648.0);
        if (d->mult[o] == INT32_MIN)
            d->mult[o] = INT32_MAX;
        d->shift[o] = e;
        if (!c->per_channel && o > 0) {
            d->mult[o] = d->mult[0];
            d->shift[o] = d->shift[0];
        }
        if (c->rounding)
            d->scale[o] = exp2(round(log2(d->scale[o])));
    }
    sb_printf(json, "{\"format\": \"accsim-network\", \"version\": 1, \"layout\": \"%s\",\n"
              " \"input\": {\"tensor\": \"x\", \"shape\": ", c->nhwc ? "NHWC" : "NCHW");
    if (c->nhwc)
        sb_printf(json, "[%d, %d, %d]", c->H, c->W, c->C);
    else
        sb_printf(json, "[%d, %d, %d]", c->C, c->H, c->W);
    sb_printf(json, ", \"zero_point\": %d},\n \"output\": \"y\",\n \"ops\": [{\"op\": \"%s\", "
              "\"name\": \"layer\", \"input\": \"x\", \"output\": \"y\", \"weights\": \"w.npy\"",
              c->zin, c->conv ? "conv2d" : "fully_connected");
    size_t wshape[4];
    if (c->conv) {
        wshape[0] = (size_t)c->O;
        if (c->nhwc) {
            wshape[1] = (size_t)kh, wshape[2] = (size_t)kw, wshape[3] = (size_t)cg;
        } else {
            wshape[1] = (size_t)cg, wshape[2] = (size_t)kh, wshape[3] = (size_t)kw;
        }
        fs_add(fs, "w.npy", ACCSIM_NPY_I1, 4, wshape, d->w);
        sb_printf(json, ", \"stride\": [%d, %d], \"groups\": %d", c->sh, c->sw, c->groups);
        if (c->pad_mode == 1)
            sb_printf(json, ", \"padding\": \"same\"");
        else if (c->pad_mode == 2)
            sb_printf(json, ", \"padding\": [%d, %d, %d, %d]", c->pads[0], c->pads[1], c->pads[2],
                      c->pads[3]);
        else if (rnd() % 2)
            sb_printf(json, ", \"padding\": \"valid\"");
    } else {
        wshape[0] = (size_t)c->O;
        wshape[1] = (size_t)cg;
        fs_add(fs, "w.npy", ACCSIM_NPY_I1, 2, wshape, d->w);
    }
    size_t oshape[1] = {(size_t)c->O};
    if (c->bias) {
        fs_add(fs, "b.npy", ACCSIM_NPY_I4, 1, oshape, d->bias);
        sb_printf(json, ", \"bias\": \"b.npy\"");
    }
    if (!c->fixed) {
        static const char *const rounding[] = {"", ", \"rounding\": \"half_even\"",
                                               ", \"rounding\": \"half_away\""};
        if (c->per_channel) {
            fs_add(fs, "s.npy", ACCSIM_NPY_F8, 1, oshape, d->scale);
            sb_printf(json, ", \"requantize\": {\"kind\": \"float\", \"scale\": \"s.npy\"%s}",
                      rounding[c->rounding]);
        } else {
            sb_printf(json, ", \"requantize\": {\"kind\": \"float\", \"scale\": %.17g%s}",
                      d->scale[0], rounding[c->rounding]);
        }
    } else if (c->per_channel) {
        fs_add(fs, "m.npy", ACCSIM_NPY_I4, 1, oshape, d->mult);
        fs_add(fs, "sh.npy", ACCSIM_NPY_I4, 1, oshape, d->shift);
        sb_printf(json, ", \"requantize\": {\"kind\": \"fixed\", \"multiplier\": \"m.npy\", "
                  "\"shift\": \"sh.npy\", \"rounding\": \"double\"}");
    } else {
        sb_printf(json, ", \"requantize\": {\"kind\": \"fixed\", \"multiplier\": %d, \"shift\": %d}",
                  d->mult[0], d->shift[0]);
    }
    sb_printf(json, ", \"output_zero_point\": %d, \"clamp\": [%d, %d], \"accumulator\": {\"tile\": %d",
              c->zout, c->clamp_lo, c->clamp_hi, c->tile);
    if (c->order >= 0)
        sb_printf(json, ", \"order\": \"%s\"", c->order ? "chw" : "hwc");
    if (c->bias)
        sb_printf(json, ", \"bias\": \"%s\"", c->bias == 1 ? "first" : "last");
    static const char *const zp[] = {"per_product", "folded_first", "folded_last"};
    sb_printf(json, ", \"zero_point\": \"%s\"}}]}\n", zp[c->zp_mode]);
}

static void mac_data_free(mac_data *d)
{
    free(d->w);
    free(d->bias);
    free(d->scale);
    free(d->mult);
    free(d->shift);
}

static void naive_pad(int mode, int in, int k, int s, int ea, int eb, int *a, int *b)
{
    if (mode == 0) {
        *a = *b = 0;
    } else if (mode == 2) {
        *a = ea;
        *b = eb;
    } else {
        int out = in / s + (in % s != 0);
        int total = (out - 1) * s + k - in;
        if (total < 0)
            total = 0;
        *a = total / 2;
        *b = total - *a;
    }
}

/* The reference: the design's text, one output at a time. */
static void naive_mac(const mac_case *c, const mac_data *d, const int8_t *x, int8_t *y,
                      nstats *st, size_t *ycount)
{
    st->events = 0;
    st->pmin = st->pmax = 0;
    st->omin = INT32_MAX;
    st->omax = INT32_MIN;
    int H = c->conv ? c->H : 1, W = c->conv ? c->W : 1;
    int Cin = c->conv ? c->C : c->C * c->H * c->W;
    int groups = c->conv ? c->groups : 1;
    int cg = Cin / groups, kh = c->conv ? c->kh : 1, kw = c->conv ? c->kw : 1;
    int sh = c->conv ? c->sh : 1, sw = c->conv ? c->sw : 1;
    int pt = 0, pb = 0, pl = 0, pr = 0;
    if (c->conv) {
        naive_pad(c->pad_mode, H, kh, sh, c->pads[0], c->pads[1], &pt, &pb);
        naive_pad(c->pad_mode, W, kw, sw, c->pads[2], c->pads[3], &pl, &pr);
    }
    int OH = (H + pt + pb - kh) / sh + 1, OW = (W + pl + pr - kw) / sw + 1;
    int order = c->order >= 0 ? c->order : (c->nhwc ? 0 : 1);
    int R = cg * kh * kw;
    bool tiled = c->tile > 0;
    int bo = tiled ? c->bits_out : c->bits;
    *ycount = (size_t)OH * OW * c->O;
    for (int o = 0; o < c->O; o++) {
        int g = o / (c->O / groups);
        for (int oy = 0; oy < OH; oy++) {
            for (int ox = 0; ox < OW; ox++) {
                int64_t wsum = 0;
                for (int r = 0; r < R; r++)
                    wsum += d->w[(size_t)o * R + r]; /* any order: all taps */
                int64_t outer = 0, t = 0;
                if (c->bias == 1)
                    outer = nadd(outer, d->bias[o], bo, c->wrap, st);
                if (c->zp_mode == 1)
                    outer = nadd(outer, -(int64_t)c->zin * wsum, bo, c->wrap, st);
                for (int r = 0; r < R; r++) {
                    int ky, kx, ci;
                    if (order == 0) {
                        ky = r / (kw * cg);
                        kx = r / cg % kw;
                        ci = r % cg;
                    } else {
                        ci = r / (kh * kw);
                        ky = r / kw % kh;
                        kx = r % kw;
                    }
                    if (tiled && r % c->tile == 0)
                        t = 0;
                    int iy = oy * sh - pt + ky, ix = ox * sw - pl + kx, cc = g * cg + ci;
                    bool valid = iy >= 0 && iy < H && ix >= 0 && ix < W;
                    int8_t wv;
                    if (!c->conv)
                        wv = d->w[(size_t)o * R + ci];
                    else if (c->nhwc)
                        wv = d->w[(((size_t)o * kh + ky) * kw + kx) * cg + ci];
                    else
                        wv = d->w[(((size_t)o * cg + ci) * kh + ky) * kw + kx];
                    int64_t term = 0;
                    bool add = true;
                    if (valid) {
                        int xv;
                        if (!c->conv)
                            xv = x[cc];
                        else if (c->nhwc)
                            xv = x[((size_t)iy * W + ix) * c->C + cc];
                        else
                            xv = x[((size_t)cc * H + iy) * W + ix];
                        term = c->zp_mode == 0 ? (int64_t)(xv - c->zin) * wv : (int64_t)xv * wv;
                    } else if (c->zp_mode == 0) {
                        add = false;
                    } else {
                        term = (int64_t)c->zin * wv;
                    }
                    if (tiled) {
                        if (add)
                            t = nadd(t, term, c->bits, c->wrap, st);
                        if ((r + 1) % c->tile == 0 || r == R - 1)
                            outer = nadd(outer, t, bo, c->wrap, st);
                    } else if (add) {
                        outer = nadd(outer, term, bo, c->wrap, st);
                    }
                }
                if (c->zp_mode == 2)
                    outer = nadd(outer, -(int64_t)c->zin * wsum, bo, c->wrap, st);
                if (c->bias == 2)
                    outer = nadd(outer, d->bias[o], bo, c->wrap, st);
                if (outer < st->omin)
                    st->omin = (int32_t)outer;
                if (outer > st->omax)
                    st->omax = (int32_t)outer;
                int64_t r;
                if (c->fixed)
                    r = (int64_t)accsim_multiply_by_quantized_multiplier((int32_t)outer, d->mult[o],
                                                                         d->shift[o]) + c->zout;
                else
                    r = (int64_t)(c->rounding == 2 ? round((double)outer * d->scale[o])
                                                   : nearbyint((double)outer * d->scale[o])) +
                        c->zout;
                size_t yi = !c->conv ? (size_t)o
                            : c->nhwc ? ((size_t)oy * OW + ox) * c->O + o
                                      : ((size_t)o * OH + oy) * OW + ox;
                y[yi] = nclamp(r, c->clamp_lo, c->clamp_hi);
            }
        }
    }
}

static void run_mac_case(const mac_case *c, int images)
{
    memfs fs = {0};
    sbuf json = {0};
    mac_data d;
    build_mac(c, &json, &fs, &d);
    accsim_network net;
    parse_ok(&net, json.s, &fs);
    size_t in_count = (size_t)c->H * c->W * c->C;
    int8_t *x = malloc(in_count * (size_t)images);
    for (size_t i = 0; i < in_count * (size_t)images; i++)
        x[i] = (int8_t)rnd_in(-128, 127);
    accsim_network_result res;
    accsim_error err;
    cr_assert_eq(accsim_network_result_init(&res, &net, (size_t)images, &err), 0);
    int bits = c->bits, bits_out = c->bits_out;
    accsim_network_config cfg = {.bits = &bits, .bits_out = &bits_out,
                                 .overflow = c->wrap ? ACCSIM_WRAP : ACCSIM_SATURATE,
                                 .threads = 1 + (int)(rnd() % 2)};
    cr_assert_eq(accsim_network_run(&net, &cfg, x, (size_t)images, &res, &err), 0, "%s", err.message);
    int8_t *y = malloc(res.output_count + 1);
    for (int i = 0; i < images; i++) {
        nstats st;
        size_t ycount;
        naive_mac(c, &d, x + (size_t)i * in_count, y, &st, &ycount);
        cr_assert_eq(ycount, res.output_count, "output size\n%s", json.s);
        for (size_t k = 0; k < ycount; k++)
            cr_assert_eq(res.outputs[(size_t)i * ycount + k], y[k],
                         "image %d output %zu: %d, naive %d (B=%d/%d %s)\n%s", i, k,
                         res.outputs[(size_t)i * ycount + k], y[k], c->bits, c->bits_out,
                         c->wrap ? "wrap" : "saturate", json.s);
        cr_assert_eq(res.saturations[i], st.events, "saturations %u, naive %u (B=%d/%d)\n%s",
                     res.saturations[i], st.events, c->bits, c->bits_out, json.s);
        cr_assert_eq(res.psum_min[i], st.pmin, "psum_min %d naive %d\n%s", res.psum_min[i], st.pmin, json.s);
        cr_assert_eq(res.psum_max[i], st.pmax, "psum_max %d naive %d\n%s", res.psum_max[i], st.pmax, json.s);
        cr_assert_eq(res.out_min[i], st.omin, "out_min\n%s", json.s);
        cr_assert_eq(res.out_max[i], st.omax, "out_max\n%s", json.s);
    }
    free(y);
    free(x);
    accsim_network_result_free(&res);
    accsim_network_free(&net);
    mac_data_free(&d);
    fs_free(&fs);
    free(json.s);
}

static const int widths[] = {2, 3, 5, 8, 12, 16, 17, 20, 24, 31, 32};
#define NWIDTHS ((int)(sizeof widths / sizeof widths[0]))

static mac_case random_conv_case(void)
{
    mac_case c = {.conv = true};
    c.nhwc = (int)(rnd() % 2);
    c.kh = rnd_in(1, 4);
    c.kw = rnd_in(1, 4);
    c.sh = rnd_in(1, 3);
    c.sw = rnd_in(1, 3);
    c.pad_mode = rnd_in(0, 2);
    for (int k = 0; k < 4; k++)
        c.pads[k] = rnd_in(0, 2);
    c.H = rnd_in(c.kh, 9);
    c.W = rnd_in(c.kw, 9);
    int kind = rnd_in(0, 2); /* plain, grouped, depthwise */
    if (kind == 0) {
        c.groups = 1;
        c.C = rnd_in(1, 5);
        c.O = rnd_in(1, 5);
    } else if (kind == 1) {
        c.groups = rnd_in(2, 3);
        c.C = c.groups * rnd_in(1, 3);
        c.O = c.groups * rnd_in(1, 3);
    } else {
        c.C = rnd_in(1, 6);
        c.groups = c.C;
        c.O = c.C * rnd_in(1, 2);
    }
    c.order = rnd_in(-1, 1);
    int R = c.C / c.groups * c.kh * c.kw;
    int tiles[] = {0, 0, 1, 2, 3, c.kh * c.kw, R, R + 1};
    c.tile = tiles[rnd() % 8];
    c.bias = rnd_in(0, 2);
    c.zp_mode = rnd_in(0, 2);
    int zps[] = {0, -128, 5, -7, 127};
    c.zin = zps[rnd() % 5];
    c.zout = zps[rnd() % 5];
    c.fixed = rnd() % 2;
    c.per_channel = rnd() % 2;
    c.rounding = rnd_in(0, 2);
    c.clamp_lo = -128;
    c.clamp_hi = 127;
    if (rnd() % 3 == 0)
        c.clamp_lo = c.zout;
    c.bits = widths[rnd() % NWIDTHS];
    c.bits_out = rnd() % 2 ? c.bits : widths[rnd() % NWIDTHS];
    c.wrap = rnd() % 2;
    return c;
}

Test(network, conv2d_against_naive)
{
    rng_state = 12345;
    int cases = 600 / SCALE_DOWN;
    for (int i = 0; i < cases; i++) {
        mac_case c = random_conv_case();
        run_mac_case(&c, 2);
    }
}

Test(network, conv2d_hand_picked)
{
    rng_state = 777;
    /* SAME with stride 2 on odd and even sizes; depthwise multiplier 2;
     * the course's chw tile; tiles crossing channels; every width. */
    mac_case base = {.conv = true, .nhwc = 1, .H = 7, .W = 6, .C = 4, .O = 8, .groups = 4,
                     .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pad_mode = 1, .order = -1, .tile = 0,
                     .bias = 2, .zp_mode = 0, .zin = -128, .zout = -128, .fixed = true,
                     .per_channel = true, .clamp_lo = -128, .clamp_hi = 127, .bits = 32,
                     .bits_out = 32};
    for (int w = 0; w < NWIDTHS; w++) {
        for (int variant = 0; variant < 6; variant++) {
            mac_case c = base;
            c.bits = c.bits_out = widths[w];
            c.wrap = variant % 2;
            if (variant >= 2) {
                c.nhwc = 0;
                c.groups = 1;
                c.O = 3;
                c.order = 1;
                c.tile = 9;
                c.bias = variant >= 4 ? 1 : 0;
                c.zp_mode = variant >= 4 ? 1 : 2;
                c.pad_mode = 2;
                c.pads[0] = 1, c.pads[1] = 0, c.pads[2] = 2, c.pads[3] = 1;
                c.sh = 1;
                c.fixed = false;
            }
            run_mac_case(&c, 2);
        }
    }
}

Test(network, fully_connected_against_naive)
{
    rng_state = 999;
    int cases = 300 / SCALE_DOWN;
    for (int i = 0; i < cases; i++) {
        mac_case c = {.conv = false, .nhwc = rnd() % 2, .groups = 1};
        c.H = 1;
        c.W = 1;
        c.C = rnd_in(1, 40);
        if (rnd() % 3 == 0) {
            c.H = rnd_in(1, 3);
            c.W = rnd_in(1, 3);
        }
        c.O = rnd_in(1, 12);
        int tiles[] = {0, 0, 1, 4, 7, 64};
        c.tile = tiles[rnd() % 6];
        c.bias = rnd_in(0, 2);
        c.zp_mode = rnd_in(0, 2);
        int zps[] = {0, -128, 3, 127};
        c.zin = zps[rnd() % 4];
        c.zout = zps[rnd() % 4];
        c.fixed = rnd() % 2;
        c.per_channel = rnd() % 2;
        c.rounding = rnd_in(0, 2);
        c.clamp_lo = rnd() % 2 ? -128 : c.zout;
        c.clamp_hi = 127;
        c.order = -1;
        c.bits = widths[rnd() % NWIDTHS];
        c.bits_out = widths[rnd() % NWIDTHS];
        c.wrap = rnd() % 2;
        /* fully_connected reads its input as [N]: describe it as such. */
        c.C *= c.H * c.W;
        c.H = c.W = 1;
        run_mac_case(&c, 3);
    }
}

/* ---- float requantization's tie rule ---------------------------------------- */

/* A one-weight fully_connected (y = x * 1 * scale): the accumulator is the
 * input value itself. rounding: NULL (no key), "half_even" or "half_away". */
static void tie_network(accsim_network *net, memfs *fs, double scale, const char *rounding,
                        int zout)
{
    static const int8_t one[1] = {1};
    size_t wshape[2] = {1, 1};
    fs_add(fs, "w.npy", ACCSIM_NPY_I1, 2, wshape, one);
    sbuf json = {0};
    sb_printf(&json, "{\"format\": \"accsim-network\", \"version\": 1, \"layout\": \"NHWC\",\n"
              " \"input\": {\"tensor\": \"x\", \"shape\": [1, 1, 1], \"zero_point\": 0},\n"
              " \"output\": \"y\", \"ops\": [{\"op\": \"fully_connected\", \"name\": \"fc\",\n"
              " \"input\": \"x\", \"output\": \"y\", \"weights\": \"w.npy\",\n"
              " \"requantize\": {\"kind\": \"float\", \"scale\": %.17g", scale);
    if (rounding)
        sb_printf(&json, ", \"rounding\": \"%s\"", rounding);
    sb_printf(&json, "}, \"output_zero_point\": %d}]}\n", zout);
    parse_ok(net, json.s, fs);
    free(json.s);
}

/* x / 2 rounded, in integers (no libm): half away from zero or half to even. */
static int half_of(int x, bool away)
{
    int lo = x >= 0 ? x / 2 : -((1 - x) / 2); /* floor(x / 2) */
    if (x % 2 == 0)
        return x / 2;
    if (away)
        return x > 0 ? lo + 1 : lo;
    return lo % 2 == 0 ? lo : lo + 1;
}

Test(network, float_rounding_ties_every_int8_input)
{
    const char *modes[] = {NULL, "half_even", "half_away"};
    for (int m = 0; m < 3; m++) {
        for (int zout = 0; zout <= 3; zout += 3) {
            memfs fs = {0};
            accsim_network net;
            tie_network(&net, &fs, 0.5, modes[m], zout);
            bool away = m == 2;
            cr_assert_eq(net.ops[0].requant.rounding,
                         away ? ACCSIM_ROUND_HALF_AWAY : ACCSIM_ROUND_HALF_EVEN);
            int8_t x[256];
            for (int i = 0; i < 256; i++)
                x[i] = (int8_t)(i - 128);
            accsim_network_result res;
            accsim_error err;
            cr_assert_eq(accsim_network_result_init(&res, &net, 256, &err), 0);
            int bits = 32;
            accsim_network_config cfg = {.bits = &bits, .overflow = ACCSIM_SATURATE, .threads = 2};
            cr_assert_eq(accsim_network_run(&net, &cfg, x, 256, &res, &err), 0, "%s", err.message);
            for (int i = 0; i < 256; i++) {
                int want = half_of(x[i], away) + zout;
                cr_assert_eq(res.outputs[i], want, "%s zout %d: x=%d -> %d, want %d",
                             modes[m] ? modes[m] : "(default)", zout, x[i], res.outputs[i], want);
            }
            /* The ties that tell the rules apart, positive and negative. */
            cr_assert_eq(res.outputs[5 + 128], (away ? 3 : 2) + zout);    /* 2.5 */
            cr_assert_eq(res.outputs[-5 + 128], (away ? -3 : -2) + zout); /* -2.5 */
            cr_assert_eq(res.outputs[3 + 128], 2 + zout);                 /* 1.5: both 2 */
            cr_assert_eq(res.outputs[-1 + 128], (away ? -1 : 0) + zout);  /* -0.5 */
            cr_assert_eq(res.outputs[1 + 128], (away ? 1 : 0) + zout);    /* 0.5 */
            accsim_network_result_free(&res);
            accsim_network_free(&net);
            fs_free(&fs);
        }
    }
}

Test(network, float_rounding_applies_to_the_double_product)
{
    /* The rule applies to the product rounded once to double, as TFLite's
     * round((double)acc * scale): 0.1 is 0.1000000000000000055.. in double,
     * 5 * it is above 0.5 but rounds to the double 0.5, a tie; 25 -> 2.5
     * likewise. 0.7 is 0.6999999999999999556..: 45 * 0.7 is the double
     * 31.499999999999996, not a tie (31 under both rules). */
    static const struct {
        double scale;
        int32_t acc;
        int even, away;
    } cases[] = {{0.1, 5, 0, 1},     {0.1, -5, 0, -1},   {0.1, 15, 2, 2},
                 {0.1, -15, -2, -2}, {0.1, 25, 2, 3},    {0.1, -25, -2, -3},
                 {0.7, 45, 31, 31},  {0.7, -45, -31, -31}, {0.1, 1275, 127, 127},
                 {0.1, -1285, -128, -128}};
    for (size_t i = 0; i < 2 * sizeof cases / sizeof cases[0]; i++) {
        int m = (int)(i % 2);
        memfs fs = {0};
        accsim_network net;
        tie_network(&net, &fs, cases[i / 2].scale, m ? "half_away" : "half_even", 0);
        int got = accsim_network_requantize(&net, &net.ops[0], 0, cases[i / 2].acc);
        int want = m ? cases[i / 2].away : cases[i / 2].even;
        cr_assert_eq(got, want, "%s: acc %d * %g -> %d, want %d", m ? "half_away" : "half_even",
                     cases[i / 2].acc, cases[i / 2].scale, got, want);
        accsim_network_free(&net);
        fs_free(&fs);
    }
}

/* ---- pools, add, clamp, reshape ---------------------------------------------- */

static void input_json(sbuf *j, bool nhwc, int H, int W, int C, int zp, const char *name)
{
    if (nhwc)
        sb_printf(j, "\"input\": {\"tensor\": \"%s\", \"shape\": [%d, %d, %d], \"zero_point\": %d}",
                  name, H, W, C, zp);
    else
        sb_printf(j, "\"input\": {\"tensor\": \"%s\", \"shape\": [%d, %d, %d], \"zero_point\": %d}",
                  name, C, H, W, zp);
}

Test(network, pools_against_naive)
{
    rng_state = 4242;
    int cases = 400 / SCALE_DOWN;
    for (int n = 0; n < cases; n++) {
        bool nhwc = rnd() % 2, avg = rnd() % 2;
        int kh = rnd_in(1, 4), kw = rnd_in(1, 4), sh = rnd_in(1, 3), sw = rnd_in(1, 3);
        int H = rnd_in(kh, 10), W = rnd_in(kw, 10), C = rnd_in(1, 4);
        int mode = rnd_in(0, 3), pads[4] = {rnd_in(0, kh - 1), rnd_in(0, kh - 1), rnd_in(0, kw - 1),
                                              rnd_in(0, kw - 1)};
        if (mode == 3) { /* global */
            kh = H, kw = W, sh = sw = 1, mode = 0;
        }
        int lo = rnd() % 2 ? -128 : rnd_in(-128, 0), hi = rnd() % 2 ? 127 : rnd_in(1, 127);
        int zp = rnd_in(-128, 127);
        sbuf j = {0};
        sb_printf(&j, "{\"format\": \"accsim-network\", \"version\": 1, \"layout\": \"%s\", ",
                  nhwc ? "NHWC" : "NCHW");
        input_json(&j, nhwc, H, W, C, zp, "x");
        sb_printf(&j, ", \"output\": \"y\", \"ops\": [{\"op\": \"%s\", \"name\": \"p\", \"input\": "
                  "\"x\", \"output\": \"y\", \"kernel\": [%d, %d], \"stride\": [%d, %d], \"clamp\": [%d, %d]",
                  avg ? "avg_pool" : "max_pool", kh, kw, sh, sw, lo, hi);
        if (mode == 1)
            sb_printf(&j, ", \"padding\": \"same\"");
        if (mode == 2)
            sb_printf(&j, ", \"padding\": [%d, %d, %d, %d]", pads[0], pads[1], pads[2], pads[3]);
        sb_printf(&j, "}]}");
        accsim_network net;
        parse_ok(&net, j.s, NULL);
        cr_assert_eq(net.tensors[net.output].zero_point, zp, "a pool keeps its zero point");
        int pt, pb, pl, pr;
        naive_pad(mode, H, kh, sh, pads[0], pads[1], &pt, &pb);
        naive_pad(mode, W, kw, sw, pads[2], pads[3], &pl, &pr);
        int OH = (H + pt + pb - kh) / sh + 1, OW = (W + pl + pr - kw) / sw + 1;
        size_t count = (size_t)H * W * C;
        int8_t *x = malloc(count);
        for (size_t i = 0; i < count; i++)
            x[i] = (int8_t)rnd_in(-128, 127);
        accsim_network_result res;
        accsim_error err;
        cr_assert_eq(accsim_network_result_init(&res, &net, 1, &err), 0);
        cr_assert_eq(res.output_count, (size_t)OH * OW * C, "%s", j.s);
        accsim_network_config cfg = {.overflow = ACCSIM_SATURATE};
        cr_assert_eq(accsim_network_run(&net, &cfg, x, 1, &res, &err), 0, "%s", err.message);
        for (int c = 0; c < C; c++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    int m = -1000, sum = 0, cnt = 0;
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++) {
                            int iy = oy * sh - pt + ky, ix = ox * sw - pl + kx;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                continue;
                            int v = nhwc ? x[((size_t)iy * W + ix) * C + c] : x[((size_t)c * H + iy) * W + ix];
                            m = v > m ? v : m;
                            sum += v;
                            cnt++;
                        }
                    cr_assert_gt(cnt, 0);
                    /* round half away from zero */
                    int a = (int)lround((double)sum / cnt);
                    int want = nclamp(avg ? a : m, lo, hi);
                    size_t yi = nhwc ? ((size_t)oy * OW + ox) * C + c : ((size_t)c * OH + oy) * OW + ox;
                    cr_assert_eq(res.outputs[yi], want, "pool (%d,%d,%d): %d, naive %d\n%s", c, oy,
                                 ox, res.outputs[yi], want, j.s);
                }
        free(x);
        accsim_network_result_free(&res);
        accsim_network_free(&net);
        free(j.s);
    }
}

Test(network, add_clamp_reshape_against_naive)
{
    rng_state = 31337;
    int cases = 300 / SCALE_DOWN;
    for (int n = 0; n < cases; n++) {
        /* x -> clamp -> a ; x -> reshape (same count, 1-D) -> reshape back -> b ; add(a, b) */
        int H = rnd_in(1, 4), W = rnd_in(1, 4), C = rnd_in(1, 4);
        bool fixed = rnd() % 2, nhwc = rnd() % 2;
        int zx = rnd_in(-128, 127), zo = rnd_in(-128, 127);
        int clo = rnd_in(-128, 0), chi = rnd_in(0, 127);
        int lo = rnd() % 2 ? -128 : rnd_in(-128, 0), hi = rnd() % 2 ? 127 : rnd_in(0, 127);
        int left_shift = rnd() % 2 ? 20 : rnd_in(0, 22);
        int32_t m1 = (int32_t)rnd_in(1 << 30, INT32_MAX), m2 = (int32_t)rnd_in(1 << 30, INT32_MAX);
        int32_t mo = (int32_t)rnd_in(1 << 30, INT32_MAX);
        int s1 = -rnd_in(0, 3), s2 = -rnd_in(0, 3), so = -(left_shift > 2 ? rnd_in(left_shift - 2, left_shift) : 0);
        double a1 = rnd_in(1, 2000) / 1000.0, a2 = rnd_in(1, 2000) / 1000.0;
        sbuf j = {0};
        sb_printf(&j, "{\"format\": \"accsim-network\", \"version\": 1, \"layout\": \"%s\", ",
                  nhwc ? "NHWC" : "NCHW");
        input_json(&j, nhwc, H, W, C, zx, "x");
        int d0 = nhwc ? H : C, d1 = nhwc ? W : H, d2 = nhwc ? C : W;
        /* ops listed out of order on purpose: the loader orders them */
        sb_printf(&j, ", \"output\": \"y\", \"ops\": ["
                  "{\"op\": \"add\", \"name\": \"sum\", \"inputs\": [\"a\", \"b\"], \"output\": \"y\", "
                  "\"output_zero_point\": %d, \"clamp\": [%d, %d], ", zo, lo, hi);
        if (fixed)
            sb_printf(&j, "\"requantize\": {\"kind\": \"fixed\", \"left_shift\": %d, "
                      "\"input_multipliers\": [%d, %d], \"input_shifts\": [%d, %d], "
                      "\"output_multiplier\": %d, \"output_shift\": %d}},",
                      left_shift, m1, m2, s1, s2, mo, so);
        else
            sb_printf(&j, "\"requantize\": {\"kind\": \"float\", \"scales\": [%.17g, %.17g]}},", a1, a2);
        sb_printf(&j, "{\"op\": \"reshape\", \"name\": \"back\", \"input\": \"flat\", \"output\": \"b\", "
                  "\"shape\": [%d, %d, %d], \"output_shape\": [%d, %d, %d]},"
                  "{\"op\": \"clamp\", \"name\": \"c\", \"input\": \"x\", \"output\": \"a\", \"min\": %d, \"max\": %d},"
                  "{\"op\": \"reshape\", \"name\": \"flatten\", \"input\": \"x\", \"output\": \"flat\", \"shape\": [%d]}"
                  "]}",
                  d0, d1, d2, d0, d1, d2, clo, chi, H * W * C);
        accsim_network net;
        parse_ok(&net, j.s, NULL);
        size_t count = (size_t)H * W * C;
        int8_t *x = malloc(count);
        for (size_t i = 0; i < count; i++)
            x[i] = (int8_t)rnd_in(-128, 127);
        accsim_network_result res;
        accsim_error err;
        cr_assert_eq(accsim_network_result_init(&res, &net, 1, &err), 0);
        accsim_network_config cfg = {.overflow = ACCSIM_SATURATE};
        cr_assert_eq(accsim_network_run(&net, &cfg, x, 1, &res, &err), 0, "%s", err.message);
        int best = 0;
        for (size_t i = 0; i < count; i++) {
            int a = nclamp(x[i], clo, chi), b = x[i];
            int64_t r;
            if (fixed) {
                int32_t va = (a - zx) * (1 << left_shift), vb = (b - zx) * (1 << left_shift);
                va = accsim_mbqm_smaller_than_one_exp(va, m1, s1);
                vb = accsim_mbqm_smaller_than_one_exp(vb, m2, s2);
                r = accsim_mbqm_smaller_than_one_exp(va + vb, mo, so) + (int64_t)zo;
            } else {
                double v = a1 * (a - zx) + a2 * (b - zx);
                r = (int64_t)nearbyint(v) + zo;
            }
            int8_t want = nclamp(r, lo, hi);
            cr_assert_eq(res.outputs[i], want, "element %zu: %d, naive %d\n%s", i, res.outputs[i], want, j.s);
            if (res.outputs[i] > res.outputs[best])
                best = (int)i;
        }
        cr_assert_eq(res.predictions[0], (uint32_t)best, "first maximum");
        free(x);
        accsim_network_result_free(&res);
        accsim_network_free(&net);
        free(j.s);
    }
}

/* ---- the example network of docs/network-format.md --------------------------- */

/* Writes the example (input 32x32x3 NHWC as TFLite would have it) into fs and json. */
static void example_network(sbuf *json, memfs *fs)
{
    rng_state = 2024;
    static int8_t w1[4 * 3 * 3 * 3], wd[4 * 3 * 3 * 1], wf[10 * 4];
    static int32_t b1[4], bd[4], bf[10], md[4], sd[4];
    for (size_t i = 0; i < sizeof w1; i++)
        w1[i] = (int8_t)rnd_in(-127, 127);
    for (size_t i = 0; i < sizeof wd; i++)
        wd[i] = (int8_t)rnd_in(-127, 127);
    for (size_t i = 0; i < sizeof wf; i++)
        wf[i] = (int8_t)rnd_in(-127, 127);
    for (int i = 0; i < 4; i++) {
        b1[i] = rnd_in(-5000, 5000);
        bd[i] = rnd_in(-5000, 5000);
        md[i] = rnd_in(1 << 30, INT32_MAX);
        sd[i] = -rnd_in(6, 8);
    }
    for (int i = 0; i < 10; i++)
        bf[i] = rnd_in(-2000, 2000);
    size_t s1[4] = {4, 3, 3, 3}, sdw[4] = {4, 3, 3, 1}, sf[2] = {10, 4}, s4[1] = {4}, s10[1] = {10};
    fs_add(fs, "conv1.weights.npy", ACCSIM_NPY_I1, 4, s1, w1);
    fs_add(fs, "conv1.bias.npy", ACCSIM_NPY_I4, 1, s4, b1);
    fs_add(fs, "dw.weights.npy", ACCSIM_NPY_I1, 4, sdw, wd);
    fs_add(fs, "dw.bias.npy", ACCSIM_NPY_I4, 1, s4, bd);
    fs_add(fs, "dw.multiplier.npy", ACCSIM_NPY_I4, 1, s4, md);
    fs_add(fs, "dw.shift.npy", ACCSIM_NPY_I4, 1, s4, sd);
    fs_add(fs, "fc.weights.npy", ACCSIM_NPY_I1, 2, sf, wf);
    fs_add(fs, "fc.bias.npy", ACCSIM_NPY_I4, 1, s10, bf);
    sb_printf(json,
              "{\n"
              "  \"format\": \"accsim-network\",\n"
              "  \"version\": 1,\n"
              "  \"name\": \"tiny\",\n"
              "  \"layout\": \"NHWC\",\n"
              "  \"input\": {\"tensor\": \"image\", \"shape\": [32, 32, 3], \"zero_point\": -128,\n"
              "            \"quantize\": {\"kind\": \"offset\", \"offset\": -128}},\n"
              "  \"output\": \"logits\",\n"
              "  \"ops\": [\n"
              "    {\"op\": \"conv2d\", \"name\": \"conv1\", \"input\": \"image\", \"output\": \"c1\",\n"
              "     \"weights\": \"conv1.weights.npy\", \"bias\": \"conv1.bias.npy\",\n"
              "     \"stride\": [2, 2], \"padding\": \"same\",\n"
              "     \"requantize\": {\"kind\": \"fixed\", \"multiplier\": 1518500250, \"shift\": -9},\n"
              "     \"output_zero_point\": -128, \"clamp\": [-128, 127], \"output_shape\": [16, 16, 4]},\n"
              "    {\"op\": \"conv2d\", \"name\": \"dw\", \"input\": \"c1\", \"output\": \"d1\",\n"
              "     \"weights\": \"dw.weights.npy\", \"bias\": \"dw.bias.npy\", \"groups\": 4,\n"
              "     \"padding\": [1, 1, 1, 1],\n"
              "     \"requantize\": {\"kind\": \"fixed\", \"multiplier\": \"dw.multiplier.npy\",\n"
              "                    \"shift\": \"dw.shift.npy\", \"rounding\": \"double\"},\n"
              "     \"output_zero_point\": -128, \"clamp\": [-128, 127],\n"
              "     \"accumulator\": {\"order\": \"hwc\", \"tile\": 0, \"bias\": \"last\",\n"
              "                     \"zero_point\": \"per_product\"}},\n"
              "    {\"op\": \"add\", \"name\": \"residual\", \"inputs\": [\"c1\", \"d1\"], \"output\": \"r1\",\n"
              "     \"requantize\": {\"kind\": \"fixed\", \"left_shift\": 20,\n"
              "                    \"input_multipliers\": [1073741824, 1073741824], \"input_shifts\": [0, 0],\n"
              "                    \"output_multiplier\": 1073741824, \"output_shift\": -19},\n"
              "     \"output_zero_point\": -128, \"clamp\": [-128, 127]},\n"
              "    {\"op\": \"avg_pool\", \"name\": \"gap\", \"input\": \"r1\", \"output\": \"g\",\n"
              "     \"kernel\": [16, 16]},\n"
              "    {\"op\": \"reshape\", \"name\": \"flatten\", \"input\": \"g\", \"output\": \"f\", \"shape\": [4]},\n"
              "    {\"op\": \"fully_connected\", \"name\": \"fc\", \"input\": \"f\", \"output\": \"logits\",\n"
              "     \"weights\": \"fc.weights.npy\", \"bias\": \"fc.bias.npy\",\n"
              "     \"requantize\": {\"kind\": \"float\", \"scale\": 0.004},\n"
              "     \"output_zero_point\": 0}\n"
              "  ]\n"
              "}\n");
}

Test(network, example_loads_from_a_directory)
{
    memfs fs = {0};
    sbuf json = {0};
    example_network(&json, &fs);
    char *dir = testdata_tempdir();
    fs_write_dir(&fs, json.s, dir);
    accsim_network net, mem;
    accsim_error err;
    cr_assert_eq(accsim_network_load(&net, dir, &err), 0, "%s", err.message);
    parse_ok(&mem, json.s, &fs);
    cr_assert_eq(net.mac_count, 3);
    cr_assert_str_eq(net.ops[net.mac_ops[1]].name, "dw");
    cr_assert_eq(net.tensors[net.output].count, 10);
    /* Same results from the directory and from memory, and every pixel byte maps. */
    size_t count = 4;
    uint8_t *pix = malloc(count * 3072);
    int8_t *x = malloc(count * 3072);
    for (size_t i = 0; i < count * 3072; i++)
        pix[i] = (uint8_t)rnd();
    cr_assert_eq(accsim_network_quantize_images(&net, pix, count, x, &err), 0);
    /* NHWC: element (y, x, c) comes from record byte c*1024 + y*32 + x, minus 128 */
    cr_assert_eq(x[(5 * 32 + 7) * 3 + 2], (int8_t)(pix[2 * 1024 + 5 * 32 + 7] - 128));
    int bits[3] = {14, 12, 16};
    accsim_network_config cfg = {.bits = bits, .overflow = ACCSIM_SATURATE};
    accsim_network_result a, b;
    cr_assert_eq(accsim_network_result_init(&a, &net, count, &err), 0);
    cr_assert_eq(accsim_network_result_init(&b, &mem, count, &err), 0);
    cr_assert_eq(accsim_network_run(&net, &cfg, x, count, &a, &err), 0, "%s", err.message);
    cr_assert_eq(accsim_network_run(&mem, &cfg, x, count, &b, &err), 0, "%s", err.message);
    cr_assert_eq(memcmp(a.outputs, b.outputs, count * 10), 0);
    cr_assert_eq(memcmp(a.saturations, b.saturations, count * 3 * sizeof(uint32_t)), 0);
    accsim_network_result_free(&a);
    accsim_network_result_free(&b);
    free(pix);
    free(x);
    accsim_network_free(&net);
    accsim_network_free(&mem);
    testdata_remove_tree(dir);
    free(dir);
    fs_free(&fs);
    free(json.s);
}

Test(network, input_quantize_rules)
{
    for (int nhwc = 0; nhwc < 2; nhwc++) {
        for (int kind = 0; kind < 3; kind++) {
            sbuf j = {0};
            sb_printf(&j, "{\"format\": \"accsim-network\", \"version\": 1, \"layout\": \"%s\", "
                      "\"input\": {\"tensor\": \"x\", \"shape\": %s, \"quantize\": ",
                      nhwc ? "NHWC" : "NCHW", nhwc ? "[2, 4, 3]" : "[3, 2, 4]");
            if (kind == 0)
                sb_printf(&j, "{\"kind\": \"offset\", \"offset\": -100}");
            else if (kind == 1)
                sb_printf(&j, "{\"kind\": \"course\", \"scale\": 37.5}");
            else
                sb_printf(&j, "{\"kind\": \"affine\", \"mean\": [0.4914, 0.4822, 0.4465], "
                          "\"std\": [0.247, 0.243, 0.261], \"scale\": 0.0187, \"zero_point\": -3}");
            sb_printf(&j, "}, \"output\": \"y\", \"ops\": [{\"op\": \"clamp\", \"name\": \"c\", "
                      "\"input\": \"x\", \"output\": \"y\", \"min\": -128, \"max\": 127}]}");
            accsim_network net;
            parse_ok(&net, j.s, NULL);
            uint8_t pix[2 * 24];
            int8_t q[2 * 24];
            for (int i = 0; i < 48; i++)
                pix[i] = (uint8_t)(i * 53 + 7);
            pix[5] = 0, pix[6] = 255, pix[7] = 128;
            accsim_error err;
            cr_assert_eq(accsim_network_quantize_images(&net, pix, 2, q, &err), 0, "%s", err.message);
            const double mean[3] = {0.4914, 0.4822, 0.4465}, sd[3] = {0.247, 0.243, 0.261};
            for (int i = 0; i < 2; i++)
                for (int c = 0; c < 3; c++)
                    for (int y = 0; y < 2; y++)
                        for (int x = 0; x < 4; x++) {
                            uint8_t p = pix[i * 24 + (c * 2 + y) * 4 + x];
                            long want;
                            if (kind == 0)
                                want = p - 100;
                            else if (kind == 1)
                                want = accsim_quantize_pixel(p, 37.5);
                            else
                                want = lrint(((p / 255.0 - mean[c]) / sd[c]) / 0.0187) - 3;
                            want = want < -128 ? -128 : want > 127 ? 127 : want;
                            int at = nhwc ? (y * 4 + x) * 3 + c : (c * 2 + y) * 4 + x;
                            cr_assert_eq(q[i * 24 + at], want, "kind %d nhwc %d (%d,%d,%d)", kind,
                                         nhwc, c, y, x);
                        }
            accsim_network_free(&net);
            free(j.s);
        }
    }
}

/* MAC layers are numbered in manifest order, whatever the order they run in. */
Test(network, mac_layers_in_manifest_order)
{
    rng_state = 55;
    int8_t w1[6 * 20], w2[4 * 6];
    for (size_t i = 0; i < sizeof w1; i++)
        w1[i] = (int8_t)rnd_in(-128, 127);
    for (size_t i = 0; i < sizeof w2; i++)
        w2[i] = (int8_t)rnd_in(-128, 127);
    memfs fs = {0};
    fs_add(&fs, "w1.npy", ACCSIM_NPY_I1, 2, (size_t[]){6, 20}, w1);
    fs_add(&fs, "w2.npy", ACCSIM_NPY_I1, 2, (size_t[]){4, 6}, w2);
    const char *fc1 = "{\"op\": \"fully_connected\", \"name\": \"fc1\", \"input\": \"x\", "
                      "\"output\": \"h\", \"weights\": \"w1.npy\", "
                      "\"requantize\": {\"kind\": \"float\", \"scale\": 0.002}}";
    const char *fc2 = "{\"op\": \"fully_connected\", \"name\": \"fc2\", \"input\": \"h\", "
                      "\"output\": \"y\", \"weights\": \"w2.npy\", "
                      "\"requantize\": {\"kind\": \"float\", \"scale\": 0.01}}";
    char fwd[2048], rev[2048];
    const char *head = "{\"format\": \"accsim-network\", \"version\": 1, \"layout\": \"NHWC\", "
                       "\"input\": {\"tensor\": \"x\", \"shape\": [20]}, \"output\": \"y\", \"ops\": [";
    snprintf(fwd, sizeof fwd, "%s%s, %s]}", head, fc1, fc2);
    snprintf(rev, sizeof rev, "%s%s, %s]}", head, fc2, fc1);
    accsim_network a, b;
    parse_ok(&a, fwd, &fs);
    parse_ok(&b, rev, &fs);
    cr_assert_str_eq(b.ops[b.mac_ops[0]].name, "fc2");
    cr_assert_eq(b.exec_order[0], 1, "fc1 runs first");
    int8_t x[8 * 20];
    for (size_t i = 0; i < sizeof x; i++)
        x[i] = (int8_t)rnd_in(-128, 127);
    int bits_a[2] = {13, 9}, bits_b[2] = {9, 13};
    accsim_network_config ca = {.bits = bits_a}, cb = {.bits = bits_b};
    accsim_network_result ra, rb;
    accsim_error err;
    cr_assert_eq(accsim_network_result_init(&ra, &a, 8, &err), 0);
    cr_assert_eq(accsim_network_result_init(&rb, &b, 8, &err), 0);
    cr_assert_eq(accsim_network_run(&a, &ca, x, 8, &ra, &err), 0, "%s", err.message);
    cr_assert_eq(accsim_network_run(&b, &cb, x, 8, &rb, &err), 0, "%s", err.message);
    uint32_t events = 0;
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(memcmp(ra.outputs + i * 4, rb.outputs + i * 4, 4), 0);
        for (int m = 0; m < 2; m++) {
            cr_assert_eq(ra.saturations[i * 2 + m], rb.saturations[i * 2 + 1 - m]);
            cr_assert_eq(ra.psum_min[i * 2 + m], rb.psum_min[i * 2 + 1 - m]);
            cr_assert_eq(ra.out_max[i * 2 + m], rb.out_max[i * 2 + 1 - m]);
            events += ra.saturations[i * 2 + m];
        }
    }
    cr_assert_gt(events, 0, "the widths should saturate somewhere");
    accsim_network_result_free(&ra);
    accsim_network_result_free(&rb);
    accsim_network_free(&a);
    accsim_network_free(&b);
    fs_free(&fs);
}

/* ---- bad descriptions ----------------------------------------------------------- */

/* Replaces the first occurrence of from with to in a copy of text. */
static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    cr_assert_not_null(at, "'%s' not in the text", from);
    size_t n = strlen(text) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    size_t head = (size_t)(at - text);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

static void expect_parse_error(const char *json, memfs *fs, const char *const *substrings)
{
    accsim_network net;
    accsim_error err = {{0}};
    int rc = accsim_network_parse(&net, json, strlen(json), "DIR/network.json", fs_get, fs, &err);
    cr_assert_neq(rc, 0, "accepted:\n%s", json);
    cr_assert_not_null(strstr(err.message, "DIR/network.json"), "message: %s", err.message);
    for (int i = 0; substrings[i]; i++)
        cr_assert_not_null(strstr(err.message, substrings[i]), "'%s' not in the message: %s",
                           substrings[i], err.message);
}

#define EXPECT_BAD(json, fs, ...)                                                               \
    do {                                                                                        \
        static const char *const subs_[] = {__VA_ARGS__, NULL};                                 \
        expect_parse_error(json, fs, subs_);                                                    \
    } while (0)

/* ---- float32 precision (onnxruntime's arithmetic) ------------------------------ */

/* y = x * scale in one fully_connected with "precision" (NULL: no key). */
static void precision_network(accsim_network *net, memfs *fs, const char *scale,
                              const char *precision)
{
    static const int8_t one[1] = {1};
    size_t wshape[2] = {1, 1};
    fs_add(fs, "w.npy", ACCSIM_NPY_I1, 2, wshape, one);
    sbuf json = {0};
    sb_printf(&json, "{\"format\": \"accsim-network\", \"version\": 1, \"layout\": \"NHWC\",\n"
              " \"input\": {\"tensor\": \"x\", \"shape\": [1, 1, 1]},\n"
              " \"output\": \"y\", \"ops\": [{\"op\": \"fully_connected\", \"name\": \"fc\",\n"
              " \"input\": \"x\", \"output\": \"y\", \"weights\": \"w.npy\",\n"
              " \"requantize\": {\"kind\": \"float\", \"scale\": %s", scale);
    if (precision)
        sb_printf(&json, ", \"precision\": \"%s\"", precision);
    sb_printf(&json, "}}]}\n");
    parse_ok(net, json.s, fs);
    free(json.s);
}

Test(network, float32_precision_is_one_float32_product)
{
    /* 0.1f = 0.100000001490116..: 5 * 0.1f = 0.50000000745 in double (rounds
     * to 1) but 0.5 in float32 (a tie: 0); 15 * 0.1f = 1.5000000224 (2) vs 1.5
     * (2, to even); 25 -> 2.5000000373 (3) vs 2.5 (2). 2^24 + 1 becomes the
     * float 2^24 before the product: (2^24 + 1) * 2^-20 is 16.00000095 in
     * double, 16 in float32 (both 16); a product beyond int8 is clamped. */
    static const struct {
        const char *scale;
        int32_t acc;
        int f64, f32;
    } cases[] = {{"0.100000001490116119384765625", 5, 1, 0},
                 {"0.100000001490116119384765625", -5, -1, 0},
                 {"0.100000001490116119384765625", 15, 2, 2},
                 {"0.100000001490116119384765625", 25, 3, 2},
                 {"0.100000001490116119384765625", -25, -3, -2},
                 {"9.5367431640625e-07", 16777217, 16, 16},
                 {"3.0517578125e-05", 16777218, 127, 127}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int f = 0; f < 3; f++) {
            memfs fs = {0};
            accsim_network net;
            const char *prec = f == 0 ? NULL : f == 1 ? "float64" : "float32";
            precision_network(&net, &fs, cases[i].scale, prec);
            cr_assert_eq(net.ops[0].requant.float32, f == 2);
            int got = accsim_network_requantize(&net, &net.ops[0], 0, cases[i].acc);
            int want = f == 2 ? cases[i].f32 : cases[i].f64;
            cr_assert_eq(got, want, "%s: acc %d * %s -> %d, want %d", prec ? prec : "(default)",
                         cases[i].acc, cases[i].scale, got, want);
            accsim_network_free(&net);
            fs_free(&fs);
        }
    }
    /* Under float32 every scale must be a float32 value, and the field is checked. */
    memfs fs = {0};
    const char *base = "{\"format\": \"accsim-network\", \"version\": 1, \"layout\": \"NHWC\",\n"
                       " \"input\": {\"tensor\": \"x\", \"shape\": [1, 1, 1]},\n"
                       " \"output\": \"y\", \"ops\": [{\"op\": \"fully_connected\", \"name\": \"fc\",\n"
                       " \"input\": \"x\", \"output\": \"y\", \"weights\": \"w.npy\",\n"
                       " \"requantize\": {\"kind\": \"float\", \"scale\": 0.1, \"precision\": \"P\"}}]}\n";
    static const int8_t one[1] = {1};
    size_t wshape[2] = {1, 1};
    fs_add(&fs, "w.npy", ACCSIM_NPY_I1, 2, wshape, one);
    char *j = replace(base, "\"P\"", "\"float32\"");
    EXPECT_BAD(j, &fs, "ops[0] (fc)", "requantize: scale", "not a float32 value");
    free(j);
    j = replace(base, "\"P\"", "\"half\"");
    EXPECT_BAD(j, &fs, "requantize: precision", "\"half\"");
    free(j);
    j = replace(base, "\"P\"", "32");
    EXPECT_BAD(j, &fs, "requantize: precision", "float32");
    free(j);
    fs_free(&fs);
}

/* add(x, x) with the float32 form: r = rint(fma(x + k, a1, fma(x + k, a2, c))) - k. */
static const char add32_json[] =
    "{\"format\": \"accsim-network\", \"version\": 1, \"layout\": \"NHWC\",\n"
    " \"input\": {\"tensor\": \"x\", \"shape\": [1, 1, 1], \"zero_point\": 3},\n"
    " \"output\": \"y\", \"ops\": [{\"op\": \"add\", \"name\": \"add\", \"inputs\": [\"x\", \"x\"],\n"
    " \"output\": \"y\", \"output_zero_point\": -7, \"clamp\": [-100, 120],\n"
    " \"requantize\": {\"kind\": \"float\", \"scales\": [0.5, 0.25], \"precision\": \"float32\",\n"
    "                \"offset\": 3.5, \"value_offset\": 0}}]}\n";

Test(network, add_float32_form)
{
    for (int k = 0; k <= 128; k += 128) {
        memfs fs = {0};
        accsim_network net;
        char voff[32];
        snprintf(voff, sizeof voff, "\"value_offset\": %d", k);
        char *j = replace(add32_json, "\"value_offset\": 0", voff);
        parse_ok(&net, j, &fs);
        free(j);
        cr_assert(net.ops[0].add_float32);
        cr_assert_eq(net.ops[0].add_value_offset, k);
        int8_t x[256];
        for (int i = 0; i < 256; i++)
            x[i] = (int8_t)(i - 128);
        accsim_network_result res;
        accsim_error err;
        cr_assert_eq(accsim_network_result_init(&res, &net, 256, &err), 0);
        int bits = 32;
        accsim_network_config cfg = {.bits = &bits, .overflow = ACCSIM_SATURATE, .threads = 2};
        cr_assert_eq(accsim_network_run(&net, &cfg, x, 256, &res, &err), 0, "%s", err.message);
        for (int i = 0; i < 256; i++) {
            /* 0.75 v + 3.5 (v = x + k) is exact in float32: quarter steps; ties
             * (v = 2 mod 4 ... ) round to even. The zero points do not enter:
             * they are in the offset. */
            int v = x[i] + k;
            int four = 3 * v + 14; /* 4 * (0.75 v + 3.5) */
            int q = four >= 0 ? four / 4 : -((-four + 3) / 4); /* floor */
            int rem = four - 4 * q;
            int r = rem < 2 ? q : rem > 2 ? q + 1 : (q % 2 == 0 ? q : q + 1);
            r -= k;
            r = r < -128 ? -128 : r > 127 ? 127 : r;
            r = r < -100 ? -100 : r > 120 ? 120 : r;
            cr_assert_eq(res.outputs[i], r, "k %d: x=%d -> %d, want %d", k, x[i], res.outputs[i], r);
        }
        accsim_network_result_free(&res);
        accsim_network_free(&net);
        fs_free(&fs);
    }
    memfs fs = {0};
    char *j = replace(add32_json, "\"offset\": 3.5, ", "");
    EXPECT_BAD(j, &fs, "ops[0] (add)", "requantize: offset", "missing");
    free(j);
    j = replace(add32_json, "\"precision\": \"float32\",", "");
    EXPECT_BAD(j, &fs, "ops[0] (add)", "requantize", "need \"precision\": \"float32\"");
    free(j);
    j = replace(add32_json, "\"offset\": 3.5", "\"offset\": 0.1");
    EXPECT_BAD(j, &fs, "requantize: offset", "not a float32 value");
    free(j);
    j = replace(add32_json, "[0.5, 0.25]", "[0.5, 0.3]");
    EXPECT_BAD(j, &fs, "requantize: scales", "not a float32 value");
    free(j);
    j = replace(add32_json, "\"value_offset\": 0", "\"value_offset\": 256");
    EXPECT_BAD(j, &fs, "requantize: value_offset");
    free(j);
}

Test(network, bad_manifests_name_the_field)
{
    memfs fs = {0};
    sbuf json = {0};
    example_network(&json, &fs);
    const char *j = json.s;
    struct {
        const char *from, *to;
        const char *want[3];
    } cases[] = {
        {"\"conv2d\", \"name\": \"conv1\"", "\"conv3d\", \"name\": \"conv1\"",
         {"ops[0] (conv1)", "unknown op \"conv3d\""}},
        {"\"groups\": 4,", "\"groups\": 4, \"dilation\": [1, 1],", {"ops[1] (dw)", "unknown field 'dilation'"}},
        {"\"input\": \"c1\", \"output\": \"d1\"", "\"input\": \"r1\", \"output\": \"d1\"",
         {"cycle"}},
        {"\"shape\": [4]}", "\"shape\": [5]}", {"ops[4] (flatten)", "shape", "does not chain"}},
        {"\"kernel\": [16, 16]", "\"kernel\": [17, 16]", {"ops[3] (gap)", "does not chain"}},
        {"\"groups\": 4", "\"groups\": 2", {"ops[1] (dw)", "does not chain"}},
        {"\"output_shape\": [16, 16, 4]", "\"output_shape\": [32, 32, 4]",
         {"ops[0] (conv1)", "output_shape", "does not chain"}},
        {"\"scale\": 0.004", "\"scale\": -0.004", {"ops[5] (fc)", "requantize: scale", "positive"}},
        {"\"scale\": 0.004", "\"scale\": 0", {"ops[5] (fc)", "requantize: scale", "positive"}},
        {"\"scale\": 0.004", "\"scale\": \"nan.npy\"", {"ops[5] (fc)", "requantize: scale", "nan.npy"}},
        {"\"scale\": 0.004", "\"scale\": 0.004, \"rounding\": \"half_up\"",
         {"ops[5] (fc)", "requantize: rounding", "\"half_up\""}},
        {"\"scale\": 0.004", "\"scale\": 0.004, \"rounding\": 1",
         {"ops[5] (fc)", "requantize: rounding", "half_away"}},
        {"\"scale\": 0.004", "\"scale\": 0.004, \"rounding\": \"double\"",
         {"ops[5] (fc)", "requantize: rounding", "half_even"}},
        {"\"output_zero_point\": 0}", "\"output_zero_point\": 128}", {"ops[5] (fc)", "output_zero_point", "-128..127"}},
        {"\"zero_point\": -128,\n", "\"zero_point\": -129,\n", {"input", "zero_point", "-128..127"}},
        {"\"clamp\": [-128, 127], \"output_shape\"", "\"clamp\": [5, -5], \"output_shape\"", {"ops[0] (conv1)", "clamp"}},
        {"\"clamp\": [-128, 127], \"output_shape\"", "\"clamp\": [-129, 127], \"output_shape\"", {"ops[0] (conv1)", "clamp"}},
        {"\"weights\": \"conv1.weights.npy\"", "\"weights\": \"missing.npy\"", {"ops[0] (conv1)", "weights", "missing.npy"}},
        {"\"weights\": \"conv1.weights.npy\"", "\"weights\": \"../conv1.weights.npy\"", {"ops[0] (conv1)", "weights"}},
        {"\"weights\": \"conv1.weights.npy\"", "\"weights\": \"conv1.bias.npy\"", {"ops[0] (conv1)", "weights", "dtype int32"}},
        {"\"bias\": \"conv1.bias.npy\"", "\"bias\": \"dw.bias.npy\", \"bias2\": 1", {"ops[0] (conv1)", "unknown field 'bias2'"}},
        {"\"bias\": \"fc.bias.npy\"", "\"bias\": \"conv1.bias.npy\"", {"ops[5] (fc)", "bias", "shape [4], expected [10]"}},
        {"\"weights\": \"fc.weights.npy\"", "\"weights\": \"conv1.weights.npy\"", {"ops[5] (fc)", "weights", "shape"}},
        {"\"output\": \"logits\",\n  \"ops\"", "\"output\": \"nowhere\",\n  \"ops\"", {"output", "unknown tensor 'nowhere'"}},
        {"\"input\": \"f\"", "\"input\": \"g2\"", {"ops[5] (fc)", "unknown tensor 'g2'"}},
        {"\"output\": \"d1\"", "\"output\": \"c1\"", {"ops[1] (dw)", "produced twice"}},
        {"\"layout\": \"NHWC\"", "\"layout\": \"HWC\"", {"layout"}},
        {"\"version\": 1", "\"version\": 2", {"version"}},
        {"\"shift\": -9", "\"shift\": 31", {"ops[0] (conv1)", "requantize: shift", "-31..30"}},
        {"\"multiplier\": 1518500250", "\"multiplier\": -1", {"ops[0] (conv1)", "requantize: multiplier"}},
        {"\"left_shift\": 20", "\"left_shift\": 40", {"ops[2] (residual)", "left_shift"}},
        {"\"tile\": 0", "\"tile\": -1", {"ops[1] (dw)", "accumulator: tile"}},
        {"\"zero_point\": \"per_product\"", "\"zero_point\": \"folded\"", {"ops[1] (dw)", "accumulator: zero_point"}},
        {"\"rounding\": \"double\"", "\"rounding\": \"single\"", {"ops[1] (dw)", "rounding"}},
        {"\"stride\": [2, 2]", "\"stride\": [0, 2]", {"ops[0] (conv1)", "stride"}},
        {"\"padding\": \"same\"", "\"padding\": \"full\"", {"ops[0] (conv1)", "padding"}},
        {"\"kernel\": [16, 16]}", "\"kernel\": [16, 16], \"padding\": [16, 0, 0, 0]}", {"ops[3] (gap)", "padding"}},
        {"\"name\": \"dw\"", "\"name\": \"conv1\"", {"ops[1] (conv1)", "also the name"}},
        {"\"inputs\": [\"c1\", \"d1\"]", "\"inputs\": [\"c1\"]", {"ops[2] (residual)", "inputs"}},
        {"\n}\n", "\n} {}\n", {"unexpected text after the JSON value"}},
        {"\"groups\": 4,", "\"groups\": 4, \"weight_zero_point\": 3,", {"ops[1] (dw)", "weight_zero_point"}},
        {"\"offset\": -128", "\"offset\": 1.5", {"input", "quantize: offset"}},
        {"\"groups\": 4,", "\"groups\": 4, \"weights\": \"fc.weights.npy\",", {"duplicate key \"weights\""}},
        {"\"kernel\": [16, 16]}", "\"kernel\": [16, 16], \"na\\\"me\": 1, \"na\\\"me\": 2}", {"duplicate key"}},
    };
    /* An .npy of NaN scales, for the case that names it. */
    double nan_scales[10];
    for (int i = 0; i < 10; i++)
        nan_scales[i] = i == 3 ? NAN : 0.01;
    size_t s10[1] = {10};
    fs_add(&fs, "nan.npy", ACCSIM_NPY_F8, 1, s10, nan_scales);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bad = replace(j, cases[i].from, cases[i].to);
        const char *want[4] = {cases[i].want[0], cases[i].want[1], cases[i].want[2], NULL};
        expect_parse_error(bad, &fs, want);
        free(bad);
    }
    /* An unused tensor: the fc reads g (via a reshape of its own), f is left over. */
    char *unused = replace(j, "\"shape\": [4]}", "\"shape\": [4]}, {\"op\": \"clamp\", \"name\": \"spare\", "
                           "\"input\": \"f\", \"output\": \"f2\", \"min\": 0, \"max\": 1}");
    EXPECT_BAD(unused, &fs, "ops[5] (spare)", "'f2' is not used");
    free(unused);
    EXPECT_BAD("{\"format\": \"accsim-network\"", &fs, "unexpected end of file");
    EXPECT_BAD("[1, 2]", &fs, "object");
    EXPECT_BAD("{\"format\": \"accsim-network\", \"version\": 1, /* c */ \"layout\": \"NHWC\"}", &fs,
               "comments are not allowed");
    fs_free(&fs);
    free(json.s);
}

Test(network, bad_tensor_files_name_the_file)
{
    memfs fs = {0};
    sbuf json = {0};
    example_network(&json, &fs);
    char *dir = testdata_tempdir();
    fs_write_dir(&fs, json.s, dir);
    char path[1200];
    accsim_network net;
    accsim_error err;
    /* wrong dtype in the header: int8 data declared as uint8 */
    snprintf(path, sizeof path, "%s/fc.weights.npy", dir);
    FILE *fp = fopen(path, "r+b");
    cr_assert_not_null(fp);
    fseek(fp, 10 + 12, SEEK_SET); /* {'descr': '|i1' -> the 'i' */
    char was = (char)fgetc(fp);
    cr_assert_eq(was, 'i');
    fseek(fp, 10 + 12, SEEK_SET);
    fputc('u', fp);
    fclose(fp);
    cr_assert_neq(accsim_network_load(&net, dir, &err), 0);
    cr_assert_not_null(strstr(err.message, "ops[5] (fc)"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "weights"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "dtype uint8"), "%s", err.message);
    /* big-endian int32 bias: refused by the reader, naming file and header field */
    size_t s10[1] = {10};
    int32_t b[10] = {0};
    cr_assert_eq(accsim_npy_save(path, ACCSIM_NPY_I1, 2, (size_t[]){10, 4}, (int8_t[40]){0}, &err), 0);
    snprintf(path, sizeof path, "%s/fc.bias.npy", dir);
    cr_assert_eq(accsim_npy_save(path, ACCSIM_NPY_I4, 1, s10, b, &err), 0);
    fp = fopen(path, "r+b");
    fseek(fp, 10 + 11, SEEK_SET);
    cr_assert_eq(fgetc(fp), '<');
    fseek(fp, 10 + 11, SEEK_SET);
    fputc('>', fp);
    fclose(fp);
    cr_assert_neq(accsim_network_load(&net, dir, &err), 0);
    cr_assert_not_null(strstr(err.message, "fc.bias.npy"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "descr"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "bias"), "%s", err.message);
    /* misshapen: 9 biases */
    cr_assert_eq(accsim_npy_save(path, ACCSIM_NPY_I4, 1, (size_t[]){9}, b, &err), 0);
    cr_assert_neq(accsim_network_load(&net, dir, &err), 0);
    cr_assert_not_null(strstr(err.message, "shape [9], expected [10]"), "%s", err.message);
    /* missing file */
    cr_assert_eq(remove(path), 0);
    cr_assert_neq(accsim_network_load(&net, dir, &err), 0);
    cr_assert_not_null(strstr(err.message, "fc.bias.npy"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "ops[5] (fc): bias"), "%s", err.message);
    /* truncated data */
    cr_assert_eq(accsim_npy_save(path, ACCSIM_NPY_I4, 1, s10, b, &err), 0);
    cr_assert_eq(truncate(path, 128 + 39), 0);
    cr_assert_neq(accsim_network_load(&net, dir, &err), 0);
    cr_assert_not_null(strstr(err.message, "data holds 39 bytes"), "%s", err.message);
    /* no manifest */
    snprintf(path, sizeof path, "%s/network.json", dir);
    cr_assert_eq(remove(path), 0);
    cr_assert_neq(accsim_network_load(&net, dir, &err), 0);
    cr_assert_not_null(strstr(err.message, "network.json"), "%s", err.message);
    testdata_remove_tree(dir);
    free(dir);
    fs_free(&fs);
    free(json.s);
}

Test(network, npy_header_strictness)
{
    accsim_npy a;
    accsim_error err;
    char *buf;
    size_t size;
    int16_t v[6] = {1, -2, 3, -4, 5, -6};
    cr_assert_eq(accsim_npy_encode(ACCSIM_NPY_I2, 2, (size_t[]){2, 3}, v, &buf, &size, &err), 0);
    cr_assert_eq(size % 64, 12); /* header padded to 64, then 12 data bytes */
    cr_assert_eq(accsim_npy_parse(buf, size, "v.npy", &a, &err), 0, "%s", err.message);
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 2);
    cr_assert_eq(a.shape[1], 3);
    cr_assert_eq(((int16_t *)a.data)[5], -6);
    accsim_npy_free(&a);
    struct {
        const char *header;
        const char *want;
    } bad[] = {
        {"{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }", "fortran_order"},
        {"{'descr': '>i2', 'fortran_order': False, 'shape': (2, 3), }", "descr"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }", "descr"},
        {"{'descr': '<i2', 'fortran_order': False, 'shape': (2, 4), }", "data holds"},
        {"{'descr': '<i2', 'fortran_order': False}", "missing shape"},
        {"{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", "unknown key"},
        {"{'descr': '<i2', 'descr': '<i2', 'fortran_order': False, 'shape': (2, 3)}", "twice"},
        {"{'descr': '<i2', 'fortran_order': False, 'shape': (2, -3), }", "shape"},
        {"{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), } x", "after the dict"},
        {"'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }", "dict"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char file[256];
        size_t hl = strlen(bad[i].header);
        memcpy(file, "\x93NUMPY\x01\x00", 8);
        file[8] = (char)(hl + 1);
        file[9] = 0;
        memcpy(file + 10, bad[i].header, hl);
        file[10 + hl] = '\n';
        memcpy(file + 11 + hl, v, 12);
        int rc = accsim_npy_parse(file, 11 + hl + 12, "v.npy", &a, &err);
        cr_assert_neq(rc, 0, "accepted %s", bad[i].header);
        cr_assert_not_null(strstr(err.message, "v.npy"), "%s", err.message);
        cr_assert_not_null(strstr(err.message, bad[i].want), "'%s' not in: %s", bad[i].want, err.message);
    }
    cr_assert_neq(accsim_npy_parse("\x93NUMPX\x01\x00", 8, "v.npy", &a, &err), 0);
    cr_assert_neq(accsim_npy_parse(buf, 9, "v.npy", &a, &err), 0);
    buf[6] = 4; /* version 4.0 */
    cr_assert_neq(accsim_npy_parse(buf, size, "v.npy", &a, &err), 0);
    cr_assert_not_null(strstr(err.message, "version"));
    free(buf);
}

Test(network, width_outside_range_is_refused)
{
    memfs fs = {0};
    sbuf json = {0};
    example_network(&json, &fs);
    accsim_network net;
    parse_ok(&net, json.s, &fs);
    accsim_network_result res;
    accsim_error err;
    cr_assert_eq(accsim_network_result_init(&res, &net, 1, &err), 0);
    int8_t x[3072] = {0};
    int bad[2][3] = {{32, 33, 16}, {1, 16, 16}};
    for (int k = 0; k < 2; k++) {
        accsim_network_config cfg = {.bits = bad[k], .overflow = ACCSIM_SATURATE};
        cr_assert_neq(accsim_network_run(&net, &cfg, x, 1, &res, &err), 0);
        cr_assert_not_null(strstr(err.message, "outside 2..32"), "%s", err.message);
        cr_assert_not_null(strstr(err.message, k ? "conv1" : "dw"), "%s", err.message);
    }
    int ok[3] = {16, 16, 16}, out_bad[3] = {16, 40, 16};
    accsim_network_config cfg = {.bits = ok, .bits_out = out_bad};
    cr_assert_neq(accsim_network_run(&net, &cfg, x, 1, &res, &err), 0);
    accsim_network_result_free(&res);
    accsim_network_free(&net);
    fs_free(&fs);
    free(json.s);
}

/* ---- the command line ------------------------------------------------------------- */

Test(network, cli_runs_a_description)
{
    const char *data = testdata_cifar_dir();
    if (!data)
        cr_skip_test("CIFAR-10 data absent");
    memfs fs = {0};
    sbuf json = {0};
    example_network(&json, &fs);
    char *dir = testdata_tempdir();
    fs_write_dir(&fs, json.s, dir);
    char args[4096], out[65536];
    snprintf(args, sizeof args, "run --model %s --data %s --limit 30 --bits 32 --dump-outputs %s/o.csv --quiet",
             dir, data, dir);
    int rc = testdata_run_cli(args, out, sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_not_null(strstr(out, "accuracy"), "%s", out);
    cr_assert_not_null(strstr(out, "conv1"), "%s", out);
    cr_assert_null(strstr(out, "residual"), "only MAC layers are listed: %s", out);
    char path[1200];
    snprintf(path, sizeof path, "%s/o.csv", dir);
    char *csv;
    size_t size;
    accsim_error err;
    cr_assert_eq(accsim_read_file(path, 1 << 20, &csv, &size, &err), 0);
    cr_assert_eq(strncmp(csv, "split,index,label,prediction,out0,out1,", 39), 0, "%s", csv);
    int lines = 0;
    for (char *c = csv; *c; c++)
        lines += *c == '\n';
    cr_assert_eq(lines, 31);
    free(csv);

    /* The same images through the library agree with the dump. */
    snprintf(args, sizeof args, "run --model %s --data %s --images 3,7 --bits 12,10,14 --overflow wrap --json -",
             dir, data);
    rc = testdata_run_cli(args, out, sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_not_null(strstr(out, "\"accuracy\""), "%s", out);
    cr_assert_not_null(strstr(out, "\"name\":\"dw\"") ? out : strstr(out, "\"name\": \"dw\""), "%s", out);
    cr_assert_not_null(strstr(out, "\"images\""), "%s", out);

    /* A --bits list of the wrong length: a usage error before any work, naming
     * the count expected and the layers (5 would have fitted the course model). */
    static const char *const wrong_lists[] = {"12,10", "12,10,14,16,18"};
    for (size_t i = 0; i < sizeof wrong_lists / sizeof wrong_lists[0]; i++) {
        snprintf(args, sizeof args, "run --model %s --data %s --limit 5 --bits %s", dir, data,
                 wrong_lists[i]);
        rc = testdata_run_cli(args, out, sizeof out);
        cr_assert_eq(rc, 2, "--bits %s: exit %d: %s", wrong_lists[i], rc, out);
        cr_assert_not_null(strstr(out, "3 MAC layers"), "%s", out);
        cr_assert_not_null(strstr(out, "or three, one per MAC layer"), "%s", out);
        cr_assert_not_null(strstr(out, "conv1,dw,fc"), "%s", out);
        cr_assert_null(strstr(out, "course"), "%s", out);
    }
    snprintf(args, sizeof args, "energy --model %s --bits 12,10", dir);
    rc = testdata_run_cli(args, out, sizeof out);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert_not_null(strstr(out, "conv1,dw,fc"), "%s", out);

    /* --engine opencl: the generic network engine, checked against the C
     * reference by verify (outputs and every counter); without a device, a
     * clear refusal. */
    snprintf(args, sizeof args, "verify --model %s --data %s --limit 40 --bits 12,10,14 --overflow wrap",
             dir, data);
    rc = testdata_run_cli(args, out, sizeof out);
    if (!(rc != 0 && strstr(out, "no OpenCL platform"))) {
        cr_assert_eq(rc, 0, "%s", out);
        cr_assert_not_null(strstr(out, "identical: 40 images"), "%s", out);
        cr_assert_not_null(strstr(out, "network engine"), "%s", out);
        snprintf(args, sizeof args, "hist --model %s --data %s --limit 5 --engine opencl", dir, data);
        rc = testdata_run_cli(args, out, sizeof out);
        cr_assert_neq(rc, 0);
        cr_assert_not_null(strstr(out, "need --engine cpu"), "%s", out);
    }
    testdata_remove_tree(dir);
    free(dir);
    fs_free(&fs);
    free(json.s);
}

/* ---- engines and analyses on a description (not the course model) --------- */

/* The residual example through the C reference engine and the analyses'
 * machinery: the exact evaluation of width settings (restarts from the
 * captured restart state of the first changed MAC layer) equals running every
 * image in full, counters included; energies are per MAC layer. */
Test(network, analyses_evaluate_equals_full_runs)
{
    memfs fs = {0};
    sbuf json = {0};
    example_network(&json, &fs);
    accsim_network net;
    parse_ok(&net, json.s, &fs);
    accsim_error err;
    const size_t n = 24;
    int8_t *images = malloc(n * 3072);
    cr_assert_not_null(images);
    rng_state = 77;
    for (size_t i = 0; i < n * 3072; i++)
        images[i] = (int8_t)rnd_in(-128, 127);
    accsim_engine *e = accsim_cpu_engine_create(&err);
    cr_assert_not_null(e, "%s", err.message);
    cr_assert_eq(e->ops->load(e, &net, images, n, &err), 0, "%s", err.message);
    uint8_t labels[24];
    for (size_t i = 0; i < n; i++)
        labels[i] = (uint8_t)(i % 10);
    accsim_imageset set = {.name = "synthetic", .count = n, .labels = labels};
    accsim_baseline b;
    cr_assert_eq(accsim_baseline_run(&b, e, &net, &set, ACCSIM_SATURATE, true, &err), 0, "%s",
                 err.message);
    cr_assert_eq(b.layers, 3);
    for (int l = 0; l < 3; l++)
        cr_assert_eq(b.res.act_bytes[l], accsim_network_restart_bytes(&net, l));
    /* conv1 reads the image, dw and the add read c1, fc reads f. */
    cr_assert_eq(accsim_network_restart_bytes(&net, 0), 3072);
    cr_assert_eq(accsim_network_restart_bytes(&net, 1), 16 * 16 * 4);
    cr_assert_eq(accsim_network_restart_bytes(&net, 2), 4);
    for (int trial = 0; trial < 12; trial++) {
        int bits[ACCSIM_MAX_LAYERS];
        for (int l = 0; l < ACCSIM_MAX_LAYERS; l++)
            bits[l] = 32;
        for (int l = 0; l < 3; l++)
            bits[l] = trial == 0 ? 32 : b.need_max[l] - rnd_in(0, 5);
        accsim_eval ev;
        uint32_t preds[24];
        cr_assert_eq(accsim_evaluate(&b, bits, &ev, preds, &err), 0, "%s", err.message);
        accsim_config cfg;
        accsim_config_default(&cfg);
        memcpy(cfg.bits, bits, sizeof cfg.bits);
        accsim_result full;
        cr_assert_eq(accsim_result_init(&full, &net, n, &cfg, &err), 0);
        cr_assert_eq(e->ops->run(e, &cfg, NULL, n, &full, NULL, &err), 0, "%s", err.message);
        size_t correct = 0;
        uint64_t sat[3] = {0};
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(preds[i], full.predictions[i], "trial %d image %zu", trial, i);
            correct += full.predictions[i] == labels[i];
            for (int l = 0; l < 3; l++)
                sat[l] += full.saturations[i * 3 + (size_t)l];
        }
        cr_assert_eq(ev.correct, correct, "trial %d", trial);
        for (int l = 0; l < 3; l++)
            cr_assert_eq(ev.saturations[l], sat[l], "trial %d layer %d", trial, l);
        cr_assert_eq(ev.energy, accsim_network_energy(&net, bits));
        accsim_result_free(&full);
    }
    /* Energy per MAC layer: conv1 at stride 2 with "same" padding skips the
     * padding taps (per-product zero point), the depthwise conv's taps
     * per output are 9 at most. */
    accsim_layer_ops dw = accsim_network_layer_ops(&net, 1);
    cr_assert_lt(dw.multiplies, (uint64_t)16 * 16 * 4 * 9);
    cr_assert_eq(dw.adds, dw.multiplies + 16 * 16 * 4); /* + the bias per output */
    accsim_layer_ops fc = accsim_network_layer_ops(&net, 2);
    cr_assert_eq(fc.multiplies, 40);
    cr_assert_eq(fc.adds, 50);
    accsim_baseline_free(&b);
    accsim_engine_destroy(e);
    free(images);
    accsim_network_free(&net);
    fs_free(&fs);
    free(json.s);
}

/* The number after "KEY": in a JSON text (first occurrence), or NAN. */
static double json_number(const char *text, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(text, pat);
    if (!p)
        return NAN;
    p = strchr(p + strlen(pat), ':');
    return p ? strtod(p + 1, NULL) : NAN;
}

static size_t count_lines(const char *path)
{
    char *text;
    size_t size, lines = 0;
    accsim_error err;
    cr_assert_eq(accsim_read_file(path, 1 << 24, &text, &size, &err), 0, "%s", err.message);
    for (size_t i = 0; i < size; i++)
        lines += text[i] == '\n';
    free(text);
    return lines;
}

/* run, sweep, minwidth, hist, search, energy, bounds and study on the
 * residual description: layer names from the manifest, one row or column per
 * MAC layer, the sweep's 32-bit row equal to run --bits 32. */
Test(network, cli_analyses_on_a_description, .timeout = 1200)
{
    const char *data = testdata_cifar_dir();
    if (!data)
        cr_skip_test("CIFAR-10 data absent");
    memfs fs = {0};
    sbuf json = {0};
    example_network(&json, &fs);
    char *dir = testdata_tempdir();
    fs_write_dir(&fs, json.s, dir);
    static char args[8192], out[1 << 20];
    char path[1600], *text;
    size_t size;
    accsim_error err;

    snprintf(args, sizeof args, "run --model %s --data %s --limit 200 --bits 32 --json - --quiet",
             dir, data);
    cr_assert_eq(testdata_run_cli(args, out, sizeof out), 0, "%s", out);
    double acc32 = json_number(out, "accuracy");
    cr_assert(!isnan(acc32), "%s", out);
    cr_assert_not_null(strstr(out, "\"energy\""), "%s", out);

    snprintf(args, sizeof args, "sweep --model %s --data %s --limit 200 --from 32 --to 20 "
             "--csv %s/sweep.csv --quiet", dir, data, dir);
    cr_assert_eq(testdata_run_cli(args, out, sizeof out), 0, "%s", out);
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    cr_assert_eq(accsim_read_file(path, 1 << 24, &text, &size, &err), 0, "%s", err.message);
    cr_assert_eq(strncmp(text, "split,bits,accuracy,correct,drop_pp,energy,images_rerun,sat_conv1,"
                               "sat_dw,sat_fc,imgsat_conv1,imgsat_dw,imgsat_fc\n", 104), 0, "%s", text);
    char want[64];
    snprintf(want, sizeof want, "\ntest,32,%.2f,", acc32);
    cr_assert_not_null(strstr(text, want), "the 32-bit row is run --bits 32 (%s): %s", want, text);
    free(text);
    cr_assert_eq(count_lines(path), 1 + 13);

    snprintf(args, sizeof args, "minwidth --model %s --data %s --limit 200 --json %s/mw.json --quiet",
             dir, data, dir);
    cr_assert_eq(testdata_run_cli(args, out, sizeof out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "smallest width common to the 3 MAC layers (conv1,dw,fc): "), "%s",
                       out);

    snprintf(args, sizeof args, "hist --model %s --data %s --limit 100 --quiet", dir, data);
    cr_assert_eq(testdata_run_cli(args, out, sizeof out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "conv1"), "%s", out);
    cr_assert_not_null(strstr(out, " dw "), "%s", out);
    cr_assert_not_null(strstr(out, "all_layers"), "%s", out);
    cr_assert_null(strstr(out, "fc3"), "course names must not appear: %s", out);

    snprintf(args, sizeof args, "energy --model %s --bits 16,12,20", dir);
    cr_assert_eq(testdata_run_cli(args, out, sizeof out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "dw "), "%s", out);
    cr_assert_not_null(strstr(out, "total"), "%s", out);

    snprintf(args, sizeof args, "bounds --model %s --data %s --limit 50 --quiet", dir, data);
    cr_assert_eq(testdata_run_cli(args, out, sizeof out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "dw"), "%s", out);

    snprintf(args, sizeof args, "search --model %s --data %s --limit 100 --quiet", dir, data);
    cr_assert_eq(testdata_run_cli(args, out, sizeof out), 0, "%s", out);
    cr_assert_not_null(strstr(out, "answer:"), "%s", out);
    cr_assert_not_null(strstr(out, "box: conv1 "), "%s", out);

    char study[1300];
    snprintf(study, sizeof study, "%s/study", dir);
    snprintf(args, sizeof args, "study --model %s --data %s --limit 100 --out %s --quiet", dir,
             data, study);
    cr_assert_eq(testdata_run_cli(args, out, sizeof out), 0, "%s", out);
    snprintf(path, sizeof path, "%s/ranges.csv", study);
    cr_assert_eq(count_lines(path), 1 + 3 * 2, "a row per MAC layer and split");
    snprintf(path, sizeof path, "%s/sweep.csv", study);
    cr_assert_eq(accsim_read_file(path, 1 << 24, &text, &size, &err), 0, "%s", err.message);
    cr_assert_not_null(strstr(text, "sat_dw"), "%s", text);
    free(text);
    snprintf(path, sizeof path, "%s/summary.md", study);
    cr_assert_eq(accsim_read_file(path, 1 << 24, &text, &size, &err), 0, "%s", err.message);
    cr_assert_not_null(strstr(text, "## Approach C"), "%s", text);
    cr_assert_null(strstr(text, "conv2"), "no course layer names: %s", text);
    free(text);
    snprintf(path, sizeof path, "%s/energy.csv", study);
    cr_assert_eq(accsim_read_file(path, 1 << 24, &text, &size, &err), 0, "%s", err.message);
    cr_assert_eq(strncmp(text, "setting,description,conv1,dw,fc,energy,", 39), 0, "%s", text);
    free(text);

    testdata_remove_tree(dir);
    free(dir);
    fs_free(&fs);
    free(json.s);
}
