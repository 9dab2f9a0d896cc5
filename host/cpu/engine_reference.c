/* The C reference engine ("cpu"): the network interpreter (host/network/
 * interp.c) behind the engine interface, the definition of truth for every
 * other engine. It follows the semantics literally, one add at a time in int64
 * (runs of products are summed at once and redone add by add only when they
 * leave the register's range), with histograms (SPEC 7), capture and restart.
 *
 * The course LeNet-5 runs as its description (accsim_network_from_course_model);
 * tests/test_reference.c proves this equals the former course engine
 * (tests/course_oracle.c) on every output, counter, histogram bin and captured
 * activation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accsim/engine.h"
#include "accsim/network.h"

typedef struct cpu_engine {
    const accsim_network *net;
    const int8_t *inputs;
    size_t input_count;
} cpu_engine;

static int cpu_load(accsim_engine *engine, const accsim_network *net, const int8_t *inputs,
                    size_t count, accsim_error *err)
{
    cpu_engine *e = engine->impl;
    if (net->mac_count > ACCSIM_MAX_LAYERS)
        return accsim_fail(err, "%s has %d MAC layers; at most %d are supported", net->name,
                           net->mac_count, ACCSIM_MAX_LAYERS);
    e->net = net;
    e->inputs = inputs;
    e->input_count = count;
    return 0;
}

static int cpu_run(accsim_engine *engine, const accsim_config *cfg, const uint32_t *indices,
                   size_t count, accsim_result *res, accsim_progress *progress, accsim_error *err)
{
    cpu_engine *e = engine->impl;
    const accsim_network *net = e->net;
    if (!net)
        return accsim_fail(err, "C reference engine: no network loaded");
    if (accsim_config_check(cfg, net, err) != 0)
        return -1;
    if (res->count != count || res->layers != net->mac_count ||
        res->output_count != accsim_network_output_count(net))
        return accsim_fail(err, "C reference engine: the result holds %zu images of %d layers, "
                                "the run asks %zu of %d",
                           res->count, res->layers, count, net->mac_count);
    for (size_t p = 0; indices && cfg->start_layer == 0 && p < count; p++)
        if (indices[p] >= e->input_count)
            return accsim_fail(err, "image index %u is outside the %zu loaded images",
                               indices[p], e->input_count);
    if (!indices && cfg->start_layer == 0 && count > e->input_count)
        return accsim_fail(err, "%zu images requested, %zu loaded", count, e->input_count);

    int bits_out[ACCSIM_MAX_LAYERS];
    accsim_network_config ncfg = accsim_config_as_network(cfg, net, bits_out, indices, progress);
    /* The interpreter writes straight into the engine result's arrays. */
    accsim_network_result nres = accsim_result_as_network(res);
    return accsim_network_run(net, &ncfg, e->inputs, count, &nres, err);
}

static void cpu_destroy(accsim_engine *engine)
{
    free(engine->impl);
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
