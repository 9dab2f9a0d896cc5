/* Totals and comparisons over the per-image arrays every engine fills. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "accsim/summary.h"

void accsim_summarize(const accsim_result *res, const uint8_t *labels, int first_layer,
                      accsim_summary *out)
{
    memset(out, 0, sizeof *out);
    out->images = res->count;
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        out->layers[l].min = INT32_MAX;
        out->layers[l].max = INT32_MIN;
        out->layers[l].psum_min = INT32_MAX;
        out->layers[l].psum_max = INT32_MIN;
    }
    for (size_t i = 0; i < res->count; i++) {
        if (labels && res->predictions[i] == labels[i])
            out->correct++;
        for (int l = first_layer; l < ACCSIM_LAYERS; l++) {
            size_t k = i * ACCSIM_LAYERS + (size_t)l;
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
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
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
    for (int l = 0; l < ACCSIM_LAYERS; l++)                                                       \
        for (int bin = 0; bin < (bins); bin++)                                                    \
            if (a->hist[l].field[bin] != b->hist[l].field[bin]) {                                 \
                snprintf(diff, diff_size,                                                         \
                         "histogram %s, layer %s, bin %d: %" PRIu64 " vs %" PRIu64, #field,       \
                         accsim_layers[l].name, bin, a->hist[l].field[bin],                       \
                         b->hist[l].field[bin]);                                                  \
                return 1;                                                                         \
            }

int accsim_result_compare(const accsim_result *a, const accsim_result *b, const accsim_config *cfg,
                          const uint32_t *indices, char *diff, size_t diff_size)
{
    if (a->count != b->count) {
        snprintf(diff, diff_size, "image counts differ: %zu vs %zu", a->count, b->count);
        return 1;
    }
    size_t n = a->count;
    /* Earlier layers first: a difference there explains everything after it. */
    for (size_t i = 0; i < n; i++) {
        for (int l = 0; l < ACCSIM_LAYERS; l++) {
            size_t k = i * ACCSIM_LAYERS + (size_t)l;
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
                         " vs %" PRId64, image_index(indices, i), accsim_layers[l].name, field,
                         va, vb);
                return 1;
            }
        }
        for (int c = 0; c < ACCSIM_CLASSES; c++) {
            int8_t oa = a->outputs[i * ACCSIM_CLASSES + c], ob = b->outputs[i * ACCSIM_CLASSES + c];
            if (oa != ob) {
                snprintf(diff, diff_size, "image %" PRIu32 ", layer fc3, field output %d: %d vs %d",
                         image_index(indices, i), c, oa, ob);
                return 1;
            }
        }
        if (a->predictions[i] != b->predictions[i]) {
            snprintf(diff, diff_size, "image %" PRIu32 ", field prediction: %d vs %d",
                     image_index(indices, i), a->predictions[i], b->predictions[i]);
            return 1;
        }
    }
    if (cfg && cfg->capture_activations) {
        for (int l = cfg->start_layer; l < ACCSIM_LAYERS; l++) {
            size_t len = (size_t)accsim_layers[l].input_count;
            for (size_t i = 0; i < n; i++)
                if (memcmp(a->acts[l] + i * len, b->acts[l] + i * len, len) != 0) {
                    snprintf(diff, diff_size, "image %" PRIu32 ", layer %s, field input activations",
                             image_index(indices, i), accsim_layers[l].name);
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
