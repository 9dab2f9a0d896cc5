/* plots.gp for accsim study and accsim hist (see study_plots.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "accsim/fileio.h"
#include "cli/study_plots.h"

/* Histogram data: one file per split and kind, columns = layers. */
int sp_write_hist_data(const char *dir, const accsim_network *net, const char *split,
                       const accsim_layer_hist *h, const accsim_hist_ranges *r, bool psum,
                       accsim_error *err)
{
    const int L = net->mac_count;
    char path[1200];
    accsim_outfile f;
    /* bits-needed bins: bits, then per layer out, peak (and psum), as fractions and counts */
    snprintf(path, sizeof path, "%s/hist_bits_%s.dat", dir, split);
    if (accsim_outfile_open(&f, path, err) != 0)
        return -1;
    fprintf(f.fp, "# bits  then for %s..%s: output_count peak_count psum_count; then all layers\n",
            L ? an_layer_name(net, 0) : "", L ? an_layer_name(net, L - 1) : "");
    for (int b = 1; b < ACCSIM_BITS_BINS; b++) {
        fprintf(f.fp, "%d", b);
        uint64_t ao = 0, ap = 0, as = 0;
        for (int l = 0; l < L; l++) {
            fprintf(f.fp, " %" PRIu64 " %" PRIu64 " %" PRIu64, h[l].out_bits[b], h[l].peak_bits[b],
                    h[l].psum_bits[b]);
            ao += h[l].out_bits[b], ap += h[l].peak_bits[b], as += h[l].psum_bits[b];
        }
        fprintf(f.fp, " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", ao, ap, as);
    }
    if (accsim_outfile_commit(&f, err) != 0)
        return -1;
    const char *kinds[3] = {"out", "peak", "psum"};
    for (int k = 0; k < (psum ? 3 : 2); k++) {
        for (int l = 0; l < L; l++) {
            snprintf(path, sizeof path, "%s/hist_%s_%s_%s.dat", dir, kinds[k], an_layer_name(net, l),
                     split);
            if (accsim_outfile_open(&f, path, err) != 0)
                return -1;
            const accsim_lin_range *rg = k == 0 ? &r->out[l] : k == 1 ? &r->peak[l] : &r->psum[l];
            const uint64_t *bins = k == 0 ? h[l].out_lin : k == 1 ? h[l].peak_lin : h[l].psum_lin;
            uint64_t total = 0;
            for (int b = 0; b < ACCSIM_LIN_BINS; b++)
                total += bins[b];
            fprintf(f.fp, "# bin_center count fraction (bin width %.0f)\n", (double)((int64_t)1 << rg->shift));
            for (int b = 0; b < ACCSIM_LIN_BINS; b++) {
                double lo = (double)rg->lo + (double)b * (double)((int64_t)1 << rg->shift);
                double center = lo + 0.5 * (double)((int64_t)1 << rg->shift);
                fprintf(f.fp, "%.1f %" PRIu64 " %.9g\n", center, bins[b],
                        total ? (double)bins[b] / (double)total : 0.0);
            }
            if (accsim_outfile_commit(&f, err) != 0)
                return -1;
        }
    }
    return 0;
}

/* Every figure starts from gnuplot's defaults so that no setting leaks from
 * the figure before; enhanced text for the 10^{n} tick labels. */
static void gp_header(FILE *g, const char *png, int w, int h)
{
    fprintf(g, "reset\nset terminal pngcairo enhanced size %d,%d font 'Sans,10'\nset output '%s'\n", w, h,
            png);
    fprintf(g, "set grid\nset key top right\n");
}

/* Powers of ten on a log count axis (gnuplot's default prints 0.0000001 or 1x10^-9). */
static void gp_log_y(FILE *g)
{
    fprintf(g, "set logscale y\nset format y '10^{%%L}'\n");
}

/* A round tick step (1, 2 or 5 times a power of ten) giving at most about 7
 * ticks, so that long labels like -15000 do not run into each other. */
static double tick_step(double span)
{
    double raw = span / 7, step = 1;
    while (step * 10 <= raw)
        step *= 10;
    if (step < raw)
        step *= step * 2 >= raw ? 2 : step * 5 >= raw ? 5 : 10;
    return step;
}

/* " (test and train overlaid)", " (test)": which sets a figure shows. */
static const char *sets_note(const an_session *s, const char *both, char *buf, size_t n)
{
    if (s->nsets == 2)
        snprintf(buf, n, "%s and %s %s", s->set[0].name, s->set[1].name, both);
    else
        snprintf(buf, n, "%s split", s->set[0].name);
    return buf;
}

