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

/* Per MAC layer of any network: the multiplicand is x - z, x in the range of
 * the tensor the layer reads (the input: all of int8; after an op, its clamp
 * range, kept through pools and reshapes), z that tensor's zero point. For
 * the course model: conv1 reads the quantized image (any int8), every later
 * layer a ReLU output (0..127). */
void an_bounds_table(table *t, const an_session *s)
{
    table_init(t, "bounds",
               "Data-free bounds from the weights beside the width each layer needs on the data",
               BOUNDS_COLUMNS);
    const accsim_network *net = s->ctx.net;
    for (int k = 0; k < s->nsets; k++)
        for (int l = 0; l < net->mac_count; l++) {
            accsim_mac_shape shape;
            accsim_network_mac_shape(net, l, &shape);
            accsim_mac_bounds b;
            accsim_mac_bounds_compute(&shape, &b);
            table_row(t, "%s|%s|%d|%d|%d|%d|%d|%d|%d|%" PRId64, s->set[k].name,
                      an_layer_name(net, l), b.safe, b.a2q, b.a2q_datatype, b.finn,
                      s->base[k].need_max[l], shape.input_min, shape.input_max, b.max_l1);
        }
}

void an_study_bounds_table(table *t, const an_session *s, const int *chosen)
{
    const accsim_network *net = s->ctx.net;
    an_str cols = {0};
    an_cat(&cols, "layer");
    for (int k = 0; k < s->nsets; k++)
        an_cat(&cols, ",needed_%s", s->set[k].name);
    an_cat(&cols, ",search_C,safe,a2q,a2q_datatype,finn,input_min,input_max,max_l1");
    table_init(t, "bounds",
               "Per MAC layer: the width needed on the data, the width the search chose, and the "
               "data-free widths from the weights alone",
               cols.s);
    an_str_free(&cols);
    for (int l = 0; l < net->mac_count; l++) {
        accsim_mac_shape shape;
        accsim_network_mac_shape(net, l, &shape);
        accsim_mac_bounds b;
        accsim_mac_bounds_compute(&shape, &b);
        an_str row = {0};
        an_cat(&row, "%s", an_layer_name(net, l));
        for (int k = 0; k < s->nsets; k++)
            an_cat(&row, "|%d", s->base[k].need_max[l]);
        an_cat(&row, "|%d|%d|%d|%d|%d|%d|%d|%" PRId64, chosen[l], b.safe, b.a2q, b.a2q_datatype,
               b.finn, shape.input_min, shape.input_max, b.max_l1);
        table_row(t, "%s", row.s);
        an_str_free(&row);
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
