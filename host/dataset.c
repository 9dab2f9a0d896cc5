/* Labelled data sets: CIFAR-10 binary batches (SPEC section 4) or NumPy arrays. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "accsim/dataset.h"
#include "accsim/fileio.h"

#define BATCH_BYTES ((long)ACCSIM_CIFAR_RECORD * ACCSIM_CIFAR_PER_BATCH)
#define DEFAULT_DATA_DIR "data/cifar-10-batches-bin"

int accsim_split_parse(const char *text, accsim_split *split)
{
    if (strcmp(text, "test") == 0)
        *split = ACCSIM_SPLIT_TEST;
    else if (strcmp(text, "train") == 0)
        *split = ACCSIM_SPLIT_TRAIN;
    else if (strcmp(text, "both") == 0)
        *split = ACCSIM_SPLIT_BOTH;
    else
        return -1;
    return 0;
}

const char *accsim_split_name(accsim_split split)
{
    switch (split) {
    case ACCSIM_SPLIT_TEST: return "test";
    case ACCSIM_SPLIT_TRAIN: return "train";
    case ACCSIM_SPLIT_BOTH: return "both";
    }
    return "?";
}

static int file_exists(const char *dir, const char *file)
{
    char path[1200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return stat(path, &st) == 0;
}

/* The NumPy form wins when both are present: its files are named explicitly. */
static int is_npy_dir(const char *dir)
{
    return file_exists(dir, ACCSIM_NPY_TEST_IMAGES) || file_exists(dir, ACCSIM_NPY_TRAIN_IMAGES);
}

static int is_data_dir(const char *dir)
{
    return is_npy_dir(dir) || file_exists(dir, "test_batch.bin") ||
           file_exists(dir, "data_batch_1.bin");
}

int accsim_data_dir_resolve(const char *explicit_dir, char *out, size_t out_size, accsim_error *err)
{
    const char *env = getenv("ACCSIM_DATA");
    const char *dir = explicit_dir ? explicit_dir : (env && *env) ? env : DEFAULT_DATA_DIR;
    const char *source = explicit_dir ? "--data" : (env && *env) ? "$ACCSIM_DATA" : "the default";
    if (!*dir)
        return accsim_fail(err, "%s: empty directory name", source);
    if (!is_data_dir(dir))
        return accsim_fail(err,
                           "no data set in %s (from %s): expected NumPy arrays "
                           "(test_images.npy + test_labels.npy and/or train_images.npy + "
                           "train_labels.npy) or the CIFAR-10 binary batches (test_batch.bin "
                           "and data_batch_1.bin .. data_batch_5.bin). Get CIFAR-10 with "
                           "tools/fetch_cifar10.sh (downloads and checks the official binary "
                           "tarball into %s), or point --data or ACCSIM_DATA at a directory "
                           "that holds either",
                           dir, source, DEFAULT_DATA_DIR);
    if (strlen(dir) >= out_size)
        return accsim_fail(err, "%s: path too long", dir);
    snprintf(out, out_size, "%s", dir);
    return 0;
}

int accsim_parse_cifar_records(const char *name, const uint8_t *bytes, size_t size,
                               size_t records, uint8_t *labels, uint8_t *pixels,
                               accsim_error *err)
{
    if (size != records * ACCSIM_CIFAR_RECORD)
        return accsim_fail(err,
                           "%s: %zu bytes, expected %zu (%zu records of %d bytes): "
                           "truncated or not a CIFAR-10 binary batch",
                           name, size, records * ACCSIM_CIFAR_RECORD, records, ACCSIM_CIFAR_RECORD);
    for (size_t r = 0; r < records; r++) {
        const uint8_t *record = bytes + r * ACCSIM_CIFAR_RECORD;
        if (record[0] > 9)
            return accsim_fail(err, "%s: record %zu has label %d, expected 0-9", name, r,
                               record[0]);
        labels[r] = record[0];
        memcpy(pixels + r * ACCSIM_IMAGE_BYTES, record + 1, ACCSIM_IMAGE_BYTES);
    }
    return 0;
}

/* Reads one batch file of 10,000 records into labels/pixels at slot `first`.
 * Only a regular file of exactly the batch size is read: a FIFO or a device
 * would block or never end. */
