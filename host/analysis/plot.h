/* Plots through gnuplot (Debian's gnuplot-nox, pngcairo terminal): the report
 * directory gets the data files and .gp scripts, then gnuplot draws the PNGs. */
#ifndef ACCSIM_ANALYSIS_PLOT_H
#define ACCSIM_ANALYSIS_PLOT_H

#include <stdbool.h>

#include "accsim/error.h"

bool plot_available(void);
/* Runs `gnuplot SCRIPT` inside DIR. */
int plot_run(const char *dir, const char *script, accsim_error *err);

#endif
