/* What the analysis subcommands (hist, sweep, minwidth, search, study) share:
 * the loaded context split into image sets, and their baselines. */
#ifndef ACCSIM_ANALYSIS_CLI_H
#define ACCSIM_ANALYSIS_CLI_H

#include "accsim/analysis.h"
#include "analysis/table.h"
#include "cli/cli.h"

typedef struct an_session {
    cli_context ctx;
    int nsets;                 /* 1, or 2 for both splits (test, then train) */
    accsim_imageset set[2];
    uint32_t *indices[2];
    accsim_baseline base[2];
    bool have_base[2];
} an_session;

/* Opens the context (split from opts, or default_split when not given) and
 * runs the baseline of every set. --limit N keeps the first N images of each
 * split. */
int an_open(const cli_options *opts, accsim_split default_split, an_session *s, accsim_error *err);
void an_close(an_session *s);
/* Engine index of image `index` of split `name` in this session's data. */
uint32_t an_engine_index(const an_session *s, const char *split, uint32_t index);

/* A growing string for table columns and rows built per MAC layer. */
typedef struct an_str {
    char *s;
    size_t len, cap;
} an_str;
void an_cat(an_str *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ",PREFIX<name>" for every MAC layer (PREFIX may be ""). */
void an_cat_layers(an_str *b, const accsim_network *net, const char *prefix);
void an_str_free(an_str *b);
/* The name of MAC layer l. */
const char *an_layer_name(const accsim_network *net, int l);

/* Approach A's table, shared by `sweep` and `study`: columns (one sat_ and
 * imgsat_ column per MAC layer) and one row. */
void an_sweep_init(table *t, const accsim_network *net, const char *name, const char *title);
void an_sweep_row(table *t, const char *split, const accsim_baseline *base, const accsim_eval *e);

/* The bounds table (accsim bounds, study): per set and layer, the data-free
 * widths beside the need on the data. */
void an_bounds_table(table *t, const an_session *s);
/* The study's bounds table: per MAC layer, the need on each set, chosen[l]
 * (the search's width) and the data-free widths. */
void an_study_bounds_table(table *t, const an_session *s, const int *chosen);

/* --span, --no-pareto, --no-prove into search options. */
void an_search_options(const cli_options *opts, accsim_search_options *so);

#endif
