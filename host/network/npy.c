/* .npy files (NumPy format 1.0, 2.0, 3.0): a strict reader and a small writer.
 *
 * The header is a Python dict literal with exactly the keys descr,
 * fortran_order and shape, padded with spaces and ended by a newline. Only
 * little-endian (or byte-sized) integer, float and bool dtypes in C order are
 * accepted, and the data must fill the rest of the file exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/fileio.h"
#include "accsim/network.h"

static const struct {
    char kind;
    int size;
    const char *name;
} dtypes[] = {
    [ACCSIM_NPY_I1] = {'i', 1, "int8 (|i1)"},    [ACCSIM_NPY_U1] = {'u', 1, "uint8 (|u1)"},
    [ACCSIM_NPY_I2] = {'i', 2, "int16 (<i2)"},   [ACCSIM_NPY_U2] = {'u', 2, "uint16 (<u2)"},
    [ACCSIM_NPY_I4] = {'i', 4, "int32 (<i4)"},   [ACCSIM_NPY_U4] = {'u', 4, "uint32 (<u4)"},
    [ACCSIM_NPY_I8] = {'i', 8, "int64 (<i8)"},   [ACCSIM_NPY_U8] = {'u', 8, "uint64 (<u8)"},
    [ACCSIM_NPY_F4] = {'f', 4, "float32 (<f4)"}, [ACCSIM_NPY_F8] = {'f', 8, "float64 (<f8)"},
    [ACCSIM_NPY_BOOL] = {'b', 1, "bool (|b1)"},
};
#define DTYPE_COUNT ((int)(sizeof dtypes / sizeof dtypes[0]))

const char *accsim_npy_dtype_name(accsim_npy_dtype dtype)
{
    return (int)dtype >= 0 && (int)dtype < DTYPE_COUNT ? dtypes[dtype].name : "(unknown dtype)";
}

size_t accsim_npy_itemsize(accsim_npy_dtype dtype)
{
    return (int)dtype >= 0 && (int)dtype < DTYPE_COUNT ? (size_t)dtypes[dtype].size : 0;
}

void accsim_npy_free(accsim_npy *npy)
{
    if (!npy)
        return;
    free(npy->data);
    memset(npy, 0, sizeof *npy);
}

/* A cursor over the header text. */
typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_spaces(cursor *c)
{
    while (c->p < c->end && *c->p == ' ')
        c->p++;
}

