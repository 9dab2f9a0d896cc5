#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "analysis/plot.h"

bool plot_available(void)
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

int plot_run(const char *dir, const char *script, accsim_error *err)
{
    if (strchr(dir, '\'') || strchr(script, '\''))
        return accsim_fail(err, "%s: cannot pass a path with a quote to gnuplot", dir);
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot '%s'", dir, script);
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0)
        return accsim_fail(err, "%s/%s: gnuplot failed (status %d)", dir, script,
                           rc == -1 ? -1 : WEXITSTATUS(rc));
    return 0;
}

int plot_draw(const char *dir, const char *script, bool *drawn, accsim_error *err)
{
    *drawn = false;
    if (!plot_available()) {
        fprintf(stderr, "accsim: gnuplot not found: tables written, plots skipped (install gnuplot-nox "
                        "and run 'gnuplot %s' in %s)\n", script, dir);
        return 0;
    }
    if (plot_run(dir, script, err) != 0)
        return -1;
    *drawn = true;
    return 0;
}
