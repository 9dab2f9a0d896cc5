/* Totals and comparisons over the per-image arrays every engine fills. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "accsim/network.h"
#include "accsim/summary.h"

static const char *layer_name(const accsim_network *net, int l, char *buf, size_t size)
{
    if (net && l >= 0 && l < net->mac_count)
        return net->ops[net->mac_ops[l]].name;
    snprintf(buf, size, "MAC layer %d", l);
    return buf;
}

void accsim_summarize(const accsim_result *res, const uint8_t *labels, int first_layer,
                      accsim_summary *out)
{
    memset(out, 0, sizeof *out);
    out->images = res->count;
    const int L = res->layers;
    out->layer_count = L;
    for (int l = 0; l < L; l++) {
        out->layers[l].min = INT32_MAX;
        out->layers[l].max = INT32_MIN;
        out->layers[l].psum_min = INT32_MAX;
        out->layers[l].psum_max = INT32_MIN;
    }
    for (size_t i = 0; i < res->count; i++) {
        if (labels && res->predictions[i] == labels[i])
            out->correct++;
        for (int l = first_layer; l < L; l++) {
            size_t k = i * (size_t)L + (size_t)l;
            accsim_layer_summary *s = &out->layers[l];
            s->saturations += res->saturations[k];
            s->images_saturated += res->saturations[k] != 0;
            if (res->out_min[k] < s->min)
                s->min = res->out_min[k];
            if (res->out_max[k] > s->max)
                s->max = res->out_max[k];
            if (res->psum_min[k] < s->psum_min)
                s->psum_min = res->psum_min[k];
            if (res->psum_max[k] > s->psum_max)
                s->psum_max = res->psum_max[k];
        }
    }
    for (int l = 0; l < L; l++) {
        accsim_layer_summary *s = &out->layers[l];
        if (res->count == 0 || l < first_layer) {
            s->min = s->max = s->psum_min = s->psum_max = 0;
        }
        int64_t neg = -(int64_t)s->psum_min;
        s->peak = neg > s->psum_max ? neg : s->psum_max;
        int bmin = accsim_bits_needed(s->psum_min), bmax = accsim_bits_needed(s->psum_max);
        s->bits_needed = bmin > bmax ? bmin : bmax;
    }
    out->accuracy = res->count ? 100.0 * (double)out->correct / (double)res->count : 0.0;
}

static uint32_t image_index(const uint32_t *indices, size_t position)
{
    return indices ? indices[position] : (uint32_t)position;
}

#define HIST_FIELD(field, bins)                                                                   \
    for (int l = 0; l < a->layers; l++)                                                           \
        for (int bin = 0; bin < (bins); bin++)                                                    \
            if (a->hist[l].field[bin] != b->hist[l].field[bin]) {                                 \
                snprintf(diff, diff_size,                                                         \
                         "histogram %s, layer %s, bin %d: %" PRIu64 " vs %" PRIu64, #field,       \
                         layer_name(net, l, nbuf, sizeof nbuf), bin, a->hist[l].field[bin],       \
                         b->hist[l].field[bin]);                                                  \
                return 1;                                                                         \
            }

int accsim_result_compare(const accsim_result *a, const accsim_result *b, const accsim_config *cfg,
                          const accsim_network *net, const uint32_t *indices, char *diff,
                          size_t diff_size)
{
    char nbuf[32];
    if (a->count != b->count) {
        snprintf(diff, diff_size, "image counts differ: %zu vs %zu", a->count, b->count);
        return 1;
    }
    if (a->layers != b->layers || a->output_count != b->output_count) {
        snprintf(diff, diff_size, "result shapes differ: %d vs %d layers, %zu vs %zu outputs",
                 a->layers, b->layers, a->output_count, b->output_count);
        return 1;
    }
    size_t n = a->count;
    const int L = a->layers;
    const size_t O = a->output_count;
    /* Earlier layers first: a difference there explains everything after it. */
    for (size_t i = 0; i < n; i++) {
        for (int l = 0; l < L; l++) {
            size_t k = i * (size_t)L + (size_t)l;
            const char *field = NULL;
            int64_t va = 0, vb = 0;
            if (a->saturations[k] != b->saturations[k])
                field = "saturations", va = a->saturations[k], vb = b->saturations[k];
            else if (a->out_min[k] != b->out_min[k])
                field = "out_min", va = a->out_min[k], vb = b->out_min[k];
            else if (a->out_max[k] != b->out_max[k])
                field = "out_max", va = a->out_max[k], vb = b->out_max[k];
            else if (a->psum_min[k] != b->psum_min[k])
                field = "psum_min", va = a->psum_min[k], vb = b->psum_min[k];
            else if (a->psum_max[k] != b->psum_max[k])
                field = "psum_max", va = a->psum_max[k], vb = b->psum_max[k];
            if (field) {
                snprintf(diff, diff_size, "image %" PRIu32 ", layer %s, field %s: %" PRId64
                         " vs %" PRId64, image_index(indices, i), layer_name(net, l, nbuf, sizeof nbuf), field,
                         va, vb);
                return 1;
            }
        }
        for (size_t c = 0; c < O; c++) {
            int8_t oa = a->outputs[i * O + c], ob = b->outputs[i * O + c];
            if (oa != ob) {
                snprintf(diff, diff_size, "image %" PRIu32 ", layer %s, field output %zu: %d vs %d",
                         image_index(indices, i),
                         net ? net->tensors[net->output].name : "output", c, oa, ob);
                return 1;
            }
        }
        if (a->predictions[i] != b->predictions[i]) {
            snprintf(diff, diff_size, "image %" PRIu32 ", field prediction: %" PRIu32 " vs %" PRIu32,
                     image_index(indices, i), a->predictions[i], b->predictions[i]);
            return 1;
        }
    }
    if (cfg && cfg->capture_activations) {
        for (int l = 0; l < L; l++) {
            if (!a->acts[l] || !b->acts[l]) {
                if (a->acts[l] != b->acts[l]) {
                    snprintf(diff, diff_size, "layer %s: only one result captured its input",
                             layer_name(net, l, nbuf, sizeof nbuf));
                    return 1;
                }
                continue;
            }
            size_t len = a->act_bytes[l];
            for (size_t i = 0; i < n; i++)
                if (memcmp(a->acts[l] + i * len, b->acts[l] + i * len, len) != 0) {
                    snprintf(diff, diff_size, "image %" PRIu32 ", layer %s, field input activations",
                             image_index(indices, i), layer_name(net, l, nbuf, sizeof nbuf));
                    return 1;
                }
        }
    }
    HIST_FIELD(out_bits, ACCSIM_BITS_BINS)
    HIST_FIELD(out_lin, ACCSIM_LIN_BINS)
    HIST_FIELD(peak_bits, ACCSIM_BITS_BINS)
    HIST_FIELD(peak_lin, ACCSIM_LIN_BINS)
    HIST_FIELD(psum_bits, ACCSIM_BITS_BINS)
    HIST_FIELD(psum_lin, ACCSIM_LIN_BINS)
    if (diff_size)
        diff[0] = '\0';
    return 0;
}