static int read_batch(accsim_dataset *data, const char *file, size_t first, accsim_error *err)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", data->dir, file);
    FILE *fp;
    long long size;
    if (accsim_open_regular(path, &fp, &size, err) != 0)
        return -1;
    if (size != BATCH_BYTES) {
        fclose(fp);
        return accsim_fail(err,
                           "%s: %lld bytes, expected %ld (10000 records of 3073 bytes): "
                           "truncated or not a CIFAR-10 binary batch",
                           path, size, BATCH_BYTES);
    }
    uint8_t *bytes = malloc((size_t)BATCH_BYTES);
    if (!bytes) {
        fclose(fp);
        return accsim_fail(err, "%s: out of memory", path);
    }
    size_t got = fread(bytes, 1, (size_t)BATCH_BYTES, fp);
    int failed = ferror(fp) || got != (size_t)BATCH_BYTES;
    fclose(fp);
    int rc = failed ? accsim_fail(err, "%s: read error after %zu bytes", path, got)
                    : accsim_parse_cifar_records(path, bytes, got, ACCSIM_CIFAR_PER_BATCH,
                                                 data->labels + first,
                                                 data->pixels + first * ACCSIM_IMAGE_BYTES, err);
    free(bytes);
    return rc;
}

static int load_cifar(accsim_dataset *data, const char *dir, accsim_split split, accsim_error *err)
{
    data->format = ACCSIM_DATA_CIFAR;
    data->image_values = ACCSIM_IMAGE_BYTES;
    bool test = split != ACCSIM_SPLIT_TRAIN, train = split != ACCSIM_SPLIT_TEST;
    data->count = (test ? 1 : 0) * 10000 + (train ? 5 : 0) * 10000;
    data->labels = malloc(data->count);
    data->pixels = malloc(data->count * ACCSIM_IMAGE_BYTES);
    if (!data->labels || !data->pixels) {
        accsim_dataset_free(data);
        return accsim_fail(err, "out of memory loading %s", dir);
    }
    data->test_count = test ? ACCSIM_CIFAR_PER_BATCH : 0;
    size_t slot = 0;
    int rc = 0;
    if (test) {
        rc = read_batch(data, "test_batch.bin", slot, err);
        slot += ACCSIM_CIFAR_PER_BATCH;
    }
    for (int b = 1; rc == 0 && train && b <= 5; b++) {
        char file[32];
        snprintf(file, sizeof file, "data_batch_%d.bin", b);
        rc = read_batch(data, file, slot, err);
        slot += ACCSIM_CIFAR_PER_BATCH;
    }
    if (rc != 0)
        accsim_dataset_free(data);
    return rc;
}

/* "(N, 32, 32, 3)" for messages. */
static const char *shape_text(int ndim, const size_t *shape, char *buf, size_t size)
{
    size_t at = (size_t)snprintf(buf, size, "(");
    for (int d = 0; d < ndim && at < size; d++)
        at += (size_t)snprintf(buf + at, size - at, "%zu%s", shape[d],
                               d + 1 < ndim ? ", " : ndim == 1 ? "," : "");
    if (at < size)
        snprintf(buf + at, size - at, ")");
    return buf;
}

/* A label of any integer dtype as a signed 64-bit value (uint64 above
 * INT64_MAX saturates: it is out of range either way). */
static int64_t label_at(const accsim_npy *a, size_t i)
{
    switch (a->dtype) {
    case ACCSIM_NPY_I1: return ((const int8_t *)a->data)[i];
    case ACCSIM_NPY_U1: return ((const uint8_t *)a->data)[i];
    case ACCSIM_NPY_I2: return ((const int16_t *)a->data)[i];
    case ACCSIM_NPY_U2: return ((const uint16_t *)a->data)[i];
    case ACCSIM_NPY_I4: return ((const int32_t *)a->data)[i];
    case ACCSIM_NPY_U4: return ((const uint32_t *)a->data)[i];
    case ACCSIM_NPY_I8: return ((const int64_t *)a->data)[i];
    case ACCSIM_NPY_U8: {
        uint64_t v = ((const uint64_t *)a->data)[i];
        return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
    }
    default: break;
    }
    assert(!"label_at: not an integer dtype");
    return -1;
}

static bool is_integer_dtype(accsim_npy_dtype t)
{
    return t == ACCSIM_NPY_I1 || t == ACCSIM_NPY_U1 || t == ACCSIM_NPY_I2 || t == ACCSIM_NPY_U2 ||
           t == ACCSIM_NPY_I4 || t == ACCSIM_NPY_U4 || t == ACCSIM_NPY_I8 || t == ACCSIM_NPY_U8;
}

