/* The network's shape and the course's model files (SPEC sections 2 and 3). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "accsim/fileio.h"
#include "accsim/json_strict.h"
#include "accsim/model.h"

#define CONV(nm, cin, insz, cout, relu_pool)                                                      \
    {.name = nm, .is_conv = true, .in_channels = cin, .in_size = insz, .kernel = 5,              \
     .out_channels = cout, .out_size = insz - 4, .has_bias = false, .has_relu = true,            \
     .has_pool = relu_pool, .weight_count = cout * cin * 25, .input_count = cin * insz * insz,   \
     .output_count = cout * (insz - 4) * (insz - 4), .adds_per_output = cin * 25 + cin}
#define FC(nm, nin, nout, bias, relu)                                                             \
    {.name = nm, .is_conv = false, .in_channels = nin, .in_size = 1, .kernel = 1,                \
     .out_channels = nout, .out_size = 1, .has_bias = bias, .has_relu = relu, .has_pool = false, \
     .weight_count = nout * nin, .input_count = nin, .output_count = nout,                       \
     .adds_per_output = nin + (bias ? 1 : 0)}

const accsim_layer_info accsim_layers[ACCSIM_LAYERS] = {
    CONV("conv1", 3, 32, 6, true),
    CONV("conv2", 6, 14, 16, true),
    FC("fc1", 400, 120, false, true),
    FC("fc2", 120, 84, false, true),
    FC("fc3", 84, 10, true, false),
};

static const char *const scale_keys[1 + ACCSIM_LAYERS] = {
    "input_scale",      "conv1_output_scale", "conv2_output_scale",
    "fc1_output_scale", "fc2_output_scale",   "fc3_output_scale",
};

int8_t accsim_requantize(int64_t v, double scale)
{
    double r = nearbyint((double)v * scale); /* default rounding mode: half to even */
    if (r < -128)
        return -128;
    if (r > 127)
        return 127;
    return (int8_t)r;
}

int8_t accsim_quantize_pixel(uint8_t p, double input_scale)
{
    /* float32 throughout, as torchvision's ToTensor + Normalize computes it. */
    float x = ((float)p / 255.0f - 0.5f) / 0.5f;
    float q = rintf(x * (float)input_scale);
    if (q < -128)
        return -128;
    if (q > 127)
        return 127;
    return (int8_t)q;
}

#define MAX_CSV_BYTES (64u << 20)  /* fc1 in savetxt form is 1.2 MB */
#define MAX_JSON_BYTES (1u << 20)

/* A decimal number as numpy.savetxt writes it: [+-]digits[.digits][e[+-]digits]
 * (or .digits). strtod alone would also take hex (0x10), inf, nan and
 * leading white space. Returns the length of the token, 0 if it is not one. */
static size_t decimal_length(const char *p, const char *end)
{
    const char *q = p;
    if (q < end && (*q == '+' || *q == '-'))
        q++;
    size_t digits = 0;
    while (q < end && *q >= '0' && *q <= '9')
        q++, digits++;
    if (q < end && *q == '.') {
        q++;
        while (q < end && *q >= '0' && *q <= '9')
            q++, digits++;
    }
    if (digits == 0)
        return 0;
    if (q < end && (*q == 'e' || *q == 'E')) {
        const char *e = q + 1;
        if (e < end && (*e == '+' || *e == '-'))
            e++;
        if (e == end || *e < '0' || *e > '9')
            return 0;
        while (e < end && *e >= '0' && *e <= '9')
            e++;
        q = e;
    }
    return (size_t)(q - p);
}

int accsim_parse_numbers(const char *name, const char *text, size_t size, size_t expected,
                         double *out, accsim_error *err)
{
    size_t count = 0, lineno = 0;
    const char *p = text, *stop = text + size;
    while (p < stop) {
        lineno++;
        const char *eol = memchr(p, '\n', (size_t)(stop - p));
        const char *line_end = eol ? eol : stop;
        const char *next = eol ? eol + 1 : stop;
        if (memchr(p, '\0', (size_t)(line_end - p)))
            return accsim_fail(err, "%s: line %zu: NUL byte: not a text file", name, lineno);
        while (line_end > p && (line_end[-1] == '\r' || line_end[-1] == ' ' || line_end[-1] == '\t'))
            line_end--;
        while (p < line_end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == line_end || *p == '#') {
            p = next;
            continue;
        }
        size_t n = decimal_length(p, line_end);
        if (n == 0 || p + n != line_end) {
            int shown = (int)(line_end - p > 60 ? 60 : line_end - p);
            return accsim_fail(err, "%s: line %zu: '%.*s%s' is not a decimal number", name,
                               lineno, shown, p, line_end - p > 60 ? "..." : "");
        }
        char token[512];
        if (n >= sizeof token)
            return accsim_fail(err, "%s: line %zu: number too long", name, lineno);
        memcpy(token, p, n);
        token[n] = '\0';
        errno = 0;
        double v = strtod(token, NULL);
        if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL))
            return accsim_fail(err, "%s: line %zu: %s is out of range", name, lineno, token);
        if (count == expected)
            return accsim_fail(err, "%s: more than the %zu values expected (line %zu)", name,
                               expected, lineno);
        out[count++] = v;
        p = next;
    }
    if (count != expected)
        return accsim_fail(err, "%s: expected %zu values, found %zu", name, expected, count);
    return 0;
}

