/* The C reference engine on hand-computed cases, the real model's test vector,
 * and the energy model's check values (SPEC sections 5-8). */
#include <criterion/criterion.h>
#include <string.h>

#include "accsim/dataset.h"
#include "accsim/energy.h"
#include "accsim/summary.h"
#include "testdata.h"

static accsim_engine *cpu(void)
{
    accsim_error err;
    accsim_engine *e = accsim_cpu_engine_create(&err);
    cr_assert_not_null(e, "%s", err.message);
    return e;
}

/* conv1 filter 0 reads only channel 0 at (0,0) with weight 127 and (0,1) with
 * -128; every input is 127. Exactly: 127*127 - 128*127 = -127. */
static void two_tap_model(accsim_model *m)
{
    testdata_zero_model(m);
    m->weights[ACCSIM_CONV1][0] = 127;
    m->weights[ACCSIM_CONV1][1] = -128;
}

static int8_t *uniform_image(int8_t value)
{
    int8_t *img = malloc(ACCSIM_IMAGE_BYTES);
    cr_assert_not_null(img);
    memset(img, value, ACCSIM_IMAGE_BYTES);
    return img;
}

Test(reference, saturation_order_changes_the_sum)
{
    accsim_model m;
    two_tap_model(&m);
    int8_t *img = uniform_image(127);
    accsim_engine *e = cpu();
    accsim_config cfg;
    accsim_config_default(&cfg);
    accsim_result res;

    /* B = 16: 16129, then -127; nothing saturates. */
    cfg.bits[ACCSIM_CONV1] = 16;
    testdata_run(e, &m, img, 1, &cfg, &res);
    cr_expect_eq(res.saturations[ACCSIM_CONV1], 0);
    cr_expect_eq(res.out_min[ACCSIM_CONV1], -127);
    cr_expect_eq(res.out_max[ACCSIM_CONV1], 0); /* the other five filters are all zero */
    cr_expect_eq(res.psum_max[ACCSIM_CONV1], 16129);
    cr_expect_eq(res.psum_min[ACCSIM_CONV1], -127);
    accsim_result_free(&res);

    /* B = 12: 16129 clamps to 2047, then 2047 - 16256 clamps to -2048: the
     * first add's saturation loses what the second would have cancelled. */
    cfg.bits[ACCSIM_CONV1] = 12;
    testdata_run(e, &m, img, 1, &cfg, &res);
    cr_expect_eq(res.saturations[ACCSIM_CONV1], 2 * 28 * 28, "two events per output of filter 0");
    cr_expect_eq(res.out_min[ACCSIM_CONV1], -2048);
    cr_expect_eq(res.psum_max[ACCSIM_CONV1], 2047);
    cr_expect_eq(res.psum_min[ACCSIM_CONV1], -2048);
    for (int l = ACCSIM_CONV2; l < ACCSIM_LAYERS; l++)
        cr_expect_eq(res.saturations[l], 0);
    accsim_result_free(&res);
    accsim_engine_destroy(e);
    accsim_model_free(&m);
    free(img);
}

Test(reference, wrap_mode_hand_computed)
{
    accsim_model m;
    two_tap_model(&m);
    int8_t *img = uniform_image(127);
    accsim_engine *e = cpu();
    accsim_config cfg;
    accsim_config_default(&cfg);
    cfg.overflow = ACCSIM_WRAP;
    cfg.bits[ACCSIM_CONV1] = 12;
    accsim_result res;
    /* 16129 wraps to 16129 - 4*4096 = -255; -255 - 16256 = -16511 wraps to
     * -16511 + 4*4096 = -127: modular arithmetic ends at the exact sum, yet
     * both adds overflowed. */
    testdata_run(e, &m, img, 1, &cfg, &res);
    cr_expect_eq(res.saturations[ACCSIM_CONV1], 2 * 28 * 28);
    cr_expect_eq(res.out_min[ACCSIM_CONV1], -127);
    cr_expect_eq(res.psum_min[ACCSIM_CONV1], -255);
    cr_expect_eq(res.psum_max[ACCSIM_CONV1], 0);
    accsim_result_free(&res);

    /* B = 2 (range -2..1): 16129 = ...01 wraps to 1; 1 - 16256 = -16255 =
     * -4064 * 4 + 1 wraps to 1 again; both adds are events. */
    cfg.bits[ACCSIM_CONV1] = 2;
    testdata_run(e, &m, img, 1, &cfg, &res);
    cr_expect_eq(res.saturations[ACCSIM_CONV1], 2 * 28 * 28);
    cr_expect_eq(res.out_max[ACCSIM_CONV1], 1);
    cr_expect_eq(res.out_min[ACCSIM_CONV1], 0);
    cr_expect_eq(res.psum_max[ACCSIM_CONV1], 1);
    cr_expect_eq(res.psum_min[ACCSIM_CONV1], 0);
    accsim_result_free(&res);
    accsim_engine_destroy(e);
    accsim_model_free(&m);
    free(img);
}

