#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "accsim/network.h"
#include "accsim/summary.h"
#include "testdata.h"
#include "testpair.h"

static uint64_t rng_state;

void testpair_seed(uint64_t seed) { rng_state = seed; }

uint64_t testpair_rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int8_t *testpair_random_images(size_t count)
{
    int8_t *img = malloc(count * ACCSIM_IMAGE_BYTES);
    cr_assert_not_null(img);
    for (size_t i = 0; i < count * ACCSIM_IMAGE_BYTES; i++)
        img[i] = (int8_t)(testpair_rng() & 0xff);
    return img;
}

static accsim_lin_range random_range(bool magnitude)
{
    /* Edge cases included: shift 0 and 32, lo above most values. */
    accsim_lin_range r;
    switch (testpair_rng() % 5) {
    case 0:
        r.lo = magnitude ? 0 : INT32_MIN;
        r.shift = 24;
        break;
    case 1:
        r.lo = magnitude ? 0 : -(int32_t)(testpair_rng() % 100000);
        r.shift = (int32_t)(testpair_rng() % 12);
        break;
    case 2:
        r.lo = (int32_t)(testpair_rng() % 2000) - 1000;
        r.shift = 0;
        break;
    case 3:
        r.lo = magnitude ? 0 : -(int32_t)(1 << 20);
        r.shift = 32;
        break;
    default:
        r.lo = (int32_t)(testpair_rng() % 1000000) - 500000;
        r.shift = (int32_t)(testpair_rng() % 33);
        break;
    }
    return r;
}

void testpair_random_config(accsim_config *cfg, accsim_overflow mode, bool histograms,
                            bool psum_histograms)
{
    accsim_config_default(cfg);
    cfg->overflow = mode;
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        /* Half the time narrow (heavy saturation), else anywhere in 2..32. */
        cfg->bits[l] = testpair_rng() % 2 ? 2 + (int)(testpair_rng() % 14)
                                          : 2 + (int)(testpair_rng() % 31);
        cfg->out_range[l] = random_range(false);
        cfg->peak_range[l] = random_range(true);
        cfg->psum_range[l] = random_range(false);
    }
    cfg->histograms = histograms;
    cfg->psum_histograms = psum_histograms;
}

accsim_engine *testpair_engine(accsim_engine *(*create)(accsim_error *))
{
    accsim_error err;
    accsim_engine *e = create(&err);
    cr_assert_not_null(e, "%s", err.message);
    return e;
}

/* Equal empty histograms prove nothing: the ones asked for must have counted
 * something from the start layer on. */
static void require_filled_histograms(const accsim_result *res, const accsim_config *cfg,
                                      const char *what)
{
    uint64_t outputs = 0, psums = 0;
    for (int l = cfg->start_layer; l < ACCSIM_LAYERS; l++)
        for (int k = 0; k < ACCSIM_BITS_BINS; k++) {
            outputs += res->hist[l].out_bits[k];
            psums += res->hist[l].psum_bits[k];
        }
    cr_assert(!cfg->histograms || outputs > 0, "%s: empty histograms", what);
    cr_assert(!cfg->psum_histograms || psums > 0, "%s: empty partial-sum histograms", what);
}

void testpair_open(testpair *tp, accsim_engine *ref, accsim_engine *other, const char *names,
                   int8_t *images, size_t image_count)
{
    cr_assert_not_null(images);
    *tp = (testpair){.ref = ref, .other = other, .names = names, .images = images,
                     .image_count = image_count};
}

void testpair_close(testpair *tp)
{
    accsim_engine_destroy(tp->ref);
    accsim_engine_destroy(tp->other);
    free(tp->images);
    *tp = (testpair){0};
}

void testpair_random_indices(uint32_t *indices, size_t n, size_t image_count)
{
    for (size_t i = 0; i < n; i++)
        indices[i] = (uint32_t)(testpair_rng() % image_count);
}

void testpair_compare(const testpair *tp, const accsim_model *model, const uint32_t *indices,
                      size_t count, const accsim_config *cfg, const char *what,
                      accsim_result *keep)
{
    accsim_engine *ref = tp->ref, *other = tp->other;
    accsim_error err;
    accsim_result a, b;
    const accsim_network *net = testdata_net(model);
    cr_assert_eq(ref->ops->load(ref, net, tp->images, tp->image_count, &err), 0, "%s", err.message);
    cr_assert_eq(other->ops->load(other, net, tp->images, tp->image_count, &err), 0, "%s",
                 err.message);
    cr_assert_eq(accsim_result_init(&a, net, count, cfg, &err), 0, "%s", err.message);
    cr_assert_eq(accsim_result_init(&b, net, count, cfg, &err), 0, "%s", err.message);
    cr_assert_eq(ref->ops->run(ref, cfg, indices, count, &a, NULL, &err), 0, "%s: %s", what,
                 err.message);
    cr_assert_eq(other->ops->run(other, cfg, indices, count, &b, NULL, &err), 0, "%s: %s", what,
                 err.message);
    char diff[1024];
    int rc = accsim_result_compare(&a, &b, cfg, net, indices, diff, sizeof diff);
    cr_assert_eq(rc, 0, "%s: %s differ: %s", what, tp->names, diff);
    require_filled_histograms(&a, cfg, what);
    if (keep)
        *keep = a;
    else
        accsim_result_free(&a);
    accsim_result_free(&b);
}

void testpair_restarts(const testpair *tp, const accsim_model *model, const accsim_config *cfg,
                       const accsim_result *cap, int min_bits)
{
    cr_assert(cfg->capture_activations && cfg->start_layer == 0);
    for (int start = 1; start < ACCSIM_LAYERS; start++) {
        accsim_config rc = *cfg;
        rc.start_layer = start;
        rc.start_acts = cap->acts[start];
        for (int l = 0; l < ACCSIM_LAYERS; l++)
            rc.bits[l] = min_bits + (int)(testpair_rng() % 20);
        char what[64];
        snprintf(what, sizeof what, "restart at layer %d", start);
        testpair_compare(tp, model, NULL, tp->image_count, &rc, what, NULL);
    }
}