/* Reads a numpy.savetxt file of exactly `expected` numbers, one per line. */
static int read_numbers(const char *dir, const char *file, size_t expected, double *out,
                        accsim_error *err)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text;
    size_t size;
    if (accsim_read_file(path, MAX_CSV_BYTES, &text, &size, err) != 0)
        return -1;
    int rc = accsim_parse_numbers(path, text, size, expected, out, err);
    free(text);
    return rc;
}

static int check_integers(const char *dir, const char *file, const double *v, size_t n, double lo,
                          double hi, const char *range_name, accsim_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]) || v[i] != floor(v[i]))
            return accsim_fail(err, "%s/%s: value %zu (%g) is not an integer", dir, file, i + 1,
                               v[i]);
        if (v[i] < lo || v[i] > hi)
            return accsim_fail(err, "%s/%s: value %zu (%.0f) is outside %s", dir, file, i + 1, v[i],
                               range_name);
    }
    return 0;
}

int accsim_parse_scales(const char *name, const char *text, size_t size, accsim_model *model,
                        accsim_error *err)
{
    json_object *root;
    if (accsim_json_parse(name, text, size, &root, err) != 0)
        return -1;
    int rc = 0;
    if (!root || !json_object_is_type(root, json_type_object))
        rc = accsim_fail(err, "%s: expected a JSON object of scales, found %s", name,
                         root ? accsim_json_type_name(root) : "null");
    /* Every key must be one we know: a misspelt scale is an error, not a default. */
    if (rc == 0) {
        json_object_object_foreach(root, key, unused) {
            (void)unused;
            bool known = false;
            for (int k = 0; k <= ACCSIM_LAYERS; k++)
                known = known || strcmp(key, scale_keys[k]) == 0;
            if (!known) {
                rc = accsim_fail(err, "%s: unknown key \"%s\" (expected input_scale and "
                                      "<layer>_output_scale for conv1, conv2, fc1, fc2, fc3)",
                                 name, key);
                break;
            }
        }
    }
    for (int k = 0; rc == 0 && k <= ACCSIM_LAYERS; k++) {
        json_object *value;
        if (!json_object_object_get_ex(root, scale_keys[k], &value)) {
            rc = accsim_fail(err, "%s: missing \"%s\"", name, scale_keys[k]);
            break;
        }
        if (!json_object_is_type(value, json_type_double) &&
            !json_object_is_type(value, json_type_int)) {
            rc = accsim_fail(err, "%s: \"%s\" is %s, expected a number", name, scale_keys[k],
                             accsim_json_type_name(value));
            break;
        }
        double s = json_object_get_double(value);
        if (!isfinite(s) || !(s > 0)) {
            rc = accsim_fail(err, "%s: \"%s\" is %g; scales must be positive and finite", name,
                             scale_keys[k], s);
            break;
        }
        if (k == 0)
            model->input_scale = s;
        else
            model->output_scale[k - 1] = s;
    }
    json_object_put(root);
    return rc;
}

static int load_scales(accsim_model *model, const char *dir, accsim_error *err)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/scale.json", dir);
    char *text;
    size_t size;
    if (accsim_read_file(path, MAX_JSON_BYTES, &text, &size, err) != 0)
        return -1;
    int rc = accsim_parse_scales(path, text, size, model, err);
    free(text);
    return rc;
}

int accsim_model_load(accsim_model *model, const char *dir, accsim_error *err)
{
    memset(model, 0, sizeof *model);
    if (!*dir)
        return accsim_fail(err, "empty model directory name");
    if (strlen(dir) >= sizeof model->dir)
        return accsim_fail(err, "%s: path too long", dir);
    snprintf(model->dir, sizeof model->dir, "%s", dir);

    double *values = malloc(sizeof(double) * 48000); /* the largest tensor: fc1 */
    if (!values)
        return accsim_fail(err, "out of memory loading %s", dir);
    int rc = 0;
    for (int l = 0; rc == 0 && l < ACCSIM_LAYERS; l++) {
        char file[64];
        snprintf(file, sizeof file, "%s.weight.csv", accsim_layers[l].name);
        size_t n = (size_t)accsim_layers[l].weight_count;
        rc = read_numbers(dir, file, n, values, err);
        if (rc == 0)
            rc = check_integers(dir, file, values, n, -128, 127, "int8 [-128, 127]", err);
        if (rc == 0) {
            model->weights[l] = malloc(n);
            if (!model->weights[l])
                rc = accsim_fail(err, "out of memory loading %s", dir);
            for (size_t i = 0; rc == 0 && i < n; i++)
                model->weights[l][i] = (int8_t)values[i];
        }
    }
    if (rc == 0)
        rc = read_numbers(dir, "fc3.bias.csv", ACCSIM_CLASSES, values, err);
    if (rc == 0)
        rc = check_integers(dir, "fc3.bias.csv", values, ACCSIM_CLASSES, -2147483648.0,
                            2147483647.0, "int32", err);
    for (int i = 0; rc == 0 && i < ACCSIM_CLASSES; i++)
        model->bias[i] = (int32_t)values[i];
    free(values);
    if (rc == 0)
        rc = load_scales(model, dir, err);
    if (rc != 0)
        accsim_model_free(model);
    return rc;
}

