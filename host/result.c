/* Result buffers and run configurations shared by every engine. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/engine.h"
#include "accsim/network.h"

void accsim_config_default(accsim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (int l = 0; l < ACCSIM_MAX_LAYERS; l++)
        cfg->bits[l] = 32;
    cfg->overflow = ACCSIM_SATURATE;
}

static int check_range(const accsim_lin_range *r, const char *what, const char *layer,
                       accsim_error *err)
{
    if (r->shift < 0 || r->shift > 32)
        return accsim_fail(err, "%s range of %s: bin shift %d is outside 0..32", what, layer,
                           (int)r->shift);
    return 0;
}

int accsim_config_check(const accsim_config *cfg, const accsim_network *net, accsim_error *err)
{
    if (net->mac_count > ACCSIM_MAX_LAYERS)
        return accsim_fail(err, "%s has %d MAC layers; at most %d are supported", net->name,
                           net->mac_count, ACCSIM_MAX_LAYERS);
    for (int l = 0; l < net->mac_count; l++) {
        const char *name = net->ops[net->mac_ops[l]].name;
        if (cfg->bits[l] < 2 || cfg->bits[l] > 32)
            return accsim_fail(err, "accumulator width %d for %s is outside 2..32", cfg->bits[l],
                               name);
        if (cfg->bits_out[l] != 0 && (cfg->bits_out[l] < 2 || cfg->bits_out[l] > 32))
            return accsim_fail(err, "outer register width %d for %s is outside 2..32",
                               cfg->bits_out[l], name);
        if (check_range(&cfg->out_range[l], "output", name, err) ||
            check_range(&cfg->peak_range[l], "peak", name, err) ||
            check_range(&cfg->psum_range[l], "partial-sum", name, err))
            return -1;
    }
    if (cfg->overflow != ACCSIM_SATURATE && cfg->overflow != ACCSIM_WRAP)
        return accsim_fail(err, "unknown overflow mode %d", (int)cfg->overflow);
    if (cfg->start_layer < 0 || cfg->start_layer >= (net->mac_count ? net->mac_count : 1))
        return accsim_fail(err, "start layer %d is outside 0..%d", cfg->start_layer,
                           net->mac_count - 1);
    if (cfg->start_layer > 0 && !cfg->start_acts)
        return accsim_fail(err, "start layer %s needs its input activations",
                           net->ops[net->mac_ops[cfg->start_layer]].name);
    return 0;
}

accsim_lin_range accsim_lin_range_for(int64_t lo, int64_t hi)
{
    accsim_lin_range r = {.lo = (int32_t)lo, .shift = 0};
    if (hi < lo)
        hi = lo;
    while (((uint64_t)(hi - lo) >> r.shift) >= ACCSIM_LIN_BINS)
        r.shift++;
    return r;
}

int accsim_result_init(accsim_result *res, const accsim_network *net, size_t count,
                       const accsim_config *cfg, accsim_error *err)
{
    memset(res, 0, sizeof *res);
    if (net->mac_count > ACCSIM_MAX_LAYERS)
        return accsim_fail(err, "%s has %d MAC layers; at most %d are supported", net->name,
                           net->mac_count, ACCSIM_MAX_LAYERS);
    res->count = count;
    res->layers = net->mac_count;
    res->output_count = accsim_network_output_count(net);
    size_t n = count ? count : 1;
    size_t per_layer = n * (size_t)(res->layers ? res->layers : 1);
    res->outputs = calloc(n, res->output_count ? res->output_count : 1);
    res->predictions = calloc(n, sizeof *res->predictions);
    res->saturations = calloc(per_layer, sizeof *res->saturations);
    res->out_min = calloc(per_layer, sizeof *res->out_min);
    res->out_max = calloc(per_layer, sizeof *res->out_max);
    res->psum_min = calloc(per_layer, sizeof *res->psum_min);
    res->psum_max = calloc(per_layer, sizeof *res->psum_max);
    res->hist = calloc((size_t)(res->layers ? res->layers : 1), sizeof *res->hist);
    bool ok = res->outputs && res->predictions && res->saturations && res->out_min &&
              res->out_max && res->psum_min && res->psum_max && res->hist;
    ok = ok && accsim_network_restart_sizes(net, res->act_bytes) == 0;
    /* Only the layers a run computes, and no zeroing: every engine writes
     * each row. The search restarts thousands of runs at late layers, where a
     * zeroed image-sized row per image was most of the host's time. */
    if (cfg && cfg->capture_activations) {
        /* start_layer 0 runs from the input, whatever MAC layer runs first. */
        int start_pos = cfg->start_layer > 0 ? accsim_network_mac_position(net, cfg->start_layer) : 0;
        for (int l = 0; l < res->layers; l++) {
            if (accsim_network_mac_position(net, l) < start_pos)
                continue;
            res->acts[l] = malloc(n * res->act_bytes[l] + 1);
            ok = ok && res->acts[l];
        }
    }
    if (!ok) {
        accsim_result_free(res);
        return accsim_fail(err, "out of memory for the results of %zu images", count);
    }
    return 0;
}

void accsim_result_free(accsim_result *res)
{
    free(res->outputs);
    free(res->predictions);
    free(res->saturations);
    free(res->out_min);
    free(res->out_max);
    free(res->psum_min);
    free(res->psum_max);
    free(res->hist);
    for (int l = 0; l < ACCSIM_MAX_LAYERS; l++)
        free(res->acts[l]);
    memset(res, 0, sizeof *res);
}

accsim_network_result accsim_result_as_network(const accsim_result *res)
{
    accsim_network_result view = {
        .count = res->count,
        .mac_count = res->layers,
        .output_count = res->output_count,
        .outputs = res->outputs,
        .predictions = res->predictions,
        .saturations = res->saturations,
        .out_min = res->out_min,
        .out_max = res->out_max,
        .psum_min = res->psum_min,
        .psum_max = res->psum_max,
        .hist = res->hist,
    };
    for (int l = 0; l < res->layers && l < ACCSIM_MAX_LAYERS; l++)
        view.acts[l] = res->acts[l];
    return view;
}

accsim_network_config accsim_config_as_network(const accsim_config *cfg, const accsim_network *net,
                                               int bits_out[ACCSIM_MAX_LAYERS],
                                               const uint32_t *indices, accsim_progress *progress)
{
    assert(net->mac_count <= ACCSIM_MAX_LAYERS);
    for (int l = 0; l < net->mac_count; l++)
        bits_out[l] = cfg->bits_out[l] ? cfg->bits_out[l] : cfg->bits[l];
    return (accsim_network_config){
        .bits = cfg->bits,
        .bits_out = bits_out,
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
}
