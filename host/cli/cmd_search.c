/* accsim search (Approach C): per-layer widths of least energy within the
 * accuracy tolerance (default 0), proved over the search box; and the Pareto front. */
#include <inttypes.h>
#include <stdio.h>

#include "accsim/energy.h"
#include "analysis/table.h"
#include "cli/analysis_cli.h"

/* The scalable method's account: what was searched, the certified lower
 * bound and the gap (search_scalable.c says why the bound is sound). */
static void print_scalable(const accsim_network *net, const accsim_search_result *r)
{
    const int L = net->mac_count;
    an_str line = {0};
    an_cat(&line, "method: scalable (%d MAC layers); widths searched per layer (floor-safe):", L);
    for (int l = 0; l < L; l++)
        an_cat(&line, "%s %s %d-%d", l ? "," : "", an_layer_name(net, l), r->floor[l], r->safe[l]);
    printf("%s\n", line.s);
    an_str_free(&line);
    an_cat(&line, "per-layer minima (others at 32 bits):");
    for (int l = 0; l < L; l++)
        an_cat(&line, "%s%d", l ? "," : " ", r->single_min[l]);
    printf("%s; energy %" PRIu64 " (an estimate, not a bound: accuracy is not monotone in the widths)\n",
           line.s, r->single_min_energy);
    an_str_free(&line);
    printf("%zu exact evaluations (%zu accepted steps%s), %zu settings refuted in energy order, "
           "%zu image runs, %.2f s\n",
           r->evaluations, r->path_count,
           r->descent_stopped ? "; the descent stopped at its evaluation budget" : "",
           r->bound_settings, r->images_run, r->seconds);
    double gap = r->energy ? 100.0 * (double)(r->energy - r->lower_bound) / (double)r->energy : 0;
    if (r->proved)
        printf("certified lower bound %" PRIu64 " = the answer's energy: the answer is the least "
               "energy over all settings\n", r->lower_bound);
    else
        printf("certified lower bound %" PRIu64 " on the energy of any setting meeting the target; "
               "gap %" PRIu64 " (%.2f %% of the answer)%s\n", r->lower_bound,
               r->energy - r->lower_bound, gap,
               r->bound_exhausted ? " (the bound's image budget ran out)" : "");
}

