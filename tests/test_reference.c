/* The C reference engine (the network interpreter behind the engine
 * interface) against the former course engine (tests/course_oracle.c):
 * identical outputs, predictions, every counter, every histogram bin (outputs,
 * peaks, partial sums), captured activations and restarts, for random course
 * models at random widths 2..32 in both overflow modes, and the real model on
 * CIFAR-10 when it is there. */
#define _POSIX_C_SOURCE 200809L

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/dataset.h"
#include "accsim/network.h"
#include "accsim/summary.h"
#include "testdata.h"
#include "testpair.h"

/* The interpreter and the former engine on images (the pair owns them). */
static void open_pair(testpair *tp, int8_t *images, size_t count)
{
    testpair_open(tp, testpair_engine(accsim_cpu_engine_create),
                  testpair_engine(accsim_course_oracle_create), "interpreter vs former engine",
                  images, count);
}

static void random_models(accsim_overflow mode, uint64_t seed, int rounds)
{
    testpair_seed(seed);
    testpair tp;
    open_pair(&tp, testpair_random_images(12), 12);
    for (int round = 0; round < rounds; round++) {
        accsim_model model;
        accsim_model_random(&model, seed * 1000 + (uint64_t)round);
        accsim_config cfg;
        testpair_random_config(&cfg, mode, round % 3 != 2, round % 2 == 0);
        cfg.capture_activations = round % 4 == 1;
        uint32_t indices[20];
        testpair_random_indices(indices, 20, tp.image_count);
        char what[256];
        snprintf(what, sizeof what, "%s, seed %llu round %d, bits %d,%d,%d,%d,%d",
                 mode == ACCSIM_WRAP ? "wrap" : "saturate", (unsigned long long)seed, round,
                 cfg.bits[0], cfg.bits[1], cfg.bits[2], cfg.bits[3], cfg.bits[4]);
        testpair_compare(&tp, &model, indices, 20, &cfg, what, NULL);
        accsim_model_free(&model);
    }
    testpair_close(&tp);
}

#ifdef ACCSIM_SANITIZED
#define ROUNDS 4
#else
#define ROUNDS 16
#endif

Test(reference, random_models_saturate) { random_models(ACCSIM_SATURATE, 11, ROUNDS); }
Test(reference, random_models_wrap) { random_models(ACCSIM_WRAP, 12, ROUNDS); }

/* Every common width in both modes, and widths around where saturation starts. */
Test(reference, common_widths)
{
    testpair_seed(13);
    testpair tp;
    open_pair(&tp, testpair_random_images(6), 6);
    accsim_model model;
    accsim_model_random(&model, 77);
    for (int b = 2; b <= 32; b += 1) {
        accsim_config cfg;
        testpair_random_config(&cfg, b % 2 ? ACCSIM_WRAP : ACCSIM_SATURATE, true, b % 5 == 0);
        for (int l = 0; l < ACCSIM_LAYERS; l++)
            cfg.bits[l] = b;
        char what[64];
        snprintf(what, sizeof what, "common width %d", b);
        testpair_compare(&tp, &model, NULL, tp.image_count, &cfg, what, NULL);
    }
    accsim_model_free(&model);
    testpair_close(&tp);
}

/* Capture every layer's restart state, then restart from each layer. */
Test(reference, capture_and_restart)
{
    testpair_seed(14);
    testpair tp;
    open_pair(&tp, testpair_random_images(8), 8);
    for (int mode = 0; mode < 2; mode++) {
        accsim_model model;
        accsim_model_random(&model, 15 + (uint64_t)mode);
        accsim_config cfg;
        testpair_random_config(&cfg, mode ? ACCSIM_WRAP : ACCSIM_SATURATE, true, true);
        cfg.capture_activations = true;
        accsim_result cap;
        testpair_compare(&tp, &model, NULL, tp.image_count, &cfg, "capture", &cap);
        /* The restart state of the course model is each layer's input. */
        accsim_network net;
        accsim_error err;
        cr_assert_eq(accsim_network_from_course_model(&model, &net, &err), 0, "%s", err.message);
        for (int l = 0; l < ACCSIM_LAYERS; l++)
            cr_assert_eq(accsim_network_restart_bytes(&net, l), (size_t)accsim_layers[l].input_count);
        accsim_network_free(&net);
        testpair_restarts(&tp, &model, &cfg, &cap, 3);
        accsim_result_free(&cap);
        accsim_model_free(&model);
    }
    testpair_close(&tp);
}

/* The real model on real images, when they are there. */
Test(reference, course_model_cifar10)
{
    const char *data = testdata_cifar_dir(), *mdir = testdata_shipped_model_dir();
    if (!data || !mdir)
        cr_skip_test("no CIFAR-10 or shipped model");
    accsim_error err;
    accsim_model model;
    cr_assert_eq(accsim_model_load(&model, mdir, &err), 0, "%s", err.message);
    accsim_dataset ds;
    cr_assert_eq(accsim_dataset_load(&ds, data, ACCSIM_SPLIT_TEST, &err), 0, "%s", err.message);
#ifdef ACCSIM_SANITIZED
    size_t count = 40;
#else
    size_t count = 400;
#endif
    if (count > ds.count)
        count = ds.count;
    int8_t *images = malloc(count * ACCSIM_IMAGE_BYTES);
    cr_assert_not_null(images);
    for (size_t i = 0; i < count * ACCSIM_IMAGE_BYTES; i++)
        images[i] = accsim_quantize_pixel(ds.pixels[i], model.input_scale);
    testpair tp;
    open_pair(&tp, images, count);
    testpair_seed(16);
    int widths[] = {32, 20, 16, 14, 12, 10};
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
        accsim_config cfg;
        testpair_random_config(&cfg, w % 2 ? ACCSIM_WRAP : ACCSIM_SATURATE, true, w == 0);
        for (int l = 0; l < ACCSIM_LAYERS; l++)
            cfg.bits[l] = widths[w];
        cfg.capture_activations = w == 0;
        char what[64];
        snprintf(what, sizeof what, "CIFAR-10 at %d bits", widths[w]);
        testpair_compare(&tp, &model, NULL, count, &cfg, what, NULL);
    }
    testpair_close(&tp);
    accsim_dataset_free(&ds);
    accsim_model_free(&model);
}
