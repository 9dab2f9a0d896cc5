/* accsim study: the whole study of SPEC section 1 on both splits, written as a
 * report directory (summary.md, CSV + JSON for every table, PNG plots). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/energy.h"
#include "accsim/fileio.h"
#include "analysis/plot.h"
#include "analysis/table.h"
#include "cli/analysis_cli.h"
#include "cli/study_plots.h"

typedef struct check_image {
    const char *split;
    uint32_t index;
} check_image;

static const check_image check_images[] = {
    {"test", 1300}, {"test", 3108}, {"train", 21280}, {"train", 30702}};

static int write_text(const char *path, const char *text, accsim_error *err)
{
    accsim_outfile f;
    if (accsim_outfile_open(&f, path, err) != 0)
        return -1;
    fputs(text, f.fp);
    return accsim_outfile_commit(&f, err);
}

/* "B1,B2,..." for the network's MAC layers. */
static const char *bits_str(const int *bits, int layers, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int l = 0; l < layers && at + 16 < n; l++)
        at += (size_t)snprintf(buf + at, n - at, "%s%d", l ? "," : "", bits[l]);
    if (layers > 0 && at + 16 >= n)
        snprintf(buf + at, n - at, ",...");
    return buf;
}

static void uniform(int *bits, int w)
{
    for (int l = 0; l < ACCSIM_MAX_LAYERS; l++)
        bits[l] = w;
}

/* "NAME1 LO-HI, NAME2 LO-HI, ..." */
static void cat_ranges(an_str *b, const accsim_network *net, const int *lo, const int *hi, int add)
{
    for (int l = 0; l < net->mac_count; l++)
        an_cat(b, "%s%s %d-%d", l ? ", " : "", an_layer_name(net, l), lo[l] + add, hi[l]);
}

/* "v1, v2, ..." */
static void cat_ints(an_str *b, const int *v, int n)
{
    for (int l = 0; l < n; l++)
        an_cat(b, "%s%d", l ? ", " : "", v[l]);
}

/* "conv1..fc3": the first and last MAC layer's names. */
static const char *study_layer_span(const accsim_network *net, char *buf, size_t n)
{
    if (net->mac_count == 0)
        snprintf(buf, n, "no layers");
    else if (net->mac_count == 1)
        snprintf(buf, n, "%s", an_layer_name(net, 0));
    else
        snprintf(buf, n, "%s..%s", an_layer_name(net, 0), an_layer_name(net, net->mac_count - 1));
    return buf;
}

/* Approach C's account when the scalable method ran (search_scalable.c):
 * what it searched, the certified lower bound and the gap. */
static void write_scalable_text(FILE *md, const accsim_network *net,
                                const accsim_search_result *r, const table *path,
                                const char *split)
{
    const int L = net->mac_count;
    an_str fl = {0}, mins = {0};
    cat_ranges(&fl, net, r->floor, r->safe, 0);
    for (int l = 0; l < L; l++)
        an_cat(&mins, "%s%s %d", l ? ", " : "", an_layer_name(net, l), r->single_min[l]);
    double gap = r->energy ? 100.0 * (double)(r->energy - r->lower_bound) / (double)r->energy : 0;
    fprintf(md, "Method: with %d MAC layers the box of the exact search is too large to enumerate, so "
                "the scalable search ran; every accuracy in it is exact (re-runs of the images a "
                "setting changes, from the first layer where they change). It first found, per layer "
                "with the others at 32 bits, the smallest width from which every wider one meets the "
                "target (%s; their energy, %" PRIu64 ", is an estimate, not a bound: accuracy is not "
                "monotone in the widths, so a narrower layer can be made up for by another); from "
                "there it widened every layer by one more bit at a time until the target was met, "
                "then narrowed one layer (or one layer while widening another) as long as the "
                "energy fell and the target held: %zu exact evaluations%s.\n\n",
            L, mins.s, r->single_min_energy, r->evaluations,
            r->descent_stopped ? " (the descent stopped at its budget of evaluations)" : "");
    if (r->proved)
        fprintf(md, "Proof: every setting of %s (per layer: above the widths at which a layer every "
                    "path passes through makes every image's prediction the same; up to the width at "
                    "which no input can make a partial sum overflow, wider ones computing the same at "
                    "more energy) that is cheaper than the answer was decided exactly in increasing "
                    "energy (%zu settings) and misses the target: the answer is the least energy over "
                    "all settings.\n\n",
                fl.s, r->bound_settings);
    else
        fprintf(md, "Certified lower bound: no setting of 2..32 per layer that meets the target costs "
                    "less than **%" PRIu64 "**; the answer is within **%.2f %%** of the optimum "
                    "(gap %" PRIu64 "). Why: per layer, widths at or below a floor make every image's "
                    "prediction the same (for a layer every path passes through, every accumulator value "
                    "requantizes to one output per channel), and widths above the safe width compute the "
                    "same bits at more energy (%s, floor-safe); the %zu cheapest settings between were "
                    "each decided exactly, in increasing energy, and miss the target%s. The bound is "
                    "the energy of the cheapest setting not decided. It is weak where few layers can "
                    "collapse: each setting between it and the answer needs exact runs.\n\n",
                r->lower_bound, gap, r->energy - r->lower_bound, fl.s, r->bound_settings,
                r->bound_exhausted ? " (then the bound's image budget was spent)" : "");
    an_str_free(&fl);
    an_str_free(&mins);
    fprintf(md, "![accepted settings](pareto.png)\n\n");
    table_markdown(path, md);
    fprintf(md, "\nThe settings the search accepted, in order (%s): the widths it started from, "
                "each widening, then each narrowing; the last is the answer.\n", split);
}

