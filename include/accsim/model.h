/* The quantized LeNet-5 of SPEC section 2 and its loader (SPEC section 3). */
#ifndef ACCSIM_MODEL_H
#define ACCSIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accsim/error.h"

#define ACCSIM_LAYERS 5
#define ACCSIM_CLASSES 10
#define ACCSIM_IMAGE_BYTES 3072 /* 3 x 32 x 32 */

enum accsim_layer_id { ACCSIM_CONV1, ACCSIM_CONV2, ACCSIM_FC1, ACCSIM_FC2, ACCSIM_FC3 };

/* Shape of one layer. A fully connected layer is described as a convolution
 * with a 1x1 "image" and a 1x1 kernel so that one set of formulas covers both. */
typedef struct accsim_layer_info {
    const char *name;     /* "conv1" .. "fc3" */
    bool is_conv;
    int in_channels;      /* C_in (conv) or N_in (fc) */
    int in_size;          /* input height = width (conv); 1 for fc */
    int kernel;           /* K (conv); 1 for fc */
    int out_channels;     /* filters (conv) or N_out (fc) */
    int out_size;         /* accumulator grid height = width before pooling; 1 for fc */
    bool has_bias;
    bool has_relu;
    bool has_pool;        /* 2x2 max-pool, stride 2, after ReLU */
    int weight_count;
    int input_count;      /* int8 activations this layer reads per image */
    int output_count;     /* accumulators this layer produces per image */
    int adds_per_output;  /* accumulator adds per output, every sat() counted */
} accsim_layer_info;

extern const accsim_layer_info accsim_layers[ACCSIM_LAYERS];

typedef struct accsim_model {
    int8_t *weights[ACCSIM_LAYERS]; /* row-major as PyTorch: [out][in][ky][kx] */
    int32_t bias[ACCSIM_CLASSES];   /* fc3 only */
    double input_scale;
    double output_scale[ACCSIM_LAYERS];
    char dir[1024];
} accsim_model;

/* Loads DIR in the course's export format. Every problem is reported with the
 * file and line it was found in; on failure the model is left empty. */
int accsim_model_load(accsim_model *model, const char *dir, accsim_error *err);
void accsim_model_free(accsim_model *model);

/* Deterministic random model of the same shape (tests, benchmarks). Weights are
 * uniform in [-128, 127] and scales are chosen so activations stay in range. */
void accsim_model_random(accsim_model *model, uint64_t seed);

/* Writes the model in the course's format (scale.json and the CSV files, as
 * numpy.savetxt would), for tests and tools that make models of their own. */
int accsim_model_save(const accsim_model *model, const char *dir, accsim_error *err);

/* The optional test vector of SPEC section 3: input.csv as quantized int8 and
 * output.csv as the 10 expected outputs. Returns 1 when the files are absent. */
int accsim_model_load_test_vector(const accsim_model *model, int8_t image[ACCSIM_IMAGE_BYTES],
                                  int8_t expected[ACCSIM_CLASSES], accsim_error *err);

/* The loaders' parsers, on text already read (public for the fuzzers in
 * tests/fuzz/). NAME is used in messages. accsim_parse_numbers takes one
 * decimal number per line (numpy.savetxt), blank and '#' lines skipped, and
 * needs exactly `expected` of them; accsim_parse_scales takes scale.json. */
int accsim_parse_numbers(const char *name, const char *text, size_t size, size_t expected,
                         double *out, accsim_error *err);
int accsim_parse_scales(const char *name, const char *text, size_t size, accsim_model *model,
                        accsim_error *err);

/* SPEC section 6: clamp(round_half_even(v * scale), -128, 127) in double. */
int8_t accsim_requantize(int64_t v, double scale);

/* SPEC section 4: the int8 code of pixel byte p for this input scale. */
int8_t accsim_quantize_pixel(uint8_t p, double input_scale);

#endif
