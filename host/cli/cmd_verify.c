/* accsim verify: the same work on the C reference and on an OpenCL device,
 * compared bit for bit: outputs, predictions, per-image saturation counters and
 * flags, minima, maxima, peaks, and every histogram bin (layer outputs, peaks,
 * every partial sum). Exit status 0 only when everything matches. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/progress.h"
#include "accsim/summary.h"
#include "cli/cli.h"
#ifdef ACCSIM_HAVE_OPENCL
#include "opencl/opencl_engine.h"
#endif

#ifdef ACCSIM_HAVE_OPENCL
/* Histogram ranges covering what a plain run saw, per layer. */
static void ranges_from(const accsim_result *res, size_t count, accsim_config *cfg)
{
    const int L = res->layers;
    for (int l = 0; l < L; l++) {
        int64_t omin = 0, omax = 0, pmin = 0, pmax = 0;
        for (size_t i = 0; i < count; i++) {
            size_t k = i * (size_t)L + (size_t)l;
            if (i == 0 || res->out_min[k] < omin)
                omin = res->out_min[k];
            if (i == 0 || res->out_max[k] > omax)
                omax = res->out_max[k];
            if (res->psum_min[k] < pmin)
                pmin = res->psum_min[k];
            if (res->psum_max[k] > pmax)
                pmax = res->psum_max[k];
        }
        int64_t peak = -pmin > pmax ? -pmin : pmax;
        cfg->out_range[l] = accsim_lin_range_for(omin, omax);
        cfg->peak_range[l] = accsim_lin_range_for(0, peak);
        cfg->psum_range[l] = accsim_lin_range_for(pmin, pmax);
    }
}

static int run_timed(accsim_engine *engine, const accsim_config *cfg, const uint32_t *indices,
                     size_t count, accsim_result *res, bool quiet, double *seconds,
                     accsim_error *err)
{
    accsim_progress progress;
    char label[600];
    snprintf(label, sizeof label, "%s", engine->kind);
    accsim_progress_start(&progress, label, count, quiet);
    double t0 = accsim_now();
    int rc = engine->ops->run(engine, cfg, indices, count, res, &progress, err);
    *seconds = accsim_now() - t0;
    accsim_progress_finish(&progress);
    return rc;
}
#endif

int cmd_verify(const cli_options *opts)
{
#ifndef ACCSIM_HAVE_OPENCL
    (void)opts;
    fprintf(stderr, "accsim: this accsim was built without OpenCL (ACCSIM_OPENCL=OFF): there is "
                    "nothing to verify the C reference against\n");
    return 1;
#else
    accsim_error err;
    err.message[0] = '\0';
    bool compared = false;
    if (opts->engine.kind && strcmp(opts->engine.kind, "cpu") == 0) {
        fprintf(stderr, "accsim: verify compares the C reference with OpenCL; --engine cpu "
                        "leaves nothing to compare\n");
        return 2;
    }
    if (accsim_opencl_device_count() == 0) {
        fprintf(stderr, "accsim: no OpenCL platform or device found: there is nothing to verify "
                        "the C reference against (install an OpenCL driver, e.g. "
                        "pocl-opencl-icd)\n");
        return 1;
    }
    cli_options o = *opts;
    o.engine.kind = "opencl";
    cli_context ctx;
    if (cli_context_open(&o, &ctx, &err) != 0)
        return cli_error(&err);
    int status = 1;
    uint32_t *indices = NULL;
    size_t count = ctx.count;
    accsim_engine *ref = NULL;
    accsim_result first = {0}, a = {0}, b = {0};
    bool have_first = false, have_a = false, have_b = false;
    if (opts->images) {
        if (cli_parse_index_list(opts->images, ctx.data.count, &indices, &count, &err) != 0)
            goto done;
    }
    ref = accsim_cpu_engine_create(&err);
    if (!ref || ref->ops->load(ref, ctx.net, ctx.images, ctx.data.count, &err) != 0)
        goto done;

    accsim_config cfg;
    accsim_config_default(&cfg);
    memcpy(cfg.bits, ctx.bits, sizeof cfg.bits);
    cfg.overflow = opts->overflow;
    if (accsim_config_check(&cfg, ctx.net, &err) != 0)
        goto done;
    /* A first pass (on the device, the quick one) for the histogram ranges. */
    if (accsim_result_init(&first, ctx.net, count, &cfg, &err) != 0)
        goto done;
    have_first = true;
    double t_first;
    if (run_timed(ctx.engine, &cfg, indices, count, &first, opts->quiet, &t_first, &err) != 0)
        goto done;
    ranges_from(&first, count, &cfg);
    /* Both OpenCL engines (course and network) compute every histogram. The
     * network engine's every-partial-sum histograms cost about as much as
     * the interpreter's (an atomic count per add), so on descriptions they
     * are compared with --psum, as hist collects them. */
    cfg.histograms = true;
    cfg.psum_histograms = ctx.net->course != NULL || opts->psum;

    if (accsim_result_init(&a, ctx.net, count, &cfg, &err) != 0)
        goto done;
    have_a = true;
    if (accsim_result_init(&b, ctx.net, count, &cfg, &err) != 0)
        goto done;
    have_b = true;
    double t_ref, t_ocl;
    if (run_timed(ref, &cfg, indices, count, &a, opts->quiet, &t_ref, &err) != 0)
        goto done;
    if (run_timed(ctx.engine, &cfg, indices, count, &b, opts->quiet, &t_ocl, &err) != 0)
        goto done;

    printf("C reference: %s, %.2f s\n", ref->description, t_ref);
    printf("OpenCL:      %s, %.2f s\n", ctx.engine->description, t_ocl);
    char btext[512];
    size_t at = 0;
    btext[0] = '\0';
    for (int l = 0; l < ctx.net->mac_count && at + 16 < sizeof btext; l++)
        at += (size_t)snprintf(btext + at, sizeof btext - at, "%s%d", l ? "," : "", cfg.bits[l]);
    printf("split %s, %zu images, bits %s, %s\n", accsim_split_name(ctx.data.split), count, btext,
           cfg.overflow == ACCSIM_WRAP ? "wrap" : "saturate");
    char diff[1024];
    compared = true;
    if (accsim_result_compare(&a, &b, &cfg, ctx.net, indices, diff, sizeof diff) != 0) {
        printf("DIFFERENT: %s\n", diff);
        status = 1;
    } else {
        uint64_t events = 0, saturated = 0;
        for (size_t i = 0; i < count * (size_t)ctx.net->mac_count; i++) {
            events += a.saturations[i];
            saturated += a.saturations[i] != 0;
        }
        size_t bins = (size_t)ctx.net->mac_count * (cfg.psum_histograms ? 3 : 2) *
                      (ACCSIM_BITS_BINS + ACCSIM_LIN_BINS);
        printf("identical: %zu images, outputs, predictions, %zu histogram bins%s, flags, "
               "counters, peaks (%" PRIu64 " saturation events in %" PRIu64 " image-layers)\n",
               count, bins, cfg.psum_histograms ? "" : " (partial sums: --psum)", events,
               saturated);
        status = 0;
    }
done:
    if (!compared)
        cli_error(&err);
    if (have_first)
        accsim_result_free(&first);
    if (have_a)
        accsim_result_free(&a);
    if (have_b)
        accsim_result_free(&b);
    accsim_engine_destroy(ref);
    free(indices);
    cli_context_close(&ctx);
    return status;
#endif
}
