/* gnuplot as a child process (accsim/process.h: no shell, stopped on an
 * interrupt, its real exit status reported). */
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>

#include "accsim/process.h"
#include "analysis/plot.h"

int plot_exec(const char *dir, const char *program, const char *script, int *not_found,
              accsim_error *err)
{
    *not_found = 0;
    char *const argv[] = {(char *)program, (char *)script, NULL};
    const accsim_child child = {.argv = argv, .dir = dir, .output = ACCSIM_CHILD_STDOUT};
    int status, exec_errno;
    if (accsim_child_run(&child, &status, &exec_errno, err) != 0) {
        if (exec_errno == ENOENT) {
            *not_found = 1;
            return accsim_fail(err, "%s not found", program);
        }
        return -1;
    }
    if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
        char how[96];
        return accsim_fail(err, "%s %s while running %s", program,
                           accsim_child_status_text(status, how, sizeof how), script);
    }
    return 0;
}

int plot_run(const char *dir, const char *script, accsim_error *err)
{
    int not_found;
    return plot_exec(dir, "gnuplot", script, &not_found, err);
}

int plot_draw(const char *dir, const char *script, bool *drawn, accsim_error *err)
{
    *drawn = false;
    int not_found;
    if (plot_exec(dir, "gnuplot", script, &not_found, err) != 0) {
        if (!not_found)
            return -1;
        fprintf(stderr, "accsim: gnuplot not found: tables written, plots skipped (install gnuplot-nox "
                        "and run 'gnuplot %s' in the report directory)\n", script);
        return 0;
    }
    *drawn = true;
    return 0;
}