/* fc3 from given activations: 127*127 + 127*127 + bias(-30000). */
Test(reference, fc_bias_add_saturates_and_requantizes)
{
    accsim_model m;
    testdata_zero_model(&m);
    m.weights[ACCSIM_FC3][0] = 127;
    m.weights[ACCSIM_FC3][1] = 127;
    m.bias[0] = -30000;
    m.output_scale[ACCSIM_FC3] = 0.001;
    int8_t acts[84] = {127, 127};
    accsim_engine *e = cpu();
    accsim_config cfg;
    accsim_config_default(&cfg);
    cfg.start_layer = ACCSIM_FC3;
    accsim_result res;

    cfg.bits[ACCSIM_FC3] = 16; /* 16129, 32258, then 2258 with the bias */
    testdata_run(e, &m, acts, 1, &cfg, &res);
    cr_expect_eq(res.saturations[ACCSIM_FC3], 0);
    cr_expect_eq(res.outputs[0], 2); /* 2.258 */
    cr_expect_eq(res.out_max[ACCSIM_FC3], 2258);
    cr_expect_eq(res.out_min[ACCSIM_FC3], 0, "outputs 1..9 are their zero bias");
    accsim_result_free(&res);

    cfg.bits[ACCSIM_FC3] = 15; /* 32258 clamps to 16383; bias gives -13617 */
    testdata_run(e, &m, acts, 1, &cfg, &res);
    cr_expect_eq(res.saturations[ACCSIM_FC3], 1);
    cr_expect_eq(res.outputs[0], -14); /* -13.617 */
    cr_expect_eq(res.psum_max[ACCSIM_FC3], 16383);
    accsim_result_free(&res);

    /* The bias add is an add: it saturates too. */
    m.bias[0] = -30000;
    cfg.bits[ACCSIM_FC3] = 14; /* 16129 -> 8191 (event), +16129 -> 8191 (event), -30000 -> -8192 */
    testdata_run(e, &m, acts, 1, &cfg, &res);
    cr_expect_eq(res.saturations[ACCSIM_FC3], 1 + 1 + 1 + 0, "three events on output 0, none elsewhere");
    cr_expect_eq(res.outputs[0], -8);
    cr_expect_eq(res.psum_min[ACCSIM_FC3], -8192);
    accsim_result_free(&res);
    accsim_engine_destroy(e);
    accsim_model_free(&m);
}

Test(reference, requantization_rounds_half_to_even_and_clamps)
{
    cr_expect_eq(accsim_requantize(5, 0.5), 2);  /* 2.5 -> 2 */
    cr_expect_eq(accsim_requantize(7, 0.5), 4);  /* 3.5 -> 4 */
    cr_expect_eq(accsim_requantize(-5, 0.5), -2);
    cr_expect_eq(accsim_requantize(1000, 1.0), 127);
    cr_expect_eq(accsim_requantize(-1000, 1.0), -128);
    /* Pixel quantization (SPEC 4): 255 -> 128 clamps to 127; 0 -> -128. */
    cr_expect_eq(accsim_quantize_pixel(255, 128.0), 127);
    cr_expect_eq(accsim_quantize_pixel(0, 128.0), -128);
    cr_expect_eq(accsim_quantize_pixel(128, 128.0), 1); /* 0.0039216 * 128 = 0.502 -> 1 */
    cr_expect_eq(accsim_quantize_pixel(127, 128.0), -1); /* -0.502 -> -1 */
}

Test(reference, bits_needed_edges)
{
    cr_expect_eq(accsim_bits_needed(0), 1);
    cr_expect_eq(accsim_bits_needed(-1), 1);
    cr_expect_eq(accsim_bits_needed(1), 2);
    cr_expect_eq(accsim_bits_needed(-2), 2);
    cr_expect_eq(accsim_bits_needed(2), 3);
    cr_expect_eq(accsim_bits_needed(131071), 18);
    cr_expect_eq(accsim_bits_needed(131072), 19);
    cr_expect_eq(accsim_bits_needed(-131072), 18);
    cr_expect_eq(accsim_bits_needed(INT32_MIN), 32);
    cr_expect_eq(accsim_bits_needed(INT32_MAX), 32);
}

