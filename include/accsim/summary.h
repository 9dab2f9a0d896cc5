/* What a run means: per-layer totals and accuracy, derived on the host from the
 * per-image arrays every engine fills, so all engines report alike. */
#ifndef ACCSIM_SUMMARY_H
#define ACCSIM_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "accsim/engine.h"

typedef struct accsim_layer_summary {
    uint64_t saturations;    /* events over all images */
    uint64_t images_saturated;
    int32_t min, max;        /* of layer outputs over all images */
    int64_t peak;            /* largest magnitude any accumulator held */
    int32_t psum_min, psum_max;
    int bits_needed;         /* smallest width holding every partial sum seen */
} accsim_layer_summary;

typedef struct accsim_summary {
    size_t images;
    size_t correct;
    double accuracy; /* percent */
    int layer_count; /* MAC layers */
    accsim_layer_summary layers[ACCSIM_MAX_LAYERS];
} accsim_summary;

/* labels[i] is the label of the i-th image of the run (may be NULL: no accuracy). */
void accsim_summarize(const accsim_result *res, const uint8_t *labels, int first_layer,
                      accsim_summary *out);

/* Compares every field two engines produced for the same request. Returns 0
 * when identical; else 1 with the first difference described in diff
 * (data set image index, from indices[position] when indices is not NULL;
 * layer, named from net when not NULL; field; both values). Captured
 * activations are compared where both results hold them. */
int accsim_result_compare(const accsim_result *a, const accsim_result *b, const accsim_config *cfg,
                          const accsim_network *net, const uint32_t *indices, char *diff,
                          size_t diff_size);

#endif
