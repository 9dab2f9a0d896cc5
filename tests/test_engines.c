/* The OpenCL engine against the C reference: identical, not close.
 * Random models and inputs at random widths 2..32 (heavy saturation included)
 * in both overflow modes, every statistic and histogram on; the real model on
 * CIFAR-10 at several widths; restarts from captured activations; chunking,
 * streaming, extreme requantization scales, the scalar kernels and the GPU
 * (local-atomic) code path, all on whatever OpenCL device
 * is chosen (PoCL in CI). Skipped when there is no OpenCL device. */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ACCSIM_HAVE_OPENCL
Test(engines, opencl_not_built) { cr_skip_test("built without OpenCL (ACCSIM_OPENCL=OFF)"); }
#else

#include "accsim/dataset.h"
#include "accsim/network.h"
#include "accsim/summary.h"
#include "opencl/opencl_engine.h"
#include "testdata.h"
#include "testpair.h"

static void need_opencl(void)
{
    if (accsim_opencl_device_count() == 0)
        cr_skip_test("no OpenCL device");
}

static accsim_engine *opencl(void)
{
    accsim_error err;
    accsim_engine_options opts = {.kind = "opencl", .quiet = true};
    accsim_engine *e = accsim_opencl_engine_create(&opts, &err);
    cr_assert_not_null(e, "%s", err.message);
    return e;
}

/* The C reference and the OpenCL engine on images (the pair owns them). */
static void open_pair(testpair *tp, int8_t *images, size_t count)
{
    testpair_open(tp, testpair_engine(accsim_cpu_engine_create), opencl(), "C reference vs OpenCL",
                  images, count);
}

static void random_models(accsim_overflow mode, uint64_t seed, int rounds)
{
    need_opencl();
    testpair_seed(seed);
    testpair tp;
    open_pair(&tp, testpair_random_images(24), 24);
    for (int round = 0; round < rounds; round++) {
        accsim_model model;
        accsim_model_random(&model, seed * 1000 + (uint64_t)round);
        accsim_config cfg;
        testpair_random_config(&cfg, mode, true, round % 2 == 0);
        uint32_t indices[40];
        testpair_random_indices(indices, 40, tp.image_count);
        char what[256];
        snprintf(what, sizeof what, "%s, seed %llu round %d, bits %d,%d,%d,%d,%d",
                 mode == ACCSIM_WRAP ? "wrap" : "saturate", (unsigned long long)seed, round,
                 cfg.bits[0], cfg.bits[1], cfg.bits[2], cfg.bits[3], cfg.bits[4]);
        testpair_compare(&tp, &model, indices, 40, &cfg, what, NULL);
        accsim_model_free(&model);
    }
    testpair_close(&tp);
}

Test(engines, random_models_saturate) { random_models(ACCSIM_SATURATE, 1, 12); }
Test(engines, random_models_wrap) { random_models(ACCSIM_WRAP, 2, 12); }

/* Common widths from..to in both modes; histograms at widths divisible by
 * hist_every, every-partial-sum ones at those divisible by psum_every. */
static void common_widths(const testpair *tp, const accsim_model *model, int from, int to,
                          int hist_every, int psum_every, const char *label)
{
    for (int b = from; b <= to; b++) {
        for (int mode = 0; mode < 2; mode++) {
            accsim_config cfg;
            testpair_random_config(&cfg, mode ? ACCSIM_WRAP : ACCSIM_SATURATE,
                                   b % hist_every == 0, b % psum_every == 0);
            for (int l = 0; l < ACCSIM_LAYERS; l++)
                cfg.bits[l] = b;
            char what[96];
            snprintf(what, sizeof what, "%sB = %d, %s", label, b, mode ? "wrap" : "saturate");
            testpair_compare(tp, model, NULL, tp->image_count, &cfg, what, NULL);
        }
    }
}

/* Every width from 2 to 32 in every layer at once, both modes. */
Test(engines, every_common_width)
{
    need_opencl();
    testpair_seed(3);
    testpair tp;
    open_pair(&tp, testpair_random_images(6), 6);
    accsim_model model;
    accsim_model_random(&model, 77);
    common_widths(&tp, &model, 2, 32, 3, 5, "");
    accsim_model_free(&model);
    testpair_close(&tp);
}

/* Widths around each layer's safe width (where the CPU kernels drop the
 * clamps, or, when every partial sum fits 16 bits, run int16 lanes at 16).
 * Weights of +-2 put the safe widths at 16 (conv1, fc2), 17 (conv2) and 18
 * (fc1); image 0 drives conv1's first output to 19,050 of its bound 19,200. */
