/* accsim hist: distributions at 32 bits of layer outputs and peaks (and, with
 * --psum, of every partial sum), per layer and all layers together, for test,
 * train or both; min, max and bits needed per layer. With --out DIR every
 * histogram is written as CSV and JSON, and plotted as accsim study does. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/fileio.h"
#include "analysis/plot.h"
#include "analysis/table.h"
#include "cli/analysis_cli.h"
#include "cli/study_plots.h"

/* DIR/plots.gp and its data files, then the PNGs when gnuplot is there. */
static int write_plots(const char *dir, const sp_hists *hs, accsim_error *err)
{
    for (int k = 0; k < hs->s->nsets; k++)
        if (sp_write_hist_data(dir, hs->s->ctx.net, hs->s->set[k].name, hs->hist[k], hs->ranges, hs->psum, err) != 0)
            return -1;
    char path[1200];
    snprintf(path, sizeof path, "%s/plots.gp", dir);
    accsim_outfile f;
    if (accsim_outfile_open(&f, path, err) != 0)
        return -1;
    fprintf(f.fp, "# Draws the histograms: gnuplot plots.gp (in this directory)\n");
    sp_hist_plots(f.fp, hs, SP_ALL_FIGURES);
    if (accsim_outfile_commit(&f, err) != 0)
        return -1;
    bool drawn;
    return plot_draw(dir, "plots.gp", &drawn, err);
}

