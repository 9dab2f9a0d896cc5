/* The manifest (network.json) loader: strict JSON, every field checked, ops
 * ordered by their data flow, shapes inferred and checked, and the course
 * LeNet-5 expressed in the same terms. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "accsim/fileio.h"
#include "accsim/json_strict.h"
#include "accsim/network.h"

#define MAX_OPS 4096
#define MAX_DIM 65536
#define MAX_ELEMENTS ((size_t)1 << 26)
#define MAX_JSON_BYTES ((size_t)16 << 20)

typedef struct op_spec {
    char in_names[2][ACCSIM_NET_NAME];
    char out_name[ACCSIM_NET_NAME];
    bool has_out_shape;
    int out_shape_ndim, out_shape[ACCSIM_NET_MAX_DIMS];
    int pad_mode; /* 0 valid, 1 same, 2 explicit */
    int pads[4];  /* top, bottom, left, right */
    int reshape_ndim, reshape[ACCSIM_NET_MAX_DIMS];
    int wshape[4];
    bool has_zp_claim;
    int zp_claim; /* output_zero_point stated on an op that keeps its input's */
    bool has_clamp_field;
    int ptmp[4];
} op_spec;

typedef struct parser {
    const char *label;
    accsim_network_tensor_fn fn;
    void *ctx;
    accsim_error *err;
    char where[160];
    accsim_network *net;
    op_spec *specs;
} parser;

ACCSIM_PRINTF(3, 4)
static int perr(parser *p, const char *field, const char *fmt, ...)
{
    char msg[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return accsim_fail(p->err, "%s: %s%s%s%s%s", p->label, p->where, *p->where ? ": " : "",
                       field ? field : "", field ? ": " : "", msg);
}

static bool has(json_object *o, const char *key, json_object **v)
{
    return json_object_object_get_ex(o, key, v);
}

static const char *type_name(json_object *v)
{
    return v ? json_type_to_name(json_object_get_type(v)) : "null";
}

static int check_keys(parser *p, json_object *o, const char *what, const char *const *allowed)
{
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        bool ok = false;
        for (int i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok)
            return what ? perr(p, what, "unknown field '%s'", key)
                        : perr(p, NULL, "unknown field '%s'", key);
    }
    return 0;
}

static int to_int(parser *p, const char *field, json_object *v, long long lo, long long hi,
                  long long *out)
{
    if (!v || json_object_get_type(v) != json_type_int)
        return perr(p, field, "expected a whole number in %lld..%lld, found %s", lo, hi,
                    type_name(v));
    long long x = json_object_get_int64(v);
    if (x < lo || x > hi)
        return perr(p, field, "%lld is outside %lld..%lld", x, lo, hi);
    *out = x;
    return 0;
}