Test(engines, around_safe_widths)
{
    need_opencl();
    testpair_seed(5);
    testpair tp;
    open_pair(&tp, testpair_random_images(8), 8);
    accsim_model model;
    accsim_model_random(&model, 91);
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        for (int i = 0; i < accsim_layers[l].weight_count; i++)
            model.weights[l][i] = model.weights[l][i] < 0 ? -2 : 2;
        model.output_scale[l] = 1.0 / 64; /* keeps the activations alive */
    }
    for (int c = 0; c < 3; c++)
        for (int ky = 0; ky < 5; ky++)
            for (int kx = 0; kx < 5; kx++)
                tp.images[c * 1024 + ky * 32 + kx] =
                    model.weights[0][c * 25 + ky * 5 + kx] > 0 ? 127 : -128;
    common_widths(&tp, &model, 14, 24, 2, 3, "small weights, ");
    accsim_model_free(&model);
    testpair_close(&tp);
}

/* fc3's bias add in 64 bits: biases near the int32 limits at B = 32. */
Test(engines, extreme_bias)
{
    need_opencl();
    testpair_seed(4);
    testpair tp;
    open_pair(&tp, testpair_random_images(4), 4);
    accsim_model model;
    accsim_model_random(&model, 5);
    for (int c = 0; c < ACCSIM_CLASSES; c++)
        model.bias[c] = c % 2 ? INT32_MAX - c : INT32_MIN + c;
    for (int mode = 0; mode < 2; mode++) {
        accsim_config cfg;
        testpair_random_config(&cfg, mode ? ACCSIM_WRAP : ACCSIM_SATURATE, true, true);
        for (int l = 0; l < ACCSIM_LAYERS; l++)
            cfg.bits[l] = 32;
        testpair_compare(&tp, &model, NULL, tp.image_count, &cfg, "extreme bias", NULL);
        cfg.bits[4] = 31;
        testpair_compare(&tp, &model, NULL, tp.image_count, &cfg, "extreme bias, 31", NULL);
    }
    accsim_model_free(&model);
    testpair_close(&tp);
}

/* Requantization: the kernels guess in float and correct with the exact
 * thresholds; scales with ties (0.5, 0.25), thirds, the tiny and the huge
 * (beyond float's range) must all give the reference's bits. */
Test(engines, extreme_scales)
{
    need_opencl();
    testpair_seed(12);
    testpair tp;
    open_pair(&tp, testpair_random_images(6), 6);
    static const double scales[][ACCSIM_LAYERS] = {
        {0.5, 0.25, 1.0 / 3.0, 0.125, 0.5},
        {1e-300, 1e-40, 1e-9, 1.0, 1e300},
        {1e39, 3.5e38, 1e-3, 2.0, 1.0 / 1024.0},
        {1.0 / 4096.0 + 1e-17, 1.0 / 3000.0, 1.0 / 255.0, 1.0 / 127.0, 0.01},
    };
    for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++) {
        accsim_model model;
        accsim_model_random(&model, 40 + s);
        for (int l = 0; l < ACCSIM_LAYERS; l++)
            model.output_scale[l] = scales[s][l];
        for (int b = 12; b <= 32; b += 20) {
            accsim_config cfg;
            testpair_random_config(&cfg, ACCSIM_SATURATE, true, false);
            for (int l = 0; l < ACCSIM_LAYERS; l++)
                cfg.bits[l] = b;
            char what[64];
            snprintf(what, sizeof what, "scale set %zu, B = %d", s, b);
            testpair_compare(&tp, &model, NULL, tp.image_count, &cfg, what, NULL);
        }
        accsim_model_free(&model);
    }
    testpair_close(&tp);
}

/* Capture every layer's input, then restart from each layer. */
Test(engines, capture_and_restart)
{
    need_opencl();
    testpair_seed(6);
    testpair tp;
    open_pair(&tp, testpair_random_images(10), 10);
    accsim_model model;
    accsim_model_random(&model, 8);
    accsim_config cfg;
    testpair_random_config(&cfg, ACCSIM_SATURATE, true, true);
    cfg.capture_activations = true;
    accsim_result cap;
    testpair_compare(&tp, &model, NULL, tp.image_count, &cfg, "capture", &cap);
    testpair_restarts(&tp, &model, &cfg, &cap, 4);
    accsim_result_free(&cap);
    accsim_model_free(&model);
    testpair_close(&tp);
}

/* Chunk boundaries, streamed images, the local-atomic (GPU) statistics path
 * and smaller conv1 work-groups, all through environment switches. */
