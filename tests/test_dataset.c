/* Data sets given as NumPy arrays (docs/network-format.md, "Data sets"):
 * uint8 images through the network's input.quantize, int8 ones as they are,
 * any input shape in the network's layout; every malformed set refused with
 * a message naming the file. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accsim/dataset.h"
#include "accsim/network.h"
#include "testdata.h"

#define CLASSES 10

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static void write_text(const char *dir, const char *file, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp, "%s", path);
    fputs(text, fp);
    cr_assert_eq(fclose(fp), 0);
}

static void save(const char *dir, const char *file, accsim_npy_dtype dtype, int ndim,
                 const size_t *shape, const void *data)
{
    char path[1200];
    accsim_error err;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    cr_assert_eq(accsim_npy_save(path, dtype, ndim, shape, data, &err), 0, "%s", err.message);
}

/* One fully_connected layer (10 classes) over an input of shape dims in
 * LAYOUT, its input quantized by QUANTIZE (a JSON object). Random weights. */
static void write_network(const char *dir, const char *layout, int ndim, const int *dims,
                          const char *quantize, int zero_point)
{
    size_t n = 1;
    char shape[64] = "";
    for (int d = 0; d < ndim; d++) {
        n *= (size_t)dims[d];
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%d", d ? ", " : "", dims[d]);
    }
    int8_t *w = malloc(CLASSES * n);
    for (size_t i = 0; i < CLASSES * n; i++)
        w[i] = (int8_t)(rnd() % 256);
    int32_t bias[CLASSES];
    for (int c = 0; c < CLASSES; c++)
        bias[c] = (int32_t)(rnd() % 2001) - 1000;
    size_t wshape[2] = {CLASSES, n}, bshape[1] = {CLASSES};
    save(dir, "fc.weights.npy", ACCSIM_NPY_I1, 2, wshape, w);
    save(dir, "fc.bias.npy", ACCSIM_NPY_I4, 1, bshape, bias);
    free(w);
    char json[2048];
    snprintf(json, sizeof json,
             "{\"format\": \"accsim-network\", \"version\": 1, \"name\": \"npytest\",\n"
             " \"layout\": \"%s\",\n"
             " \"input\": {\"tensor\": \"x\", \"shape\": [%s], \"zero_point\": %d,\n"
             "           \"quantize\": %s},\n"
             " \"output\": \"logits\",\n"
             " \"ops\": [{\"op\": \"fully_connected\", \"name\": \"fc\", \"input\": \"x\",\n"
             "   \"output\": \"logits\", \"weights\": \"fc.weights.npy\", \"bias\": \"fc.bias.npy\",\n"
             "   \"requantize\": {\"kind\": \"float\", \"scale\": 0.0007}, \"output_zero_point\": 0}]}\n",
             layout, shape, zero_point, quantize);
    write_text(dir, "network.json", json);
}

/* Loads DIR's data set for NET's network and checks every int8 input against
 * EXPECTED, then the run's outputs against the interpreter on EXPECTED. */
static void check_inputs(const char *dir, accsim_split split, const int8_t *expected,
                         size_t count, size_t values)
{
    accsim_network net;
    accsim_dataset data;
    accsim_error err;
    cr_assert_eq(accsim_network_load(&net, dir, &err), 0, "%s", err.message);
    cr_assert_eq(accsim_dataset_load(&data, dir, split, &err), 0, "%s", err.message);
    cr_assert_eq(data.format, ACCSIM_DATA_NPY);
    cr_assert_eq(data.count, count);
    cr_assert_eq(data.image_values, values);
    cr_assert_eq(accsim_network_input_count(&net), values);
    int8_t *got = malloc(count * values);
    cr_assert_eq(accsim_dataset_inputs(&data, &net, got, &err), 0, "%s", err.message);
    for (size_t i = 0; i < count * values; i++)
        cr_assert_eq(got[i], expected[i], "%s split %d count %zu: int8 input %zu (image %zu): %d, expected %d", dir, (int)split, count, i,
                     i / values, got[i], expected[i]);
    free(got);
    accsim_dataset_free(&data);
    accsim_network_free(&net);
}

/* `accsim run --bits 32 --dump-outputs` on the npy set equals the
 * interpreter called directly on the expected int8 inputs, output by output. */
