/* accsim bounds: per layer, the widths the data-free bounds give from the
 * weights alone (accsim's safe width, Brevitas A2Q, FINN) beside the width the
 * layer actually needs on the data (the widest partial sum at B = 32). */
#include <inttypes.h>
#include <stdio.h>

#include "accsim/bounds.h"
#include "analysis/table.h"
#include "cli/analysis_cli.h"

#define BOUNDS_COLUMNS \
    "split,layer,safe,a2q,a2q_datatype,finn,needed,input_min,input_max,max_l1"

/* The course model's multiplicands: conv1 reads the quantized image (any
 * int8), every later layer a ReLU output (0..127). */
static void course_layer_bounds(const accsim_model *model, int l, accsim_mac_bounds *out)
{
    const accsim_layer_info *li = &accsim_layers[l];
    accsim_mac_shape shape = {
        .weights = model->weights[l],
        .out_channels = li->out_channels,
        .reduction = li->weight_count / li->out_channels,
        .bias = li->has_bias ? model->bias : NULL,
        .input_min = l == 0 ? -128 : 0,
        .input_max = 127,
    };
    accsim_mac_bounds_compute(&shape, out);
}

void an_bounds_table(table *t, const an_session *s)
{
    table_init(t, "bounds",
               "Data-free bounds from the weights beside the width each layer needs on the data",
               BOUNDS_COLUMNS);
    for (int k = 0; k < s->nsets; k++)
        for (int l = 0; l < ACCSIM_LAYERS; l++) {
            accsim_mac_bounds b;
            course_layer_bounds(&s->ctx.model, l, &b);
            table_row(t, "%s|%s|%d|%d|%d|%d|%d|%d|%d|%" PRId64, s->set[k].name,
                      accsim_layers[l].name, b.safe, b.a2q, b.a2q_datatype, b.finn,
                      s->base[k].need_max[l], l == 0 ? -128 : 0, 127, b.max_l1);
        }
}

int cmd_bounds(const cli_options *opts)
{
    accsim_error err;
    an_session s;
    if (an_open(opts, ACCSIM_SPLIT_TEST, &s, &err) != 0)
        return cli_error(&err);
    table t;
    an_bounds_table(&t, &s);
    int rc = 0;
    if (opts->csv_path && table_write_csv(&t, opts->csv_path, &err) != 0)
        rc = cli_error(&err);
    if (rc == 0 && opts->json_path && table_write_json(&t, opts->json_path, &err) != 0)
        rc = cli_error(&err);
    if (rc == 0 && !opts->json_path)
        table_text(&t, stdout);
    table_free(&t);
    an_close(&s);
    return rc;
}
