/* One interface, several engines (the C reference, OpenCL). Every engine must
 * fill an accsim_result with exactly the same bits as the C reference: that is
 * what `accsim verify` and tests/test_engines.c check. */
#ifndef ACCSIM_ENGINE_H
#define ACCSIM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accsim/error.h"
#include "accsim/model.h"
#include "accsim/progress.h"

typedef struct accsim_network accsim_network; /* accsim/network.h */

typedef enum { ACCSIM_SATURATE, ACCSIM_WRAP } accsim_overflow;

/* MAC layers a network may have. */
#define ACCSIM_MAX_LAYERS 64

/* Bits-needed histograms: bin b counts values whose smallest width is b (1..32);
 * bin 0 stays empty. */
#define ACCSIM_BITS_BINS 33
/* Linear histograms: bin = min((v - lo) >> shift, ACCSIM_LIN_BINS - 1), values
 * below lo go to bin 0. Power-of-two bin widths keep the bin index exact and
 * cheap on every device. */
#define ACCSIM_LIN_BINS 256

typedef struct accsim_lin_range {
    int32_t lo;
    int32_t shift; /* 0..32; bin width is 2^shift */
} accsim_lin_range;

/* Per MAC layer of the loaded network (net->mac_count of them, manifest order). */
typedef struct accsim_config {
    int bits[ACCSIM_MAX_LAYERS];     /* accumulator width per MAC layer, 2..32 */
    int bits_out[ACCSIM_MAX_LAYERS]; /* outer register width of a tiled layer; 0: = bits */
    accsim_overflow overflow;
    /* Histograms of layer outputs and of per-output peaks. */
    bool histograms;
    accsim_lin_range out_range[ACCSIM_MAX_LAYERS];
    accsim_lin_range peak_range[ACCSIM_MAX_LAYERS]; /* over peak magnitudes (lo = 0) */
    /* Every partial sum (opt-in: about 100 times more values). */
    bool psum_histograms;
    accsim_lin_range psum_range[ACCSIM_MAX_LAYERS];
    /* Keep the restart state (accsim_network_restart_bytes) of every MAC layer
     * the run computes (from start_layer on, in execution order). */
    bool capture_activations;
    /* Start at this MAC layer from its restart state instead of the images:
     * start_acts is [count][accsim_network_restart_bytes(net, start_layer)].
     * Layers before it are not computed and their per-image statistics stay 0. */
    int start_layer;
    const int8_t *start_acts;
} accsim_config;

typedef struct accsim_layer_hist {
    uint64_t out_bits[ACCSIM_BITS_BINS];
    uint64_t out_lin[ACCSIM_LIN_BINS];
    uint64_t peak_bits[ACCSIM_BITS_BINS];
    uint64_t peak_lin[ACCSIM_LIN_BINS];
    uint64_t psum_bits[ACCSIM_BITS_BINS];
    uint64_t psum_lin[ACCSIM_LIN_BINS];
} accsim_layer_hist;

/* Per-image arrays are indexed [i * layers + layer] where i is the position in
 * the request's index list, not the data set index. */
typedef struct accsim_result {
    size_t count;
    int layers;           /* MAC layers (net->mac_count) */
    size_t output_count;  /* elements of the output tensor */
    int8_t *outputs;      /* [count][output_count] the output tensor */
    uint32_t *predictions; /* [count] argmax, lowest index on ties */
    uint32_t *saturations; /* [count][layers] saturation (or wrap) events */
    int32_t *out_min;     /* [count][layers] smallest layer output (final accumulator) */
    int32_t *out_max;     /* [count][layers] largest layer output */
    int32_t *psum_min;    /* [count][layers] smallest value any accumulator held */
    int32_t *psum_max;    /* [count][layers] largest value any accumulator held */
    accsim_layer_hist *hist; /* [layers], zero unless requested */
    int8_t *acts[ACCSIM_MAX_LAYERS]; /* [count][restart_bytes(L)] when capture_activations,
                                      * for layers from start_layer on (else NULL) */
    size_t act_bytes[ACCSIM_MAX_LAYERS]; /* restart_bytes(L) */
} accsim_result;

