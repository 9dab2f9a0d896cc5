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
