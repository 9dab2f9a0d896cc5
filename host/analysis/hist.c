/* Distributions at B = 32: layer outputs, peaks and (opt-in) every partial sum. */
#include <stdio.h>
#include <string.h>

#include "accsim/analysis.h"

void accsim_hist_ranges_for(const accsim_baseline *const *bases, int n, accsim_hist_ranges *r)
{
    int layers = n > 0 ? bases[0]->layers : 0;
    memset(r, 0, sizeof *r);
    for (int l = 0; l < layers; l++) {
        int64_t omin = 0, omax = 0, pmin = 0, pmax = 0, peak = 0;
        bool first = true;
        for (int k = 0; k < n; k++) {
            const accsim_layer_summary *s = &bases[k]->summary.layers[l];
            if (bases[k]->set.count == 0)
                continue;
            if (first || s->min < omin)
                omin = s->min;
            if (first || s->max > omax)
                omax = s->max;
            if (first || s->psum_min < pmin)
                pmin = s->psum_min;
            if (first || s->psum_max > pmax)
                pmax = s->psum_max;
            if (s->peak > peak)
                peak = s->peak;
            first = false;
        }
        r->out[l] = accsim_lin_range_for(omin, omax);
        r->peak[l] = accsim_lin_range_for(0, peak);
        r->psum[l] = accsim_lin_range_for(pmin, pmax);
    }
}

int accsim_hist_run(accsim_engine *engine, const accsim_network *net, const accsim_imageset *set,
                    accsim_overflow overflow, const accsim_hist_ranges *ranges, bool psum,
                    bool quiet, accsim_layer_hist *hist, accsim_error *err)
{
    accsim_config cfg;
    accsim_config_default(&cfg);
    cfg.overflow = overflow;
    cfg.histograms = true;
    cfg.psum_histograms = psum;
    memcpy(cfg.out_range, ranges->out, sizeof cfg.out_range);
    memcpy(cfg.peak_range, ranges->peak, sizeof cfg.peak_range);
    memcpy(cfg.psum_range, ranges->psum, sizeof cfg.psum_range);
    memset(hist, 0, sizeof(accsim_layer_hist) * (size_t)net->mac_count);
    if (set->count == 0)
        return 0;
    accsim_result res;
    if (accsim_result_init(&res, net, set->count, &cfg, err) != 0)
        return -1;
    char label[64];
    snprintf(label, sizeof label, "histograms on %s%s", set->name, psum ? " (every partial sum)" : "");
    accsim_progress progress;
    accsim_progress_start(&progress, label, set->count, quiet);
    double t0 = accsim_now();
    int rc = engine->ops->run(engine, &cfg, set->indices, set->count, &res, &progress, err);
    accsim_progress_finish(&progress);
    if (rc == 0) {
        memcpy(hist, res.hist, sizeof(accsim_layer_hist) * (size_t)net->mac_count);
        accsim_phase_note(quiet, "%s: %zu images in %.2f s", label, set->count, accsim_now() - t0);
    }
    accsim_result_free(&res);
    return rc;
}