int cmd_study(const cli_options *opts)
{
    accsim_error err;
    const char *out = opts->out_dir ? opts->out_dir : "study";
    double t_start = accsim_now();
    /* The report is written into a temporary sibling of OUT and renamed into
     * place when complete; OUT is checked here, before any work. */
    accsim_reportdir rd;
    if (accsim_reportdir_begin(&rd, out, &err) != 0)
        return cli_error(&err);
    const char *dir = rd.tmp;
    an_session s;
    double t0 = accsim_now();
    if (an_open(opts, ACCSIM_SPLIT_BOTH, &s, &err) != 0) {
        accsim_reportdir_abort(&rd);
        return cli_error(&err);
    }
    double t_baseline = accsim_now() - t0;
    int rc = 0;
    const int from = opts->bits_from, to = opts->bits_to < opts->bits_from ? opts->bits_to : opts->bits_from;
    const int nsweep = from - to + 1;
    double tol_b = opts->tolerance_given ? opts->tolerance : 1.0;
    const accsim_network *net = s.ctx.net;
    const int L = net->mac_count;
    accsim_layer_hist *hist[2] = {calloc((size_t)(L ? L : 1), sizeof(accsim_layer_hist)),
                                  calloc((size_t)(L ? L : 1), sizeof(accsim_layer_hist))};
    if (!hist[0] || !hist[1]) {
        accsim_fail(&err, "out of memory");
        rc = -1;
    }
    accsim_hist_ranges ranges;
    accsim_eval *sweep[2] = {NULL, NULL};
    accsim_minwidth_result *mw0[2] = {NULL, NULL}, *mw1[2] = {NULL, NULL};
    accsim_search_result search;
    memset(&search, 0, sizeof search);
    double t_hist = 0, t_sweep = 0, t_minwidth = 0, t_search = 0, t_check = 0, t_report = 0;
    FILE *md = NULL;
    char *mdbuf = NULL;
    size_t mdlen = 0;
    table t_sw, t_mw, t_en, t_rg, t_ck, t_pa, t_hb, t_bd;
    int tables_made = 0;

    /* Histograms: bins shared by the splits so they overlay. */
    t0 = accsim_now();
    const accsim_baseline *bases[2] = {&s.base[0], &s.base[1]};
    accsim_hist_ranges_for(bases, s.nsets, &ranges);
    for (int k = 0; k < s.nsets && rc == 0; k++)
        if (accsim_hist_run(s.ctx.engine, net, &s.set[k], opts->overflow, &ranges, opts->psum,
                            opts->quiet, hist[k], &err) != 0)
            rc = -1;
    t_hist = accsim_now() - t0;

    /* Approach A: the sweep. */
    t0 = accsim_now();
    for (int k = 0; k < s.nsets && rc == 0; k++) {
        sweep[k] = calloc((size_t)nsweep, sizeof(accsim_eval));
        if (!sweep[k] || accsim_sweep(&s.base[k], from, to, sweep[k], &err) != 0)
            rc = -1;
    }
    t_sweep = accsim_now() - t0;

    /* Approach B (tolerance tol_b) and A's answer (tolerance 0), exact over 2..32. */
    t0 = accsim_now();
    for (int k = 0; k < s.nsets && rc == 0; k++) {
        accsim_eval known[31];
        memset(known, 0, sizeof known);
        for (int w = from; w >= to; w--)
            known[32 - w] = sweep[k][from - w];
        mw1[k] = calloc(1, sizeof *mw1[k]);
        mw0[k] = calloc(1, sizeof *mw0[k]);
        if (!mw1[k] || !mw0[k] || accsim_minwidth(&s.base[k], tol_b, known, mw1[k], &err) != 0 ||
            accsim_minwidth(&s.base[k], 0.0, mw1[k]->rows, mw0[k], &err) != 0)
            rc = -1;
    }
    t_minwidth = accsim_now() - t0;

    /* Approach C on the test split (the course chose on the test set). */
    t0 = accsim_now();
    const int sel = 0;
    accsim_search_options so;
    accsim_search_options_default(&so);
    so.tolerance = 0.0;
    an_search_options(opts, &so);
    /* The search enumerates its box: on a network whose box is too large (or
     * whose MAC layers are not listed in execution order) it cannot run, and
     * the report says why instead of failing. The course model never gets
     * here. */
    char search_skipped[sizeof err.message] = "";
    if (rc == 0 && accsim_search(&s.base[sel], &so, &search, &err) != 0) {
        if (net->course) {
            rc = -1;
        } else {
            snprintf(search_skipped, sizeof search_skipped, "%s", err.message);
            accsim_search_result_free(&search);
            memset(&search, 0, sizeof search);
            uniform(search.bits, 32);
            search.layers = L;
            if (!opts->quiet)
                fprintf(stderr, "accsim: study: approach C skipped: %s\n", search_skipped);
        }
    }
    t_search = accsim_now() - t0;

    /* The chosen settings, on every split. */
    enum { S_BASE, S_A, S_B, S_C, S_N };
    const char *sname[S_N] = {"baseline (32 bits)", "A: smallest common B, no loss",
                              "B: smallest common B within tolerance", "C: per-layer search"};
    const char *skey[S_N] = {"baseline", "A", "B", "C"};
    int sbits[S_N][ACCSIM_MAX_LAYERS];
    accsim_eval seval[S_N][2];
    memset(seval, 0, sizeof seval);
    t0 = accsim_now();
    if (rc == 0) {
        uniform(sbits[S_BASE], 32);
        uniform(sbits[S_A], mw0[sel]->answer ? mw0[sel]->answer : 32);
        uniform(sbits[S_B], mw1[sel]->answer ? mw1[sel]->answer : 32);
        memcpy(sbits[S_C], search.bits, sizeof search.bits);
        /* A's and B's common widths were evaluated exactly by minwidth on
         * every split: reuse those rows rather than re-run the images. */
        for (int c = 0; c < S_N && rc == 0; c++)
            for (int k = 0; k < s.nsets && rc == 0; k++) {
                const accsim_eval *row = NULL;
                if (c == S_A || c == S_B)
                    row = &(c == S_A ? mw0[k] : mw1[k])->rows[32 - sbits[c][0]];
                if (row && row->images && !row->bounded)
                    seval[c][k] = *row;
                else if (accsim_evaluate(&s.base[k], sbits[c], &seval[c][k], NULL, &err) != 0)
                    rc = -1;
            }
    }

    /* Check images: outputs and per-layer saturation at each setting. */
    if (rc == 0) {
        an_str cols = {0};
        an_cat(&cols, "setting,bits,split,index,label,prediction,correct,outputs");
        an_cat_layers(&cols, net, "sat_");
        an_cat(&cols, ",overflows");
        table_init(&t_ck, "check_images",
                   "Check images: outputs and per-layer saturation events at each setting", cols.s);
        an_str_free(&cols);
        tables_made = 1;
        for (int c = 0; c < S_N && rc == 0; c++) {
            for (size_t j = 0; j < sizeof check_images / sizeof check_images[0] && rc == 0; j++) {
                const check_image *ci = &check_images[j];
                bool present = false;
                for (int k = 0; k < s.nsets; k++)
                    present = present || strcmp(s.set[k].name, ci->split) == 0;
                uint32_t idx = an_engine_index(&s, ci->split, ci->index);
                if (!present || idx >= s.ctx.data.count)
                    continue;
                accsim_config cfg;
                accsim_config_default(&cfg);
                memcpy(cfg.bits, sbits[c], sizeof cfg.bits);
                cfg.overflow = opts->overflow;
                accsim_result res;
                if (accsim_result_init(&res, net, 1, &cfg, &err) != 0 ||
                    s.ctx.engine->ops->run(s.ctx.engine, &cfg, &idx, 1, &res, NULL, &err) != 0) {
                    rc = -1;
                    break;
                }
                char b[512];
                an_str row = {0};
                uint32_t *sat = res.saturations;
                uint32_t label = s.ctx.data.labels[idx];
                an_cat(&row, "%s|%s|%s|%" PRIu32 "|%" PRIu32 "|%" PRIu32 "|%s|", skey[c],
                       bits_str(sbits[c], L, b, sizeof b), ci->split, ci->index, label,
                       res.predictions[0], res.predictions[0] == label ? "yes" : "no");
                for (size_t o = 0; o < res.output_count; o++)
                    an_cat(&row, "%s%d", o ? " " : "", res.outputs[o]);
                uint64_t any = 0;
                for (int l = 0; l < L; l++) {
                    an_cat(&row, "|%u", sat[l]);
                    any += sat[l];
                }
                an_cat(&row, "|%s", any ? "yes" : "no");
                table_row(&t_ck, "%s", row.s);
                an_str_free(&row);
                accsim_result_free(&res);
            }
        }
    }
    t_check = accsim_now() - t0;

    if (rc != 0) {
        rc = cli_error(&err);
        goto done;
    }

    t0 = accsim_now();
    /* The scalable search has no front: the settings it accepted stand in
     * its place in the tables and the plot. */
    const bool scalable = search.method == ACCSIM_SEARCH_SCALABLE;
    const accsim_pareto_point *points = scalable ? search.path : search.pareto;
    const size_t npoints = scalable ? search.path_count : search.pareto_count;
    /* Tables. */
    an_sweep_init(&t_sw, net, "sweep",
                  "Approach A: one common width B (exact; unchanged images are the baseline's bits)");
    for (int k = 0; k < s.nsets; k++)
        for (int i = 0; i < nsweep; i++) {
            an_sweep_row(&t_sw, s.set[k].name, &s.base[k], &sweep[k][i]);
        }
    table_init(&t_mw, "minwidth",
               "Approaches A and B: smallest common width meeting the target, per split",
               "split,tolerance_pp,baseline_accuracy,target_correct,smallest_B,accuracy_at_B,"
               "energy_at_B,all_widths_from");
    for (int k = 0; k < s.nsets; k++)
        for (int v = 0; v < 2; v++) {
            const accsim_minwidth_result *m = v ? mw1[k] : mw0[k];
            const accsim_eval *row = m->answer ? &m->rows[32 - m->answer] : NULL;
            table_row(&t_mw, "%s|%.2f|%.2f|%zu|%d|%.2f|%" PRIu64 "|%d", s.set[k].name, v ? tol_b : 0.0,
                      s.base[k].summary.accuracy, m->target_correct, m->answer,
                      row ? row->accuracy : 0.0, row ? row->energy : 0, m->monotone_from);
        }
    {
        an_str cols = {0};
        an_cat(&cols, "setting,description");
        an_cat_layers(&cols, net, "");
        an_cat(&cols, ",energy,energy_vs_32bit_pct,test_accuracy,train_accuracy,test_correct,"
                      "train_correct");
        table_init(&t_en, "energy", "Energy (SPEC 8) of the chosen settings, widths chosen on test",
                   cols.s);
        an_str_free(&cols);
    }
    for (int c = 0; c < S_N; c++) {
        int ti = -1, tr = -1;
        for (int k = 0; k < s.nsets; k++) {
            if (strcmp(s.set[k].name, "test") == 0)
                ti = k;
            if (strcmp(s.set[k].name, "train") == 0)
                tr = k;
        }
        uint64_t e = accsim_network_energy(net, sbits[c]),
                 e32 = accsim_network_energy(net, sbits[S_BASE]);
        char ta[32] = "", tra[32] = "", tc[32] = "", trc[32] = "";
        if (ti >= 0)
            snprintf(ta, sizeof ta, "%.2f", seval[c][ti].accuracy),
                snprintf(tc, sizeof tc, "%zu", seval[c][ti].correct);
        if (tr >= 0)
            snprintf(tra, sizeof tra, "%.2f", seval[c][tr].accuracy),
                snprintf(trc, sizeof trc, "%zu", seval[c][tr].correct);
        an_str row = {0};
        an_cat(&row, "%s|%s%s", skey[c], sname[c],
               c == S_C && search_skipped[0] ? " (not run: widths 32)" : "");
        for (int l = 0; l < L; l++)
            an_cat(&row, "|%d", sbits[c][l]);
        an_cat(&row, "|%" PRIu64 "|%.1f|%s|%s|%s|%s", e, 100.0 * (double)e / (double)e32, ta, tra,
               tc, trc);
        table_row(&t_en, "%s", row.s);
        an_str_free(&row);
    }
    table_init(&t_rg, "ranges", "Per-layer ranges at 32 bits, test vs train",
               "layer,split,output_min,output_max,psum_min,psum_max,peak,bits_needed,"
               "fewest_bits_any_image,saturations_at_32");
    for (int l = 0; l < L; l++)
        for (int k = 0; k < s.nsets; k++) {
            const accsim_layer_summary *ls = &s.base[k].summary.layers[l];
            table_row(&t_rg, "%s|%s|%d|%d|%d|%d|%" PRId64 "|%d|%d|%" PRIu64, an_layer_name(net, l),
                      s.set[k].name, ls->min, ls->max, ls->psum_min, ls->psum_max, ls->peak,
                      ls->bits_needed, s.base[k].need_min[l], ls->saturations);
        }
    {
        an_str cols = {0};
        an_cat(&cols, "%s", net->mac_count ? an_layer_name(net, 0) : "");
        for (int l = 1; l < L; l++)
            an_cat(&cols, ",%s", an_layer_name(net, l));
        an_cat(&cols, ",energy,correct,accuracy");
        if (scalable)
            table_init(&t_pa, "search_path", "Settings the scalable search accepted, in order (test)",
                       cols.s);
        else
            table_init(&t_pa, "pareto", "Energy-accuracy Pareto front over the search box (test)",
                       cols.s);
        an_str_free(&cols);
    }
    for (size_t p = 0; p < npoints; p++) {
        const accsim_pareto_point *q = &points[p];
        an_str row = {0};
        for (int l = 0; l < L; l++)
            an_cat(&row, "%s%d", l ? "|" : "", q->bits[l]);
        an_cat(&row, "|%" PRIu64 "|%zu|%.2f", q->energy, q->correct, q->accuracy);
        table_row(&t_pa, "%s", row.s);
        an_str_free(&row);
    }
    {
        an_str cols = {0};
        an_cat(&cols, "split,bits");
        an_cat_layers(&cols, net, "");
        an_cat(&cols, ",all_layers");
        table_init(&t_hb, "hist_bits", "Peak bits needed per output (per layer and all layers), counts",
                   cols.s);
        an_str_free(&cols);
    }
    for (int k = 0; k < s.nsets; k++)
        for (int b = 1; b < ACCSIM_BITS_BINS; b++) {
            uint64_t all = 0;
            for (int l = 0; l < L; l++)
                all += hist[k][l].peak_bits[b];
            if (!all)
                continue;
            an_str row = {0};
            an_cat(&row, "%s|%d", s.set[k].name, b);
            for (int l = 0; l < L; l++)
                an_cat(&row, "|%" PRIu64, hist[k][l].peak_bits[b]);
            an_cat(&row, "|%" PRIu64, all);
            table_row(&t_hb, "%s", row.s);
            an_str_free(&row);
        }
    an_study_bounds_table(&t_bd, &s, sbits[S_C]);
    tables_made = 2;
    table *all_tables[] = {&t_ck, &t_sw, &t_mw, &t_en, &t_rg, &t_pa, &t_hb, &t_bd};
    for (size_t i = 0; i < sizeof all_tables / sizeof all_tables[0] && rc == 0; i++)
        if (table_write_both(all_tables[i], dir, &err) != 0)
            rc = -1;
    for (int k = 0; k < s.nsets && rc == 0; k++)
        if (sp_write_hist_data(dir, net, s.set[k].name, hist[k], &ranges, opts->psum, &err) != 0)
            rc = -1;

    /* Plot data and scripts. */
    if (rc == 0) {
        char path[1200];
        accsim_outfile f;
        snprintf(path, sizeof path, "%s/sweep.dat", dir);
        if (accsim_outfile_open(&f, path, &err) != 0) {
            rc = -1;
        } else {
            fprintf(f.fp, "# bits energy then per split accuracy\n");
            for (int i = 0; i < nsweep; i++) {
                fprintf(f.fp, "%d %" PRIu64, sweep[0][i].bits[0], sweep[0][i].energy);
                for (int k = 0; k < s.nsets; k++)
                    fprintf(f.fp, " %.4f", sweep[k][i].accuracy);
                fprintf(f.fp, "\n");
            }
            rc = accsim_outfile_commit(&f, &err);
        }
        snprintf(path, sizeof path, "%s/pareto.dat", dir);
        if (rc == 0 && accsim_outfile_open(&f, path, &err) == 0) {
            fprintf(f.fp, "# energy accuracy label\n");
            for (size_t p = 0; p < npoints; p++) {
                char pb[512];
                fprintf(f.fp, "%" PRIu64 " %.4f \"%s\"\n", points[p].energy, points[p].accuracy,
                        bits_str(points[p].bits, L, pb, sizeof pb));
            }
            fprintf(f.fp, "\n\n# chosen settings: energy test_accuracy label\n");
            for (int c = 0; c < S_N; c++) {
                bool seen = false;
                for (int d = 0; d < c; d++)
                    seen = seen || memcmp(sbits[c], sbits[d], sizeof sbits[c]) == 0;
                if (seen)
                    continue;
                char lab[64] = "";
                for (int d = c; d < S_N; d++)
                    if (memcmp(sbits[c], sbits[d], sizeof sbits[c]) == 0)
                        snprintf(lab + strlen(lab), sizeof lab - strlen(lab), "%s%s", lab[0] ? " = " : "", skey[d]);
                fprintf(f.fp, "%" PRIu64 " %.4f \"%s\"\n", accsim_network_energy(net, sbits[c]),
                        seval[c][sel].accuracy, lab);
            }
            rc = accsim_outfile_commit(&f, &err);
        } else if (rc == 0) {
            rc = -1;
        }
        snprintf(path, sizeof path, "%s/plots.gp", dir);
        if (rc == 0 && accsim_outfile_open(&f, path, &err) == 0) {
            FILE *g = f.fp;
            fprintf(g, "# Draws the study's plots: gnuplot plots.gp (in this directory)\n");
            sp_hists hs = {&s, {hist[0], hist[1]}, &ranges, opts->psum};
            sp_hist_plots(g, &hs, SP_STUDY_FIGURES);
            sp_sweep_plot(g, &s, from, to);
            uint64_t lowest = accsim_network_energy(net, sbits[S_C]);
            for (size_t p = 0; p < npoints; p++)
                lowest = points[p].energy < lowest ? points[p].energy : lowest;
            sp_pareto_plot(g, s.base[sel].summary.accuracy,
                           npoints && !scalable ? points[0].energy : lowest,
                           accsim_network_energy(net, sbits[S_BASE]), scalable);
            rc = accsim_outfile_commit(&f, &err);
        } else if (rc == 0) {
            rc = -1;
        }
    }
    bool plotted = false;
    if (rc == 0 && plot_draw(dir, "plots.gp", &plotted, &err) != 0)
        rc = -1;
    t_report = accsim_now() - t0;

    /* summary.md */
    if (rc == 0) {
        md = open_memstream(&mdbuf, &mdlen);
        char b[512];
        fprintf(md, "# Accumulator-width study\n\n");
        fprintf(md, "- model: `%s`\n- data: `%s`\n- engine: %s\n- overflow: %s\n", net->dir,
                s.ctx.data.dir, s.ctx.engine->description, opts->overflow == ACCSIM_WRAP ? "wrap" : "saturate");
        for (int k = 0; k < s.nsets; k++)
            fprintf(md, "- %s: %zu images, baseline (32 bits) accuracy %.2f %% (%zu correct)\n", s.set[k].name,
                    s.set[k].count, s.base[k].summary.accuracy, s.base[k].summary.correct);
        fprintf(md, "- widths are chosen on the **%s** split%s; the other split's accuracy at "
                    "the same widths is reported beside it.\n\n", s.set[sel].name,
                net->course ? " (as the course did)" : "");
        fprintf(md, "Every number is exact: at a width setting, an image whose per-layer peak fits every "
                    "layer's width computes the 32-bit bits (SPEC 7), so only the other images are re-run, "
                    "each from its first affected layer.\n\n");
        fprintf(md, "## Check images\n\n%s. `overflows` says whether any layer saturated.\n\n", t_ck.title);
        table_markdown(&t_ck, md);
        fprintf(md, "\n## Approach A: one common width\n\n![accuracy and energy against width](sweep.png)\n\n");
        table_markdown(&t_sw, md);
        fprintf(md, "\n`sat_*`: saturation events per layer; `imgsat_*`: images with at least one event in "
                    "that layer; `images_rerun`: images that differ from the baseline somewhere.\n");
        fprintf(md, "\n## Approaches A and B: smallest common width\n\n");
        table_markdown(&t_mw, md);
        fprintf(md, "\nEvery width from 32 down to 2 was decided exactly: simulated, or (below the widths "
                    "listed in minwidth.json) ruled out by the collapse bound: a layer whose largest "
                    "accumulator value requantizes to 0 makes every image's prediction the same, so at most "
                    "the most frequent label's share can be right. `all_widths_from`: the smallest B from "
                    "which every wider common width also meets the target (accuracy need not be monotone in B).\n");
        fprintf(md, "\n## Approach C: per-layer widths (tolerance 0 on %s)\n\n", s.set[sel].name);
        an_str txt = {0};
        if (search_skipped[0]) {
            fprintf(md, "Not run on this network: %s. The energy table lists C at 32 bits.\n\n",
                    search_skipped);
        } else if (!search.found) {
            fprintf(md, "Answer: none: no setting of the search box meets the target (%zu correct).\n\n",
                    search.target_correct);
        } else {
            fprintf(md, "Answer: **%s** bits, energy %" PRIu64 ", %s accuracy %.2f %% (%zu correct; target >= %zu).\n\n",
                    bits_str(search.bits, L, b, sizeof b), search.energy, s.set[sel].name, search.accuracy,
                    search.correct, search.target_correct);
        }
        if (scalable) {
            write_scalable_text(md, net, &search, &t_pa, s.set[sel].name);
        } else {
            cat_ranges(&txt, net, search.lo, search.hi, 0);
            if (!search_skipped[0])
            fprintf(md, "Proof: the search box was %s "
                        "(%zu settings; per layer up to the largest need of any image, lower edges widened while "
                        "the answer sat on one). Settings were taken in increasing energy; each cheaper setting was "
                        "shown to miss the target exactly (%zu of %zu visited were decided by exact bounds, the rest "
                        "by re-running the changed images through a cache of %zu prefix runs). No monotonicity of "
                        "accuracy in the widths is assumed.\n\n",
                    txt.s, search.box_settings,
                    search.decided_by_bounds, search.settings_visited, search.nodes_run);
            an_str_free(&txt);
            an_str safe_t = {0}, coll_t = {0};
            cat_ints(&safe_t, search.safe, L);
            cat_ints(&coll_t, search.collapse, L);
            char names[512];
            if (search_skipped[0])
                ;
            else if (search.proved)
                fprintf(md, "Beyond the box, over all of 2..32 per layer: from the weights, no input can make "
                            "a partial sum need more than %s bits (%s), so wider "
                            "settings compute the same and cost more; at or below %s bits a "
                            "layer's largest value requantizes to 0 and every image gets one prediction (at most "
                            "the largest class, below the target; 0: never). The %zu settings between those "
                            "limits, outside the box and cheaper than the answer, were decided (%zu by exact bounds; "
                            "most of the others on the first images alone, which they miss by more than the "
                            "images not run could make up), except those with a layer wider than every image's "
                            "need at that layer given the layers before, among the images that decided them: a "
                            "cheaper setting computes exactly the same there. None meets the target: the answer "
                            "is the least energy over all settings.\n\n",
                        safe_t.s, study_layer_span(net, names, sizeof names), coll_t.s,
                        search.proof_settings, search.proof_by_bounds);
            else
                fprintf(md, "Settings outside the box were not searched (the proof beyond the box was "
                            "switched off): the answer is the least energy within the box.\n\n");
            an_str_free(&safe_t);
            an_str_free(&coll_t);
            fprintf(md, "![Pareto front](pareto.png)\n\n");
            table_markdown(&t_pa, md);
            fprintf(md, "\nThe front is the staircase of all %zu settings of the box in energy order: a setting is "
                        "on it when it is more accurate than every cheaper one.\n", search.box_settings);
        }
        an_str_free(&txt);
        fprintf(md, "\n## Energy of A, B and C\n\n");
        table_markdown(&t_en, md);
        fprintf(md, "\n## Ranges per layer: test vs train\n\n");
        table_markdown(&t_rg, md);
        fprintf(md, "\n## Data-free bounds beside the need\n\n%s.\n\n", t_bd.title);
        table_markdown(&t_bd, md);
        fprintf(md, "\n`needed_*`: the width holding every partial sum of the split at 32 bits (the "
                    "exact need on the data); `search_C`: Approach C's width; from the weights alone, "
                    "for any input of the layer's input range (`input_min`..`input_max`): `safe`, "
                    "accsim's exact worst case (no partial sum, in any order, bias included, can need "
                    "more); `a2q`, Brevitas A2Q's L1-norm bound (calculate_min_accumulator_bit_width, "
                    "with `max_l1` the largest L1 norm of an output channel's weights); "
                    "`a2q_datatype`, A2Q's data-type bound (from the reduction size alone); `finn`, "
                    "FINN's MinimizeAccumulatorWidth range. Also in bounds.csv.\n");
        fprintf(md, "\n`bits_needed`: width holding every partial sum of the split; `fewest_bits_any_image`: the "
                    "smallest per-image need (below it every image saturates in that layer).\n");
        fprintf(md, "\n## Distributions\n\n![peak bits](hist_peak_bits.png)\n\n![layer outputs](hist_outputs.png)\n\n"
                    "![layer outputs, log](hist_outputs_log.png)\n\n![peaks, log](hist_peaks_log.png)\n\n");
        if (opts->psum)
            fprintf(md, "![every partial sum, log](hist_psums_log.png)\n\n");
        table_markdown(&t_hb, md);
        fprintf(md, "\n## Timing\n\n| phase | seconds |\n|---|---|\n| load + baselines | %.2f |\n| histograms | %.2f |\n"
                    "| sweep (A) | %.2f |\n| minwidth (A, B) | %.2f |\n| search (C) + Pareto | %.2f |\n"
                    "| chosen settings + check images | %.2f |\n| tables + plots | %.2f |\n| **total** | %.2f |\n",
                t_baseline, t_hist, t_sweep, t_minwidth, t_search, t_check, t_report, accsim_now() - t_start);
        if (!plotted)
            fprintf(md, "\n(Plots were not drawn: gnuplot was not found. Run `gnuplot plots.gp` here.)\n");
        fclose(md);
        char path[1200];
        snprintf(path, sizeof path, "%s/summary.md", dir);
        if (write_text(path, mdbuf, &err) != 0)
            rc = -1;
        free(mdbuf);
        json_object *tm = json_object_new_object();
        json_object_object_add(tm, "engine", json_object_new_string(s.ctx.engine->description));
        json_object_object_add(tm, "load_and_baselines", json_object_new_double(t_baseline));
        json_object_object_add(tm, "histograms", json_object_new_double(t_hist));
        json_object_object_add(tm, "sweep", json_object_new_double(t_sweep));
        json_object_object_add(tm, "minwidth", json_object_new_double(t_minwidth));
        json_object_object_add(tm, "search", json_object_new_double(t_search));
        json_object_object_add(tm, "check", json_object_new_double(t_check));
        json_object_object_add(tm, "report", json_object_new_double(t_report));
        json_object_object_add(tm, "total", json_object_new_double(accsim_now() - t_start));
        snprintf(path, sizeof path, "%s/timing.json", dir);
        if (rc == 0 && json_write_file(tm, path, &err) != 0)
            rc = -1;
        json_object_put(tm);
    }
    if (rc == 0 && accsim_reportdir_commit(&rd, &err) != 0)
        rc = -1;
    if (rc != 0)
        rc = cli_error(&err);
    else if (!opts->quiet)
        fprintf(stderr, "accsim: study written to %s/summary.md in %.1f s\n", out, accsim_now() - t_start);
done:
    accsim_reportdir_abort(&rd); /* nothing left to do after a commit */
    if (tables_made >= 1)
        table_free(&t_ck);
    if (tables_made >= 2) {
        table_free(&t_sw), table_free(&t_mw), table_free(&t_en), table_free(&t_rg);
        table_free(&t_pa), table_free(&t_hb), table_free(&t_bd);
    }
    for (int k = 0; k < 2; k++) {
        free(sweep[k]);
        free(mw0[k]);
        free(mw1[k]);
    }
    accsim_search_result_free(&search);
    free(hist[0]), free(hist[1]);
    an_close(&s);
    return rc;
}
