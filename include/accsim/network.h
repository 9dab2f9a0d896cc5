/* Any int8 CNN from a network description (docs/network-format.md): the .npy
 * reader, the manifest loader and the C reference interpreter.
 *
 * A description is a directory holding network.json and .npy tensor files.
 * Every loader error names the file (and, for the manifest, the op and field)
 * it is about. The interpreter simulates every MAC layer's B-bit accumulator
 * one add at a time; it is the C reference engine ("cpu"). */
#ifndef ACCSIM_NETWORK_H
#define ACCSIM_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accsim/engine.h"
#include "accsim/error.h"
#include "accsim/model.h"
#include "accsim/progress.h"

/* ---- .npy files ------------------------------------------------------- */

typedef enum {
    ACCSIM_NPY_I1, ACCSIM_NPY_U1, ACCSIM_NPY_I2, ACCSIM_NPY_U2, ACCSIM_NPY_I4, ACCSIM_NPY_U4,
    ACCSIM_NPY_I8, ACCSIM_NPY_U8, ACCSIM_NPY_F4, ACCSIM_NPY_F8, ACCSIM_NPY_BOOL
} accsim_npy_dtype;

#define ACCSIM_NPY_MAX_DIMS 8
#define ACCSIM_NPY_MAX_BYTES ((size_t)1 << 30) /* files larger than this are refused */

typedef struct accsim_npy {
    accsim_npy_dtype dtype;
    int ndim;                          /* 0 for a scalar */
    size_t shape[ACCSIM_NPY_MAX_DIMS];
    size_t count;                      /* element count (1 for a scalar) */
    void *data;                        /* count elements, native byte order; malloc'ed */
} accsim_npy;

/* "int8 (|i1)", "float64 (<f8)", ... for messages. */
const char *accsim_npy_dtype_name(accsim_npy_dtype dtype);
size_t accsim_npy_itemsize(accsim_npy_dtype dtype);

/* Parses a whole .npy file held in memory (version 1.0, 2.0 or 3.0; little
 * endian or byte-sized dtypes; C order; the data exactly fills the rest).
 * name is used in error messages ("conv1.npy: ..."). On failure *out is empty. */
int accsim_npy_parse(const void *data, size_t size, const char *name, accsim_npy *out,
                     accsim_error *err);
/* Reads and parses PATH (a regular file of at most ACCSIM_NPY_MAX_BYTES). */
int accsim_npy_load(const char *path, accsim_npy *out, accsim_error *err);
void accsim_npy_free(accsim_npy *npy);
/* Encodes an array as a version 1.0 .npy file (*buf malloc'ed), for tests and tools. */
int accsim_npy_encode(accsim_npy_dtype dtype, int ndim, const size_t *shape, const void *data,
                      char **buf, size_t *size, accsim_error *err);
int accsim_npy_save(const char *path, accsim_npy_dtype dtype, int ndim, const size_t *shape,
                    const void *data, accsim_error *err);

/* ---- The description -------------------------------------------------- */

typedef enum { ACCSIM_NHWC, ACCSIM_NCHW } accsim_layout;

typedef enum {
    ACCSIM_OP_CONV2D, ACCSIM_OP_FULLY_CONNECTED, ACCSIM_OP_MAX_POOL, ACCSIM_OP_AVG_POOL,
    ACCSIM_OP_ADD, ACCSIM_OP_CLAMP, ACCSIM_OP_RESHAPE
} accsim_op_kind;

typedef enum { ACCSIM_REQ_FLOAT, ACCSIM_REQ_FIXED } accsim_requant_kind;
/* How float requantization rounds the double product acc * scale: half to even
 * (nearbyint/rint) or half away from zero (round, TFLite's TfLiteRound). */
typedef enum { ACCSIM_ROUND_HALF_EVEN, ACCSIM_ROUND_HALF_AWAY } accsim_float_rounding;
typedef enum { ACCSIM_ORDER_HWC, ACCSIM_ORDER_CHW } accsim_acc_order;
typedef enum { ACCSIM_ZP_PER_PRODUCT, ACCSIM_ZP_FOLDED_FIRST, ACCSIM_ZP_FOLDED_LAST } accsim_zp_mode;
typedef enum { ACCSIM_QUANT_NONE, ACCSIM_QUANT_COURSE, ACCSIM_QUANT_OFFSET, ACCSIM_QUANT_AFFINE } accsim_quant_kind;

#define ACCSIM_NET_NAME 64
#define ACCSIM_NET_MAX_DIMS 3

typedef struct accsim_tensor {
    char name[ACCSIM_NET_NAME];
    int ndim;                       /* 1 or 3 (also 2 through reshape) */
    int dims[ACCSIM_NET_MAX_DIMS];  /* per image, in the layout's order */
    size_t count;
    int zero_point;
    int producer;                   /* op index, -1 for the input */
} accsim_tensor;

