#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analysis_cli.h"

int an_open(const cli_options *opts, accsim_split default_split, an_session *s, accsim_error *err)
{
    memset(s, 0, sizeof *s);
    cli_options o = *opts;
    if (!opts->split_given)
        o.split = default_split;
    o.limit = 0; /* applied per split below */
    if (cli_context_open(&o, &s->ctx, err) != 0)
        return -1;
    const accsim_dataset *d = &s->ctx.data;
    size_t limit = opts->limit > 0 ? (size_t)opts->limit : SIZE_MAX;
    if (d->split == ACCSIM_SPLIT_BOTH) {
        size_t ntest = d->test_count;
        size_t ntrain = d->count - ntest;
        size_t n[2] = {ntest < limit ? ntest : limit, ntrain < limit ? ntrain : limit};
        size_t first[2] = {0, ntest};
        const char *names[2] = {"test", "train"};
        s->nsets = 2;
        for (int k = 0; k < 2; k++) {
            s->indices[k] = malloc((n[k] ? n[k] : 1) * sizeof(uint32_t));
            uint8_t *labels = malloc(n[k] ? n[k] : 1);
            if (!s->indices[k] || !labels) {
                free(labels);
                an_close(s);
                return accsim_fail(err, "out of memory");
            }
            for (size_t i = 0; i < n[k]; i++) {
                s->indices[k][i] = (uint32_t)(first[k] + i);
                labels[i] = d->labels[first[k] + i];
            }
            s->set[k] = (accsim_imageset){.name = names[k], .count = n[k],
                                          .indices = s->indices[k], .labels = labels};
        }
    } else {
        s->nsets = 1;
        size_t n = d->count < limit ? d->count : limit;
        s->set[0] = (accsim_imageset){.name = accsim_split_name(d->split), .count = n,
                                      .indices = NULL, .labels = d->labels};
    }
    for (int k = 0; k < s->nsets; k++) {
        if (accsim_baseline_run(&s->base[k], s->ctx.engine, s->ctx.net, &s->set[k],
                                opts->overflow, opts->quiet, err) != 0) {
            an_close(s);
            return -1;
        }
        s->have_base[k] = true;
    }
    return 0;
}

void an_close(an_session *s)
{
    for (int k = 0; k < 2; k++) {
        if (s->have_base[k])
            accsim_baseline_free(&s->base[k]);
        if (s->indices[k]) {
            free((void *)s->set[k].labels);
            free(s->indices[k]);
        }
    }
    cli_context_close(&s->ctx);
    memset(s, 0, sizeof *s);
}

uint32_t an_engine_index(const an_session *s, const char *split, uint32_t index)
{
    if (s->ctx.data.split == ACCSIM_SPLIT_BOTH && strcmp(split, "train") == 0)
        return (uint32_t)s->ctx.data.test_count + index;
    return index;
}

void an_cat(an_str *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown)
            abort();
        b->s = grown;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void an_str_free(an_str *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

const char *an_layer_name(const accsim_network *net, int l)
{
    return net->ops[net->mac_ops[l]].name;
}

void an_cat_layers(an_str *b, const accsim_network *net, const char *prefix)
{
    for (int l = 0; l < net->mac_count; l++)
        an_cat(b, ",%s%s", prefix, an_layer_name(net, l));
}

void an_sweep_init(table *t, const accsim_network *net, const char *name, const char *title)
{
    an_str c = {0};
    an_cat(&c, "split,bits,accuracy,correct,drop_pp,energy,images_rerun");
    an_cat_layers(&c, net, "sat_");
    an_cat_layers(&c, net, "imgsat_");
    table_init(t, name, title, c.s);
    an_str_free(&c);
}

void an_sweep_row(table *t, const char *split, const accsim_baseline *base, const accsim_eval *e)
{
    an_str r = {0};
    an_cat(&r, "%s|%d|%.2f|%zu|%.2f|%" PRIu64 "|%zu", split, e->bits[0], e->accuracy, e->correct,
           base->summary.accuracy - e->accuracy, e->energy, e->changed);
    for (int l = 0; l < base->layers; l++)
        an_cat(&r, "|%" PRIu64, e->saturations[l]);
    for (int l = 0; l < base->layers; l++)
        an_cat(&r, "|%" PRIu64, e->images_saturated[l]);
    table_row(t, "%s", r.s);
    an_str_free(&r);
}

void an_search_options(const cli_options *opts, accsim_search_options *so)
{
    if (opts->search_span > 0)
        so->span = opts->search_span;
    so->pareto = !opts->no_pareto;
    so->prove = !opts->no_prove;
}