/* One split's two files, checked against each other (and against the split
 * loaded before, `first`, when there is one: the same dtype and image shape). */
static int load_npy_split(const char *dir, const char *images_file, const char *labels_file,
                          const accsim_npy *first, accsim_npy *images, accsim_npy *labels,
                          accsim_error *err)
{
    char ipath[1200], lpath[1200], a[160], b[160];
    snprintf(ipath, sizeof ipath, "%s/%s", dir, images_file);
    snprintf(lpath, sizeof lpath, "%s/%s", dir, labels_file);
    if (!file_exists(dir, images_file))
        return accsim_fail(err, "%s: missing; the NumPy data set in %s pairs %s with %s (uint8 "
                                "or int8 images [N, ...])", ipath, dir, labels_file, images_file);
    if (!file_exists(dir, labels_file))
        return accsim_fail(err, "%s: missing; the NumPy data set in %s pairs %s with %s (int "
                                "labels [N])", lpath, dir, images_file, labels_file);
    if (accsim_npy_load(ipath, images, err) != 0)
        return -1;
    if (images->dtype != ACCSIM_NPY_U1 && images->dtype != ACCSIM_NPY_I1)
        return accsim_fail(err, "%s: dtype %s; images must be uint8 (pixels, quantized by the "
                                "network's input.quantize) or int8 (the network's int8 input, used "
                                "as is)", ipath, accsim_npy_dtype_name(images->dtype));
    if (images->ndim < 2)
        return accsim_fail(err, "%s: shape %s; images must be [N, ...] with at least one "
                                "dimension per image", ipath,
                           shape_text(images->ndim, images->shape, a, sizeof a));
    if (first && (first->dtype != images->dtype || first->ndim != images->ndim ||
                  memcmp(first->shape + 1, images->shape + 1,
                         sizeof(size_t) * (size_t)(images->ndim - 1)) != 0))
        return accsim_fail(err, "%s: %s %s; the test split's images are %s %s: both splits "
                                "need one dtype and image shape", ipath,
                           accsim_npy_dtype_name(images->dtype),
                           shape_text(images->ndim, images->shape, a, sizeof a),
                           accsim_npy_dtype_name(first->dtype),
                           shape_text(first->ndim, first->shape, b, sizeof b));
    if (accsim_npy_load(lpath, labels, err) != 0)
        return -1;
    if (!is_integer_dtype(labels->dtype))
        return accsim_fail(err, "%s: dtype %s; labels must be integers (int8..int64, uint8..uint64)",
                           lpath, accsim_npy_dtype_name(labels->dtype));
    if (labels->ndim != 1)
        return accsim_fail(err, "%s: shape %s; labels must be one-dimensional [N]", lpath,
                           shape_text(labels->ndim, labels->shape, a, sizeof a));
    if (labels->shape[0] != images->shape[0])
        return accsim_fail(err, "%s: %zu labels, but %s holds %zu images", lpath,
                           labels->shape[0], ipath, images->shape[0]);
    for (size_t i = 0; i < labels->count; i++) {
        int64_t v = label_at(labels, i);
        if (v < 0 || v > 255)
            return accsim_fail(err, "%s: label %lld at index %zu; labels must be class indices "
                                    "0..255", lpath, (long long)v, i);
    }
    return 0;
}

/* Appends a split's arrays at image slot `slot`. */
static void append_npy(accsim_dataset *data, const accsim_npy *images, const accsim_npy *labels,
                       size_t slot)
{
    size_t n = images->shape[0];
    assert(slot + n <= data->count);
    memcpy(data->pixels + slot * data->image_values, images->data, n * data->image_values);
    for (size_t i = 0; i < n; i++)
        data->labels[slot + i] = (uint8_t)label_at(labels, i);
}