void accsim_model_free(accsim_model *model)
{
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        free(model->weights[l]);
        model->weights[l] = NULL;
    }
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void accsim_model_random(accsim_model *model, uint64_t seed)
{
    memset(model, 0, sizeof *model);
    snprintf(model->dir, sizeof model->dir, "(random model, seed %llu)", (unsigned long long)seed);
    uint64_t state = seed;
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        const accsim_layer_info *info = &accsim_layers[l];
        model->weights[l] = malloc((size_t)info->weight_count);
        if (!model->weights[l])
            abort();
        for (int i = 0; i < info->weight_count; i++)
            model->weights[l][i] = (int8_t)(int)(splitmix64(&state) % 256 - 128);
        /* Uniform int8 weights against activations in [0, 127] give sums of
         * spread about 74 * 64 * sqrt(n); map a few of those onto int8 so the
         * next layer sees varied, partly clipped activations. */
        double terms = (double)info->in_channels * info->kernel * info->kernel;
        double spread = 74.0 * 64.0 * sqrt(terms);
        double jitter = 0.5 + (double)(splitmix64(&state) % 1000) / 1000.0;
        model->output_scale[l] = jitter * 127.0 / (2.0 * spread);
    }
    for (int i = 0; i < ACCSIM_CLASSES; i++)
        model->bias[i] = (int32_t)(splitmix64(&state) % 20001) - 10000;
    model->input_scale = 128.0;
}

int accsim_model_load_test_vector(const accsim_model *model, int8_t image[ACCSIM_IMAGE_BYTES],
                                  int8_t expected[ACCSIM_CLASSES], accsim_error *err)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/input.csv", model->dir);
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT)
        return 1;
    double *values = malloc(sizeof(double) * ACCSIM_IMAGE_BYTES);
    if (!values)
        return accsim_fail(err, "out of memory");
    int rc = read_numbers(model->dir, "input.csv", ACCSIM_IMAGE_BYTES, values, err);
    for (int i = 0; rc == 0 && i < ACCSIM_IMAGE_BYTES; i++) {
        if (!isfinite(values[i])) {
            rc = accsim_fail(err, "%s: value %d is not finite", path, i + 1);
            break;
        }
        double q = rint(values[i] * model->input_scale); /* SPEC 4: in double for input.csv */
        image[i] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
    }
    if (rc == 0)
        rc = read_numbers(model->dir, "output.csv", ACCSIM_CLASSES, values, err);
    if (rc == 0)
        rc = check_integers(model->dir, "output.csv", values, ACCSIM_CLASSES, -128, 127,
                            "int8 [-128, 127]", err);
    for (int i = 0; rc == 0 && i < ACCSIM_CLASSES; i++)
        expected[i] = (int8_t)values[i];
    free(values);
    return rc;
}

static int write_numbers(const char *dir, const char *file, const double *v, size_t n,
                         accsim_error *err)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    accsim_outfile f;
    if (accsim_outfile_open(&f, path, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        fprintf(f.fp, "%.18e\n", v[i]);
    return accsim_outfile_commit(&f, err); /* checks every write, renames into place */
}

int accsim_model_save(const accsim_model *model, const char *dir, accsim_error *err)
{
    double *values = malloc(sizeof(double) * 48000);
    if (!values)
        return accsim_fail(err, "out of memory");
    int rc = 0;
    for (int l = 0; rc == 0 && l < ACCSIM_LAYERS; l++) {
        char file[64];
        snprintf(file, sizeof file, "%s.weight.csv", accsim_layers[l].name);
        for (int i = 0; i < accsim_layers[l].weight_count; i++)
            values[i] = model->weights[l][i];
        rc = write_numbers(dir, file, values, (size_t)accsim_layers[l].weight_count, err);
    }
    for (int i = 0; i < ACCSIM_CLASSES; i++)
        values[i] = model->bias[i];
    if (rc == 0)
        rc = write_numbers(dir, "fc3.bias.csv", values, ACCSIM_CLASSES, err);
    free(values);
    if (rc != 0)
        return rc;
    json_object *root = json_object_new_object();
    for (int k = 0; k <= ACCSIM_LAYERS; k++)
        json_object_object_add(root, scale_keys[k],
                               json_object_new_double(k == 0 ? model->input_scale
                                                             : model->output_scale[k - 1]));
    char path[1200];
    snprintf(path, sizeof path, "%s/scale.json", dir);
    accsim_outfile f;
    rc = accsim_outfile_open(&f, path, err);
    if (rc == 0) {
        fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN), f.fp);
        rc = accsim_outfile_commit(&f, err);
    }
    json_object_put(root);
    return rc;
}