static void check_cli_outputs(const char *dir, const int8_t *expected, const int64_t *labels,
                              size_t count, size_t values)
{
    accsim_network net;
    accsim_error err;
    cr_assert_eq(accsim_network_load(&net, dir, &err), 0, "%s", err.message);
    int bits[1] = {32};
    accsim_network_config cfg = {.bits = bits, .overflow = ACCSIM_SATURATE};
    accsim_network_result res;
    cr_assert_eq(accsim_network_result_init(&res, &net, count, &err), 0, "%s", err.message);
    cr_assert_eq(accsim_network_run(&net, &cfg, expected, count, &res, &err), 0, "%s", err.message);
    (void)values;
    char args[4096], out[65536], path[1200];
    snprintf(args, sizeof args, "run --model %s --data %s --bits 32 --dump-outputs %s/o.csv --quiet",
             dir, dir, dir);
    int rc = testdata_run_cli(args, out, sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    snprintf(path, sizeof path, "%s/o.csv", dir);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    char line[4096];
    cr_assert_not_null(fgets(line, sizeof line, fp)); /* header */
    for (size_t i = 0; i < count; i++) {
        cr_assert_not_null(fgets(line, sizeof line, fp), "row %zu missing", i);
        size_t index;
        int label;
        unsigned pred;
        int used;
        cr_assert_eq(sscanf(line, "test,%zu,%d,%u%n", &index, &label, &pred, &used), 3, "%s", line);
        cr_assert_eq(index, i);
        cr_assert_eq(label, (int)labels[i]);
        cr_assert_eq(pred, res.predictions[i]);
        const char *p = line + used;
        for (int c = 0; c < CLASSES; c++) {
            int v, k;
            cr_assert_eq(sscanf(p, ",%d%n", &v, &k), 1, "%s", line);
            cr_assert_eq(v, res.outputs[i * CLASSES + (size_t)c], "image %zu out%d", i, c);
            p += k;
        }
    }
    fclose(fp);
    accsim_network_result_free(&res);
    accsim_network_free(&net);
}

static int64_t *random_labels(size_t count)
{
    int64_t *labels = malloc(count * sizeof *labels);
    for (size_t i = 0; i < count; i++)
        labels[i] = rnd() % CLASSES;
    return labels;
}

/* uint8 images in the network's layout give what CIFAR-style [C][H][W]
 * records give through accsim_network_quantize_images (per-channel affine
 * quantization, so a channel mix-up would show), NHWC and NCHW. */
Test(dataset, uint8_images_go_through_input_quantize)
{
    const char *quant = "{\"kind\": \"affine\", \"mean\": [0.49, 0.48, 0.45], "
                        "\"std\": [0.25, 0.24, 0.26], \"scale\": 0.02, \"zero_point\": -3}";
    for (int nchw = 0; nchw < 2; nchw++) {
        char *dir = testdata_tempdir();
        const int H = 7, W = 5, C = 3;
        int dims[3] = {H, W, C};
        if (nchw)
            dims[0] = C, dims[1] = H, dims[2] = W;
        write_network(dir, nchw ? "NCHW" : "NHWC", 3, dims, quant, -3);
        size_t count = 6, values = (size_t)(H * W * C);
        uint8_t *chw = malloc(count * values), *file = malloc(count * values);
        for (size_t i = 0; i < count * values; i++)
            chw[i] = (uint8_t)rnd();
        for (size_t i = 0; i < count; i++)
            for (int c = 0; c < C; c++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) {
                        size_t src = i * values + ((size_t)c * H + y) * W + x;
                        size_t dst = nchw ? src : i * values + ((size_t)y * W + x) * C + c;
                        file[dst] = chw[src];
                    }
        size_t ishape[4] = {count, (size_t)dims[0], (size_t)dims[1], (size_t)dims[2]};
        size_t lshape[1] = {count};
        int64_t *labels = random_labels(count);
        save(dir, ACCSIM_NPY_TEST_IMAGES, ACCSIM_NPY_U1, 4, ishape, file);
        save(dir, ACCSIM_NPY_TEST_LABELS, ACCSIM_NPY_I8, 1, lshape, labels);
        accsim_network net;
        accsim_error err;
        cr_assert_eq(accsim_network_load(&net, dir, &err), 0, "%s", err.message);
        int8_t *expected = malloc(count * values);
        cr_assert_eq(accsim_network_quantize_images(&net, chw, count, expected, &err), 0);
        accsim_network_free(&net);
        check_inputs(dir, ACCSIM_SPLIT_TEST, expected, count, values);
        check_cli_outputs(dir, expected, labels, count, values);
        free(expected);
        free(labels);
        free(chw);
        free(file);
        testdata_remove_tree(dir);
        free(dir);
    }
}

/* int8 images are the network's input as they are (no quantization), for a
 * 28x28x1 image, a [1, 49, 10] spectrogram (NCHW) and a flat [64] input; the
 * split "both" is test then train. */
Test(dataset, int8_images_used_as_is_any_shape)
{
    static const struct {
        const char *layout;
        int ndim, dims[3];
    } shapes[] = {{"NHWC", 3, {28, 28, 1}}, {"NCHW", 3, {1, 49, 10}}, {"NHWC", 1, {64, 0, 0}}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        char *dir = testdata_tempdir();
        write_network(dir, shapes[s].layout, shapes[s].ndim, shapes[s].dims,
                      "{\"kind\": \"offset\", \"offset\": -128}", -128);
        size_t values = 1;
        size_t ishape[4] = {0};
        for (int d = 0; d < shapes[s].ndim; d++) {
            values *= (size_t)shapes[s].dims[d];
            ishape[d + 1] = (size_t)shapes[s].dims[d];
        }
        size_t ntest = 5, ntrain = 3, count = ntest + ntrain;
        int8_t *images = malloc(count * values);
        for (size_t i = 0; i < count * values; i++)
            images[i] = (int8_t)rnd();
        uint8_t lab8[8];
        int64_t labels[8];
        for (size_t i = 0; i < count; i++)
            labels[i] = lab8[i] = (uint8_t)(rnd() % CLASSES);
        ishape[0] = ntest;
        size_t lshape[1] = {ntest};
        save(dir, ACCSIM_NPY_TEST_IMAGES, ACCSIM_NPY_I1, shapes[s].ndim + 1, ishape, images);
        save(dir, ACCSIM_NPY_TEST_LABELS, ACCSIM_NPY_U1, 1, lshape, lab8);
        ishape[0] = lshape[0] = ntrain;
        save(dir, ACCSIM_NPY_TRAIN_IMAGES, ACCSIM_NPY_I1, shapes[s].ndim + 1, ishape,
             images + ntest * values);
        int32_t lab32[3] = {(int32_t)labels[5], (int32_t)labels[6], (int32_t)labels[7]};
        save(dir, ACCSIM_NPY_TRAIN_LABELS, ACCSIM_NPY_I4, 1, lshape, lab32);
        check_inputs(dir, ACCSIM_SPLIT_BOTH, images, count, values);
        check_inputs(dir, ACCSIM_SPLIT_TRAIN, images + ntest * values, ntrain, values);
        check_cli_outputs(dir, images, labels, ntest, values);
        /* Uint8 pixels of the same set go through the offset rule: p - 128. */
        uint8_t *pixels = malloc(ntest * values);
        int8_t *expected = malloc(ntest * values);
        for (size_t i = 0; i < ntest * values; i++) {
            pixels[i] = (uint8_t)images[i];
            expected[i] = (int8_t)(pixels[i] - 128);
        }
        ishape[0] = ntest;
        save(dir, ACCSIM_NPY_TEST_IMAGES, ACCSIM_NPY_U1, shapes[s].ndim + 1, ishape, pixels);
        check_inputs(dir, ACCSIM_SPLIT_TEST, expected, ntest, values);
        free(pixels);
        free(expected);
        free(images);
        testdata_remove_tree(dir);
        free(dir);
    }
}

/* A valid 28x28x1 set in DIR, 4 images, for the error cases to spoil. */
static void valid_set(const char *dir)
{
    int dims[3] = {28, 28, 1};
    write_network(dir, "NHWC", 3, dims, "{\"kind\": \"offset\", \"offset\": -128}", -128);
    uint8_t img[4 * 784];
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)rnd();
    int32_t lab[4] = {0, 9, 3, 4};
    size_t ishape[4] = {4, 28, 28, 1}, lshape[1] = {4};
    save(dir, ACCSIM_NPY_TEST_IMAGES, ACCSIM_NPY_U1, 4, ishape, img);
    save(dir, ACCSIM_NPY_TEST_LABELS, ACCSIM_NPY_I4, 1, lshape, lab);
}