static int load_npy(accsim_dataset *data, const char *dir, accsim_split split, accsim_error *err)
{
    data->format = ACCSIM_DATA_NPY;
    bool test = split != ACCSIM_SPLIT_TRAIN, train = split != ACCSIM_SPLIT_TEST;
    accsim_npy img[2], lab[2];
    memset(img, 0, sizeof img);
    memset(lab, 0, sizeof lab);
    int rc = 0;
    if (test)
        rc = load_npy_split(dir, ACCSIM_NPY_TEST_IMAGES, ACCSIM_NPY_TEST_LABELS, NULL, &img[0],
                            &lab[0], err);
    if (rc == 0 && train)
        rc = load_npy_split(dir, ACCSIM_NPY_TRAIN_IMAGES, ACCSIM_NPY_TRAIN_LABELS,
                            test ? &img[0] : NULL, &img[1], &lab[1], err);
    if (rc == 0) {
        const accsim_npy *shape_of = test ? &img[0] : &img[1];
        data->image_ndim = shape_of->ndim - 1;
        memcpy(data->image_shape, shape_of->shape + 1, sizeof(size_t) * (size_t)data->image_ndim);
        data->image_values = 1;
        for (int d = 1; d < shape_of->ndim; d++)
            data->image_values *= shape_of->shape[d];
        /* No network input is larger (and with N = 0 the file size bounds nothing). */
        if (data->image_values == 0 || data->image_values > ((size_t)1 << 26))
            rc = accsim_fail(err, "%s/%s: %zu values per image; at most 2^26, at least 1", dir,
                             test ? ACCSIM_NPY_TEST_IMAGES : ACCSIM_NPY_TRAIN_IMAGES,
                             data->image_values);
    }
    if (rc == 0) {
        const accsim_npy *shape_of = test ? &img[0] : &img[1];
        data->prequantized = shape_of->dtype == ACCSIM_NPY_I1;
        data->test_count = test ? img[0].shape[0] : 0;
        data->count = data->test_count + (train ? img[1].shape[0] : 0);
        data->labels = malloc(data->count ? data->count : 1);
        data->pixels = malloc((data->count ? data->count : 1) * data->image_values);
        if (!data->labels || !data->pixels)
            rc = accsim_fail(err, "out of memory loading %s", dir);
    }
    if (rc == 0 && test)
        append_npy(data, &img[0], &lab[0], 0);
    if (rc == 0 && train)
        append_npy(data, &img[1], &lab[1], data->test_count);
    for (int k = 0; k < 2; k++) {
        accsim_npy_free(&img[k]);
        accsim_npy_free(&lab[k]);
    }
    return rc;
}

int accsim_dataset_load(accsim_dataset *data, const char *dir, accsim_split split, accsim_error *err)
{
    memset(data, 0, sizeof *data);
    if (strlen(dir) >= sizeof data->dir)
        return accsim_fail(err, "%s: path too long", dir);
    snprintf(data->dir, sizeof data->dir, "%s", dir);
    data->split = split;
    int rc = is_npy_dir(dir) ? load_npy(data, dir, split, err) : load_cifar(data, dir, split, err);
    if (rc != 0)
        accsim_dataset_free(data);
    return rc;
}

/* CIFAR-10 records feed the network's input: 3 x 32 x 32 values. */
static int check_cifar_input(const accsim_network *net, accsim_error *err)
{
    const accsim_tensor *in = &net->tensors[net->input];
    if (in->count != ACCSIM_IMAGE_BYTES || in->ndim != 3)
        return accsim_fail(err, "%s: the input tensor '%s' holds %zu values; CIFAR-10 images "
                                "need a 3-D shape of 3 x 32 x 32 (other inputs: give the data "
                                "as NumPy arrays, docs/network-format.md)",
                           net->dir, in->name, in->count);
    int c = net->layout == ACCSIM_NHWC ? in->dims[2] : in->dims[0];
    if (c != 3)
        return accsim_fail(err, "%s: the input tensor '%s' has %d channels; CIFAR-10 images "
                                "have 3", net->dir, in->name, c);
    return 0;
}