int accsim_result_init(accsim_result *res, const accsim_network *net, size_t count,
                       const accsim_config *cfg, accsim_error *err);
void accsim_result_free(accsim_result *res);

/* The engine result's arrays seen as the network run's result (the same
 * layout), so that description engines write straight into them. */
struct accsim_network_result accsim_result_as_network(const accsim_result *res);
/* The engine configuration seen as the network run's configuration.
 * bits_out[ACCSIM_MAX_LAYERS] receives the outer widths (0 in cfg means = bits)
 * and must outlive the returned value. */
struct accsim_network_config accsim_config_as_network(const accsim_config *cfg,
                                                      const accsim_network *net,
                                                      int bits_out[ACCSIM_MAX_LAYERS],
                                                      const uint32_t *indices,
                                                      accsim_progress *progress);

typedef struct accsim_engine accsim_engine;

typedef struct accsim_engine_ops {
    /* Takes the network and the whole quantized data set once
     * ([count][accsim_network_input_count(net)]); later runs pick images from
     * it by index. Both must outlive the engine's runs. An engine that cannot
     * run the network refuses it with a clear error. */
    int (*load)(accsim_engine *engine, const accsim_network *net, const int8_t *inputs,
                size_t count, accsim_error *err);
    /* Runs images indices[0..count-1] (or 0..count-1 when indices is NULL).
     * res must be accsim_result_init'ed for count and cfg. */
    int (*run)(accsim_engine *engine, const accsim_config *cfg, const uint32_t *indices,
               size_t count, accsim_result *res, accsim_progress *progress, accsim_error *err);
    void (*destroy)(accsim_engine *engine);
} accsim_engine_ops;

struct accsim_engine {
    const accsim_engine_ops *ops;
    const char *kind;       /* "cpu" or "opencl" */
    char description[512];  /* what it runs on, for reports */
    void *impl;
};

typedef struct accsim_engine_options {
    const char *kind;   /* "cpu", "opencl" or NULL/"auto": OpenCL when there is a platform */
    const char *device; /* index or name substring; NULL: $ACCSIM_DEVICE, else a GPU, else any */
    const char *kernel_dir; /* load the kernels (*.cl files) from here instead of the embedded copies */
    bool quiet;
} accsim_engine_options;

/* Creates an engine. With kind "auto" and no usable OpenCL platform it says so
 * on stderr and returns the C reference. */
accsim_engine *accsim_engine_create(const accsim_engine_options *opts, accsim_error *err);
accsim_engine *accsim_cpu_engine_create(accsim_error *err);
void accsim_engine_destroy(accsim_engine *engine);

/* Validates a configuration against a network (widths, ranges); the error
 * names the bad field and layer. */
int accsim_config_check(const accsim_config *cfg, const accsim_network *net, accsim_error *err);
void accsim_config_default(accsim_config *cfg); /* B = 32 everywhere, saturate, no histograms */

/* Bits needed for v: the smallest B with -2^(B-1) <= v <= 2^(B-1) - 1. */
static inline int accsim_bits_needed(int64_t v)
{
    uint64_t magnitude = v < 0 ? ~(uint64_t)v : (uint64_t)v; /* -1 needs as few bits as 0 */
    return magnitude == 0 ? 1 : 65 - __builtin_clzll(magnitude);
}

/* The smallest width that holds every partial sum layer l can produce (its
 * bias add included) from inputs in input_min..127: from it up nothing
 * saturates or wraps, whatever the input. */
int accsim_safe_width(const accsim_model *model, int l, int input_min);

/* Linear bin shift so that [lo, hi] fits in ACCSIM_LIN_BINS bins. */
accsim_lin_range accsim_lin_range_for(int64_t lo, int64_t hi);

#endif