enum { K_OUT, K_PEAK, K_PSUM };

/* Figure height for rows of three panels: 900 px up to three rows, 300 a row
 * beyond, so that ten or twenty layers stay readable. */
static int panel_height(int rows)
{
    return rows <= 3 ? 900 : 300 * rows;
}

/* Bits-needed histograms, one panel per layer and one for all layers, the
 * sets' bars side by side (overlaid bars of equal height hide each other). */
static void gp_bits(FILE *g, const sp_hists *hs, int kind)
{
    static const char *png[3] = {"hist_output_bits.png", "hist_peak_bits.png", "hist_psum_bits.png"};
    static const char *what[3] = {"Bits needed by each layer output",
                                  "Bits needed by each output''s peak partial sum",
                                  "Bits needed by every partial sum"};
    static const char *xlabel[3] = {"bits needed to hold the final accumulator",
                                    "bits needed (width at which the output never saturates)",
                                    "bits needed to hold the partial sum"};
    const an_session *s = hs->s;
    const accsim_network *net = s->ctx.net;
    const int L = net->mac_count;
    char note[96];
    /* x range: the nonzero bins of every layer and set, so panels compare */
    int bmin = ACCSIM_BITS_BINS, bmax = 0;
    for (int k = 0; k < s->nsets; k++)
        for (int l = 0; l < L; l++)
            for (int b = 1; b < ACCSIM_BITS_BINS; b++) {
                const accsim_layer_hist *h = &hs->hist[k][l];
                uint64_t c = kind == K_OUT ? h->out_bits[b] : kind == K_PEAK ? h->peak_bits[b] : h->psum_bits[b];
                if (c) {
                    bmin = b < bmin ? b : bmin;
                    bmax = b > bmax ? b : bmax;
                }
            }
    if (bmax == 0)
        bmin = 1, bmax = 32;
    gp_header(g, png[kind], 1500, panel_height((L + 1 + 2) / 3));
    fprintf(g, "set multiplot layout %d,3 title '%s (32-bit run), %s'\n", (L + 1 + 2) / 3, what[kind],
            sets_note(s, "side by side", note, sizeof note));
    fprintf(g, "set style fill solid 0.6 noborder\nset xlabel '%s'\nset ylabel 'fraction of %s'\n"
               "set xrange [%.1f:%.1f]\nset xtics 1\nset yrange [0:*]\nset offsets 0,0,graph 0.12,0\n",
            xlabel[kind], kind == K_PSUM ? "partial sums" : "outputs", bmin - 0.7, bmax + 0.7);
    const double bw = s->nsets == 2 ? 0.4 : 0.8;
    for (int l = 0; l <= L; l++) {
        /* hist_bits_SPLIT.dat: column 1 bits, then out, peak, psum per layer */
        int col = 2 + 3 * l + kind;
        fprintf(g, "set title '%s'\nplot ", l < L ? an_layer_name(net, l) : "all layers together");
        for (int k = 0; k < s->nsets; k++) {
            double total = 0;
            for (int b = 0; b < ACCSIM_BITS_BINS; b++)
                for (int m = 0; m < L; m++)
                    if (l == L || m == l) {
                        const accsim_layer_hist *h = &hs->hist[k][m];
                        total += (double)(kind == K_OUT    ? h->out_bits[b]
                                          : kind == K_PEAK ? h->peak_bits[b]
                                                           : h->psum_bits[b]);
                    }
            double off = s->nsets == 2 ? (k ? 0.2 : -0.2) : 0.0;
            fprintf(g, "%s'hist_bits_%s.dat' using ($1%+.1f):($%d>0?$%d/%.0f:1/0):(%.1f) with boxes title '%s'",
                    k ? ", " : "", s->set[k].name, off, col, col, total > 0 ? total : 1, bw, s->set[k].name);
        }
        fprintf(g, "\n");
    }
    fprintf(g, "unset multiplot\n");
}

/* Per-layer histograms on a linear value axis, the sets overlaid. Boxes have
 * the bin width (gnuplot would stretch an isolated tail bin to its
 * neighbours) and the x range ends at the outermost nonzero bins (the bins
 * span a power of two, often far past the data). */
