/* Plots through gnuplot (Debian's gnuplot-nox, pngcairo terminal): the report
 * directory gets the data files and .gp scripts, then gnuplot draws the PNGs. */
#ifndef ACCSIM_ANALYSIS_PLOT_H
#define ACCSIM_ANALYSIS_PLOT_H

#include <stdbool.h>

#include "accsim/error.h"

bool plot_available(void);
/* Runs `gnuplot SCRIPT` inside DIR. */
int plot_run(const char *dir, const char *script, accsim_error *err);
/* plot_run when gnuplot is installed (*drawn = true); otherwise says on stderr
 * that the plots were skipped and how to draw them later, and succeeds with
 * *drawn = false: the tables alone are still a result. */
int plot_draw(const char *dir, const char *script, bool *drawn, accsim_error *err);

#endif