Test(energy, op_counts_and_check_values)
{
    const uint64_t mul[] = {352800, 240000, 48000, 10080, 840};
    const uint64_t add[] = {366912, 249600, 48000, 10080, 850};
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        accsim_layer_ops ops = accsim_layer_op_counts(l);
        cr_expect_eq(ops.multiplies, mul[l], "%s N_mul", accsim_layers[l].name);
        cr_expect_eq(ops.adds, add[l], "%s N_add", accsim_layers[l].name);
    }
    int b18[] = {18, 18, 18, 18, 18}, b17[] = {17, 17, 17, 17, 17}, mixed[] = {18, 16, 17, 16, 17};
    cr_expect_eq(accsim_energy(b18), 223315236ULL);
    cr_expect_eq(accsim_energy(b17), 199829594ULL);
    cr_expect_eq(accsim_energy(mixed), 204032186ULL);
}

/* The model's own test vector: input.csv -> output.csv with 32-bit sums. */
static void check_test_vector(const char *dir)
{
    accsim_model m;
    accsim_error err;
    cr_assert_eq(accsim_model_load(&m, dir, &err), 0, "%s", err.message);
    int8_t image[ACCSIM_IMAGE_BYTES], expected[ACCSIM_CLASSES];
    int rc = accsim_model_load_test_vector(&m, image, expected, &err);
    cr_assert_eq(rc, 0, "%s: test vector: %s", dir, rc == 1 ? "absent" : err.message);
    accsim_engine *e = cpu();
    accsim_config cfg;
    accsim_config_default(&cfg);
    accsim_result res;
    testdata_run(e, &m, image, 1, &cfg, &res);
    for (int c = 0; c < ACCSIM_CLASSES; c++)
        cr_expect_eq(res.outputs[c], expected[c], "%s output %d: got %d, expected %d", dir, c,
                     res.outputs[c], expected[c]);
    for (int l = 0; l < ACCSIM_LAYERS; l++)
        cr_expect_eq(res.saturations[l], 0);
    accsim_result_free(&res);
    accsim_engine_destroy(e);
    accsim_model_free(&m);
}

Test(real_model, course_test_vector_reproduced)
{
    const char *dir = testdata_course_model_dir();
    if (!dir)
        cr_skip_test("the course model is absent (set ACCSIM_COURSE_MODEL or provide ../shared)");
    check_test_vector(dir);
}

Test(real_model, shipped_test_vector_reproduced)
{
    const char *dir = testdata_shipped_model_dir();
    if (!dir)
        cr_skip_test("data/lenet5-cifar10 is absent");
    check_test_vector(dir);
}

Test(real_model, spec_check_images_do_not_saturate_at_32_bits)
{
    const char *dir = testdata_course_model_dir(), *data_dir = testdata_cifar_dir();
    if (!dir || !data_dir)
        cr_skip_test("course model or CIFAR-10 absent (set ACCSIM_DATA or provide ../shared)");
    accsim_model m;
    accsim_dataset data;
    accsim_error err;
    cr_assert_eq(accsim_model_load(&m, dir, &err), 0, "%s", err.message);
    cr_assert_eq(accsim_dataset_load(&data, data_dir, ACCSIM_SPLIT_BOTH, &err), 0, "%s", err.message);
    cr_assert_eq(data.count, 60000);
    int8_t *images = malloc(data.count * ACCSIM_IMAGE_BYTES);
    accsim_dataset_quantize(&data, m.input_scale, images);
    /* test 1300, 3108; train 21280, 30702 (after the 10,000 test images) */
    const uint32_t picks[] = {1300, 3108, 10000 + 21280, 10000 + 30702};
    accsim_engine *e = cpu();
    cr_assert_eq(e->ops->load(e, testdata_net(&m), images, data.count, &err), 0);
    accsim_config cfg;
    accsim_config_default(&cfg);
    accsim_result res;
    cr_assert_eq(accsim_result_init(&res, testdata_net(&m), 4, &cfg, &err), 0);
    cr_assert_eq(e->ops->run(e, &cfg, picks, 4, &res, NULL, &err), 0, "%s", err.message);
    for (int i = 0; i < 4; i++)
        for (int l = 0; l < ACCSIM_LAYERS; l++)
            cr_expect_eq(res.saturations[i * ACCSIM_LAYERS + l], 0);
    /* Test image 0 is a cat (label 3), train image 0 a frog (label 6). */
    cr_expect_eq(data.labels[0], 3);
    cr_expect_eq(data.labels[10000], 6);
    accsim_result_free(&res);
    accsim_engine_destroy(e);
    free(images);
    accsim_dataset_free(&data);
    accsim_model_free(&m);
}