static void gp_lin(FILE *g, const sp_hists *hs, int kind, bool logy)
{
    static const char *file_kind[3] = {"out", "peak", "psum"};
    static const char *png[3][2] = {{"hist_outputs.png", "hist_outputs_log.png"},
                                    {"hist_peaks.png", "hist_peaks_log.png"},
                                    {"hist_psums.png", "hist_psums_log.png"}};
    static const char *what[3] = {"Layer outputs (final accumulator, before ReLU)", "Peak |partial sum| per output",
                                  "Every partial sum"};
    static const char *xlabel[3] = {"layer output value", "largest magnitude held by the output''s accumulators",
                                    "partial-sum value"};
    const an_session *s = hs->s;
    const accsim_network *net = s->ctx.net;
    const int L = net->mac_count;
    char note[96];
    gp_header(g, png[kind][logy], 1500, panel_height((L + 2) / 3));
    fprintf(g, "set multiplot layout %d,3 title '%s at 32 bits, %s%s'\n", (L + 2) / 3, what[kind],
            sets_note(s, "overlaid", note, sizeof note), logy ? " (log count axis)" : "");
    fprintf(g, "set style fill transparent solid 0.35 noborder\nset xlabel '%s'\n", xlabel[kind]);
    fprintf(g, "set ylabel 'fraction of values%s'\n", logy ? " (log)" : "");
    if (logy)
        gp_log_y(g);
    else
        fprintf(g, "set yrange [0:*]\nset offsets 0,0,graph 0.08,0\n");
    for (int l = 0; l < L; l++) {
        const accsim_lin_range *rg = kind == K_OUT    ? &hs->ranges->out[l]
                                     : kind == K_PEAK ? &hs->ranges->peak[l]
                                                      : &hs->ranges->psum[l];
        const double w = (double)((int64_t)1 << rg->shift);
        int bmin = ACCSIM_LIN_BINS, bmax = -1;
        for (int k = 0; k < s->nsets; k++) {
            const accsim_layer_hist *h = &hs->hist[k][l];
            const uint64_t *bins = kind == K_OUT ? h->out_lin : kind == K_PEAK ? h->peak_lin : h->psum_lin;
            for (int b = 0; b < ACCSIM_LIN_BINS; b++)
                if (bins[b]) {
                    bmin = b < bmin ? b : bmin;
                    bmax = b > bmax ? b : bmax;
                }
        }
        if (bmax < 0)
            bmin = 0, bmax = ACCSIM_LIN_BINS - 1;
        double lo = (double)rg->lo + bmin * w, hi = (double)rg->lo + (bmax + 1) * w;
        double margin = 0.03 * (hi - lo) > w ? 0.03 * (hi - lo) : w;
        /* peaks are magnitudes: the axis starts at 0 */
        double xlo = lo >= 0 && lo - margin < 0 ? 0 : lo - margin, xhi = hi + margin;
        fprintf(g, "set title '%s'\nset xrange [%.0f:%.0f]\nset xtics %.0f\nplot ", an_layer_name(net, l), xlo,
                xhi, tick_step(xhi - xlo));
        for (int k = 0; k < s->nsets; k++)
            fprintf(g, "%s'hist_%s_%s_%s.dat' using 1:($3>0?$3:1/0):(%.0f) with boxes title '%s'",
                    k ? ", " : "", file_kind[kind], an_layer_name(net, l), s->set[k].name, w,
                    s->set[k].name);
        fprintf(g, "\n");
    }
    fprintf(g, "unset multiplot\n");
}

void sp_hist_plots(FILE *g, const sp_hists *hs, unsigned figures)
{
    if (figures & SP_PEAK_BITS)
        gp_bits(g, hs, K_PEAK);
    if (figures & SP_OUT_BITS)
        gp_bits(g, hs, K_OUT);
    if ((figures & SP_PSUM_BITS) && hs->psum)
        gp_bits(g, hs, K_PSUM);
    if (figures & SP_OUT_LIN)
        gp_lin(g, hs, K_OUT, false);
    if (figures & SP_OUT_LOG)
        gp_lin(g, hs, K_OUT, true);
    if (figures & SP_PEAK_LIN)
        gp_lin(g, hs, K_PEAK, false);
    if (figures & SP_PEAK_LOG)
        gp_lin(g, hs, K_PEAK, true);
    if ((figures & SP_PSUM_LIN) && hs->psum)
        gp_lin(g, hs, K_PSUM, false);
    if ((figures & SP_PSUM_LOG) && hs->psum)
        gp_lin(g, hs, K_PSUM, true);
}