static int take(cursor *c, char ch)
{
    skip_spaces(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A Python string literal in single or double quotes, no escapes. */
static int read_string(cursor *c, char *out, size_t out_size)
{
    skip_spaces(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return -1;
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || n + 1 >= out_size)
            return -1;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return -1;
    c->p++;
    out[n] = '\0';
    return 0;
}

static int starts_with(cursor *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

static int parse_descr(const char *text, accsim_npy_dtype *dtype)
{
    size_t n = strlen(text);
    if (n < 3 || n > 4)
        return -1;
    char order = text[0], kind = text[1];
    int size = 0;
    for (size_t i = 2; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        size = size * 10 + (text[i] - '0');
    }
    for (int d = 0; d < DTYPE_COUNT; d++) {
        if (dtypes[d].kind != kind || dtypes[d].size != size)
            continue;
        /* Byte-sized types: '|' (as NumPy writes) or '<'; others little-endian only. */
        if (order == '<' || (size == 1 && order == '|')) {
            *dtype = (accsim_npy_dtype)d;
            return 0;
        }
        return -1;
    }
    return -1;
}

int accsim_npy_parse(const void *data, size_t size, const char *name, accsim_npy *out,
                     accsim_error *err)
{
    memset(out, 0, sizeof *out);
    const unsigned char *b = data;
    if (!name)
        name = "(npy)";
    if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return accsim_fail(err, "%s: not a .npy file (no \\x93NUMPY magic)", name);
    int major = b[6], minor = b[7];
    if ((major < 1 || major > 3) || minor != 0)
        return accsim_fail(err, "%s: unsupported .npy format version %d.%d (1.0, 2.0, 3.0 are)",
                           name, major, minor);
    size_t header_len, header_start;
    if (major == 1) {
        header_len = (size_t)b[8] | (size_t)b[9] << 8;
        header_start = 10;
    } else {
        if (size < 12)
            return accsim_fail(err, "%s: truncated .npy header", name);
        header_len = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        header_start = 12;
    }
    if (header_len > size - header_start)
        return accsim_fail(err, "%s: header length %zu runs past the end of the file (%zu bytes)",
                           name, header_len, size);
    if (header_len > 65536)
        return accsim_fail(err, "%s: header of %zu bytes is too long", name, header_len);
    const char *h = (const char *)b + header_start;
    if (header_len == 0 || h[header_len - 1] != '\n')
        return accsim_fail(err, "%s: header does not end with a newline", name);
    for (size_t i = 0; i + 1 < header_len; i++)
        if ((unsigned char)h[i] < 0x20 || (unsigned char)h[i] > 0x7e)
            return accsim_fail(err, "%s: header holds a non-printable byte at offset %zu", name,
                               header_start + i);

    cursor c = {h, h + header_len - 1};
    bool have_descr = false, have_order = false, have_shape = false;
    accsim_npy_dtype dtype = ACCSIM_NPY_I1;
    int ndim = 0;
    size_t shape[ACCSIM_NPY_MAX_DIMS];
    if (!take(&c, '{'))
        return accsim_fail(err, "%s: header is not a dict ('{' expected)", name);
    for (;;) {
        if (take(&c, '}'))
            break;
        char key[32];
        if (read_string(&c, key, sizeof key) != 0)
            return accsim_fail(err, "%s: header: expected a quoted key or '}'", name);
        if (!take(&c, ':'))
            return accsim_fail(err, "%s: header: ':' expected after '%s'", name, key);
        skip_spaces(&c);
        if (strcmp(key, "descr") == 0) {
            char text[16];
            if (have_descr)
                return accsim_fail(err, "%s: header: descr given twice", name);
            if (read_string(&c, text, sizeof text) != 0)
                return accsim_fail(err, "%s: header: descr: expected a dtype string like '<i4'",
                                   name);
            if (parse_descr(text, &dtype) != 0)
                return accsim_fail(err,
                                   "%s: header: descr: unsupported dtype '%s' (little-endian "
                                   "i1/u1/i2/u2/i4/u4/i8/u8/f4/f8/b1 are)",
                                   name, text);
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (have_order)
                return accsim_fail(err, "%s: header: fortran_order given twice", name);
            if (starts_with(&c, "True"))
                return accsim_fail(err, "%s: header: fortran_order: True is not supported "
                                        "(save the array in C order)", name);
            if (!starts_with(&c, "False"))
                return accsim_fail(err, "%s: header: fortran_order: expected False", name);
            have_order = true;
        } else if (strcmp(key, "shape") == 0) {
            if (have_shape)
                return accsim_fail(err, "%s: header: shape given twice", name);
            if (!take(&c, '('))
                return accsim_fail(err, "%s: header: shape: expected a tuple", name);
            for (;;) {
                skip_spaces(&c);
                if (take(&c, ')'))
                    break;
                if (c.p >= c.end || *c.p < '0' || *c.p > '9')
                    return accsim_fail(err, "%s: header: shape: expected a whole number", name);
                unsigned long long v = 0;
                while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
                    v = v * 10 + (unsigned)(*c.p++ - '0');
                    if (v > ((unsigned long long)1 << 40))
                        return accsim_fail(err, "%s: header: shape: dimension too large", name);
                }
                if (ndim == ACCSIM_NPY_MAX_DIMS)
                    return accsim_fail(err, "%s: header: shape: more than %d dimensions", name,
                                       ACCSIM_NPY_MAX_DIMS);
                shape[ndim++] = (size_t)v;
                if (take(&c, ')'))
                    break;
                if (!take(&c, ','))
                    return accsim_fail(err, "%s: header: shape: ',' or ')' expected", name);
            }
            /* Python writes a 1-tuple as (n,); (n) would be a plain number. */
            have_shape = true;
        } else {
            return accsim_fail(err, "%s: header: unknown key '%s'", name, key);
        }
        if (take(&c, '}'))
            break;
        if (!take(&c, ','))
            return accsim_fail(err, "%s: header: ',' or '}' expected after '%s'", name, key);
    }
    skip_spaces(&c);
    if (c.p != c.end)
        return accsim_fail(err, "%s: header: unexpected text after the dict", name);
    if (!have_descr || !have_order || !have_shape)
        return accsim_fail(err, "%s: header: missing %s", name,
                           !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");

    size_t count = 1, item = accsim_npy_itemsize(dtype);
    for (int d = 0; d < ndim; d++) {
        if (shape[d] != 0 && count > (SIZE_MAX / 16) / shape[d])
            return accsim_fail(err, "%s: shape too large", name);
        count *= shape[d];
    }
    size_t data_start = header_start + header_len, have = size - data_start;
    if (have != count * item)
        return accsim_fail(err, "%s: data holds %zu bytes, shape and dtype %s need %zu", name,
                           have, accsim_npy_dtype_name(dtype), count * item);
    size_t bytes = count * item;
    void *copy = malloc(bytes ? bytes : 1);
    if (!copy)
        return accsim_fail(err, "%s: out of memory", name);
    memcpy(copy, b + data_start, count * item);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; item > 1 && i < count; i++) {
        unsigned char *e = (unsigned char *)copy + i * item;
        for (size_t k = 0; k < item / 2; k++) {
            unsigned char t = e[k];
            e[k] = e[item - 1 - k];
            e[item - 1 - k] = t;
        }
    }
#endif
    out->dtype = dtype;
    out->ndim = ndim;
    memcpy(out->shape, shape, sizeof(size_t) * (size_t)ndim);
    out->count = count;
    out->data = copy;
    return 0;
}

int accsim_npy_load(const char *path, accsim_npy *out, accsim_error *err)
{
    memset(out, 0, sizeof *out);
    char *data;
    size_t size;
    if (accsim_read_file(path, ACCSIM_NPY_MAX_BYTES, &data, &size, err) != 0)
        return -1;
    int rc = accsim_npy_parse(data, size, path, out, err);
    free(data);
    return rc;
}

int accsim_npy_encode(accsim_npy_dtype dtype, int ndim, const size_t *shape, const void *data,
                      char **buf, size_t *size, accsim_error *err)
{
    *buf = NULL;
    *size = 0;
    if ((int)dtype < 0 || (int)dtype >= DTYPE_COUNT || ndim < 0 || ndim > ACCSIM_NPY_MAX_DIMS)
        return accsim_fail(err, "npy encode: bad dtype or rank");
    char header[512];
    int n = snprintf(header, sizeof header, "{'descr': '%c%c%d', 'fortran_order': False, 'shape': (",
                     dtypes[dtype].size == 1 ? '|' : '<', dtypes[dtype].kind, dtypes[dtype].size);
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        n += snprintf(header + n, sizeof header - (size_t)n, "%zu,%s", shape[d],
                      d + 1 < ndim ? " " : "");
        count *= shape[d];
    }
    if (ndim > 1)
        n--; /* (2, 3) rather than (2, 3,) */
    n += snprintf(header + n, sizeof header - (size_t)n, "), }");
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t hlen = padded - 10;
    size_t bytes = count * (size_t)dtypes[dtype].size;
    char *out = malloc(padded + bytes);
    if (!out)
        return accsim_fail(err, "npy encode: out of memory");
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (char)(hlen & 0xff);
    out[9] = (char)(hlen >> 8);
    memcpy(out + 10, header, (size_t)n);
    memset(out + 10 + n, ' ', hlen - (size_t)n - 1);
    out[padded - 1] = '\n';
    if (bytes)
        memcpy(out + padded, data, bytes);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    size_t item = (size_t)dtypes[dtype].size;
    for (size_t i = 0; item > 1 && i < count; i++) {
        unsigned char *e = (unsigned char *)out + padded + i * item;
        for (size_t k = 0; k < item / 2; k++) {
            unsigned char t = e[k];
            e[k] = e[item - 1 - k];
            e[item - 1 - k] = t;
        }
    }
#endif
    *buf = out;
    *size = padded + bytes;
    return 0;
}

int accsim_npy_save(const char *path, accsim_npy_dtype dtype, int ndim, const size_t *shape,
                    const void *data, accsim_error *err)
{
    char *buf;
    size_t size;
    if (accsim_npy_encode(dtype, ndim, shape, data, &buf, &size, err) != 0)
        return -1;
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        free(buf);
        return accsim_fail(err, "%s: cannot create", path);
    }
    int ok = fwrite(buf, 1, size, fp) == size;
    ok &= fclose(fp) == 0;
    free(buf);
    return ok ? 0 : accsim_fail(err, "%s: write failed", path);
}