int cmd_hist(const cli_options *opts)
{
    accsim_error err;
    /* --out DIR: checked before the work, written into a temporary sibling
     * and renamed into place whole. */
    accsim_reportdir rd;
    memset(&rd, 0, sizeof rd);
    rd.slot = -1;
    if (opts->out_dir && accsim_reportdir_begin(&rd, opts->out_dir, &err) != 0)
        return cli_error(&err);
    an_session s;
    if (an_open(opts, ACCSIM_SPLIT_TEST, &s, &err) != 0) {
        accsim_reportdir_abort(&rd);
        return cli_error(&err);
    }
    int rc = 0;
    accsim_hist_ranges ranges;
    const accsim_baseline *bases[2] = {&s.base[0], &s.base[1]};
    accsim_hist_ranges_for(bases, s.nsets, &ranges);
    const accsim_network *net = s.ctx.net;
    const int L = net->mac_count;
    accsim_layer_hist *hist[2] = {calloc((size_t)(L ? L : 1), sizeof(accsim_layer_hist)),
                                  calloc((size_t)(L ? L : 1), sizeof(accsim_layer_hist))};
    if (!hist[0] || !hist[1]) {
        accsim_fail(&err, "out of memory");
        rc = cli_error(&err);
    }
    for (int k = 0; k < s.nsets && rc == 0; k++)
        if (accsim_hist_run(s.ctx.engine, net, &s.set[k], opts->overflow, &ranges, opts->psum,
                            opts->quiet, hist[k], &err) != 0)
            rc = cli_error(&err);
    table ranges_t, bits_t, lin_t;
    table_init(&ranges_t, "hist_ranges", "Per-layer ranges at 32 bits",
               "split,layer,output_min,output_max,psum_min,psum_max,peak,bits_needed");
    an_str cols = {0};
    an_cat(&cols, "split,kind,bits");
    an_cat_layers(&cols, net, "");
    an_cat(&cols, ",all_layers");
    table_init(&bits_t, "hist_bits", "Bits-needed histograms (counts), per layer and all layers",
               cols.s);
    an_str_free(&cols);
    table_init(&lin_t, "hist_linear", "Linear histograms: bin [lo, lo + width) (last bin: and above)",
               "split,kind,layer,bin,lo,width,count");
    for (int k = 0; k < s.nsets && rc == 0; k++) {
        const char *name = s.set[k].name;
        for (int l = 0; l < L; l++) {
            const accsim_layer_summary *ls = &s.base[k].summary.layers[l];
            table_row(&ranges_t, "%s|%s|%d|%d|%d|%d|%" PRId64 "|%d", name, an_layer_name(net, l),
                      ls->min, ls->max, ls->psum_min, ls->psum_max, ls->peak, ls->bits_needed);
        }
        const char *kinds[3] = {"output", "peak", "psum"};
        for (int kind = 0; kind < (opts->psum ? 3 : 2); kind++) {
            for (int b = 1; b < ACCSIM_BITS_BINS; b++) {
                uint64_t all = 0;
                an_str row = {0};
                an_cat(&row, "%s|%s|%d", name, kinds[kind], b);
                for (int l = 0; l < L; l++) {
                    uint64_t v = kind == 0 ? hist[k][l].out_bits[b] : kind == 1 ? hist[k][l].peak_bits[b]
                                                                                : hist[k][l].psum_bits[b];
                    an_cat(&row, "|%" PRIu64, v);
                    all += v;
                }
                an_cat(&row, "|%" PRIu64, all);
                table_row(&bits_t, "%s", row.s);
                an_str_free(&row);
            }
            for (int l = 0; l < L; l++) {
                const accsim_lin_range *r = kind == 0 ? &ranges.out[l] : kind == 1 ? &ranges.peak[l]
                                                                                   : &ranges.psum[l];
                const uint64_t *bins = kind == 0 ? hist[k][l].out_lin : kind == 1 ? hist[k][l].peak_lin
                                                                                  : hist[k][l].psum_lin;
                int64_t width = (int64_t)1 << r->shift;
                for (int b = 0; b < ACCSIM_LIN_BINS; b++)
                    table_row(&lin_t, "%s|%s|%s|%d|%" PRId64 "|%" PRId64 "|%" PRIu64, name, kinds[kind],
                              an_layer_name(net, l), b, (int64_t)r->lo + b * width, width, bins[b]);
            }
        }
    }
    if (rc == 0) {
        table_text(&ranges_t, stdout);
        printf("\npeak bits needed (count of outputs):\n");
        table t2;
        an_str c2 = {0};
        an_cat(&c2, "split,bits");
        an_cat_layers(&c2, net, "");
        an_cat(&c2, ",all_layers");
        table_init(&t2, "x", "", c2.s);
        an_str_free(&c2);
        int last = bits_t.ncols - 1;
        for (size_t r = 0; r < bits_t.nrows; r++) {
            char **c = bits_t.cells + r * (size_t)bits_t.ncols;
            if (strcmp(c[1], "peak") == 0 && strcmp(c[last], "0") != 0) {
                an_str row = {0};
                an_cat(&row, "%s|%s", c[0], c[2]);
                for (int col = 3; col <= last; col++)
                    an_cat(&row, "|%s", c[col]);
                table_row(&t2, "%s", row.s);
                an_str_free(&row);
            }
        }
        table_text(&t2, stdout);
        table_free(&t2);
        if (opts->out_dir) {
            sp_hists hs = {&s, {hist[0], hist[1]}, &ranges, opts->psum};
            if (table_write_both(&ranges_t, rd.tmp, &err) != 0 || table_write_both(&bits_t, rd.tmp, &err) != 0 ||
                table_write_both(&lin_t, rd.tmp, &err) != 0 || write_plots(rd.tmp, &hs, &err) != 0 ||
                accsim_reportdir_commit(&rd, &err) != 0)
                rc = cli_error(&err);
        }
        if (rc == 0 && opts->json_path) {
            json_object *root = json_object_new_object();
            json_object_object_add(root, "ranges", table_json(&ranges_t));
            json_object_object_add(root, "bits", table_json(&bits_t));
            json_object_object_add(root, "linear", table_json(&lin_t));
            if (json_write_file(root, opts->json_path, &err) != 0)
                rc = cli_error(&err);
            json_object_put(root);
        }
        if (rc == 0 && opts->csv_path && table_write_csv(&ranges_t, opts->csv_path, &err) != 0)
            rc = cli_error(&err);
    }
    table_free(&ranges_t), table_free(&bits_t), table_free(&lin_t);
    accsim_reportdir_abort(&rd); /* nothing left to do after a commit */
    free(hist[0]), free(hist[1]);
    an_close(&s);
    return rc;
}