/* Accuracy above, energy below, on one width axis: two y scales in one
 * panel made both hard to read. */
void sp_sweep_plot(FILE *g, const an_session *s, int from, int to)
{
    gp_header(g, "sweep.png", 1000, 750);
    fprintf(g, "set multiplot layout 2,1 title 'Approach A: accuracy and energy against one common accumulator "
               "width' margins 0.09,0.97,0.08,0.93 spacing 0,0.06\n");
    fprintf(g, "set xrange [%.1f:%.1f]\nset xtics 1\n", to - 0.5, from + 0.5);
    fprintf(g, "set ylabel 'accuracy (%%)'\nset key bottom right\nplot ");
    for (int k = 0; k < s->nsets; k++)
        fprintf(g, "%s'sweep.dat' using 1:%d with linespoints lw 2 pt 7 ps 0.8 title '%s accuracy'", k ? ", " : "",
                k + 3, s->set[k].name);
    fprintf(g, "\nset xlabel 'accumulator width B (bits, all layers)'\n"
               "set ylabel 'energy (SPEC 8 units, millions)'\nset yrange [0:*]\n"
               "plot 'sweep.dat' using 1:($2/1e6) with linespoints lw 2 pt 5 ps 0.8 lc 3 notitle\n"
               "unset multiplot\n");
}

void sp_pareto_plot(FILE *g, double baseline_accuracy, uint64_t energy_lo, uint64_t energy_hi,
                    bool path)
{
    gp_header(g, "pareto.png", 1000, 650);
    fprintf(g, "set title \"%s\\nbaseline %.2f %%\"\n"
               "set xlabel 'energy (SPEC 8 units, millions; log scale)'\nset ylabel 'test accuracy (%%)'\nset key bottom right\n"
               "set logscale x\nset xrange [%.1f:%.1f]\nset offsets 0,0,1,1\n",
            path ? "Settings the scalable search accepted (test), in order"
                 : "Energy-accuracy Pareto front (test, per-layer widths in the search box)",
            baseline_accuracy, 0.9 * (double)energy_lo / 1e6, 1.3 * (double)energy_hi / 1e6);
    /* Round ticks where they fall inside the range; gnuplot's own elsewhere. */
    if (energy_hi <= 1000000000u) {
        fprintf(g, "set xtics (100, 125, 150, 175, 200, 250, 300, 400, 500, 600, 700, 800, 1000)\n");
    } else { /* 1, 1.5, 2, 3, 5, 7 times each power of ten in range (millions) */
        static const double steps[] = {1, 1.5, 2, 3, 5, 7};
        double lo = 0.9 * (double)energy_lo / 1e6, hi = 1.3 * (double)energy_hi / 1e6;
        char list[512] = "";
        size_t at = 0;
        int ticks = 0;
        for (double d = 1; d <= hi; d *= 10)
            for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++)
                if (steps[k] * d >= lo && steps[k] * d <= hi && at + 32 < sizeof list) {
                    at += (size_t)snprintf(list + at, sizeof list - at, "%s%.0f", ticks ? ", " : "",
                                           steps[k] * d);
                    ticks++;
                }
        if (ticks >= 2) /* else gnuplot's own */
            fprintf(g, "set xtics (%s)\n", list);
    }
    if (path) {
        fprintf(g, "plot 'pareto.dat' index 0 using ($1/1e6):2 with linespoints lw 1.5 pt 7 ps 0.8 "
                   "title 'accepted settings, in order', "
                   "'' index 1 using ($1/1e6):2 with points pt 5 ps 1.6 title 'chosen settings', "
                   "'' index 1 using ($1/1e6):2:3 with labels offset 1.5,-0.8 left notitle, "
                   "%.4f with lines dt 3 lw 1.5 lc rgb 'gray40' title 'baseline accuracy'\n",
                   baseline_accuracy);
        return;
    }
    fprintf(g, "plot 'pareto.dat' index 0 using ($1/1e6):2 with steps lw 2 title 'Pareto front (staircase)', "
               "'' index 0 using ($1/1e6):2 with points pt 7 ps 0.8 notitle, "
               "'' index 1 using ($1/1e6):2 with points pt 5 ps 1.6 title 'chosen settings', "
               "'' index 1 using ($1/1e6):2:3 with labels offset 1.5,-0.8 left notitle, "
               "%.4f with lines dt 3 lw 1.5 lc rgb 'gray40' title 'baseline accuracy'\n", baseline_accuracy);
}
