/* The gnuplot side of `accsim study` and `accsim hist`: histogram data files
 * and the commands of plots.gp that draw them, the sweep and the Pareto front.
 * Each figure starts with `reset`, so figures can be written in any order. */
#ifndef ACCSIM_CLI_STUDY_PLOTS_H
#define ACCSIM_CLI_STUDY_PLOTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/analysis_cli.h"

/* Histograms of a session's sets, as accsim_hist_run made them. */
typedef struct sp_hists {
    const an_session *s;              /* set names and count */
    const accsim_layer_hist *hist[2]; /* per set: [net->mac_count] */
    const accsim_hist_ranges *ranges; /* the bins all sets share */
    bool psum;                        /* every-partial-sum histograms were run */
} sp_hists;

/* Histogram figures (PNG names in the comments). The psum ones are drawn only
 * with psum. */
enum {
    SP_PEAK_BITS = 1 << 0, /* hist_peak_bits.png */
    SP_OUT_BITS = 1 << 1,  /* hist_output_bits.png */
    SP_PSUM_BITS = 1 << 2, /* hist_psum_bits.png */
    SP_OUT_LIN = 1 << 3,   /* hist_outputs.png */
    SP_OUT_LOG = 1 << 4,   /* hist_outputs_log.png */
    SP_PEAK_LIN = 1 << 5,  /* hist_peaks.png */
    SP_PEAK_LOG = 1 << 6,  /* hist_peaks_log.png */
    SP_PSUM_LIN = 1 << 7,  /* hist_psums.png */
    SP_PSUM_LOG = 1 << 8,  /* hist_psums_log.png */
};
#define SP_STUDY_FIGURES (SP_PEAK_BITS | SP_OUT_LIN | SP_OUT_LOG | SP_PEAK_LOG | SP_PSUM_LOG)
#define SP_ALL_FIGURES 0x1ffu

/* DIR/hist_bits_SPLIT.dat and DIR/hist_{out,peak,psum}_LAYER_SPLIT.dat, the
 * files the histogram figures read. */
int sp_write_hist_data(const char *dir, const accsim_network *net, const char *split,
                       const accsim_layer_hist *h, const accsim_hist_ranges *r, bool psum,
                       accsim_error *err);
void sp_hist_plots(FILE *g, const sp_hists *hs, unsigned figures);
/* sweep.png from sweep.dat (bits, energy, then accuracy per set), widths from..to. */
void sp_sweep_plot(FILE *g, const an_session *s, int from, int to);
/* pareto.png from pareto.dat; energies set the x range. path: pareto.dat's
 * first block is the scalable search's accepted settings, not a front. */
void sp_pareto_plot(FILE *g, double baseline_accuracy, uint64_t energy_lo, uint64_t energy_hi,
                    bool path);

#endif