int cmd_search(const cli_options *opts)
{
    accsim_error err;
    an_session s;
    if (an_open(opts, ACCSIM_SPLIT_TEST, &s, &err) != 0)
        return cli_error(&err);
    accsim_search_options so;
    accsim_search_options_default(&so);
    so.tolerance = opts->tolerance_given ? opts->tolerance : 0.0;
    an_search_options(opts, &so);
    int rc = 0;
    json_object *root = json_object_new_object();
    for (int k = 0; k < s.nsets && rc == 0; k++) {
        const accsim_baseline *b = &s.base[k];
        accsim_search_result r;
        if (accsim_search(b, &so, &r, &err) != 0) {
            rc = cli_error(&err);
            break;
        }
        printf("split %s: baseline %.2f %% (%zu of %zu), target >= %zu correct (tolerance %.2f pp)\n",
               b->set.name, b->summary.accuracy, b->summary.correct, b->set.count,
               r.target_correct, so.tolerance);
        const accsim_network *net = s.ctx.net;
        const int L = net->mac_count;
        an_str line = {0};
        if (r.method == ACCSIM_SEARCH_SCALABLE)
            print_scalable(net, &r);
        else
            an_cat(&line, "box:");
        for (int l = 0; l < L && r.method == ACCSIM_SEARCH_EXACT; l++)
            an_cat(&line, "%s %s %d-%d", l ? "," : "", an_layer_name(net, l), r.lo[l], r.hi[l]);
        if (r.method == ACCSIM_SEARCH_EXACT)
            printf("%s (%zu settings); %zu visited, %zu decided by bounds, %zu node runs, %.2f s\n",
                   line.s, r.box_settings, r.settings_visited, r.decided_by_bounds, r.nodes_run,
                   r.seconds);
        an_str_free(&line);
        if (r.method == ACCSIM_SEARCH_SCALABLE) {
            /* said by print_scalable */
        } else if (r.proved) {
            an_cat(&line, "proof over 2..32: useful widths");
            for (int l = 0; l < L; l++)
                an_cat(&line, "%s %d-%d", l ? "," : "", r.collapse[l] + 1, r.safe[l]);
            printf("%s (collapse + 1 to safe); %zu cheaper settings outside the box decided, %zu by "
                   "bounds; the answer is the least energy over all settings\n",
                   line.s, r.proof_settings, r.proof_by_bounds);
            an_str_free(&line);
        } else if (r.found) {
            printf("not proved beyond the box (--no-prove)\n");
        }
        if (r.found) {
            an_cat(&line, "answer: bits");
            for (int l = 0; l < L; l++)
                an_cat(&line, "%s%d", l ? "," : " ", r.bits[l]);
            printf("%s  energy %" PRIu64 "  accuracy %.2f %% (%zu correct)\n", line.s, r.energy,
                   r.accuracy, r.correct);
            an_str_free(&line);
        } else {
            printf("answer: no setting in the box meets the target\n");
        }
        table t;
        an_str cols = {0};
        an_cat(&cols, "split");
        an_cat_layers(&cols, net, "");
        an_cat(&cols, ",energy,correct,accuracy");
        /* The scalable method has no front: its accepted settings instead. */
        const bool scalable = r.method == ACCSIM_SEARCH_SCALABLE;
        const accsim_pareto_point *points = scalable ? r.path : r.pareto;
        const size_t npoints = scalable ? r.path_count : r.pareto_count;
        table_init(&t, scalable ? "path" : "pareto",
                   scalable ? "Settings the scalable search accepted, in order"
                            : "Energy-accuracy Pareto front",
                   cols.s);
        an_str_free(&cols);
        for (size_t p = 0; p < npoints; p++) {
            const accsim_pareto_point *q = &points[p];
            an_str row = {0};
            an_cat(&row, "%s", b->set.name);
            for (int l = 0; l < L; l++)
                an_cat(&row, "|%d", q->bits[l]);
            an_cat(&row, "|%" PRIu64 "|%zu|%.4f", q->energy, q->correct, q->accuracy);
            table_row(&t, "%s", row.s);
            an_str_free(&row);
        }
        if (scalable) {
            printf("Settings accepted by the scalable search, in order (%zu):\n", npoints);
            table_text(&t, stdout);
        } else if (so.pareto) {
            printf("Pareto front (%zu points):\n", r.pareto_count);
            table_text(&t, stdout);
        }
        if (opts->csv_path && table_write_csv(&t, opts->csv_path, &err) != 0)
            rc = cli_error(&err);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "found", json_object_new_boolean(r.found));
        json_object_object_add(o, "bits", json_int_array(r.bits, L));
        json_object_object_add(o, "energy", json_object_new_int64((int64_t)r.energy));
        json_object_object_add(o, "correct", json_object_new_int64((int64_t)r.correct));
        json_object_object_add(o, "accuracy", json_object_new_double(r.accuracy));
        json_object_object_add(o, "baseline_accuracy", json_object_new_double(b->summary.accuracy));
        json_object_object_add(o, "target_correct", json_object_new_int64((int64_t)r.target_correct));
        json_object_object_add(o, "tolerance", json_object_new_double(so.tolerance));
        json_object_object_add(o, "proved_over_all_widths", json_object_new_boolean(r.proved));
        json_object_object_add(o, "method", json_object_new_string(
            r.method == ACCSIM_SEARCH_SCALABLE ? "scalable" : "exact"));
        json_object_object_add(o, "lower_bound", json_object_new_int64((int64_t)r.lower_bound));
        if (r.method == ACCSIM_SEARCH_SCALABLE) {
            json_object_object_add(o, "single_layer_minima", json_int_array(r.single_min, L));
            json_object_object_add(o, "floor_widths", json_int_array(r.floor, L));
            json_object_object_add(o, "evaluations", json_object_new_int64((int64_t)r.evaluations));
            json_object_object_add(o, "bound_settings_refuted",
                                   json_object_new_int64((int64_t)r.bound_settings));
        }
        if (r.proved) {
            json_object_object_add(o, "safe_widths", json_int_array(r.safe, L));
            json_object_object_add(o, "collapse_widths", json_int_array(r.collapse, L));
            json_object_object_add(o, "proof_settings", json_object_new_int64((int64_t)r.proof_settings));
            json_object_object_add(o, "proof_by_bounds",
                                   json_object_new_int64((int64_t)r.proof_by_bounds));
        }
        json_object *box = json_object_new_array();
        for (int l = 0; l < L; l++) {
            json_object *pair = json_object_new_array();
            json_object_array_add(pair, json_object_new_int(r.lo[l]));
            json_object_array_add(pair, json_object_new_int(r.hi[l]));
            json_object_array_add(box, pair);
        }
        json_object_object_add(o, "box", box);
        json_object_object_add(o, "settings_in_box", json_object_new_int64((int64_t)r.box_settings));
        json_object_object_add(o, "settings_visited", json_object_new_int64((int64_t)r.settings_visited));
        json_object_object_add(o, scalable ? "path" : "pareto", table_json(&t));
        json_object_object_add(root, b->set.name, o);
        table_free(&t);
        accsim_search_result_free(&r);
    }
    if (rc == 0 && opts->json_path && json_write_file(root, opts->json_path, &err) != 0)
        rc = cli_error(&err);
    json_object_put(root);
    an_close(&s);
    return rc;
}