/* key in o, named in messages as prefix: key (prefix may be NULL). */
static int get_int_in(parser *p, json_object *o, const char *prefix, const char *key,
                      bool required, long long lo, long long hi, long long def, int *out)
{
    json_object *v;
    long long x = def;
    char field[96];
    snprintf(field, sizeof field, "%s%s%s", prefix ? prefix : "", prefix ? ": " : "", key);
    if (!has(o, key, &v)) {
        if (required)
            return perr(p, field, "missing");
    } else if (to_int(p, field, v, lo, hi, &x) != 0) {
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int get_int(parser *p, json_object *o, const char *key, bool required, long long lo,
                   long long hi, long long def, int *out)
{
    return get_int_in(p, o, NULL, key, required, lo, hi, def, out);
}

static int to_positive(parser *p, const char *field, json_object *v, double *out)
{
    if (!v || (json_object_get_type(v) != json_type_double &&
               json_object_get_type(v) != json_type_int))
        return perr(p, field, "expected a positive number, found %s", type_name(v));
    double x = json_object_get_double(v);
    if (!isfinite(x) || x <= 0)
        return perr(p, field, "%g is not a positive finite number", x);
    *out = x;
    return 0;
}

static int to_finite(parser *p, const char *field, json_object *v, double *out)
{
    if (!v || (json_object_get_type(v) != json_type_double &&
               json_object_get_type(v) != json_type_int))
        return perr(p, field, "expected a number, found %s", type_name(v));
    double x = json_object_get_double(v);
    if (!isfinite(x))
        return perr(p, field, "%g is not a finite number", x);
    *out = x;
    return 0;
}

static int get_string(parser *p, json_object *o, const char *key, bool required, char *out,
                      size_t out_size, bool *present)
{
    json_object *v;
    if (present)
        *present = false;
    if (!has(o, key, &v)) {
        if (required)
            return perr(p, key, "missing");
        return 0;
    }
    if (!v || json_object_get_type(v) != json_type_string)
        return perr(p, key, "expected a string, found %s", type_name(v));
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (n == 0 || n >= out_size || strlen(s) != n)
        return perr(p, key, "expected a name of 1..%zu characters", out_size - 1);
    memcpy(out, s, n + 1);
    if (present)
        *present = true;
    return 0;
}

/* An array of n whole numbers (n_min..n_max of them). */
static int get_int_list(parser *p, json_object *v, const char *field, int n_min, int n_max,
                        long long lo, long long hi, int *out, int *n)
{
    if (!v || json_object_get_type(v) != json_type_array)
        return perr(p, field, "expected an array, found %s", type_name(v));
    size_t len = json_object_array_length(v);
    if (len < (size_t)n_min || len > (size_t)n_max) {
        if (n_min == n_max)
            return perr(p, field, "expected %d numbers, found %zu", n_min, len);
        return perr(p, field, "expected %d..%d numbers, found %zu", n_min, n_max, len);
    }
    for (size_t i = 0; i < len; i++) {
        long long x;
        char sub[64];
        snprintf(sub, sizeof sub, "%s[%zu]", field, i);
        if (to_int(p, sub, json_object_array_get_idx(v, i), lo, hi, &x) != 0)
            return -1;
        out[i] = (int)x;
    }
    *n = (int)len;
    return 0;
}

static void shape_text(const int *dims, int ndim, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    used += (size_t)snprintf(out, size, "[");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(out + used, size - used, "%s%d", d ? ", " : "", dims[d]);
    if (used < size)
        snprintf(out + used, size - used, "]");
}

static void npy_shape_text(const accsim_npy *a, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "[");
    for (int d = 0; d < a->ndim && used < size; d++)
        used += (size_t)snprintf(out + used, size - used, "%s%zu", d ? ", " : "", a->shape[d]);
    if (used < size)
        snprintf(out + used, size - used, "]");
}

static bool safe_file_name(const char *s)
{
    if (!*s || s[0] == '/' || strchr(s, '\\'))
        return false;
    /* No ".." component. */
    for (const char *c = s; *c;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n == 0 || (n == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        c += n + (e ? 1 : 0);
    }
    return true;
}

/* Loads the tensor named by field (a file name string) with the given dtype and
 * rank; shape[d] >= 0 are required sizes, -1 any. */
static int load_tensor(parser *p, json_object *v, const char *field, accsim_npy_dtype dtype,
                       int ndim, const long long *shape, accsim_npy *out)
{
    memset(out, 0, sizeof *out);
    if (!v || json_object_get_type(v) != json_type_string)
        return perr(p, field, "expected the name of a .npy file, found %s", type_name(v));
    const char *file = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(file) || strlen(file) > 512 ||
        !safe_file_name(file))
        return perr(p, field, "'%s' is not a relative file name inside the model directory",
                    file);
    accsim_error inner;
    inner.message[0] = '\0';
    if (!p->fn)
        return perr(p, field, "%s: no tensor files available", file);
    if (p->fn(p->ctx, file, out, &inner) != 0) {
        accsim_npy_free(out);
        return perr(p, field, "%s", inner.message);
    }
    if (out->dtype != dtype) {
        int rc = perr(p, field, "%s: dtype %s, expected %s", file, accsim_npy_dtype_name(out->dtype),
                      accsim_npy_dtype_name(dtype));
        accsim_npy_free(out);
        return rc;
    }
    bool ok = out->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        ok = shape[d] < 0 ? out->shape[d] > 0 && out->shape[d] <= MAX_DIM
                          : out->shape[d] == (size_t)shape[d];
    if (!ok) {
        char have[128], want[128];
        npy_shape_text(out, have, sizeof have);
        size_t used = (size_t)snprintf(want, sizeof want, "[");
        for (int d = 0; d < ndim && used < sizeof want; d++) {
            if (shape[d] < 0)
                used += (size_t)snprintf(want + used, sizeof want - used, "%s*", d ? ", " : "");
            else
                used += (size_t)snprintf(want + used, sizeof want - used, "%s%lld", d ? ", " : "",
                                         shape[d]);
        }
        if (used < sizeof want)
            snprintf(want + used, sizeof want - used, "]");
        int rc = perr(p, field, "%s: shape %s, expected %s", file, have, want);
        accsim_npy_free(out);
        return rc;
    }
    return 0;
}

static int parse_clamp(parser *p, json_object *o, accsim_op *op)
{
    json_object *v;
    op->clamp_lo = -128;
    op->clamp_hi = 127;
    if (!has(o, "clamp", &v))
        return 0;
    int r[2], n;
    if (get_int_list(p, v, "clamp", 2, 2, -128, 127, r, &n) != 0)
        return -1;
    if (r[0] > r[1])
        return perr(p, "clamp", "[%d, %d] is empty (min above max)", r[0], r[1]);
    op->clamp_lo = r[0];
    op->clamp_hi = r[1];
    return 0;
}

static int parse_stride_padding(parser *p, json_object *o, accsim_op *op, op_spec *s)
{
    json_object *v;
    int st[2] = {1, 1}, n;
    if (has(o, "stride", &v) && get_int_list(p, v, "stride", 2, 2, 1, 1024, st, &n) != 0)
        return -1;
    op->sh = st[0];
    op->sw = st[1];
    s->pad_mode = 0;
    if (has(o, "padding", &v)) {
        if (v && json_object_get_type(v) == json_type_string) {
            const char *t = json_object_get_string(v);
            if (strcmp(t, "valid") == 0)
                s->pad_mode = 0;
            else if (strcmp(t, "same") == 0)
                s->pad_mode = 1;
            else
                return perr(p, "padding", "expected \"valid\", \"same\" or [top, bottom, left, "
                                          "right], found \"%s\"", t);
        } else if (v && json_object_get_type(v) == json_type_array) {
            if (get_int_list(p, v, "padding", 4, 4, 0, 4096, s->pads, &n) != 0)
                return -1;
            s->pad_mode = 2;
        } else {
            return perr(p, "padding", "expected \"valid\", \"same\" or [top, bottom, left, right], "
                                      "found %s", type_name(v));
        }
    }
    return 0;
}

/* The tie rule of float requantization: "half_even" (the default, nearbyint)
 * or "half_away" (TFLite's TfLiteRound = std::round, which its int8
 * FULLY_CONNECTED reference kernel applies to the double product). */
static int parse_float_rounding(parser *p, json_object *rq, accsim_float_rounding *rounding)
{
    json_object *v;
    *rounding = ACCSIM_ROUND_HALF_EVEN;
    if (!has(rq, "rounding", &v))
        return 0;
    if (!v || json_object_get_type(v) != json_type_string)
        return perr(p, "requantize: rounding", "expected \"half_even\" or \"half_away\", "
                    "found %s", type_name(v));
    const char *s = json_object_get_string(v);
    if (strcmp(s, "half_even") == 0)
        return 0;
    if (strcmp(s, "half_away") == 0) {
        *rounding = ACCSIM_ROUND_HALF_AWAY;
        return 0;
    }
    return perr(p, "requantize: rounding", "expected \"half_even\" or \"half_away\", "
                "found \"%.40s\"", s);
}

/* "precision": "float64" (the default: the product in double) or "float32"
 * (onnxruntime's MLAS: (float)acc * (float)scale, one float32 product). */
static int parse_float_precision(parser *p, json_object *rq, bool *float32)
{
    json_object *v;
    *float32 = false;
    if (!has(rq, "precision", &v))
        return 0;
    if (!v || json_object_get_type(v) != json_type_string)
        return perr(p, "requantize: precision", "expected \"float64\" or \"float32\", "
                    "found %s", type_name(v));
    const char *s = json_object_get_string(v);
    if (strcmp(s, "float32") == 0)
        *float32 = true;
    else if (strcmp(s, "float64") != 0)
        return perr(p, "requantize: precision", "expected \"float64\" or \"float32\", "
                    "found \"%.40s\"", s);
    return 0;
}

/* Under float32 precision a stored value must be a float32 value exactly (the
 * manifest's double holds it), so that no second rounding can hide in it. */
static int check_float32_value(parser *p, const char *field, double x)
{
    if (fabs(x) > FLT_MAX || (double)(float)x != x)
        return perr(p, field, "%.17g is not a float32 value (\"precision\": \"float32\" "
                    "needs values stored exactly)", x);
    return 0;
}

/* An add's float requantization in float32 (onnxruntime's QLinearAdd): the
 * "offset" (required; the zero points folded in, a float32 value) and the
 * "value_offset" k (0..255, default 0; 128 for a uint8 model, whose raw values
 * are the description's + 128). Both belong to float32 precision only. */
static int parse_add_float32(parser *p, json_object *rq, accsim_op *op)
{
    json_object *v;
    if (parse_float_precision(p, rq, &op->add_float32) != 0)
        return -1;
    if (!op->add_float32) {
        if (has(rq, "offset", &v) || has(rq, "value_offset", &v))
            return perr(p, "requantize", "\"offset\" and \"value_offset\" need "
                        "\"precision\": \"float32\"");
        return 0;
    }
    if (!has(rq, "offset", &v))
        return perr(p, "requantize: offset", "missing (required with \"precision\": \"float32\")");
    if (to_finite(p, "requantize: offset", v, &op->add_offset) != 0 ||
        check_float32_value(p, "requantize: offset", op->add_offset) != 0)
        return -1;
    /* Bounded like the scales, so that the float32 sums stay finite. */
    if (fabs(op->add_offset) > 4294967296.0)
        return perr(p, "requantize: offset", "%g is above 2^32 in magnitude", op->add_offset);
    return get_int_in(p, rq, "requantize", "value_offset", false, 0, 255, 0,
                      &op->add_value_offset);
}

/* Per-channel or single value: a number or a .npy of [C_out]. */
static int parse_requant(parser *p, json_object *o, accsim_op *op)
{
    json_object *rq, *v;
    if (!has(o, "requantize", &rq))
        return perr(p, "requantize", "missing");
    if (!rq || json_object_get_type(rq) != json_type_object)
        return perr(p, "requantize", "expected an object, found %s", type_name(rq));
    char kind[16];
    if (!has(rq, "kind", &v) || !v || json_object_get_type(v) != json_type_string)
        return perr(p, "requantize: kind", "expected \"float\" or \"fixed\"");
    snprintf(kind, sizeof kind, "%s", json_object_get_string(v));
    size_t n = (size_t)op->c_out;
    if (strcmp(kind, "float") == 0) {
        static const char *const keys[] = {"kind", "scale", "rounding", "precision", NULL};
        if (check_keys(p, rq, "requantize", keys) != 0)
            return -1;
        op->requant.kind = ACCSIM_REQ_FLOAT;
        if (parse_float_rounding(p, rq, &op->requant.rounding) != 0 ||
            parse_float_precision(p, rq, &op->requant.float32) != 0)
            return -1;
        op->requant.scale = malloc(n * sizeof(double));
        if (!op->requant.scale)
            return perr(p, "requantize", "out of memory");
        if (!has(rq, "scale", &v))
            return perr(p, "requantize: scale", "missing");
        if (v && json_object_get_type(v) == json_type_string) {
            accsim_npy a;
            long long shape[1] = {op->c_out};
            if (load_tensor(p, v, "requantize: scale", ACCSIM_NPY_F8, 1, shape, &a) != 0)
                return -1;
            const double *d = a.data;
            for (size_t i = 0; i < n; i++) {
                if (!isfinite(d[i]) || d[i] <= 0) {
                    int rc = perr(p, "requantize: scale", "%s: entry %zu is %g, not a positive "
                                  "finite number", json_object_get_string(v), i, d[i]);
                    accsim_npy_free(&a);
                    return rc;
                }
                op->requant.scale[i] = d[i];
            }
            accsim_npy_free(&a);
        } else {
            double x;
            if (to_positive(p, "requantize: scale", v, &x) != 0)
                return -1;
            for (size_t i = 0; i < n; i++)
                op->requant.scale[i] = x;
        }
        for (size_t i = 0; op->requant.float32 && i < n; i++)
            if (check_float32_value(p, "requantize: scale", op->requant.scale[i]) != 0)
                return -1;
        return 0;
    }
    if (strcmp(kind, "fixed") == 0) {
        static const char *const keys[] = {"kind", "multiplier", "shift", "rounding", NULL};
        if (check_keys(p, rq, "requantize", keys) != 0)
            return -1;
        op->requant.kind = ACCSIM_REQ_FIXED;
        if (has(rq, "rounding", &v) &&
            (!v || json_object_get_type(v) != json_type_string ||
             strcmp(json_object_get_string(v), "double") != 0))
            return perr(p, "requantize: rounding", "only \"double\" is supported");
        op->requant.multiplier = malloc(n * sizeof(int32_t));
        op->requant.shift = malloc(n * sizeof(int32_t));
        if (!op->requant.multiplier || !op->requant.shift)
            return perr(p, "requantize", "out of memory");
        const char *names[2] = {"requantize: multiplier", "requantize: shift"};
        const char *keys2[2] = {"multiplier", "shift"};
        const long long lo[2] = {0, -31}, hi[2] = {2147483647LL, 30};
        int32_t *dst[2] = {op->requant.multiplier, op->requant.shift};
        for (int k = 0; k < 2; k++) {
            if (!has(rq, keys2[k], &v))
                return perr(p, names[k], "missing");
            if (v && json_object_get_type(v) == json_type_string) {
                accsim_npy a;
                long long shape[1] = {op->c_out};
                if (load_tensor(p, v, names[k], ACCSIM_NPY_I4, 1, shape, &a) != 0)
                    return -1;
                const int32_t *d = a.data;
                for (size_t i = 0; i < n; i++) {
                    if (d[i] < lo[k] || d[i] > hi[k]) {
                        int rc = perr(p, names[k], "%s: entry %zu is %d, outside %lld..%lld",
                                      json_object_get_string(v), i, d[i], lo[k], hi[k]);
                        accsim_npy_free(&a);
                        return rc;
                    }
                    dst[k][i] = d[i];
                }
                accsim_npy_free(&a);
            } else {
                long long x;
                if (to_int(p, names[k], v, lo[k], hi[k], &x) != 0)
                    return -1;
                for (size_t i = 0; i < n; i++)
                    dst[k][i] = (int32_t)x;
            }
        }
        return 0;
    }
    return perr(p, "requantize: kind", "expected \"float\" or \"fixed\", found \"%s\"", kind);
}

static int parse_accumulator(parser *p, json_object *o, accsim_op *op, accsim_layout layout)
{
    json_object *acc, *v;
    op->order = op->kind == ACCSIM_OP_CONV2D && layout == ACCSIM_NCHW ? ACCSIM_ORDER_CHW
                                                                       : ACCSIM_ORDER_HWC;
    op->tile = 0;
    op->bias_first = false;
    op->zp_mode = ACCSIM_ZP_PER_PRODUCT;
    if (!has(o, "accumulator", &acc))
        return 0;
    if (!acc || json_object_get_type(acc) != json_type_object)
        return perr(p, "accumulator", "expected an object, found %s", type_name(acc));
    static const char *const keys[] = {"order", "tile", "bias", "zero_point", NULL};
    if (check_keys(p, acc, "accumulator", keys) != 0)
        return -1;
    char text[32];
    bool present;
    if (get_string(p, acc, "order", false, text, sizeof text, &present) != 0)
        return -1;
    if (present) {
        if (strcmp(text, "hwc") == 0)
            op->order = ACCSIM_ORDER_HWC;
        else if (strcmp(text, "chw") == 0)
            op->order = ACCSIM_ORDER_CHW;
        else
            return perr(p, "accumulator: order", "expected \"hwc\" or \"chw\", found \"%s\"", text);
    }
    if (has(acc, "tile", &v)) {
        long long t;
        if (to_int(p, "accumulator: tile", v, 0, 1 << 24, &t) != 0)
            return -1;
        op->tile = (int)t;
    }
    if (get_string(p, acc, "bias", false, text, sizeof text, &present) != 0)
        return -1;
    if (present) {
        if (strcmp(text, "first") == 0)
            op->bias_first = true;
        else if (strcmp(text, "last") == 0)
            op->bias_first = false;
        else
            return perr(p, "accumulator: bias", "expected \"first\" or \"last\", found \"%s\"", text);
    }
    if (get_string(p, acc, "zero_point", false, text, sizeof text, &present) != 0)
        return -1;
    if (present) {
        if (strcmp(text, "per_product") == 0)
            op->zp_mode = ACCSIM_ZP_PER_PRODUCT;
        else if (strcmp(text, "folded_first") == 0)
            op->zp_mode = ACCSIM_ZP_FOLDED_FIRST;
        else if (strcmp(text, "folded_last") == 0)
            op->zp_mode = ACCSIM_ZP_FOLDED_LAST;
        else
            return perr(p, "accumulator: zero_point",
                        "expected \"per_product\", \"folded_first\" or \"folded_last\", found \"%s\"",
                        text);
    }
    return 0;
}

static int parse_tensor_names(parser *p, json_object *o, accsim_op *op, op_spec *s, int want)
{
    json_object *in1 = NULL, *ins = NULL;
    bool h1 = has(o, "input", &in1), hs = has(o, "inputs", &ins);
    if (h1 && hs)
        return perr(p, "inputs", "give either input or inputs, not both");
    if (!h1 && !hs)
        return perr(p, want == 1 ? "input" : "inputs", "missing");
    if (h1) {
        if (want != 1)
            return perr(p, "inputs", "expected %d input tensors", want);
        if (get_string(p, o, "input", true, s->in_names[0], sizeof s->in_names[0], NULL) != 0)
            return -1;
    } else {
        if (!ins || json_object_get_type(ins) != json_type_array)
            return perr(p, "inputs", "expected an array of tensor names, found %s", type_name(ins));
        if ((int)json_object_array_length(ins) != want)
            return perr(p, "inputs", "expected %d tensor name%s, found %zu", want,
                        want == 1 ? "" : "s", json_object_array_length(ins));
        for (int i = 0; i < want; i++) {
            json_object *e = json_object_array_get_idx(ins, (size_t)i);
            if (!e || json_object_get_type(e) != json_type_string ||
                json_object_get_string_len(e) < 1 ||
                json_object_get_string_len(e) >= ACCSIM_NET_NAME ||
                strlen(json_object_get_string(e)) != (size_t)json_object_get_string_len(e))
                return perr(p, "inputs", "entry %d: expected a name of 1..%d characters", i,
                            ACCSIM_NET_NAME - 1);
            memcpy(s->in_names[i], json_object_get_string(e),
                   (size_t)json_object_get_string_len(e) + 1);
        }
    }
    op->input_count = want;
    if (get_string(p, o, "output", true, s->out_name, sizeof s->out_name, NULL) != 0)
        return -1;
    json_object *v;
    if (has(o, "output_shape", &v)) {
        if (get_int_list(p, v, "output_shape", 1, 3, 1, MAX_DIM, s->out_shape, &s->out_shape_ndim) != 0)
            return -1;
        s->has_out_shape = true;
    }
    return 0;
}

/* An op that keeps its input's zero point (pooling, clamp, reshape) may
 * state it as output_zero_point: kept as a claim, checked once the input's is
 * known. */
static int parse_zp_claim(parser *p, json_object *o, op_spec *s)
{
    json_object *v;
    if (!has(o, "output_zero_point", &v))
        return 0;
    long long x;
    if (to_int(p, "output_zero_point", v, -128, 127, &x) != 0)
        return -1;
    s->has_zp_claim = true;
    s->zp_claim = (int)x;
    return 0;
}

static int parse_op(parser *p, json_object *o, int index)
{
    accsim_network *net = p->net;
    accsim_op *op = &net->ops[index];
    op_spec *s = &p->specs[index];
    op->mac_index = -1;
    snprintf(p->where, sizeof p->where, "ops[%d]", index);
    if (!o || json_object_get_type(o) != json_type_object)
        return perr(p, NULL, "expected an object, found %s", type_name(o));
    /* The name first, so that later messages can say which op they are about. */
    if (get_string(p, o, "name", true, op->name, sizeof op->name, NULL) != 0)
        return -1;
    snprintf(p->where, sizeof p->where, "ops[%d] (%s)", index, op->name);
    char kind[32];
    if (get_string(p, o, "op", true, kind, sizeof kind, NULL) != 0)
        return -1;
    json_object *v;
    if (strcmp(kind, "conv2d") == 0 || strcmp(kind, "fully_connected") == 0) {
        bool conv = kind[0] == 'c';
        op->kind = conv ? ACCSIM_OP_CONV2D : ACCSIM_OP_FULLY_CONNECTED;
        static const char *const conv_keys[] = {
            "op", "name", "input", "inputs", "output", "output_shape", "weights", "bias", "stride",
            "padding", "groups", "weight_zero_point", "requantize", "output_zero_point", "clamp",
            "accumulator", NULL};
        static const char *const fc_keys[] = {
            "op", "name", "input", "inputs", "output", "output_shape", "weights", "bias",
            "weight_zero_point", "requantize", "output_zero_point", "clamp", "accumulator", NULL};
        if (check_keys(p, o, NULL, conv ? conv_keys : fc_keys) != 0 ||
            parse_tensor_names(p, o, op, s, 1) != 0)
            return -1;
        accsim_npy w;
        long long any[4] = {-1, -1, -1, -1};
        if (!has(o, "weights", &v))
            return perr(p, "weights", "missing");
        if (load_tensor(p, v, "weights", ACCSIM_NPY_I1, conv ? 4 : 2, any, &w) != 0)
            return -1;
        for (int d = 0; d < w.ndim; d++)
            s->wshape[d] = (int)w.shape[d];
        if (w.count > ((size_t)1 << 28)) {
            accsim_npy_free(&w);
            return perr(p, "weights", "too many weights");
        }
        op->weights = w.data;
        op->c_out = s->wshape[0];
        if (has(o, "bias", &v)) {
            accsim_npy b;
            long long shape[1] = {op->c_out};
            if (load_tensor(p, v, "bias", ACCSIM_NPY_I4, 1, shape, &b) != 0)
                return -1;
            op->bias = b.data;
        }
        int wzp = 0;
        if (get_int(p, o, "weight_zero_point", false, -1000000, 1000000, 0, &wzp) != 0)
            return -1;
        if (wzp != 0)
            return perr(p, "weight_zero_point", "%d: only symmetric weights (0) are supported", wzp);
        op->groups = 1;
        if (conv) {
            if (parse_stride_padding(p, o, op, s) != 0 ||
                get_int(p, o, "groups", false, 1, MAX_DIM, 1, &op->groups) != 0)
                return -1;
        }
        if (parse_requant(p, o, op) != 0 || parse_clamp(p, o, op) != 0 ||
            parse_accumulator(p, o, op, net->layout) != 0)
            return -1;
        int zp;
        if (get_int(p, o, "output_zero_point", false, -128, 127, 0, &zp) != 0)
            return -1;
        s->zp_claim = zp;
        op->mac_index = net->mac_count++;
        return 0;
    }
    if (strcmp(kind, "max_pool") == 0 || strcmp(kind, "avg_pool") == 0) {
        op->kind = kind[0] == 'm' ? ACCSIM_OP_MAX_POOL : ACCSIM_OP_AVG_POOL;
        static const char *const keys[] = {"op", "name", "input", "inputs", "output",
                                           "output_shape", "kernel", "stride", "padding", "clamp",
                                           "output_zero_point", NULL};
        if (check_keys(p, o, NULL, keys) != 0 || parse_tensor_names(p, o, op, s, 1) != 0)
            return -1;
        int k[2], n;
        if (!has(o, "kernel", &v))
            return perr(p, "kernel", "missing");
        if (get_int_list(p, v, "kernel", 2, 2, 1, MAX_DIM, k, &n) != 0)
            return -1;
        op->kh = k[0];
        op->kw = k[1];
        if (parse_stride_padding(p, o, op, s) != 0 || parse_clamp(p, o, op) != 0)
            return -1;
        return parse_zp_claim(p, o, s);
    }
    if (strcmp(kind, "add") == 0) {
        op->kind = ACCSIM_OP_ADD;
        static const char *const keys[] = {"op", "name", "input", "inputs", "output",
                                           "output_shape", "requantize", "output_zero_point",
                                           "clamp", NULL};
        if (check_keys(p, o, NULL, keys) != 0 || parse_tensor_names(p, o, op, s, 2) != 0 ||
            parse_clamp(p, o, op) != 0)
            return -1;
        int zp;
        if (get_int(p, o, "output_zero_point", false, -128, 127, 0, &zp) != 0)
            return -1;
        s->zp_claim = zp;
        json_object *rq;
        if (!has(o, "requantize", &rq))
            return perr(p, "requantize", "missing");
        if (!rq || json_object_get_type(rq) != json_type_object)
            return perr(p, "requantize", "expected an object, found %s", type_name(rq));
        char rk[16];
        if (get_string(p, rq, "kind", true, rk, sizeof rk, NULL) != 0)
            return -1;
        if (strcmp(rk, "fixed") == 0) {
            static const char *const fk[] = {"kind", "left_shift", "input_multipliers",
                                             "input_shifts", "output_multiplier", "output_shift",
                                             NULL};
            if (check_keys(p, rq, "requantize", fk) != 0)
                return -1;
            op->add_fixed = true;
            int m[2], sft[2], n;
            if (get_int_in(p, rq, "requantize", "left_shift", true, 0, 22, 0, &op->add_left_shift) != 0)
                return -1;
            if (!has(rq, "input_multipliers", &v))
                return perr(p, "requantize: input_multipliers", "missing");
            if (get_int_list(p, v, "requantize: input_multipliers", 2, 2, 0, 2147483647LL, m, &n) != 0)
                return -1;
            if (!has(rq, "input_shifts", &v))
                return perr(p, "requantize: input_shifts", "missing");
            if (get_int_list(p, v, "requantize: input_shifts", 2, 2, -31, 0, sft, &n) != 0)
                return -1;
            int om, os;
            if (get_int_in(p, rq, "requantize", "output_multiplier", true, 0, 2147483647LL, 0, &om) != 0 ||
                get_int_in(p, rq, "requantize", "output_shift", true, -31, 0, 0, &os) != 0)
                return -1;
            for (int i = 0; i < 2; i++) {
                op->add_in_mult[i] = m[i];
                op->add_in_shift[i] = sft[i];
            }
            op->add_out_mult = om;
            op->add_out_shift = os;
        } else if (strcmp(rk, "float") == 0) {
            static const char *const fk[] = {"kind", "scales", "precision", "offset",
                                             "value_offset", NULL};
            if (check_keys(p, rq, "requantize", fk) != 0)
                return -1;
            op->add_fixed = false;
            if (parse_add_float32(p, rq, op) != 0)
                return -1;
            if (!has(rq, "scales", &v))
                return perr(p, "requantize: scales", "missing");
            if (!v || json_object_get_type(v) != json_type_array || json_object_array_length(v) != 2)
                return perr(p, "requantize: scales", "expected an array of 2 numbers");
            for (int i = 0; i < 2; i++) {
                if (to_positive(p, "requantize: scales", json_object_array_get_idx(v, (size_t)i),
                                &op->add_scales[i]) != 0)
                    return -1;
                /* Bounded so that a1*(x1-z1) + a2*(x2-z2) stays finite. */
                if (op->add_scales[i] > 4294967296.0)
                    return perr(p, "requantize: scales", "%g is above 2^32", op->add_scales[i]);
                if (op->add_float32 &&
                    check_float32_value(p, "requantize: scales", op->add_scales[i]) != 0)
                    return -1;
            }
        } else {
            return perr(p, "requantize: kind", "expected \"fixed\" or \"float\", found \"%s\"", rk);
        }
        return 0;
    }
    if (strcmp(kind, "clamp") == 0) {
        op->kind = ACCSIM_OP_CLAMP;
        static const char *const keys[] = {"op", "name", "input", "inputs", "output",
                                           "output_shape", "min", "max", "output_zero_point", NULL};
        if (check_keys(p, o, NULL, keys) != 0 || parse_tensor_names(p, o, op, s, 1) != 0 ||
            get_int(p, o, "min", true, -128, 127, 0, &op->clamp_lo) != 0 ||
            get_int(p, o, "max", true, -128, 127, 0, &op->clamp_hi) != 0)
            return -1;
        if (op->clamp_lo > op->clamp_hi)
            return perr(p, "min", "%d is above max %d", op->clamp_lo, op->clamp_hi);
        return parse_zp_claim(p, o, s);
    }
    if (strcmp(kind, "reshape") == 0) {
        op->kind = ACCSIM_OP_RESHAPE;
        static const char *const keys[] = {"op", "name", "input", "inputs", "output",
                                           "output_shape", "shape", "output_zero_point", NULL};
        if (check_keys(p, o, NULL, keys) != 0 || parse_tensor_names(p, o, op, s, 1) != 0)
            return -1;
        if (!has(o, "shape", &v))
            return perr(p, "shape", "missing");
        if (get_int_list(p, v, "shape", 1, 3, 1, MAX_DIM, s->reshape, &s->reshape_ndim) != 0)
            return -1;
        return parse_zp_claim(p, o, s);
    }
    return perr(p, "op", "unknown op \"%s\" (conv2d, fully_connected, max_pool, avg_pool, add, "
                         "clamp, reshape are known)", kind);
}

static int parse_input(parser *p, json_object *root, accsim_tensor *t)
{
    json_object *in, *v;
    snprintf(p->where, sizeof p->where, "input");
    if (!has(root, "input", &in))
        return perr(p, NULL, "missing");
    if (!in || json_object_get_type(in) != json_type_object)
        return perr(p, NULL, "expected an object, found %s", type_name(in));
    static const char *const keys[] = {"tensor", "shape", "zero_point", "quantize", NULL};
    if (check_keys(p, in, NULL, keys) != 0 ||
        get_string(p, in, "tensor", true, t->name, sizeof t->name, NULL) != 0)
        return -1;
    if (!has(in, "shape", &v))
        return perr(p, "shape", "missing");
    if (get_int_list(p, v, "shape", 1, 3, 1, MAX_DIM, t->dims, &t->ndim) != 0)
        return -1;
    if (t->ndim == 2)
        return perr(p, "shape", "expected [N] or a 3-D image shape");
    t->count = 1;
    for (int d = 0; d < t->ndim; d++)
        t->count *= (size_t)t->dims[d];
    if (t->count > MAX_ELEMENTS)
        return perr(p, "shape", "too many elements");
    if (get_int(p, in, "zero_point", false, -128, 127, 0, &t->zero_point) != 0)
        return -1;
    t->producer = -1;
    accsim_input_quant *q = &p->net->quantize;
    q->kind = ACCSIM_QUANT_NONE;
    json_object *qo;
    if (!has(in, "quantize", &qo))
        return 0;
    if (!qo || json_object_get_type(qo) != json_type_object)
        return perr(p, "quantize", "expected an object, found %s", type_name(qo));
    char kind[16];
    if (!has(qo, "kind", &v) || !v || json_object_get_type(v) != json_type_string)
        return perr(p, "quantize: kind", "expected \"course\", \"offset\" or \"affine\"");
    snprintf(kind, sizeof kind, "%s", json_object_get_string(v));
    if (strcmp(kind, "course") == 0) {
        static const char *const k[] = {"kind", "scale", NULL};
        if (check_keys(p, qo, "quantize", k) != 0)
            return -1;
        q->kind = ACCSIM_QUANT_COURSE;
        if (!has(qo, "scale", &v))
            return perr(p, "quantize: scale", "missing");
        if (to_positive(p, "quantize: scale", v, &q->scale) != 0)
            return -1;
        /* SPEC section 4 computes in float32. */
        if (q->scale > 1e30)
            return perr(p, "quantize: scale", "%g is too large for float32 arithmetic", q->scale);
        return 0;
    }
    if (strcmp(kind, "offset") == 0) {
        static const char *const k[] = {"kind", "offset", NULL};
        if (check_keys(p, qo, "quantize", k) != 0)
            return -1;
        q->kind = ACCSIM_QUANT_OFFSET;
        return get_int_in(p, qo, "quantize", "offset", true, -383, 127, 0, &q->offset);
    }
    if (strcmp(kind, "affine") == 0) {
        static const char *const k[] = {"kind", "mean", "std", "scale", "zero_point", NULL};
        if (check_keys(p, qo, "quantize", k) != 0)
            return -1;
        q->kind = ACCSIM_QUANT_AFFINE;
        int channels = t->ndim == 3 ? t->dims[p->net->layout == ACCSIM_NHWC ? 2 : 0] : 1;
        if (channels > 16)
            return perr(p, "quantize", "affine: at most 16 channels");
        q->channels = channels;
        const char *names[2] = {"mean", "std"};
        double *dst[2] = {q->mean, q->std};
        for (int a = 0; a < 2; a++) {
            char field[32];
            snprintf(field, sizeof field, "quantize: %s", names[a]);
            if (!has(qo, names[a], &v))
                return perr(p, field, "missing");
            if (!v || json_object_get_type(v) != json_type_array ||
                (int)json_object_array_length(v) != channels)
                return perr(p, field, "expected an array of %d numbers (one per channel)", channels);
            for (int c = 0; c < channels; c++) {
                json_object *e = json_object_array_get_idx(v, (size_t)c);
                if ((a == 0 ? to_finite(p, field, e, &dst[a][c])
                            : to_positive(p, field, e, &dst[a][c])) != 0)
                    return -1;
            }
        }
        if (!has(qo, "scale", &v))
            return perr(p, "quantize: scale", "missing");
        if (to_positive(p, "quantize: scale", v, &q->scale) != 0)
            return -1;
        return get_int_in(p, qo, "quantize", "zero_point", false, -128, 127, 0, &q->zero_point);
    }
    return perr(p, "quantize: kind", "expected \"course\", \"offset\" or \"affine\", found \"%s\"",
                kind);
}

static int find_tensor(const accsim_network *net, const char *name)
{
    for (int t = 0; t < net->tensor_count; t++)
        if (strcmp(net->tensors[t].name, name) == 0)
            return t;
    return -1;
}

/* Padding of one spatial dimension. */
static void resolve_pad(int mode, int in, int k, int s, int explicit_a, int explicit_b, int *a,
                        int *b)
{
    if (mode == 0) {
        *a = *b = 0;
    } else if (mode == 1) {
        long long out = (in + s - 1) / s;
        long long total = (out - 1) * s + k - in;
        if (total < 0)
            total = 0;
        *a = (int)(total / 2);
        *b = (int)(total - total / 2);
    } else {
        *a = explicit_a;
        *b = explicit_b;
    }
}

static void layout_dims(accsim_layout layout, const accsim_tensor *t, int *h, int *w, int *c)
{
    if (layout == ACCSIM_NHWC) {
        *h = t->dims[0];
        *w = t->dims[1];
        *c = t->dims[2];
    } else {
        *c = t->dims[0];
        *h = t->dims[1];
        *w = t->dims[2];
    }
}

static void set_3d(accsim_layout layout, accsim_tensor *t, int h, int w, int c)
{
    t->ndim = 3;
    if (layout == ACCSIM_NHWC) {
        t->dims[0] = h;
        t->dims[1] = w;
        t->dims[2] = c;
    } else {
        t->dims[0] = c;
        t->dims[1] = h;
        t->dims[2] = w;
    }
    t->count = (size_t)h * (size_t)w * (size_t)c;
}

/* Shapes of one op's output from its inputs' (already known). */
static int infer_op(parser *p, int index)
{
    accsim_network *net = p->net;
    accsim_op *op = &net->ops[index];
    op_spec *s = &p->specs[index];
    accsim_tensor *in = &net->tensors[op->inputs[0]], *out = &net->tensors[op->output];
    snprintf(p->where, sizeof p->where, "ops[%d] (%s)", index, op->name);
    char shape[128];
    shape_text(in->dims, in->ndim, shape, sizeof shape);
    int h = 0, w = 0, c = 0;
    bool spatial = op->kind == ACCSIM_OP_CONV2D || op->kind == ACCSIM_OP_MAX_POOL ||
                   op->kind == ACCSIM_OP_AVG_POOL;
    if (spatial) {
        if (in->ndim != 3)
            return perr(p, "input", "'%s' of shape %s does not chain: a 3-D image is needed",
                        in->name, shape);
        layout_dims(net->layout, in, &h, &w, &c);
    }
    switch (op->kind) {
    case ACCSIM_OP_CONV2D: {
        int cg;
        if (net->layout == ACCSIM_NHWC) {
            op->kh = s->wshape[1];
            op->kw = s->wshape[2];
            cg = s->wshape[3];
        } else {
            cg = s->wshape[1];
            op->kh = s->wshape[2];
            op->kw = s->wshape[3];
        }
        if (c % op->groups != 0 || op->c_out % op->groups != 0)
            return perr(p, "groups", "%d does not divide the %d input and %d output channels",
                        op->groups, c, op->c_out);
        if (cg * op->groups != c)
            return perr(p, "weights", "%d input channels per group with %d group%s, but input "
                        "'%s' of shape %s has %d channels: does not chain",
                        cg, op->groups, op->groups == 1 ? "" : "s", in->name, shape, c);
        op->c_in = c;
        break;
    }
    case ACCSIM_OP_FULLY_CONNECTED:
        if ((size_t)s->wshape[1] != in->count)
            return perr(p, "weights", "shape [%d, %d] needs %d inputs, but input '%s' of shape %s "
                        "has %zu elements: does not chain",
                        s->wshape[0], s->wshape[1], s->wshape[1], in->name, shape, in->count);
        op->c_in = s->wshape[1];
        out->ndim = 1;
        out->dims[0] = op->c_out;
        out->count = (size_t)op->c_out;
        break;
    case ACCSIM_OP_ADD: {
        const accsim_tensor *b = &net->tensors[op->inputs[1]];
        bool same = b->ndim == in->ndim;
        for (int d = 0; same && d < in->ndim; d++)
            same = b->dims[d] == in->dims[d];
        if (!same) {
            char other[128];
            shape_text(b->dims, b->ndim, other, sizeof other);
            return perr(p, "inputs", "'%s' %s and '%s' %s differ in shape: does not chain",
                        in->name, shape, b->name, other);
        }
        out->ndim = in->ndim;
        memcpy(out->dims, in->dims, sizeof out->dims);
        out->count = in->count;
        break;
    }
    case ACCSIM_OP_CLAMP:
        out->ndim = in->ndim;
        memcpy(out->dims, in->dims, sizeof out->dims);
        out->count = in->count;
        break;
    case ACCSIM_OP_RESHAPE: {
        size_t n = 1;
        for (int d = 0; d < s->reshape_ndim; d++)
            n *= (size_t)s->reshape[d];
        if (n != in->count) {
            char want[128];
            shape_text(s->reshape, s->reshape_ndim, want, sizeof want);
            return perr(p, "shape", "%s holds %zu elements, input '%s' of shape %s holds %zu: "
                        "does not chain", want, n, in->name, shape, in->count);
        }
        out->ndim = s->reshape_ndim;
        memcpy(out->dims, s->reshape, sizeof s->reshape);
        out->count = n;
        break;
    }
    default:
        break;
    }
    if (spatial) {
        resolve_pad(s->pad_mode, h, op->kh, op->sh, s->pads[0], s->pads[1], &op->pad_top,
                    &op->pad_bottom);
        resolve_pad(s->pad_mode, w, op->kw, op->sw, s->pads[2], s->pads[3], &op->pad_left,
                    &op->pad_right);
        if (op->kind != ACCSIM_OP_CONV2D &&
            (op->pad_top >= op->kh || op->pad_bottom >= op->kh || op->pad_left >= op->kw ||
             op->pad_right >= op->kw))
            return perr(p, "padding", "a pool's padding must be smaller than its kernel");
        long long ph = (long long)h + op->pad_top + op->pad_bottom,
                  pw = (long long)w + op->pad_left + op->pad_right;
        if (ph < op->kh || pw < op->kw)
            return perr(p, op->kind == ACCSIM_OP_CONV2D ? "weights" : "kernel",
                        "kernel %dx%d is larger than the padded input %lldx%lld (input '%s' of "
                        "shape %s): does not chain", op->kh, op->kw, ph, pw, in->name, shape);
        int oh = (int)((ph - op->kh) / op->sh + 1), ow = (int)((pw - op->kw) / op->sw + 1);
        set_3d(net->layout, out, oh, ow, op->kind == ACCSIM_OP_CONV2D ? op->c_out : c);
        if (op->kind == ACCSIM_OP_CONV2D &&
            (size_t)op->c_out * (size_t)op->kh * (size_t)op->kw * (size_t)(c / op->groups) >
                ((size_t)1 << 28))
            return perr(p, "weights", "too many weights");
    }
    if (out->count > MAX_ELEMENTS)
        return perr(p, "output", "'%s' would hold %zu elements, too many", out->name, out->count);
    if (s->has_out_shape) {
        bool same = s->out_shape_ndim == out->ndim;
        for (int d = 0; same && d < out->ndim; d++)
            same = s->out_shape[d] == out->dims[d];
        if (!same) {
            char have[128], want[128];
            shape_text(out->dims, out->ndim, have, sizeof have);
            shape_text(s->out_shape, s->out_shape_ndim, want, sizeof want);
            return perr(p, "output_shape", "%s, but the inferred shape is %s: does not chain",
                        want, have);
        }
    }
    /* Zero points: MAC layers and add state theirs; the rest keep the input's. */
    if (op->kind == ACCSIM_OP_CONV2D || op->kind == ACCSIM_OP_FULLY_CONNECTED ||
        op->kind == ACCSIM_OP_ADD) {
        out->zero_point = s->zp_claim;
    } else {
        out->zero_point = in->zero_point;
        if (s->has_zp_claim && s->zp_claim != in->zero_point)
            return perr(p, "output_zero_point", "%d differs from the input's %d (this op keeps "
                        "its input's zero point)", s->zp_claim, in->zero_point);
    }
    return 0;
}

static void count_uses(const accsim_network *net, int *uses)
{
    for (int t = 0; t < net->tensor_count; t++)
        uses[t] = 0;
    for (int i = 0; i < net->op_count; i++)
        for (int k = 0; k < net->ops[i].input_count; k++)
            uses[net->ops[i].inputs[k]]++;
}

/* Names to indices, the order of execution, shapes. */
static int finalize(parser *p, char output_name[ACCSIM_NET_NAME])
{
    accsim_network *net = p->net;
    /* Tensor 0 is the input; tensor 1 + i is op i's output. */
    for (int i = 0; i < net->op_count; i++) {
        accsim_op *op = &net->ops[i];
        snprintf(p->where, sizeof p->where, "ops[%d] (%s)", i, op->name);
        for (int j = 0; j < i; j++)
            if (strcmp(net->ops[j].name, op->name) == 0)
                return perr(p, "name", "\"%s\" is also the name of ops[%d]", op->name, j);
        const char *name = p->specs[i].out_name;
        int t = find_tensor(net, name);
        if (t >= 0)
            return perr(p, "output", "tensor '%s' is produced twice (also by %s)", name,
                        t == 0 ? "the network input" : net->ops[net->tensors[t].producer].name);
        accsim_tensor *tt = &net->tensors[net->tensor_count++];
        snprintf(tt->name, sizeof tt->name, "%s", name);
        tt->producer = i;
        op->output = 1 + i;
    }
    for (int i = 0; i < net->op_count; i++) {
        accsim_op *op = &net->ops[i];
        snprintf(p->where, sizeof p->where, "ops[%d] (%s)", i, op->name);
        for (int k = 0; k < op->input_count; k++) {
            int t = find_tensor(net, p->specs[i].in_names[k]);
            if (t < 0)
                return perr(p, op->input_count == 1 ? "input" : "inputs",
                            "unknown tensor '%s' (neither the network input nor any op's output)",
                            p->specs[i].in_names[k]);
            op->inputs[k] = t;
        }
    }
    p->where[0] = '\0';
    net->output = find_tensor(net, output_name);
    if (net->output < 0)
        return perr(p, "output", "unknown tensor '%s'", output_name);
    int *uses = calloc((size_t)net->tensor_count, sizeof(int));
    if (!uses)
        return perr(p, NULL, "out of memory");
    count_uses(net, uses);
    for (int t = 0; t < net->tensor_count; t++) {
        if (uses[t] == 0 && t != net->output) {
            int rc;
            if (t == 0) {
                rc = perr(p, "input", "tensor '%s' is not used by any op", net->tensors[0].name);
            } else {
                int i = net->tensors[t].producer;
                snprintf(p->where, sizeof p->where, "ops[%d] (%s)", i, net->ops[i].name);
                rc = perr(p, "output", "tensor '%s' is not used by any op nor the network output",
                          net->tensors[t].name);
            }
            free(uses);
            return rc;
        }
    }
    free(uses);

    /* Order: repeatedly the first op (manifest order) whose inputs are ready. */
    bool *ready = calloc((size_t)net->tensor_count, sizeof(bool));
    bool *done = calloc((size_t)net->op_count, sizeof(bool));
    if (!ready || !done) {
        free(ready);
        free(done);
        return perr(p, NULL, "out of memory");
    }
    ready[0] = true;
    int ordered = 0;
    while (ordered < net->op_count) {
        int next = -1;
        for (int i = 0; i < net->op_count && next < 0; i++) {
            if (done[i])
                continue;
            bool ok = true;
            for (int k = 0; k < net->ops[i].input_count; k++)
                ok &= ready[net->ops[i].inputs[k]];
            if (ok)
                next = i;
        }
        if (next < 0)
            break;
        done[next] = true;
        ready[net->ops[next].output] = true;
        net->exec_order[ordered++] = next;
    }
    if (ordered < net->op_count) {
        /* Walk back from a blocked op through unready inputs: it must loop. */
        int i = 0;
        while (done[i])
            i++;
        for (int steps = 0; steps < net->op_count; steps++) {
            int k = 0;
            while (ready[net->ops[i].inputs[k]])
                k++;
            i = net->tensors[net->ops[i].inputs[k]].producer;
        }
        free(ready);
        free(done);
        snprintf(p->where, sizeof p->where, "ops[%d] (%s)", i, net->ops[i].name);
        return perr(p, NULL, "ops form a cycle through this op (its input '%s' depends on its own "
                    "output)", net->tensors[net->ops[i].inputs[0]].name);
    }
    free(ready);
    free(done);
    for (int k = 0; k < net->op_count; k++)
        if (infer_op(p, net->exec_order[k]) != 0)
            return -1;
    net->mac_ops = malloc(sizeof(int) * (size_t)(net->mac_count ? net->mac_count : 1));
    net->mac_pos = malloc(sizeof(int) * (size_t)(net->mac_count ? net->mac_count : 1));
    if (!net->mac_ops || !net->mac_pos)
        return perr(p, NULL, "out of memory");
    for (int i = 0; i < net->op_count; i++)
        if (net->ops[i].mac_index >= 0)
            net->mac_ops[net->ops[i].mac_index] = i;
    for (int k = 0; k < net->op_count; k++)
        if (net->ops[net->exec_order[k]].mac_index >= 0)
            net->mac_pos[net->ops[net->exec_order[k]].mac_index] = k;
    return 0;
}

void accsim_network_free(accsim_network *net)
{
    if (!net)
        return;
    for (int i = 0; net->ops && i < net->op_count; i++) {
        accsim_op *op = &net->ops[i];
        free(op->weights);
        free(op->bias);
        free(op->requant.scale);
        free(op->requant.multiplier);
        free(op->requant.shift);
    }
    free(net->ops);
    free(net->exec_order);
    free(net->tensors);
    free(net->mac_ops);
    free(net->mac_pos);
    memset(net, 0, sizeof *net);
}

static int parse_root(parser *p, json_object *root)
{
    accsim_network *net = p->net;
    json_object *v;
    p->where[0] = '\0';
    if (json_object_get_type(root) != json_type_object)
        return perr(p, NULL, "expected a JSON object at the top");
    static const char *const keys[] = {"format", "version", "name", "layout", "input", "output",
                                       "ops", NULL};
    if (check_keys(p, root, NULL, keys) != 0)
        return -1;
    char text[128];
    if (get_string(p, root, "format", true, text, sizeof text, NULL) != 0)
        return -1;
    if (strcmp(text, "accsim-network") != 0)
        return perr(p, "format", "expected \"accsim-network\", found \"%s\"", text);
    int version;
    if (get_int(p, root, "version", true, 1, 1, 1, &version) != 0)
        return -1;
    if (get_string(p, root, "name", false, net->name, sizeof net->name, NULL) != 0)
        return -1;
    if (get_string(p, root, "layout", true, text, sizeof text, NULL) != 0)
        return -1;
    if (strcmp(text, "NHWC") == 0)
        net->layout = ACCSIM_NHWC;
    else if (strcmp(text, "NCHW") == 0)
        net->layout = ACCSIM_NCHW;
    else
        return perr(p, "layout", "expected \"NHWC\" or \"NCHW\", found \"%s\"", text);
    char output_name[ACCSIM_NET_NAME];
    if (get_string(p, root, "output", true, output_name, sizeof output_name, NULL) != 0)
        return -1;
    if (!has(root, "ops", &v))
        return perr(p, "ops", "missing");
    if (!v || json_object_get_type(v) != json_type_array)
        return perr(p, "ops", "expected an array, found %s", type_name(v));
    size_t n = json_object_array_length(v);
    if (n < 1 || n > MAX_OPS)
        return perr(p, "ops", "expected 1..%d ops, found %zu", MAX_OPS, n);
    net->ops = calloc(n, sizeof *net->ops);
    net->exec_order = calloc(n, sizeof(int));
    net->tensors = calloc(n + 1, sizeof *net->tensors);
    p->specs = calloc(n, sizeof *p->specs);
    if (!net->ops || !net->exec_order || !net->tensors || !p->specs)
        return perr(p, NULL, "out of memory");
    net->tensor_count = 1;
    if (parse_input(p, root, &net->tensors[0]) != 0)
        return -1;
    net->input = 0;
    for (size_t i = 0; i < n; i++) {
        net->op_count = (int)i + 1; /* so that a failure frees what this op holds */
        if (parse_op(p, json_object_array_get_idx(v, i), (int)i) != 0)
            return -1;
    }
    return finalize(p, output_name);
}

int accsim_network_parse(accsim_network *net, const char *json, size_t json_size,
                         const char *label, accsim_network_tensor_fn tensors, void *ctx,
                         accsim_error *err)
{
    memset(net, 0, sizeof *net);
    parser p = {.label = label ? label : "network.json", .fn = tensors, .ctx = ctx, .err = err,
                .net = net};
    if (json_size > MAX_JSON_BYTES)
        return perr(&p, NULL, "larger than %zu bytes", MAX_JSON_BYTES);
    /* Strict JSON (no duplicate keys, junk, comments or NaN), with the line
     * of any fault: the same parser as every other JSON file accsim reads. */
    json_object *root;
    if (accsim_json_parse(p.label, json, json_size, &root, err) != 0)
        return -1;
    int rc = parse_root(&p, root);
    json_object_put(root);
    free(p.specs);
    if (rc != 0)
        accsim_network_free(net);
    return rc;
}

typedef struct dir_ctx {
    const char *dir;
} dir_ctx;

static int load_from_dir(void *ctx, const char *file, accsim_npy *out, accsim_error *err)
{
    const dir_ctx *d = ctx;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", d->dir, file);
    return accsim_npy_load(path, out, err);
}

int accsim_network_load(accsim_network *net, const char *dir, accsim_error *err)
{
    memset(net, 0, sizeof *net);
    char path[1200];
    snprintf(path, sizeof path, "%s/network.json", dir);
    char *json;
    size_t size;
    if (accsim_read_file(path, MAX_JSON_BYTES, &json, &size, err) != 0)
        return -1;
    dir_ctx d = {dir};
    int rc = accsim_network_parse(net, json, size, path, load_from_dir, &d, err);
    free(json);
    if (rc == 0)
        snprintf(net->dir, sizeof net->dir, "%s", dir);
    return rc;
}

/* ---- The course model ---------------------------------------------------- */

typedef struct course_ctx {
    const accsim_model *model;
} course_ctx;

static int course_tensor(void *ctx, const char *file, accsim_npy *out, accsim_error *err)
{
    const course_ctx *c = ctx;
    memset(out, 0, sizeof *out);
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        const accsim_layer_info *li = &accsim_layers[l];
        char name[64];
        snprintf(name, sizeof name, "%s.weight.npy", li->name);
        if (strcmp(file, name) != 0)
            continue;
        out->dtype = ACCSIM_NPY_I1;
        if (li->is_conv) {
            out->ndim = 4;
            out->shape[0] = (size_t)li->out_channels;
            out->shape[1] = (size_t)li->in_channels;
            out->shape[2] = out->shape[3] = (size_t)li->kernel;
        } else {
            out->ndim = 2;
            out->shape[0] = (size_t)li->out_channels;
            out->shape[1] = (size_t)li->in_channels;
        }
        out->count = (size_t)li->weight_count;
        out->data = malloc(out->count);
        if (!out->data)
            return accsim_fail(err, "out of memory");
        memcpy(out->data, c->model->weights[l], out->count);
        return 0;
    }
    if (strcmp(file, "fc3.bias.npy") == 0) {
        out->dtype = ACCSIM_NPY_I4;
        out->ndim = 1;
        out->shape[0] = ACCSIM_CLASSES;
        out->count = ACCSIM_CLASSES;
        out->data = malloc(sizeof(int32_t) * ACCSIM_CLASSES);
        if (!out->data)
            return accsim_fail(err, "out of memory");
        memcpy(out->data, c->model->bias, sizeof(int32_t) * ACCSIM_CLASSES);
        return 0;
    }
    return accsim_fail(err, "%s: no such tensor in the course model", file);
}

