/* Plots through gnuplot (Debian's gnuplot-nox, pngcairo terminal): the report
 * directory gets the data files and .gp scripts, then gnuplot draws the PNGs. */
#ifndef ACCSIM_ANALYSIS_PLOT_H
#define ACCSIM_ANALYSIS_PLOT_H

#include <stdbool.h>

#include "accsim/error.h"

/* Runs PROGRAM SCRIPT inside DIR as a child process (fork, execvp on $PATH,
 * waitpid; no shell) and reports how it ended: "PROGRAM exited with status N",
 * "PROGRAM was killed by signal N", or, only when exec fails with ENOENT,
 * "PROGRAM not found" with *not_found = 1. While it runs, accsim's signal
 * handler (accsim/signals.h) stops it before cleaning up. */
int plot_exec(const char *dir, const char *program, const char *script, int *not_found,
              accsim_error *err);
/* Runs `gnuplot SCRIPT` inside DIR. */
int plot_run(const char *dir, const char *script, accsim_error *err);
/* plot_run; when gnuplot is not installed, says on stderr that the plots were
 * skipped and how to draw them later, and succeeds with *drawn = false: the
 * tables alone are still a result. Any other failure of gnuplot is an error. */
int plot_draw(const char *dir, const char *script, bool *drawn, accsim_error *err);

#endif
