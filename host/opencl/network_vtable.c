/* The generic OpenCL engine for descriptions (network_engine.c) behind the
 * engine interface, for every command on any network with `--engine opencl`
 * (run, verify, hist, sweep, minwidth, search, study). It computes outputs,
 * every per-image counter, the histograms, capture and restart, bit for bit
 * as the C reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/engine.h"
#include "opencl/network_engine.h"

typedef struct netcl_vtable {
    accsim_netcl *cl;
    const accsim_network *net;
} netcl_vtable;

static int netcl_vt_load(accsim_engine *engine, const accsim_network *net, const int8_t *inputs,
                         size_t count, accsim_error *err)
{
    netcl_vtable *e = engine->impl;
    e->net = net;
    return accsim_netcl_load(e->cl, net, inputs, count, err);
}

static int netcl_vt_run(accsim_engine *engine, const accsim_config *cfg, const uint32_t *indices,
                        size_t count, accsim_result *res, accsim_progress *progress,
                        accsim_error *err)
{
    netcl_vtable *e = engine->impl;
    const accsim_network *net = e->net;
    if (!net)
        return accsim_fail(err, "OpenCL network engine: no network loaded");
    if (accsim_config_check(cfg, net, err) != 0)
        return -1;
    int bits_out[ACCSIM_MAX_LAYERS];
    /* The indices go to accsim_netcl_run, not through the configuration. */
    accsim_network_config ncfg = accsim_config_as_network(cfg, net, bits_out, NULL, progress);
    /* The device's results go straight into the engine result's arrays. */
    accsim_network_result nres = accsim_result_as_network(res);
    return accsim_netcl_run(e->cl, &ncfg, indices, count, &nres, err);
}

static void netcl_vt_destroy(accsim_engine *engine)
{
    netcl_vtable *e = engine->impl;
    if (e)
        accsim_netcl_destroy(e->cl);
    free(e);
    free(engine);
}

static const accsim_engine_ops netcl_vt_ops = {
    .load = netcl_vt_load,
    .run = netcl_vt_run,
    .destroy = netcl_vt_destroy,
};

accsim_engine *accsim_netcl_engine_create(const accsim_engine_options *opts, accsim_error *err)
{
    accsim_engine *engine = calloc(1, sizeof *engine);
    netcl_vtable *e = calloc(1, sizeof *e);
    if (!engine || !e) {
        free(engine);
        free(e);
        accsim_fail(err, "out of memory");
        return NULL;
    }
    if (accsim_netcl_create(&e->cl, opts ? opts->device : NULL, err) != 0) {
        free(engine);
        free(e);
        return NULL;
    }
    engine->ops = &netcl_vt_ops;
    engine->kind = "opencl";
    engine->impl = e;
    snprintf(engine->description, sizeof engine->description, "OpenCL (network engine): %.400s",
             accsim_netcl_device_name(e->cl));
    return engine;
}