/* The NumPy images' per-image shape must be the input's declared shape. */
static int check_npy_input(const accsim_dataset *data, const accsim_network *net,
                           accsim_error *err)
{
    const accsim_tensor *in = &net->tensors[net->input];
    bool same = data->image_ndim == in->ndim;
    for (int d = 0; same && d < in->ndim; d++)
        same = data->image_shape[d] == (size_t)in->dims[d];
    if (same)
        return 0;
    size_t got[ACCSIM_NPY_MAX_DIMS + 1], want[ACCSIM_NET_MAX_DIMS + 1];
    got[0] = want[0] = data->test_count ? data->test_count : data->count - data->test_count;
    memcpy(got + 1, data->image_shape, sizeof(size_t) * (size_t)data->image_ndim);
    for (int d = 0; d < in->ndim; d++)
        want[d + 1] = (size_t)in->dims[d];
    char a[200], b[200];
    return accsim_fail(err, "%s/%s: shape %s, expected %s: the images' trailing dimensions "
                            "must equal the input tensor '%s' shape in the network's %s layout",
                       data->dir, data->test_count ? ACCSIM_NPY_TEST_IMAGES : ACCSIM_NPY_TRAIN_IMAGES,
                       shape_text(data->image_ndim + 1, got, a, sizeof a),
                       shape_text(in->ndim + 1, want, b, sizeof b), in->name,
                       net->layout == ACCSIM_NHWC ? "NHWC" : "NCHW");
}

/* Every label names an output element (a class). */
static int check_labels(const accsim_dataset *data, const accsim_network *net, accsim_error *err)
{
    size_t classes = accsim_network_output_count(net);
    for (size_t i = 0; i < data->count; i++) {
        if (data->labels[i] < classes)
            continue;
        bool in_test = i < data->test_count;
        const char *file = in_test ? ACCSIM_NPY_TEST_LABELS : ACCSIM_NPY_TRAIN_LABELS;
        return accsim_fail(err, "%s/%s: label %d at index %zu; the network's output '%s' has "
                                "%zu classes (labels 0..%zu)",
                           data->dir, file, data->labels[i], in_test ? i : i - data->test_count,
                           net->tensors[net->output].name, classes, classes - 1);
    }
    return 0;
}

/* NumPy uint8 images in the layout's order to the [C][H][W] records that
 * accsim_network_quantize_images takes (one quantization rule for both forms). */
static int quantize_npy(const accsim_dataset *data, const accsim_network *net, int8_t *out,
                        accsim_error *err)
{
    const accsim_tensor *in = &net->tensors[net->input];
    if (in->ndim != 3 || net->layout == ACCSIM_NCHW)
        return accsim_network_quantize_images(net, data->pixels, data->count, out, err);
    size_t H = (size_t)in->dims[0], W = (size_t)in->dims[1], C = (size_t)in->dims[2];
    uint8_t *chw = malloc((data->count ? data->count : 1) * in->count);
    if (!chw)
        return accsim_fail(err, "out of memory quantizing %s", data->dir);
    for (size_t i = 0; i < data->count; i++) {
        const uint8_t *hwc = data->pixels + i * in->count;
        uint8_t *dst = chw + i * in->count;
        for (size_t y = 0; y < H; y++)
            for (size_t x = 0; x < W; x++)
                for (size_t c = 0; c < C; c++)
                    dst[(c * H + y) * W + x] = hwc[(y * W + x) * C + c];
    }
    int rc = accsim_network_quantize_images(net, chw, data->count, out, err);
    free(chw);
    return rc;
}

int accsim_dataset_inputs(const accsim_dataset *data, const accsim_network *net, int8_t *out,
                          accsim_error *err)
{
    int rc = data->format == ACCSIM_DATA_CIFAR ? check_cifar_input(net, err)
                                               : check_npy_input(data, net, err);
    if (rc == 0 && data->format == ACCSIM_DATA_NPY) /* CIFAR-10: 0-9, checked on load */
        rc = check_labels(data, net, err);
    if (rc != 0)
        return rc;
    assert(data->image_values == accsim_network_input_count(net));
    if (data->format == ACCSIM_DATA_CIFAR)
        return accsim_network_quantize_images(net, data->pixels, data->count, out, err);
    if (data->prequantized) {
        memcpy(out, data->pixels, data->count * data->image_values);
        return 0;
    }
    return quantize_npy(data, net, out, err);
}

void accsim_dataset_free(accsim_dataset *data)
{
    free(data->labels);
    free(data->pixels);
    data->labels = NULL;
    data->pixels = NULL;
    data->count = 0;
}

void accsim_dataset_quantize(const accsim_dataset *data, double input_scale, int8_t *out)
{
    int8_t code[256]; /* only 256 pixel values exist: quantize each once */
    for (int p = 0; p < 256; p++)
        code[p] = accsim_quantize_pixel((uint8_t)p, input_scale);
    size_t n = data->count * ACCSIM_IMAGE_BYTES;
    for (size_t i = 0; i < n; i++)
        out[i] = code[data->pixels[i]];
}