static void expect_refusal(const char *dir, const char *extra, const char *const *needles)
{
    char args[4096], out[65536];
    snprintf(args, sizeof args, "run --model %s --data %s --bits 16 %s", dir, dir, extra);
    int rc = testdata_run_cli(args, out, sizeof out);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, out);
    for (size_t i = 0; needles[i]; i++)
        cr_assert_not_null(strstr(out, needles[i]), "'%s' not in: %s", needles[i], out);
    cr_assert_null(strstr(out, "accuracy"), "nothing run: %s", out);
}

Test(dataset, valid_set_runs)
{
    char *dir = testdata_tempdir();
    valid_set(dir);
    char args[4096], out[65536];
    snprintf(args, sizeof args, "run --model %s --data %s --bits 16", dir, dir);
    int rc = testdata_run_cli(args, out, sizeof out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_not_null(strstr(out, "accuracy"), "%s", out);
    testdata_remove_tree(dir);
    free(dir);
}

Test(dataset, errors_name_the_file)
{
    char *dir = testdata_tempdir();
    char path[1200];
    /* float32 images */
    valid_set(dir);
    float f[2 * 784] = {0};
    size_t fshape[4] = {2, 28, 28, 1}, l2[1] = {2};
    int32_t lab2[2] = {1, 2};
    save(dir, ACCSIM_NPY_TEST_IMAGES, ACCSIM_NPY_F4, 4, fshape, f);
    save(dir, ACCSIM_NPY_TEST_LABELS, ACCSIM_NPY_I4, 1, l2, lab2);
    expect_refusal(dir, "", (const char *const[]){"test_images.npy", "dtype float32", "uint8", NULL});
    /* wrong per-image shape: 28x28x3 for a 28x28x1 input */
    uint8_t img[2 * 28 * 28 * 3] = {0};
    size_t wshape[4] = {2, 28, 28, 3};
    save(dir, ACCSIM_NPY_TEST_IMAGES, ACCSIM_NPY_U1, 4, wshape, img);
    expect_refusal(dir, "", (const char *const[]){"test_images.npy", "(2, 28, 28, 3)",
                                                   "expected (2, 28, 28, 1)", "NHWC", NULL});
    /* N mismatch */
    valid_set(dir);
    save(dir, ACCSIM_NPY_TEST_LABELS, ACCSIM_NPY_I4, 1, l2, lab2);
    expect_refusal(dir, "", (const char *const[]){"test_labels.npy", "2 labels", "4 images", NULL});
    /* label out of range: 10 for 10 classes, and a negative one */
    int64_t bad[4] = {0, 1, 10, 2};
    size_t l4[1] = {4};
    save(dir, ACCSIM_NPY_TEST_LABELS, ACCSIM_NPY_I8, 1, l4, bad);
    expect_refusal(dir, "", (const char *const[]){"test_labels.npy", "label 10 at index 2",
                                                   "10 classes", NULL});
    bad[2] = 0, bad[3] = -1;
    save(dir, ACCSIM_NPY_TEST_LABELS, ACCSIM_NPY_I8, 1, l4, bad);
    expect_refusal(dir, "", (const char *const[]){"test_labels.npy", "label -1 at index 3", NULL});
    /* float labels, 2-D labels */
    double dl[4] = {0};
    save(dir, ACCSIM_NPY_TEST_LABELS, ACCSIM_NPY_F8, 1, l4, dl);
    expect_refusal(dir, "", (const char *const[]){"test_labels.npy", "labels must be integers", NULL});
    size_t l22[2] = {2, 2};
    save(dir, ACCSIM_NPY_TEST_LABELS, ACCSIM_NPY_I8, 2, l22, bad);
    expect_refusal(dir, "", (const char *const[]){"test_labels.npy", "one-dimensional", NULL});
    /* a missing labels file; a missing split */
    valid_set(dir);
    snprintf(path, sizeof path, "%s/%s", dir, ACCSIM_NPY_TEST_LABELS);
    cr_assert_eq(unlink(path), 0);
    expect_refusal(dir, "", (const char *const[]){"test_labels.npy: missing", NULL});
    valid_set(dir);
    expect_refusal(dir, "--split train", (const char *const[]){"train_images.npy: missing", NULL});
    /* a FIFO for the images, a directory for the labels */
    snprintf(path, sizeof path, "%s/%s", dir, ACCSIM_NPY_TEST_IMAGES);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(mkfifo(path, 0600), 0);
    expect_refusal(dir, "", (const char *const[]){"test_images.npy", "is a FIFO, expected a regular file", NULL});
    cr_assert_eq(unlink(path), 0);
    valid_set(dir);
    snprintf(path, sizeof path, "%s/%s", dir, ACCSIM_NPY_TEST_LABELS);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(mkdir(path, 0700), 0);
    expect_refusal(dir, "", (const char *const[]){"test_labels.npy", NULL});
    cr_assert_eq(rmdir(path), 0);
    testdata_remove_tree(dir);
    free(dir);

    /* neither form: the message lists both */
    char *empty = testdata_tempdir();
    int dims[1] = {8};
    write_network(empty, "NHWC", 1, dims, "{\"kind\": \"offset\", \"offset\": -128}", -128);
    expect_refusal(empty, "", (const char *const[]){"no data set in", "test_images.npy",
                                                     "test_labels.npy", "test_batch.bin", NULL});
    testdata_remove_tree(empty);
    free(empty);
}
