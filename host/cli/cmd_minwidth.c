/* accsim minwidth (Approach B): the smallest common width whose accuracy drop
 * from the 32-bit baseline is within --tolerance (default 1 percentage point). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis/table.h"
#include "cli/analysis_cli.h"

int cmd_minwidth(const cli_options *opts)
{
    accsim_error err;
    an_session s;
    if (an_open(opts, ACCSIM_SPLIT_TEST, &s, &err) != 0)
        return cli_error(&err);
    double tol = opts->tolerance_given ? opts->tolerance : 1.0;
    int rc = 0;
    table t;
    table_init(&t, "minwidth", "Approach B: accuracy at every common width (bounded: ruled out by the collapse bound)",
               "split,bits,accuracy,correct,meets_target,bounded,energy");
    json_object *root = json_object_new_object();
    for (int k = 0; k < s.nsets && rc == 0; k++) {
        accsim_minwidth_result *m = calloc(1, sizeof *m);
        if (!m || accsim_minwidth(&s.base[k], tol, NULL, m, &err) != 0) {
            free(m);
            rc = cli_error(&err);
            break;
        }
        /* One width for every MAC layer: name them, from the network. */
        char names[512];
        printf("split %s: baseline %.2f %%, tolerance %.2f pp (target >= %zu correct): smallest width "
               "common to the %d MAC layer%s (%s): %d",
               s.set[k].name, s.base[k].summary.accuracy, tol, m->target_correct, s.ctx.net->mac_count,
               s.ctx.net->mac_count == 1 ? "" : "s", cli_layer_names(s.ctx.net, names, sizeof names),
               m->answer);
        if (m->answer)
            printf(" (accuracy %.2f %%, energy %" PRIu64 ")", m->rows[32 - m->answer].accuracy,
                   m->rows[32 - m->answer].energy);
        printf("; every width from %d up meets the target\n", m->monotone_from);
        for (int i = 0; i < 31; i++) {
            const accsim_eval *e = &m->rows[i];
            table_row(&t, "%s|%d|%.2f|%zu|%s|%s|%" PRIu64, s.set[k].name, e->bits[0], e->accuracy,
                      e->correct, e->correct >= m->target_correct && !e->bounded ? "yes" : "no",
                      e->bounded ? "yes" : "no", e->energy);
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "answer", json_object_new_int(m->answer));
        json_object_object_add(o, "monotone_from", json_object_new_int(m->monotone_from));
        json_object_object_add(o, "tolerance", json_object_new_double(tol));
        json_object_object_add(o, "baseline_accuracy", json_object_new_double(s.base[k].summary.accuracy));
        json_object_object_add(o, "target_correct", json_object_new_int64((int64_t)m->target_correct));
        json_object_object_add(root, s.set[k].name, o);
        free(m);
    }
    if (rc == 0) {
        json_object_object_add(root, "rows", table_json(&t));
        if (opts->csv_path && table_write_csv(&t, opts->csv_path, &err) != 0)
            rc = cli_error(&err);
        if (rc == 0 && opts->json_path && json_write_file(root, opts->json_path, &err) != 0)
            rc = cli_error(&err);
    }
    json_object_put(root);
    table_free(&t);
    an_close(&s);
    return rc;
}