typedef struct accsim_requant {
    accsim_requant_kind kind;
    double *scale;        /* float: [C_out] (a single number repeated) */
    accsim_float_rounding rounding; /* float: the tie rule ("rounding", default half_even) */
    bool float32;         /* float: "precision": "float32": (float)acc * (float)scale */
    int32_t *multiplier;  /* fixed: [C_out] */
    int32_t *shift;       /* fixed: [C_out] */
} accsim_requant;

typedef struct accsim_op {
    accsim_op_kind kind;
    char name[ACCSIM_NET_NAME];
    int inputs[2];        /* tensor indices */
    int input_count;
    int output;           /* tensor index */
    int mac_index;        /* position among the MAC layers (manifest order), else -1 */
    /* conv2d / fully_connected: weights as stored (conv in the layout's order). */
    int8_t *weights;
    int32_t *bias;        /* [C_out] or NULL */
    int c_out, c_in, groups;
    /* conv2d and pools: kernel, stride, resolved padding. */
    int kh, kw, sh, sw, pad_top, pad_bottom, pad_left, pad_right;
    accsim_requant requant;
    int clamp_lo, clamp_hi;
    /* accumulator */
    accsim_acc_order order;
    int tile;
    bool bias_first;
    accsim_zp_mode zp_mode;
    /* add */
    bool add_fixed;
    int add_left_shift;
    int32_t add_in_mult[2], add_in_shift[2], add_out_mult, add_out_shift;
    double add_scales[2];
    /* add, float "precision": "float32" (onnxruntime's QLinearAdd):
     * nearbyintf(fmaf(x1 + k, a1, fmaf(x2 + k, a2, offset))) - k, k = value_offset. */
    bool add_float32;
    double add_offset;
    int add_value_offset;
} accsim_op;

typedef struct accsim_input_quant {
    accsim_quant_kind kind;
    double scale;             /* course, affine */
    int offset;               /* offset */
    double mean[16], std[16]; /* affine, per channel */
    int channels;             /* affine: entries in mean/std */
    int zero_point;           /* affine */
} accsim_input_quant;

typedef struct accsim_network {
    char name[128];
    char dir[1024];
    accsim_layout layout;
    int input;                /* tensor index */
    int output;               /* tensor index */
    accsim_input_quant quantize;
    int op_count;
    accsim_op *ops;           /* manifest order */
    int *exec_order;          /* [op_count] op indices, each after its producers */
    int tensor_count;
    accsim_tensor *tensors;
    int mac_count;
    int *mac_ops;             /* [mac_count] op index of each MAC layer, manifest order */
    int *mac_pos;             /* [mac_count] position of each MAC layer in exec_order */
    /* The course LeNet-5 this network was made from (accsim_network_from_course_model,
     * which does not own it), else NULL: what the course OpenCL engine runs. */
    const accsim_model *course;
} accsim_network;

/* Supplies the .npy file named in the manifest (a relative path) for
 * accsim_network_parse: fills *out or fails with a message naming the file. */
typedef int (*accsim_network_tensor_fn)(void *ctx, const char *file, accsim_npy *out,
                                        accsim_error *err);

/* Parses a manifest held in memory (json_size bytes, strict JSON, nothing
 * after it). label names it in messages (e.g. "DIR/network.json"). */
int accsim_network_parse(accsim_network *net, const char *json, size_t json_size,
                         const char *label, accsim_network_tensor_fn tensors, void *ctx,
                         accsim_error *err);
/* Loads DIR/network.json and the .npy files it names from DIR. */
int accsim_network_load(accsim_network *net, const char *dir, accsim_error *err);
void accsim_network_free(accsim_network *net);

/* The course LeNet-5 (SPEC sections 2-6) as a description: NCHW, conv2d with
 * float requantization clamped to [0, 127] then 2x2 max-pool, reshape,
 * fully_connected; conv accumulators chw with one tile per input channel. */
int accsim_network_from_course_model(const accsim_model *model, accsim_network *net,
                                     accsim_error *err);

/* ---- The C reference interpreter -------------------------------------- */

typedef struct accsim_network_config {
    const int *bits;     /* [mac_count] accumulator width B per MAC layer, 2..32 */
    const int *bits_out; /* [mac_count] outer register width when tiled, or NULL: = bits */
    accsim_overflow overflow;
    int threads;         /* 0: one per core */
    /* Engine extras (the C reference engine; all optional, zero: off). */
    const uint32_t *indices; /* run inputs rows indices[0..count-1] instead of 0..count-1 */
    bool histograms;         /* res->hist: outputs and per-output peaks (SPEC 7) */
    bool psum_histograms;    /* res->hist: every value any register held */
    const accsim_lin_range *out_range, *peak_range, *psum_range; /* [mac_count] */
    /* Restart state (accsim_network_restart_bytes): with capture, res->acts[L]
     * (caller's buffers, [count][restart_bytes(L)]) receives it for every MAC
     * layer L from start_layer on (in execution order); start_layer > 0 starts
     * there from start_acts ([count][restart_bytes(start_layer)]), computing
     * nothing before it. */
    bool capture;
    int start_layer;
    const int8_t *start_acts;
    accsim_progress *progress;
} accsim_network_config;

