/* accsim sweep (Approach A): accuracy, saturation and energy over one common
 * width, --from (default 32) down to --to (default 12), exact. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis/table.h"
#include "cli/analysis_cli.h"

int cmd_sweep(const cli_options *opts)
{
    accsim_error err;
    if (opts->bits_to > opts->bits_from) {
        fprintf(stderr, "accsim: --to %d is wider than --from %d\n", opts->bits_to, opts->bits_from);
        return 2;
    }
    an_session s;
    if (an_open(opts, ACCSIM_SPLIT_TEST, &s, &err) != 0)
        return cli_error(&err);
    int n = opts->bits_from - opts->bits_to + 1, rc = 0;
    table t;
    an_sweep_init(&t, s.ctx.net, "sweep", "Approach A: one common width");
    for (int k = 0; k < s.nsets && rc == 0; k++) {
        accsim_eval *rows = calloc((size_t)n, sizeof *rows);
        if (!rows || accsim_sweep(&s.base[k], opts->bits_from, opts->bits_to, rows, &err) != 0) {
            free(rows);
            rc = cli_error(&err);
            break;
        }
        for (int i = 0; i < n; i++)
            an_sweep_row(&t, s.set[k].name, &s.base[k], &rows[i]);
        free(rows);
    }
    if (rc == 0) {
        table_text(&t, stdout);
        if (opts->csv_path && table_write_csv(&t, opts->csv_path, &err) != 0)
            rc = cli_error(&err);
        if (rc == 0 && opts->json_path && table_write_json(&t, opts->json_path, &err) != 0)
            rc = cli_error(&err);
    }
    table_free(&t);
    an_close(&s);
    return rc;
}
