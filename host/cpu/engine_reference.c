/* The C reference engine ("cpu"): the network interpreter (host/network/
 * interp.c) behind the engine interface, the definition of truth for every
 * other engine. It follows the semantics literally, one add at a time in int64
 * (runs of products are summed at once and redone add by add only when they
 * leave the register's range), with histograms (SPEC 7), capture and restart.
 *
 * The course LeNet-5 runs as its description (accsim_network_from_course_model);
 * tests/test_engines.c proves this equals the former course engine
 * (tests/course_oracle.c) on every output, counter, histogram bin and captured
 * activation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accsim/engine.h"
#include "accsim/network.h"

typedef struct cpu_engine {
    accsim_network net;
    bool have_net;
    const int8_t *images;
    size_t image_count;
} cpu_engine;

static int cpu_load(accsim_engine *engine, const accsim_model *model, const int8_t *images,
                    size_t count, accsim_error *err)
{
    cpu_engine *e = engine->impl;
    if (e->have_net) {
        accsim_network_free(&e->net);
        e->have_net = false;
    }
    if (accsim_network_from_course_model(model, &e->net, err) != 0)
        return -1;
    e->have_net = true;
    e->images = images;
    e->image_count = count;
    return 0;
}

static int cpu_run(accsim_engine *engine, const accsim_config *cfg, const uint32_t *indices,
                   size_t count, accsim_result *res, accsim_progress *progress, accsim_error *err)
{
    cpu_engine *e = engine->impl;
    if (accsim_config_check(cfg, err) != 0)
        return -1;
    if (!e->have_net)
        return accsim_fail(err, "C reference engine: no model loaded");
    const accsim_network *net = &e->net;
    if (res->count != count)
        return accsim_fail(err, "C reference engine: result holds %zu images, run asks %zu",
                           res->count, count);
    for (size_t p = 0; indices && cfg->start_layer == 0 && p < count; p++)
        if (indices[p] >= e->image_count)
            return accsim_fail(err, "image index %u is outside the %zu loaded images",
                               indices[p], e->image_count);
    if (!indices && cfg->start_layer == 0 && count > e->image_count)
        return accsim_fail(err, "%zu images requested, %zu loaded", count, e->image_count);

    accsim_network_config ncfg = {
        .bits = cfg->bits,
        .overflow = cfg->overflow,
        .indices = indices,
        .histograms = cfg->histograms,
        .psum_histograms = cfg->psum_histograms,
        .out_range = cfg->out_range,
        .peak_range = cfg->peak_range,
        .psum_range = cfg->psum_range,
        .capture = cfg->capture_activations,
        .start_layer = cfg->start_layer,
        .start_acts = cfg->start_acts,
        .progress = progress,
    };
    accsim_network_result nres;
    if (accsim_network_result_init(&nres, net, count, err) != 0)
        return -1;
    for (int l = 0; l < net->mac_count && l < ACCSIM_LAYERS; l++)
        nres.acts[l] = res->acts[l];
    int rc = accsim_network_run(net, &ncfg, e->images, count, &nres, err);
    if (rc == 0) {
        size_t m = count * (size_t)ACCSIM_LAYERS;
        memcpy(res->outputs, nres.outputs, count * (size_t)ACCSIM_CLASSES);
        for (size_t i = 0; i < count; i++)
            res->predictions[i] = (uint8_t)nres.predictions[i];
        memcpy(res->saturations, nres.saturations, m * sizeof *res->saturations);
        memcpy(res->out_min, nres.out_min, m * sizeof *res->out_min);
        memcpy(res->out_max, nres.out_max, m * sizeof *res->out_max);
        memcpy(res->psum_min, nres.psum_min, m * sizeof *res->psum_min);
        memcpy(res->psum_max, nres.psum_max, m * sizeof *res->psum_max);
        memcpy(res->hist, nres.hist, sizeof res->hist);
    }
    accsim_network_result_free(&nres);
    return rc;
}

static void cpu_destroy(accsim_engine *engine)
{
    cpu_engine *e = engine->impl;
    if (e->have_net)
        accsim_network_free(&e->net);
    free(e);
    free(engine);
}

static const accsim_engine_ops cpu_ops = {
    .load = cpu_load,
    .run = cpu_run,
    .destroy = cpu_destroy,
};

accsim_engine *accsim_cpu_engine_create(accsim_error *err)
{
    accsim_engine *engine = calloc(1, sizeof *engine);
    cpu_engine *impl = calloc(1, sizeof *impl);
    if (!engine || !impl) {
        free(engine);
        free(impl);
        accsim_fail(err, "out of memory");
        return NULL;
    }
    engine->ops = &cpu_ops;
    engine->kind = "cpu";
    engine->impl = impl;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(engine->description, sizeof engine->description,
             "C reference engine (%ld threads)", cores < 1 ? 1 : cores);
    return engine;
}