static void variant(const char *name, const char *value)
{
    need_opencl();
    setenv(name, value, 1);
    setenv("ACCSIM_OPENCL_CHUNK", "7", 1);
    testpair_seed(9);
    testpair tp;
    open_pair(&tp, testpair_random_images(23), 23);
    accsim_model model;
    accsim_model_random(&model, 10);
    for (int round = 0; round < 4; round++) {
        accsim_config cfg;
        testpair_random_config(&cfg, round % 2 ? ACCSIM_WRAP : ACCSIM_SATURATE, true, round < 2);
        cfg.capture_activations = round == 1;
        uint32_t indices[30];
        testpair_random_indices(indices, 30, tp.image_count);
        char what[128];
        snprintf(what, sizeof what, "%s=%s round %d", name, value, round);
        testpair_compare(&tp, &model, indices, 30, &cfg, what, NULL);
    }
    accsim_model_free(&model);
    testpair_close(&tp);
    unsetenv(name);
    unsetenv("ACCSIM_OPENCL_CHUNK");
}

Test(engines, chunks_and_streaming) { variant("ACCSIM_OPENCL_STREAM", "1"); }
Test(engines, local_atomic_path) { variant("ACCSIM_OPENCL_SERIAL_HIST", "0"); }
Test(engines, small_conv1_groups) { variant("ACCSIM_OPENCL_C1_ROWS", "4"); }
/* On a CPU device the explicit-vector kernels are the default; this runs the
 * scalar (GPU) ones with the serial epilogue. */
Test(engines, scalar_kernels) { variant("ACCSIM_OPENCL_KERNELS", "scalar"); }

/* The real model on CIFAR-10 test images at several widths. */
Test(engines, course_model_cifar10)
{
    need_opencl();
    const char *mdir = testdata_course_model_dir(), *ddir = testdata_cifar_dir();
    if (!mdir || !ddir)
        cr_skip_test("course model or CIFAR-10 not found");
    accsim_error err;
    accsim_model model;
    cr_assert_eq(accsim_model_load(&model, mdir, &err), 0, "%s", err.message);
    accsim_dataset data;
    cr_assert_eq(accsim_dataset_load(&data, ddir, ACCSIM_SPLIT_TEST, &err), 0, "%s", err.message);
    int8_t *images = malloc(data.count * ACCSIM_IMAGE_BYTES);
    cr_assert_not_null(images);
    accsim_dataset_quantize(&data, model.input_scale, images);
    /* 600 images spread over the split. */
    const size_t count = 600;
    uint32_t *indices = malloc(count * sizeof *indices);
    cr_assert_not_null(indices);
    for (size_t i = 0; i < count; i++)
        indices[i] = (uint32_t)((i * 16 + 3) % data.count);
    testpair tp;
    open_pair(&tp, images, data.count);
    static const int widths[][ACCSIM_LAYERS] = {
        {32, 32, 32, 32, 32}, {18, 18, 18, 18, 18}, {16, 16, 16, 16, 16},
        {14, 14, 14, 14, 14}, {18, 16, 17, 16, 17}, {12, 12, 12, 12, 12}};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        for (int mode = 0; mode < 2; mode++) {
            accsim_config cfg;
            accsim_config_default(&cfg);
            memcpy(cfg.bits, widths[w], sizeof widths[w]);
            cfg.overflow = mode ? ACCSIM_WRAP : ACCSIM_SATURATE;
            cfg.histograms = true;
            cfg.psum_histograms = w < 2;
            for (int l = 0; l < ACCSIM_LAYERS; l++) {
                cfg.out_range[l] = accsim_lin_range_for(-(1 << 20), 1 << 20);
                cfg.peak_range[l] = accsim_lin_range_for(0, 1 << 21);
                cfg.psum_range[l] = accsim_lin_range_for(-(1 << 21), 1 << 21);
            }
            char what[96];
            snprintf(what, sizeof what, "course model, bits %d,%d,%d,%d,%d, %s", cfg.bits[0],
                     cfg.bits[1], cfg.bits[2], cfg.bits[3], cfg.bits[4],
                     mode ? "wrap" : "saturate");
            testpair_compare(&tp, &model, indices, count, &cfg, what, NULL);
        }
    }
    testpair_close(&tp);
    free(indices);
    accsim_dataset_free(&data);
    accsim_model_free(&model);
}

/* The course engine runs the course model only: any other network is refused
 * with a clear error (the CLI then falls back to the C reference). */
Test(engines, refuses_other_networks)
{
    need_opencl();
    accsim_model model;
    accsim_model_random(&model, 3);
    accsim_network net;
    accsim_error err;
    cr_assert_eq(accsim_network_from_course_model(&model, &net, &err), 0, "%s", err.message);
    net.course = NULL; /* the same layers, but not known to be the course model */
    accsim_engine *ocl = opencl();
    int8_t image[ACCSIM_IMAGE_BYTES] = {0};
    cr_assert_neq(ocl->ops->load(ocl, &net, image, 1, &err), 0);
    cr_assert_not_null(strstr(err.message, "course LeNet-5 only"), "%s", err.message);
    accsim_engine_destroy(ocl);
    accsim_network_free(&net);
    accsim_model_free(&model);
}