int accsim_network_from_course_model(const accsim_model *model, accsim_network *net,
                                     accsim_error *err)
{
    const double *s = model->output_scale;
    char json[8192];
    int n = snprintf(
        json, sizeof json,
        "{\"format\": \"accsim-network\", \"version\": 1, \"name\": \"lenet5 (course)\",\n"
        " \"layout\": \"NCHW\",\n"
        " \"input\": {\"tensor\": \"input\", \"shape\": [3, 32, 32], \"zero_point\": 0,\n"
        "           \"quantize\": {\"kind\": \"course\", \"scale\": %.17g}},\n"
        " \"output\": \"logits\",\n"
        " \"ops\": [\n"
        "  {\"op\": \"conv2d\", \"name\": \"conv1\", \"input\": \"input\", \"output\": \"c1\",\n"
        "   \"weights\": \"conv1.weight.npy\", \"requantize\": {\"kind\": \"float\", \"scale\": %.17g},\n"
        "   \"clamp\": [0, 127], \"accumulator\": {\"order\": \"chw\", \"tile\": 25}},\n"
        "  {\"op\": \"max_pool\", \"name\": \"pool1\", \"input\": \"c1\", \"output\": \"p1\",\n"
        "   \"kernel\": [2, 2], \"stride\": [2, 2]},\n"
        "  {\"op\": \"conv2d\", \"name\": \"conv2\", \"input\": \"p1\", \"output\": \"c2\",\n"
        "   \"weights\": \"conv2.weight.npy\", \"requantize\": {\"kind\": \"float\", \"scale\": %.17g},\n"
        "   \"clamp\": [0, 127], \"accumulator\": {\"order\": \"chw\", \"tile\": 25}},\n"
        "  {\"op\": \"max_pool\", \"name\": \"pool2\", \"input\": \"c2\", \"output\": \"p2\",\n"
        "   \"kernel\": [2, 2], \"stride\": [2, 2]},\n"
        "  {\"op\": \"reshape\", \"name\": \"flatten\", \"input\": \"p2\", \"output\": \"f\", \"shape\": [400]},\n"
        "  {\"op\": \"fully_connected\", \"name\": \"fc1\", \"input\": \"f\", \"output\": \"h1\",\n"
        "   \"weights\": \"fc1.weight.npy\", \"requantize\": {\"kind\": \"float\", \"scale\": %.17g},\n"
        "   \"clamp\": [0, 127]},\n"
        "  {\"op\": \"fully_connected\", \"name\": \"fc2\", \"input\": \"h1\", \"output\": \"h2\",\n"
        "   \"weights\": \"fc2.weight.npy\", \"requantize\": {\"kind\": \"float\", \"scale\": %.17g},\n"
        "   \"clamp\": [0, 127]},\n"
        "  {\"op\": \"fully_connected\", \"name\": \"fc3\", \"input\": \"h2\", \"output\": \"logits\",\n"
        "   \"weights\": \"fc3.weight.npy\", \"bias\": \"fc3.bias.npy\",\n"
        "   \"requantize\": {\"kind\": \"float\", \"scale\": %.17g}, \"accumulator\": {\"bias\": \"last\"}}\n"
        " ]}\n",
        model->input_scale, s[0], s[1], s[2], s[3], s[4]);
    if (n < 0 || (size_t)n >= sizeof json)
        return accsim_fail(err, "course model: description too long");
    course_ctx c = {model};
    if (accsim_network_parse(net, json, (size_t)n, "course model", course_tensor, &c, err) != 0)
        return -1;
    snprintf(net->dir, sizeof net->dir, "%s", model->dir);
    net->course = model;
    return 0;
}