typedef struct accsim_network_result {
    size_t count;
    int mac_count;
    size_t output_count;   /* elements of the output tensor */
    int8_t *outputs;       /* [count][output_count] */
    uint32_t *predictions; /* [count] first maximum */
    /* [count][mac_count] */
    uint32_t *saturations;
    int32_t *out_min, *out_max;   /* final accumulators (after the bias) */
    int32_t *psum_min, *psum_max; /* every value any register held (registers start at 0) */
    accsim_layer_hist *hist;      /* [mac_count], zero unless histograms were asked for */
    int8_t *acts[ACCSIM_MAX_LAYERS]; /* capture destinations, set by the caller */
} accsim_network_result;

int accsim_network_result_init(accsim_network_result *res, const accsim_network *net,
                               size_t count, accsim_error *err);
void accsim_network_result_free(accsim_network_result *res);

/* The restart state of MAC layer `layer`: the int8 tensors live just before
 * it runs in execution order (produced before it, or the network input, and
 * read by it or later, or the network output), concatenated in tensor index
 * order. For a chain it is the layer's input tensor. */
size_t accsim_network_restart_bytes(const accsim_network *net, int layer);
/* The tensors of that state in its order (tensor indices into tensors[],
 * room for tensor_count): how many; -1 for a bad layer or out of memory.
 * For engines that lay the state out themselves (the OpenCL network engine). */
int accsim_network_restart_tensors(const accsim_network *net, int layer, int *tensors);
/* Every MAC layer's restart bytes at once (bytes[mac_count]); -1: out of memory. */
int accsim_network_restart_sizes(const accsim_network *net, size_t *bytes);

/* Elements of one input image (the input tensor's count). */
size_t accsim_network_input_count(const accsim_network *net);
/* Elements of the output tensor. */
size_t accsim_network_output_count(const accsim_network *net);
/* Position of MAC layer `layer` in execution order (net->mac_pos[layer]). */
int accsim_network_mac_position(const accsim_network *net, int layer);

/* Quantizes count CIFAR-style records ([C][H][W] bytes each, C*H*W of them)
 * by input.quantize into the input tensor's layout: out[count][input_count]. */
int accsim_network_quantize_images(const accsim_network *net, const uint8_t *pixels,
                                   size_t count, int8_t *out, accsim_error *err);

/* Runs images inputs[count][input_count] (already int8). */
/* Checks a run's request against the network before any work: the result
 * made for this network and count, widths 2..32 per MAC layer, the overflow
 * mode, histogram ranges where histograms are asked for, the start layer and
 * its restart state. Every engine of descriptions calls it. */
int accsim_network_check_run(const accsim_network *net, const accsim_network_config *cfg,
                             size_t count, const accsim_network_result *res, accsim_error *err);
int accsim_network_run(const accsim_network *net, const accsim_network_config *cfg,
                       const int8_t *inputs, size_t count, accsim_network_result *res,
                       accsim_error *err);

/* ---- Facts for the analyses (host/network/netinfo.c) -------------------- */

struct accsim_mac_shape;
/* The range every element of tensor t can take, from the ops' clamps (pools,
 * clamps and reshapes keep their input's range). The input: all of int8. */
void accsim_network_tensor_range(const accsim_network *net, int t, int *lo, int *hi);
/* MAC layer l's reduction for the data-free bounds (accsim/bounds.h): the
 * multiplicand is x - z with x in the input tensor's range, z its zero point. */
void accsim_network_mac_shape(const accsim_network *net, int l, struct accsim_mac_shape *shape);
/* The smallest width (2..32) from which no input makes layer l saturate or
 * wrap (32 when a folded nonzero zero point leaves no bound). */
int accsim_network_safe_width(const accsim_network *net, int l);
/* Every path from the input to the output passes through MAC layer l. */
bool accsim_network_mac_is_cut(const accsim_network *net, int l);
/* Every value a B-bit register of layer l can hold requantizes to the same
 * output in each channel (so the layer's output is the same for every image). */
bool accsim_network_mac_constant_at(const accsim_network *net, int l, int bits);
/* The requantized, clamped output of channel o of MAC op `op` for accumulator acc. */
int8_t accsim_network_requantize(const accsim_network *net, const accsim_op *op, int o,
                                 int32_t acc);

/* TFLite's fixed-point helpers (tensorflow/lite/kernels/internal/common.h,
 * gemmlowp fixedpoint), exposed for tests. x * 2^left_shift wraps in int32
 * where TFLite's would overflow. */
int32_t accsim_srdhm(int32_t a, int32_t b);               /* SaturatingRoundingDoublingHighMul */
int32_t accsim_rounding_divide_by_pot(int32_t x, int exponent);
int32_t accsim_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift);
int32_t accsim_mbqm_smaller_than_one_exp(int32_t x, int32_t multiplier, int left_shift);

#endif