/* The kernels take their sizes from the description and run the LeNet-5
 * family only: a description off that shape is refused, naming what differs,
 * even when it claims to be the course model. */
Test(engines, refuses_other_shapes)
{
    need_opencl();
    accsim_model model;
    accsim_model_random(&model, 4);
    accsim_engine *ocl = opencl();
    int8_t image[ACCSIM_IMAGE_BYTES] = {0};
    static const char *expect[] = {"order chw", "2x2 max-pool", "only the last fully connected",
                                   "float scale"};
    for (int k = 0; k < 4; k++) {
        accsim_network net;
        accsim_error err;
        cr_assert_eq(accsim_network_from_course_model(&model, &net, &err), 0, "%s", err.message);
        accsim_op *conv2 = &net.ops[net.exec_order[2]], *pool1 = &net.ops[net.exec_order[1]];
        accsim_op *fc3 = &net.ops[net.exec_order[7]];
        if (k == 0)
            conv2->tile = 1; /* products summed in another order */
        else if (k == 1)
            pool1->sh = 1;
        else if (k == 2)
            fc3->bias_first = true;
        else
            conv2->clamp_lo = -128; /* no ReLU */
        cr_assert_neq(ocl->ops->load(ocl, &net, image, 1, &err), 0, "change %d accepted", k);
        cr_expect_not_null(strstr(err.message, "LeNet-5-shaped"), "%s", err.message);
        cr_expect_not_null(strstr(err.message, expect[k]), "%s", err.message);
        accsim_network_free(&net);
    }
    /* Still runs the course model afterwards. */
    accsim_network net;
    accsim_error err;
    cr_assert_eq(accsim_network_from_course_model(&model, &net, &err), 0, "%s", err.message);
    cr_assert_eq(ocl->ops->load(ocl, &net, image, 1, &err), 0, "%s", err.message);
    accsim_engine_destroy(ocl);
    accsim_network_free(&net);
    accsim_model_free(&model);
}

/* Device choice errors name the device. */
Test(engines, device_choice)
{
    need_opencl();
    accsim_error err;
    accsim_engine_options opts = {.kind = "opencl", .device = "999", .quiet = true};
    cr_assert_null(accsim_opencl_engine_create(&opts, &err));
    cr_expect(strstr(err.message, "999") != NULL, "%s", err.message);
    opts.device = "no-such-device-name";
    cr_assert_null(accsim_opencl_engine_create(&opts, &err));
    cr_expect(strstr(err.message, "no-such-device-name") != NULL, "%s", err.message);
    opts.device = "0";
    accsim_engine *e = accsim_opencl_engine_create(&opts, &err);
    cr_assert_not_null(e, "%s", err.message);
    accsim_engine_destroy(e);
}

/* Kernels from a directory; a broken kernel prints the build log when the
 * first network is loaded (the kernels are built for its shapes). */
Test(engines, kernel_dir)
{
    need_opencl();
    accsim_error err;
    accsim_engine_options opts = {.kind = "opencl", .kernel_dir = ACCSIM_SOURCE_DIR "/kernels",
                                  .quiet = true};
    accsim_engine *e = accsim_opencl_engine_create(&opts, &err);
    cr_assert_not_null(e, "%s", err.message);
    accsim_engine_destroy(e);

    char *dir = testdata_tempdir();
    char path[1024];
    snprintf(path, sizeof path, "%s/broken.cl", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("__kernel void conv1(__global int *x) { x[0] = undefined_thing; }\n", f);
    fclose(f);
    opts.kernel_dir = dir;
    e = accsim_opencl_engine_create(&opts, &err);
    cr_assert_not_null(e, "%s", err.message);
    accsim_model model;
    accsim_model_random(&model, 5);
    accsim_network net;
    cr_assert_eq(accsim_network_from_course_model(&model, &net, &err), 0, "%s", err.message);
    int8_t image[ACCSIM_IMAGE_BYTES] = {0};
    cr_assert_neq(e->ops->load(e, &net, image, 1, &err), 0);
    cr_expect(strstr(err.message, "build log") != NULL, "%s", err.message);
    accsim_engine_destroy(e);
    accsim_network_free(&net);
    accsim_model_free(&model);
    opts.kernel_dir = "/nonexistent/kernels";
    cr_assert_null(accsim_opencl_engine_create(&opts, &err));
    cr_expect(strstr(err.message, "/nonexistent/kernels") != NULL, "%s", err.message);
    testdata_remove_tree(dir);
    free(dir);
}

#endif /* ACCSIM_HAVE_OPENCL */
