/* The OpenCL engine: kernels/accsim.cl on the chosen device, images uploaded
 * once, many images per launch, every statistic computed on the device.
 *
 * A run goes in chunks of images: upload the chunk's indices (or its start
 * activations), launch one kernel per layer, read back the outputs,
 * predictions, per-image statistics and the chunk's histograms (uint32 on the
 * device, added into the uint64 result on the host). Programs are built lazily,
 * one per (overflow mode, histograms, partial-sum histograms), for the loaded
 * network's shapes (course_geom_plan). */
#include "opencl/opencl_engine.h"

#include <assert.h>
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accsim/network.h"
#include "opencl/cl_runtime.h"

#define NSTAT 5
#define HIST_KINDS 6
#define HIST_WORDS (ACCSIM_LAYERS * HIST_KINDS * ACCSIM_LIN_BINS)
#define THR_COUNT 256
/* Images per launch at most (course_geom's max_chunk may ask fewer). */
#define MAX_CHUNK 8192
#define DEFAULT_CHUNK 4096

static const char *kernel_names[ACCSIM_LAYERS] = {"conv1", "conv2", "fc1", "fc2", "fc3"};
/* kernels/vector_cpu.cl (CPU devices): the same layers with int32 lanes, and
 * with int16 lanes for layers of width <= 16. fc3 there takes FC3_IMAGES
 * images per work-group. */
static const char *vec_kernel_names[ACCSIM_LAYERS] = {"conv1", "conv2", "fc1", "fc2", "fc3_v"};
static const char *s16_kernel_names[ACCSIM_LAYERS] = {"conv1_s16", "conv2_s16", "fc1_s16",
                                                      "fc2_s16", "fc3_s16"};
/* int32 lanes without clamps, for layers at or above their safe width. */
static const char *n32_kernel_names[ACCSIM_LAYERS] = {"conv1_n32", "conv2_n32", "fc1_n32",
                                                      "fc2_n32", "fc3_v"};
/* ---- the course kernels' geometry ----------------------------------------
 *
 * Every size the kernels and their launches use comes from the network
 * description, through course_geom_plan: the kernels get them as -D constants
 * (course_geom_options), the host sizes its buffers, weight layouts and
 * work-groups from the same struct (launch_size). The kernels run the LeNet-5
 * family: conv (KHxKW, stride 1, no padding) -> ReLU -> 2x2 max-pool -> conv
 * -> ReLU -> 2x2 max-pool -> flatten -> fc -> ReLU -> fc -> ReLU -> fc with
 * bias, NCHW, float requantization, each conv channel's products summed
 * before the channel's sum joins the accumulator (SPEC section 5), with the
 * limits course_geom_plan checks (conv1 rows padded to a multiple of the
 * vector width, fc3 outputs in one vector...). */

/* Lanes of the vector kernels' int32 and int16 kinds (kernels/vector_cpu.cl
 * checks them against its vector types) and images per vector fc3 group. */
#define LANES_I32 8
#define LANES_S16 16
#define FC3_IMAGES 16
/* Kernels read up to READ_PAD bytes past their input: padding lanes. */
#define READ_PAD 64

enum { KIND_SCALAR, KIND_I32, KIND_S16, KINDS };

typedef struct course_geom {
    /* From the description. */
    int in_c, in_h, in_w;               /* the image (conv1's input) */
    int conv_out[2], conv_kh[2], conv_kw[2];
    int conv_oh[2], conv_ow[2];         /* accumulator grids */
    int pool_h[2], pool_w[2];           /* after the 2x2 max-pools */
    int fc_in[3], fc_out[3];            /* fc1, fc2, fc3 */
    /* Derived. */
    int c1_rows;                        /* scalar conv1: output rows per work-group */
    int c2_grid;                        /* scalar conv2: work-items per group */
    int pad[KINDS][ACCSIM_LAYERS];      /* outputs padded in the transposed weights */
    size_t group[KINDS][ACCSIM_LAYERS]; /* work-group sizes */
    size_t input_count[ACCSIM_LAYERS];  /* int8 activations per image a layer reads */
    size_t max_chunk;                   /* images per launch keeping uint32 bins exact */
} course_geom;

static int round_up(int n, int m)
{
    return (n + m - 1) / m * m;
}

/* The op at position `at` of the execution order, when it is of kind `kind`. */
static const accsim_op *course_op(const accsim_network *net, int at, accsim_op_kind kind)
{
    if (at >= net->op_count)
        return NULL;
    const accsim_op *op = &net->ops[net->exec_order[at]];
    return op->kind == kind ? op : NULL;
}

/* The tensor dims of op's input (in) or output, as C, H, W (NCHW). */
static void chw(const accsim_network *net, int t, int *c, int *h, int *w)
{
    const accsim_tensor *ts = &net->tensors[t];
    *c = ts->dims[0];
    *h = ts->ndim == 3 ? ts->dims[1] : 1;
    *w = ts->ndim == 3 ? ts->dims[2] : 1;
}

#define GEOM_FAIL(...)                                                             \
    accsim_fail(err, "the OpenCL engine's course kernels run LeNet-5-shaped networks only: " \
                __VA_ARGS__)

/* Reads conv i (0, 1) and its pool: op positions 2i, 2i + 1. */
static int geom_conv(const accsim_network *net, int i, course_geom *g, accsim_error *err)
{
    const accsim_op *conv = course_op(net, 2 * i, ACCSIM_OP_CONV2D);
    const accsim_op *pool = course_op(net, 2 * i + 1, ACCSIM_OP_MAX_POOL);
    if (!conv || !pool)
        return GEOM_FAIL("conv %d should be a conv2d followed by a max_pool", i + 1);
    int c, h, w, pc, ph, pw;
    chw(net, conv->output, &c, &h, &w);
    chw(net, pool->output, &pc, &ph, &pw);
    if (conv->groups != 1 || conv->sh != 1 || conv->sw != 1 || conv->pad_top ||
        conv->pad_left || conv->pad_bottom || conv->pad_right || conv->bias)
        return GEOM_FAIL("%s should have stride 1, no padding, no groups, no bias", conv->name);
    if (conv->order != ACCSIM_ORDER_CHW || conv->tile != conv->kh * conv->kw)
        return GEOM_FAIL("%s should sum each input channel apart (order chw, tile %d)",
                         conv->name, conv->kh * conv->kw);
    if (pool->kh != 2 || pool->kw != 2 || pool->sh != 2 || pool->sw != 2 || pool->pad_top ||
        pool->pad_left || h != 2 * ph || w != 2 * pw)
        return GEOM_FAIL("%s should be a 2x2 max-pool, stride 2, of an even grid", pool->name);
    g->conv_out[i] = c;
    g->conv_kh[i] = conv->kh;
    g->conv_kw[i] = conv->kw;
    g->conv_oh[i] = h;
    g->conv_ow[i] = w;
    g->pool_h[i] = ph;
    g->pool_w[i] = pw;
    return 0;
}

/* The shapes of the course network's description, and what the kernels
 * need of them. */
static int geom_read(const accsim_network *net, course_geom *g, accsim_error *err)
{
    memset(g, 0, sizeof *g);
    if (net->layout != ACCSIM_NCHW || net->op_count != 8 || net->mac_count != ACCSIM_LAYERS ||
        net->tensors[net->input].ndim != 3)
        return GEOM_FAIL("NCHW, conv, pool, conv, pool, flatten, three fully connected");
    chw(net, net->input, &g->in_c, &g->in_h, &g->in_w);
    if (geom_conv(net, 0, g, err) != 0 || geom_conv(net, 1, g, err) != 0)
        return -1;
    if (!course_op(net, 4, ACCSIM_OP_RESHAPE))
        return GEOM_FAIL("the second pool should be followed by a reshape (flatten)");
    for (int i = 0; i < 3; i++) {
        const accsim_op *fc = course_op(net, 5 + i, ACCSIM_OP_FULLY_CONNECTED);
        if (!fc)
            return GEOM_FAIL("the flatten should be followed by three fully_connected ops");
        if ((fc->bias != NULL) != (i == 2) || (fc->bias && fc->bias_first))
            return GEOM_FAIL("%s: only the last fully connected layer has a bias, added last",
                             fc->name);
        g->fc_in[i] = (int)net->tensors[fc->inputs[0]].count;
        g->fc_out[i] = fc->c_out;
    }
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        const accsim_op *op = &net->ops[net->mac_ops[l]];
        if (op->requant.kind != ACCSIM_REQ_FLOAT ||
            op->clamp_lo != (l < ACCSIM_LAYERS - 1 ? 0 : -128) || op->clamp_hi != 127)
            return GEOM_FAIL("%s should requantize by a float scale to [%d, 127]", op->name,
                             l < ACCSIM_LAYERS - 1 ? 0 : -128);
    }
    if (g->conv_oh[0] != g->in_h - g->conv_kh[0] + 1 || g->pool_w[0] < g->conv_kw[1] ||
        g->fc_in[0] != g->conv_out[1] * g->pool_h[1] * g->pool_w[1])
        return GEOM_FAIL("the layers' sizes do not chain");
    return 0;
}

/* The limits the kernels were written for. */
static int geom_check(const course_geom *g, accsim_error *err)
{
    if (g->in_w % LANES_S16 != 0)
        return GEOM_FAIL("conv1's input rows (%d wide) should be a multiple of %d: the vector "
                         "kernels put a row's outputs in vectors of that many lanes",
                         g->in_w, LANES_S16);
    if (g->fc_out[2] > LANES_S16)
        return GEOM_FAIL("fc3 has %d outputs; the kernels hold them in one %d-lane vector",
                         g->fc_out[2], LANES_S16);
    /* Plain int32 adds are exact while the sum of every |product| (at most
     * 2^14 each) stays below 2^31; the int16-lane event counters hold at most
     * 2^15 - 1. */
    int reduction[ACCSIM_LAYERS] = {
        g->in_c * (g->conv_kh[0] * g->conv_kw[0] + 1),
        g->conv_out[0] * (g->conv_kh[1] * g->conv_kw[1] + 1), g->fc_in[0], g->fc_in[1],
        g->fc_in[2] + 1};
    for (int l = 0; l < ACCSIM_LAYERS; l++)
        if (reduction[l] >= (1 << 15))
            return GEOM_FAIL("%s adds %d values per output; the kernels count up to 32767",
                             accsim_layers[l].name, reduction[l]);
    /* Padding lanes read past the last image: conv1 up to KW - 1 bytes, the
     * scalar conv2 its grid's padding too. */
    int c2_image = g->conv_out[0] * g->pool_h[0] * g->pool_w[0];
    int c2_last = (g->conv_out[0] - 1) * g->pool_h[0] * g->pool_w[0] + g->c2_grid - 1 +
                  (g->conv_kh[1] - 1) * g->pool_w[0] + g->conv_kw[1] - 1;
    if (g->conv_kw[0] - 1 > READ_PAD || c2_last + 1 - c2_image > READ_PAD)
        return GEOM_FAIL("padding lanes would read more than %d bytes past the activations",
                         READ_PAD);
    return 0;
}

/* conv1 rows per scalar work-group: the largest even divisor of the output
 * height whose group fits the device (or `want`, when it is one). */
static int geom_c1_rows(const course_geom *g, size_t max_group, int want)
{
    int oh = g->conv_oh[0], best = 0;
    for (int r = 2; r <= oh; r += 2)
        if (oh % r == 0 && (size_t)r * (size_t)g->in_w <= max_group) {
            if (r == want)
                return r;
            best = r;
        }
    return best;
}

/* The description's shapes and everything derived from them for a device
 * allowing work-groups of max_group; c1_rows_want: a scalar conv1 row count
 * to use when it fits (0: the largest). */
static int course_geom_plan(const accsim_network *net, size_t max_group, int c1_rows_want,
                            course_geom *g, accsim_error *err)
{
    if (geom_read(net, g, err) != 0)
        return -1;
    g->c1_rows = geom_c1_rows(g, max_group, c1_rows_want);
    if (g->c1_rows == 0)
        return GEOM_FAIL("no conv1 work-group of two rows fits the device's %zu work-items",
                         max_group);
    /* A whole number of the widest vectors, so that compilers vectorizing
     * across work-items leave no remainder. */
    g->c2_grid = round_up(g->conv_oh[1] * g->pool_w[0], LANES_S16);
    if (geom_check(g, err) != 0)
        return -1;

    /* Transposed weights: conv2's outputs padded to a whole int16 vector
     * (both vector kinds step through them), the fc layers' to their lane
     * count, fc3's to one vector. */
    int c2_pad = round_up(g->conv_out[1], LANES_S16);
    for (int k = 0; k < KINDS; k++) {
        int lanes = k == KIND_S16 ? LANES_S16 : LANES_I32;
        g->pad[k][1] = c2_pad;
        g->pad[k][2] = round_up(g->fc_out[0], lanes);
        g->pad[k][3] = round_up(g->fc_out[1], lanes);
        g->pad[k][4] = LANES_S16;
    }
    g->group[KIND_SCALAR][0] = (size_t)g->c1_rows * (size_t)g->in_w;
    g->group[KIND_SCALAR][1] = (size_t)g->c2_grid;
    for (int k = KIND_I32; k < KINDS; k++) {
        size_t lanes = k == KIND_S16 ? LANES_S16 : LANES_I32;
        g->group[k][0] = (size_t)g->conv_oh[0] * (size_t)g->in_w / lanes;
        g->group[k][1] = (size_t)(g->conv_oh[1] * g->conv_ow[1] * c2_pad) / lanes;
        g->group[k][2] = (size_t)g->pad[k][2] / lanes;
        g->group[k][3] = (size_t)g->pad[k][3] / lanes;
        g->group[k][4] = FC3_IMAGES;
    }
    for (int l = 2; l < ACCSIM_LAYERS; l++)
        g->group[KIND_SCALAR][l] = (size_t)g->pad[KIND_SCALAR][l];
    for (int k = 0; k < KINDS; k++)
        for (int l = 0; l < ACCSIM_LAYERS; l++)
            if (g->group[k][l] > max_group)
                return accsim_fail(err, "OpenCL device allows work-groups of %zu work-items; "
                                        "the %s kernel needs %zu", max_group,
                                   accsim_layers[l].name, g->group[k][l]);

    g->input_count[0] = (size_t)g->in_c * (size_t)g->in_h * (size_t)g->in_w;
    g->input_count[1] = (size_t)(g->conv_out[0] * g->pool_h[0] * g->pool_w[0]);
    for (int l = 2; l < ACCSIM_LAYERS; l++)
        g->input_count[l] = (size_t)g->fc_in[l - 2];
    /* Every-partial-sum bins are uint32 per chunk: the layer with the most
     * adds per image bounds the images per chunk. */
    uint64_t adds = 0;
    for (int i = 0; i < 2; i++) {
        int cin = i == 0 ? g->in_c : g->conv_out[0];
        uint64_t a = (uint64_t)g->conv_out[i] * (uint64_t)(g->conv_oh[i] * g->conv_ow[i]) *
                     (uint64_t)(cin * (g->conv_kh[i] * g->conv_kw[i] + 1));
        adds = a > adds ? a : adds;
    }
    for (int i = 0; i < 3; i++) {
        uint64_t a = (uint64_t)g->fc_out[i] * (uint64_t)(g->fc_in[i] + (i == 2));
        adds = a > adds ? a : adds;
    }
    g->max_chunk = (size_t)(UINT32_MAX / adds);
    return 0;
}

/* The -D constants of course_geom g: every size the kernels use. */
static void course_geom_options(const course_geom *g, char *buf, size_t size)
{
    snprintf(buf, size,
             "-DIN_C=%d -DIN_H=%d -DIN_W=%d "
             "-DC1_OUT=%d -DC1_KH=%d -DC1_KW=%d -DC1_OH=%d -DC1_OW=%d -DP1_H=%d -DP1_W=%d "
             "-DC2_OUT=%d -DC2_KH=%d -DC2_KW=%d -DC2_OH=%d -DC2_OW=%d -DP2_H=%d -DP2_W=%d "
             "-DFC1_IN=%d -DFC1_OUT=%d -DFC2_IN=%d -DFC2_OUT=%d -DFC3_IN=%d -DFC3_OUT=%d "
             "-DC1_ROWS=%d -DC2_GRID=%d -DC2_PAD=%d "
             "-DFC1_PAD_I32=%d -DFC2_PAD_I32=%d -DFC1_PAD_S16=%d -DFC2_PAD_S16=%d -DFC3_PAD=%d "
             "-DLANES_I32=%d -DLANES_S16=%d -DFC3_IMAGES=%d",
             g->in_c, g->in_h, g->in_w, g->conv_out[0], g->conv_kh[0], g->conv_kw[0],
             g->conv_oh[0], g->conv_ow[0], g->pool_h[0], g->pool_w[0], g->conv_out[1],
             g->conv_kh[1], g->conv_kw[1], g->conv_oh[1], g->conv_ow[1], g->pool_h[1],
             g->pool_w[1], g->fc_in[0], g->fc_out[0], g->fc_in[1], g->fc_out[1], g->fc_in[2],
             g->fc_out[2], g->c1_rows, g->c2_grid, g->pad[KIND_I32][1], g->pad[KIND_I32][2],
             g->pad[KIND_I32][3], g->pad[KIND_S16][2], g->pad[KIND_S16][3], g->pad[KIND_I32][4],
             LANES_I32, LANES_S16, FC3_IMAGES);
}

/* Work sizes of layer l's kernel of the given kind for m images. */
static void launch_size(const course_geom *g, int kind, int l, size_t m, size_t *global,
                        size_t *local)
{
    *local = g->group[kind][l];
    if (kind != KIND_SCALAR && l == ACCSIM_LAYERS - 1) {
        /* An image per work-item: the kernel skips the rounding's extras. */
        *global = (m + *local - 1) / *local * *local;
        return;
    }
    size_t groups = 1; /* per image */
    if (l == 0)
        groups = (size_t)g->conv_out[0] *
                 (kind == KIND_SCALAR ? (size_t)(g->conv_oh[0] / g->c1_rows) : 1);
    else if (l == 1 && kind == KIND_SCALAR)
        groups = (size_t)g->conv_out[1];
    *global = m * groups * *local;
}

typedef struct {
    cl_int out_lo, out_shift, peak_lo, peak_shift, psum_lo, psum_shift;
} cl_hist_ranges;

typedef struct ocl_engine {
    cl_device_entry dev;
    cl_context ctx;
    cl_command_queue queue;
    char *source;
    bool serial_hist;
    bool vector_cpu; /* kernels/vector_cpu.cl for conv1, conv2, fc1, fc2 */
    int c1_rows_want;  /* $ACCSIM_OPENCL_C1_ROWS, else 0 */
    course_geom geom;  /* the loaded network's shapes */
    char geom_options[1024]; /* their -D constants, those the programs were built with */
    cl_program programs[8];
    cl_kernel kernels[8][ACCSIM_LAYERS];
    cl_kernel s16_kernels[8][ACCSIM_LAYERS]; /* vector_cpu only */
    cl_kernel n32_kernels[8][ACCSIM_LAYERS]; /* vector_cpu only */

    bool loaded;
    size_t image_count;
    bool resident;             /* whole data set on the device */
    const int8_t *host_images; /* streamed mode: the caller's images */
    const accsim_network *net; /* loaded: the course model's description */
    uint8_t *pred_host;        /* a chunk's predictions as the kernels write them */
    cl_mem images;             /* resident: [count][3072]; streamed: [chunk][3072] */
    cl_mem weights[ACCSIM_LAYERS];
    cl_mem s16_weights[ACCSIM_LAYERS]; /* int16 copies for the s16 kernels (not conv1) */
    cl_mem bias;
    cl_mem thr[ACCSIM_LAYERS];
    float scale[ACCSIM_LAYERS];
    int safe_bits[ACCSIM_LAYERS]; /* from this width up no add can clamp */

    size_t chunk;
    cl_mem index;
    cl_mem acts[ACCSIM_LAYERS]; /* acts[L]: layer L's input, L >= 1 */
    cl_mem outputs, predictions, stats, hist;
    int32_t *stats_init;  /* [chunk][ACCSIM_LAYERS][NSTAT] */
    int32_t *stats_host;
    uint32_t *hist_host;
    uint32_t *index_host;
    int8_t *stream_host;  /* streamed mode gather buffer */

    /* ACCSIM_OPENCL_PROFILE=1: device time per layer kernel, printed on
     * stderr when the engine goes away (for tuning; the queue is profiled). */
    bool profile;
    cl_event events[ACCSIM_LAYERS];
    double kernel_ns[ACCSIM_LAYERS];
    uint64_t kernel_images[ACCSIM_LAYERS];
} ocl_engine;

static void release_mem(cl_mem *m)
{
    if (*m) {
        clReleaseMemObject(*m);
        *m = NULL;
    }
}

static void release_chunk(ocl_engine *e)
{
    release_mem(&e->index);
    for (int l = 0; l < ACCSIM_LAYERS; l++)
        release_mem(&e->acts[l]);
    release_mem(&e->outputs);
    release_mem(&e->predictions);
    release_mem(&e->stats);
    release_mem(&e->hist);
    free(e->stats_init);
    free(e->stats_host);
    free(e->pred_host);
    e->pred_host = NULL;
    free(e->hist_host);
    free(e->index_host);
    free(e->stream_host);
    e->stats_init = e->stats_host = NULL;
    e->hist_host = NULL;
    e->index_host = NULL;
    e->stream_host = NULL;
    e->chunk = 0;
}

static void release_model(ocl_engine *e)
{
    release_mem(&e->images);
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        release_mem(&e->weights[l]);
        release_mem(&e->thr[l]);
    }
    for (int l = 0; l < ACCSIM_LAYERS; l++)
        release_mem(&e->s16_weights[l]);
    release_mem(&e->bias);
    e->loaded = false;
}

/* Releases program variant v's kernels (those created so far). */
static void release_kernels(ocl_engine *e, int v)
{
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        if (e->kernels[v][l])
            clReleaseKernel(e->kernels[v][l]);
        if (e->s16_kernels[v][l])
            clReleaseKernel(e->s16_kernels[v][l]);
        if (e->n32_kernels[v][l])
            clReleaseKernel(e->n32_kernels[v][l]);
        e->kernels[v][l] = e->s16_kernels[v][l] = e->n32_kernels[v][l] = NULL;
    }
}

static void release_programs(ocl_engine *e)
{
    for (int v = 0; v < 8; v++) {
        release_kernels(e, v);
        if (e->programs[v])
            clReleaseProgram(e->programs[v]);
        e->programs[v] = NULL;
    }
}

static void ocl_destroy(accsim_engine *engine)
{
    if (!engine)
        return;
    ocl_engine *e = engine->impl;
    if (e) {
        if (e->profile)
            for (int l = 0; l < ACCSIM_LAYERS; l++)
                if (e->kernel_images[l])
                    fprintf(stderr, "accsim profile: %-5s %10.3f ms  %9.1f ns/image  %llu images\n",
                            kernel_names[l], e->kernel_ns[l] / 1e6,
                            e->kernel_ns[l] / (double)e->kernel_images[l],
                            (unsigned long long)e->kernel_images[l]);
        release_chunk(e);
        release_model(e);
        release_programs(e);
        if (e->queue)
            clReleaseCommandQueue(e->queue);
        if (e->ctx)
            clReleaseContext(e->ctx);
        free(e->source);
        free(e);
    }
    free(engine);
}

static cl_mem make_buffer(ocl_engine *e, cl_mem_flags flags, size_t size, const void *host,
                          const char *what, accsim_error *err)
{
    cl_int rc;
    if (size == 0)
        size = 16;
    if (size > e->dev.max_alloc) {
        accsim_fail(err,
                    "OpenCL device out of memory: %s needs %zu bytes, the device allows %llu "
                    "per buffer",
                    what, size, (unsigned long long)e->dev.max_alloc);
        return NULL;
    }
    cl_mem m = clCreateBuffer(e->ctx, flags | (host ? CL_MEM_COPY_HOST_PTR : 0), size,
                              (void *)host, &rc);
    if (!m) {
        char buf[256];
        snprintf(buf, sizeof buf, "allocating %s (%zu bytes)", what, size);
        accsim_cl_fail(err, buf, rc);
    }
    return m;
}

/* A buffer of size + READ_PAD bytes, the first size from host (when given),
 * the rest zero. */
static cl_mem make_padded(ocl_engine *e, cl_mem_flags flags, size_t size, const void *host,
                          const char *what, accsim_error *err)
{
    cl_mem m = make_buffer(e, flags, size + READ_PAD, NULL, what, err);
    if (!m)
        return NULL;
    cl_uchar zero = 0;
    cl_int rc = clEnqueueFillBuffer(e->queue, m, &zero, 1, 0, size + READ_PAD, 0, NULL, NULL);
    if (rc == CL_SUCCESS && host && size)
        rc = clEnqueueWriteBuffer(e->queue, m, CL_TRUE, 0, size, host, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
        rc = clFinish(e->queue);
    if (rc != CL_SUCCESS) {
        char buf[256];
        snprintf(buf, sizeof buf, "uploading %s (%zu bytes)", what, size);
        accsim_cl_fail(err, buf, rc);
        clReleaseMemObject(m);
        return NULL;
    }
    return m;
}

/* thr[k] = the smallest int32 v with requantize(v) >= -127 + k (k < 255), or
 * INT32_MAX + 1 when none; thr[255] = INT64_MAX. */
static void make_thresholds(double scale, int64_t thr[THR_COUNT])
{
    for (int k = 0; k < 255; k++) {
        int level = -127 + k;
        int64_t lo = INT32_MIN, hi = (int64_t)INT32_MAX + 1;
        while (lo < hi) {
            int64_t mid = lo + ((hi - lo) >> 1);
            if (accsim_requantize(mid, scale) >= level)
                hi = mid;
            else
                lo = mid + 1;
        }
        thr[k] = lo;
    }
    thr[255] = INT64_MAX;
}

/* Layer l's weights as course_geom g sees them: nout outputs of nin inputs
 * each (conv: [c][ky][kx]). */
static void geom_weight_shape(const course_geom *g, int l, int *nout, int *nin)
{
    if (l < 2) {
        int cin = l == 0 ? g->in_c : g->conv_out[0];
        *nout = g->conv_out[l];
        *nin = cin * g->conv_kh[l] * g->conv_kw[l];
    } else {
        *nout = g->fc_out[l - 2];
        *nin = g->fc_in[l - 2];
    }
}

/* Layer l's weights as [inputs per output][pad], zero in the padding, in
 * int32 or int16 (elem): consecutive work-items, or the lanes of a vector,
 * read consecutive outputs (for conv2 the inputs are [c][ky][kx]). *count
 * receives the number of elements. */
static void *transposed_weights(const accsim_model *model, const course_geom *g, int l, int pad,
                                size_t elem, size_t *count)
{
    int nout, nin;
    geom_weight_shape(g, l, &nout, &nin);
    assert(pad >= nout);
    *count = (size_t)nin * (size_t)pad;
    void *w = calloc(*count, elem);
    if (!w)
        return NULL;
    for (int o = 0; o < nout; o++)
        for (int i = 0; i < nin; i++) {
            size_t at = (size_t)i * (size_t)pad + (size_t)o;
            int8_t v = model->weights[l][(size_t)o * (size_t)nin + (size_t)i];
            if (elem == sizeof(int16_t))
                ((int16_t *)w)[at] = v;
            else
                ((int32_t *)w)[at] = v;
        }
    return w;
}

static int ensure_program(ocl_engine *e, int v, accsim_error *err);

/* Plans the kernels for net's shapes; programs built for other shapes go.
 * The plain variant is built at once so that kernel errors show up here. */
static int load_geometry(ocl_engine *e, const accsim_network *net, accsim_error *err)
{
    if (course_geom_plan(net, e->dev.max_work_group, e->c1_rows_want, &e->geom, err) != 0)
        return -1;
    /* The course model's arrays hold what the description says. */
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        int nout, nin;
        geom_weight_shape(&e->geom, l, &nout, &nin);
        if (nout * nin != accsim_layers[l].weight_count)
            return accsim_fail(err, "OpenCL engine: %s of the description has %d weights, the "
                                    "course model %d", accsim_layers[l].name, nout * nin,
                               accsim_layers[l].weight_count);
    }
    if (e->geom.input_count[0] != ACCSIM_IMAGE_BYTES || e->geom.fc_out[2] != ACCSIM_CLASSES)
        return accsim_fail(err, "OpenCL engine: the description's input or output size is not "
                                "the course model's");
    char options[sizeof e->geom_options];
    course_geom_options(&e->geom, options, sizeof options);
    if (strcmp(options, e->geom_options) != 0) {
        release_programs(e);
        snprintf(e->geom_options, sizeof e->geom_options, "%s", options);
    }
    return ensure_program(e, 0, err);
}

static int ocl_load(accsim_engine *engine, const accsim_network *net, const int8_t *images,
                    size_t count, accsim_error *err)
{
    ocl_engine *e = engine->impl;
    release_chunk(e);
    release_model(e);
    e->net = NULL;
    if (!net->course)
        return accsim_fail(err, "the OpenCL engine runs the course LeNet-5 only; %s is another "
                                "network (the C reference engine, --engine cpu, runs any)",
                           net->name[0] ? net->name : "this");
    if (load_geometry(e, net, err) != 0)
        return -1;
    const accsim_model *model = net->course;
    const course_geom *g = &e->geom;
    e->net = net;

    /* Weights: conv1 as it is; conv2 and the fully connected layers transposed
     * (see transposed_weights). */
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        size_t n = (size_t)accsim_layers[l].weight_count;
        int32_t *w = l == 0 ? malloc(n * sizeof *w)
                            : transposed_weights(model, g, l, g->pad[KIND_I32][l], sizeof *w, &n);
        if (!w)
            return accsim_fail(err, "out of memory");
        if (l == 0)
            for (size_t i = 0; i < n; i++)
                w[i] = model->weights[l][i];
        e->weights[l] = make_buffer(e, CL_MEM_READ_ONLY, n * sizeof *w, w, "weights", err);
        free(w);
        if (!e->weights[l])
            goto fail;
        int64_t thr[THR_COUNT];
        make_thresholds(model->output_scale[l], thr);
        /* The kernels' first guess at requantization; FLT_MAX keeps 0 * scale
         * finite. */
        e->scale[l] = model->output_scale[l] < FLT_MAX ? (float)model->output_scale[l] : FLT_MAX;
        e->thr[l] = make_buffer(e, CL_MEM_READ_ONLY, sizeof thr, thr, "thresholds", err);
        if (!e->thr[l])
            goto fail;
        /* Any int8 inputs, also after a ReLU, so that restarts from any
         * given activations are covered; not fc3 (its bias add is apart). */
        e->safe_bits[l] = l < ACCSIM_LAYERS - 1 ? accsim_safe_width(model, l, -128) : 33;
    }
    /* int16 copies for the s16 kernels. */
    for (int l = 1; e->vector_cpu && l < ACCSIM_LAYERS; l++) {
        size_t n;
        int16_t *w = transposed_weights(model, g, l, g->pad[KIND_S16][l], sizeof *w, &n);
        if (!w)
            return accsim_fail(err, "out of memory");
        e->s16_weights[l] = make_buffer(e, CL_MEM_READ_ONLY, n * sizeof *w, w, "weights", err);
        free(w);
        if (!e->s16_weights[l])
            goto fail;
    }
    /* Padded to a whole vector for the vector fc3 (one vector load). */
    int32_t bias_padded[LANES_S16] = {0};
    memcpy(bias_padded, model->bias, (size_t)g->fc_out[2] * sizeof *bias_padded);
    e->bias = make_buffer(e, CL_MEM_READ_ONLY, sizeof bias_padded, bias_padded, "bias", err);
    if (!e->bias)
        goto fail;

    /* The data set goes up once when one buffer can hold it; else chunks of
     * images are gathered on the host and streamed. */
    e->image_count = count;
    size_t bytes = count * g->input_count[0];
    const char *force = getenv("ACCSIM_OPENCL_STREAM");
    e->resident = bytes + READ_PAD <= e->dev.max_alloc && !(force && strcmp(force, "1") == 0);
    if (e->resident && count > 0) {
        e->images = make_padded(e, CL_MEM_READ_ONLY, bytes, images, "the data set", err);
        if (!e->images) {
            /* An allocation failure: fall back to streaming. */
            e->resident = false;
        }
    } else {
        e->resident = false;
    }
    e->host_images = e->resident ? NULL : images;
    e->loaded = true;
    return 0;
fail:
    release_model(e);
    return -1;
}

static int program_variant(const accsim_config *cfg)
{
    return (cfg->overflow == ACCSIM_WRAP ? 1 : 0) | (cfg->histograms ? 2 : 0) |
           (cfg->psum_histograms ? 4 : 0);
}

static int ensure_program(ocl_engine *e, int v, accsim_error *err)
{
    if (e->programs[v])
        return 0;
    assert(e->geom_options[0]); /* load_geometry comes first */
    char options[sizeof e->geom_options + 128];
    snprintf(options, sizeof options,
             "-cl-std=CL1.2 -DWRAP=%d -DHIST=%d -DPSUM=%d -DSERIAL_HIST=%d -DVECTOR_CPU=%d %s",
             v & 1, (v >> 1) & 1, (v >> 2) & 1, e->serial_hist ? 1 : 0, e->vector_cpu ? 1 : 0,
             e->geom_options);
    cl_program prog = accsim_cl_build(e->ctx, e->dev.device, e->source, options, err);
    if (!prog)
        return -1;
    /* The layer kernels, and on CPUs also their int16-lane and unclamped
     * versions. */
    for (int k = 0; k < (e->vector_cpu ? 3 : 1) * ACCSIM_LAYERS; k++) {
        int l = k % ACCSIM_LAYERS, kind = k / ACCSIM_LAYERS;
        const char *name = kind == 2        ? n32_kernel_names[l]
                           : kind == 1      ? s16_kernel_names[l]
                           : e->vector_cpu ? vec_kernel_names[l]
                                           : kernel_names[l];
        cl_int rc;
        cl_kernel kernel = clCreateKernel(prog, name, &rc);
        if (!kernel) {
            release_kernels(e, v);
            clReleaseProgram(prog);
            char what[64];
            snprintf(what, sizeof what, "clCreateKernel(%s)", name);
            return accsim_cl_fail(err, what, rc);
        }
        *(kind == 2   ? &e->n32_kernels[v][l]
          : kind == 1 ? &e->s16_kernels[v][l]
                      : &e->kernels[v][l]) = kernel;
    }
    e->programs[v] = prog;
    return 0;
}

static int ensure_chunk(ocl_engine *e, size_t want, accsim_error *err)
{
    if (e->chunk >= want)
        return 0;
    release_chunk(e);
    size_t m = want;
    e->index = make_buffer(e, CL_MEM_READ_ONLY, m * sizeof(uint32_t), NULL, "image indices", err);
    if (!e->index)
        goto fail;
    for (int l = 1; l < ACCSIM_LAYERS; l++) {
        e->acts[l] = make_padded(e, CL_MEM_READ_WRITE, m * e->geom.input_count[l],
                                 NULL, "activations", err);
        if (!e->acts[l])
            goto fail;
    }
    e->outputs = make_buffer(e, CL_MEM_WRITE_ONLY, m * (size_t)e->geom.fc_out[2], NULL, "outputs",
                             err);
    e->predictions = make_buffer(e, CL_MEM_WRITE_ONLY, m, NULL, "predictions", err);
    e->stats = make_buffer(e, CL_MEM_READ_WRITE, m * ACCSIM_LAYERS * NSTAT * sizeof(int32_t),
                           NULL, "statistics", err);
    e->hist = make_buffer(e, CL_MEM_READ_WRITE, HIST_WORDS * sizeof(uint32_t), NULL,
                          "histograms", err);
    if (!e->outputs || !e->predictions || !e->stats || !e->hist)
        goto fail;
    if (!e->resident) {
        e->images = make_padded(e, CL_MEM_READ_ONLY, m * e->geom.input_count[0], NULL,
                                "image chunk", err);
        if (!e->images)
            goto fail;
        e->stream_host = malloc(m * e->geom.input_count[0]);
    }
    e->stats_init = malloc(m * ACCSIM_LAYERS * NSTAT * sizeof(int32_t));
    e->stats_host = malloc(m * ACCSIM_LAYERS * NSTAT * sizeof(int32_t));
    e->hist_host = malloc(HIST_WORDS * sizeof(uint32_t));
    e->index_host = malloc(m * sizeof(uint32_t));
    e->pred_host = malloc(m);
    if (!e->stats_init || !e->stats_host || !e->hist_host || !e->index_host || !e->pred_host ||
        (!e->resident && !e->stream_host)) {
        accsim_fail(err, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < m * ACCSIM_LAYERS; i++) {
        int32_t *s = e->stats_init + i * NSTAT;
        s[0] = 0;
        s[1] = INT32_MAX;
        s[2] = INT32_MIN;
        s[3] = 0;
        s[4] = 0;
    }
    e->chunk = m;
    return 0;
fail:
    if (!e->resident)
        release_mem(&e->images);
    release_chunk(e);
    return -1;
}

static size_t chunk_size(const course_geom *g, size_t count)
{
    size_t m = DEFAULT_CHUNK;
    const char *env = getenv("ACCSIM_OPENCL_CHUNK");
    if (env) {
        long v = strtol(env, NULL, 10);
        if (v > 0 && v <= MAX_CHUNK)
            m = (size_t)v;
    }
    if (m > g->max_chunk)
        m = g->max_chunk;
    if (count < m)
        m = count;
    return m ? m : 1;
}

#define SETARG(k, i, v)                                                            \
    do {                                                                           \
        cl_int rc_ = clSetKernelArg((k), (i), sizeof(v), &(v));                    \
        if (rc_ != CL_SUCCESS)                                                     \
            return accsim_cl_fail(err, "clSetKernelArg", rc_);                     \
    } while (0)

static int launch_layer(ocl_engine *e, int v, int l, const accsim_config *cfg, size_t m,
                        accsim_error *err)
{
    int b = cfg->bits[l];
    /* At or above the safe width nothing clamps: the unclamped kernels, or,
     * when every partial sum fits 16 bits, the int16 ones at 16 bits (the
     * same bits, no event either way). Twice the lanes per instruction when
     * the width allows. */
    const bool nosat = e->vector_cpu && b >= e->safe_bits[l];
    if (nosat && b > 16 && e->safe_bits[l] <= 16)
        b = 16;
    const bool s16 = e->vector_cpu && b <= 16;
    cl_kernel k = s16 ? e->s16_kernels[v][l] : nosat ? e->n32_kernels[v][l] : e->kernels[v][l];
    cl_int lo = (cl_int)(-(((int64_t)1) << (b - 1)));
    cl_int hi = (cl_int)((((int64_t)1) << (b - 1)) - 1);
    cl_int wsh = 32 - b;
    cl_hist_ranges hr = {cfg->out_range[l].lo,  cfg->out_range[l].shift,
                         cfg->peak_range[l].lo, cfg->peak_range[l].shift,
                         cfg->psum_range[l].lo, cfg->psum_range[l].shift};
    cl_uint a = 0;
    if (l == 0) {
        SETARG(k, a++, e->images);
        SETARG(k, a++, e->index);
    } else {
        SETARG(k, a++, e->acts[l]);
    }
    cl_mem weights = s16 && l > 0 ? e->s16_weights[l] : e->weights[l];
    SETARG(k, a++, weights);
    if (l == 4)
        SETARG(k, a++, e->bias);
    SETARG(k, a++, e->thr[l]);
    if (l == 4) {
        SETARG(k, a++, e->outputs);
        SETARG(k, a++, e->predictions);
    } else {
        SETARG(k, a++, e->acts[l + 1]);
    }
    SETARG(k, a++, e->stats);
    SETARG(k, a++, e->hist);
    SETARG(k, a++, lo);
    SETARG(k, a++, hi);
    SETARG(k, a++, wsh);
    SETARG(k, a++, hr);
    SETARG(k, a++, e->scale[l]);
    size_t local, global;
    const int kind = !e->vector_cpu ? KIND_SCALAR : s16 ? KIND_S16 : KIND_I32;
    launch_size(&e->geom, kind, l, m, &global, &local);
    if (kind != KIND_SCALAR && l == ACCSIM_LAYERS - 1) {
        /* The vector fc3 takes an image per work-item and needs the count. */
        cl_uint count = (cl_uint)m;
        SETARG(k, a++, count);
    }
    cl_int rc = clEnqueueNDRangeKernel(e->queue, k, 1, NULL, &global, &local, 0, NULL,
                                       e->profile ? &e->events[l] : NULL);
    if (rc != CL_SUCCESS) {
        char what[64];
        snprintf(what, sizeof what, "launching %s", kernel_names[l]);
        return accsim_cl_fail(err, what, rc);
    }
    return 0;
}

static int ocl_run(accsim_engine *engine, const accsim_config *cfg, const uint32_t *indices,
                   size_t count, accsim_result *res, accsim_progress *progress, accsim_error *err)
{
    ocl_engine *e = engine->impl;
    if (!e->loaded || !e->net)
        return accsim_fail(err, "OpenCL engine: run before load");
    if (accsim_config_check(cfg, e->net, err) != 0)
        return -1;
    for (int l = 0; l < ACCSIM_LAYERS; l++)
        if (cfg->bits_out[l] != 0 && cfg->bits_out[l] != cfg->bits[l])
            return accsim_fail(err, "the OpenCL engine's course kernels take one width per "
                                    "layer (no separate outer width for %s)",
                               accsim_layers[l].name);
    if (res->count != count || res->layers != ACCSIM_LAYERS ||
        res->output_count != (size_t)e->geom.fc_out[2])
        return accsim_fail(err, "OpenCL engine: result holds %zu images of %d layers, run asks "
                                "%zu of %d", res->count, res->layers, count, ACCSIM_LAYERS);
    const int start = cfg->start_layer;
    const size_t image_bytes = e->geom.input_count[0], classes = (size_t)e->geom.fc_out[2];
    if (start < 0 || start >= ACCSIM_LAYERS)
        return accsim_fail(err, "start layer %d out of range", start);
    if (start > 0 && !cfg->start_acts && count > 0)
        return accsim_fail(err, "start layer %d needs start activations", start);
    if (start == 0)
        for (size_t i = 0; i < count; i++) {
            size_t idx = indices ? indices[i] : i;
            if (idx >= e->image_count)
                return accsim_fail(err, "image index %zu out of range (%zu images loaded)", idx,
                                   e->image_count);
        }
    const int v = program_variant(cfg);
    if (ensure_program(e, v, err) != 0)
        return -1;
    const size_t m_max = chunk_size(&e->geom, count);
    if (ensure_chunk(e, m_max, err) != 0)
        return -1;
    const bool any_hist = cfg->histograms || cfg->psum_histograms;
    memset(res->hist, 0, ACCSIM_LAYERS * sizeof *res->hist);

    cl_int rc;
    for (size_t off = 0; off < count; off += m_max) {
        size_t m = count - off < m_max ? count - off : m_max;
        /* Inputs of this chunk. */
        if (start == 0) {
            if (e->resident) {
                for (size_t i = 0; i < m; i++)
                    e->index_host[i] = indices ? indices[off + i] : (uint32_t)(off + i);
            } else {
                for (size_t i = 0; i < m; i++) {
                    size_t idx = indices ? indices[off + i] : off + i;
                    memcpy(e->stream_host + i * image_bytes,
                           e->host_images + idx * image_bytes, image_bytes);
                    e->index_host[i] = (uint32_t)i;
                }
                rc = clEnqueueWriteBuffer(e->queue, e->images, CL_FALSE, 0,
                                          m * image_bytes, e->stream_host, 0, NULL, NULL);
                if (rc != CL_SUCCESS)
                    return accsim_cl_fail(err, "uploading images", rc);
            }
            rc = clEnqueueWriteBuffer(e->queue, e->index, CL_FALSE, 0, m * sizeof(uint32_t),
                                      e->index_host, 0, NULL, NULL);
            if (rc != CL_SUCCESS)
                return accsim_cl_fail(err, "uploading image indices", rc);
        } else {
            size_t n = e->geom.input_count[start];
            rc = clEnqueueWriteBuffer(e->queue, e->acts[start], CL_FALSE, 0, m * n,
                                      cfg->start_acts + off * n, 0, NULL, NULL);
            if (rc != CL_SUCCESS)
                return accsim_cl_fail(err, "uploading start activations", rc);
        }
        rc = clEnqueueWriteBuffer(e->queue, e->stats, CL_FALSE, 0,
                                  m * ACCSIM_LAYERS * NSTAT * sizeof(int32_t), e->stats_init, 0,
                                  NULL, NULL);
        if (rc != CL_SUCCESS)
            return accsim_cl_fail(err, "clearing statistics", rc);
        if (any_hist) {
            cl_uint zero = 0;
            rc = clEnqueueFillBuffer(e->queue, e->hist, &zero, sizeof zero, 0,
                                     HIST_WORDS * sizeof(uint32_t), 0, NULL, NULL);
            if (rc != CL_SUCCESS)
                return accsim_cl_fail(err, "clearing histograms", rc);
        }
        for (int l = start; l < ACCSIM_LAYERS; l++)
            if (launch_layer(e, v, l, cfg, m, err) != 0)
                return -1;
        /* Results. */
        rc = clEnqueueReadBuffer(e->queue, e->outputs, CL_FALSE, 0, m * classes,
                                 res->outputs + off * classes, 0, NULL, NULL);
        if (rc == CL_SUCCESS)
            rc = clEnqueueReadBuffer(e->queue, e->predictions, CL_FALSE, 0, m, e->pred_host, 0,
                                     NULL, NULL);
        if (rc == CL_SUCCESS)
            rc = clEnqueueReadBuffer(e->queue, e->stats, CL_FALSE, 0,
                                     m * ACCSIM_LAYERS * NSTAT * sizeof(int32_t), e->stats_host, 0,
                                     NULL, NULL);
        if (rc == CL_SUCCESS && any_hist)
            rc = clEnqueueReadBuffer(e->queue, e->hist, CL_FALSE, 0, HIST_WORDS * sizeof(uint32_t),
                                     e->hist_host, 0, NULL, NULL);
        if (rc == CL_SUCCESS && cfg->capture_activations) {
            for (int l = start > 0 ? start : 1; l < ACCSIM_LAYERS && rc == CL_SUCCESS; l++) {
                size_t n = e->geom.input_count[l];
                rc = clEnqueueReadBuffer(e->queue, e->acts[l], CL_FALSE, 0, m * n,
                                         res->acts[l] + off * n, 0, NULL, NULL);
            }
            if (start == 0) {
                for (size_t i = 0; i < m && rc == CL_SUCCESS; i++) {
                    int8_t *dst = res->acts[0] + (off + i) * image_bytes;
                    if (e->resident)
                        rc = clEnqueueReadBuffer(e->queue, e->images, CL_FALSE,
                                                 (size_t)e->index_host[i] * image_bytes,
                                                 image_bytes, dst, 0, NULL, NULL);
                    else
                        memcpy(dst, e->stream_host + i * image_bytes, image_bytes);
                }
            }
        }
        if (rc != CL_SUCCESS)
            return accsim_cl_fail(err, "reading results", rc);
        rc = clFinish(e->queue);
        if (rc != CL_SUCCESS)
            return accsim_cl_fail(err, "running the kernels", rc);
        if (e->profile)
            for (int l = start; l < ACCSIM_LAYERS; l++) {
                cl_ulong t0 = 0, t1 = 0;
                clGetEventProfilingInfo(e->events[l], CL_PROFILING_COMMAND_START, sizeof t0, &t0,
                                        NULL);
                clGetEventProfilingInfo(e->events[l], CL_PROFILING_COMMAND_END, sizeof t1, &t1,
                                        NULL);
                clReleaseEvent(e->events[l]);
                e->kernel_ns[l] += (double)(t1 - t0);
                e->kernel_images[l] += m;
            }

        for (size_t i = 0; i < m; i++)
            res->predictions[off + i] = e->pred_host[i];
        for (size_t i = 0; i < m; i++) {
            for (int l = 0; l < ACCSIM_LAYERS; l++) {
                size_t r = (off + i) * ACCSIM_LAYERS + (size_t)l;
                const int32_t *s = e->stats_host + (i * ACCSIM_LAYERS + (size_t)l) * NSTAT;
                if (l < start) {
                    res->saturations[r] = 0;
                    res->out_min[r] = res->out_max[r] = 0;
                    res->psum_min[r] = res->psum_max[r] = 0;
                    continue;
                }
                res->saturations[r] = (uint32_t)s[0];
                res->out_min[r] = s[1];
                res->out_max[r] = s[2];
                res->psum_min[r] = s[3];
                res->psum_max[r] = s[4];
            }
        }
        if (any_hist) {
            for (int l = start; l < ACCSIM_LAYERS; l++) {
                const uint32_t *h = e->hist_host + (size_t)l * HIST_KINDS * ACCSIM_LIN_BINS;
                accsim_layer_hist *rh = &res->hist[l];
                if (cfg->histograms) {
                    for (int b = 0; b < ACCSIM_BITS_BINS; b++) {
                        rh->out_bits[b] += h[b];
                        rh->peak_bits[b] += h[2 * ACCSIM_LIN_BINS + b];
                    }
                    for (int b = 0; b < ACCSIM_LIN_BINS; b++) {
                        rh->out_lin[b] += h[ACCSIM_LIN_BINS + b];
                        rh->peak_lin[b] += h[3 * ACCSIM_LIN_BINS + b];
                    }
                }
                if (cfg->psum_histograms) {
                    for (int b = 0; b < ACCSIM_BITS_BINS; b++)
                        rh->psum_bits[b] += h[4 * ACCSIM_LIN_BINS + b];
                    for (int b = 0; b < ACCSIM_LIN_BINS; b++)
                        rh->psum_lin[b] += h[5 * ACCSIM_LIN_BINS + b];
                }
            }
        }
        accsim_progress_advance(progress, m);
    }
    return 0;
}

static const accsim_engine_ops ocl_ops = {ocl_load, ocl_run, ocl_destroy};

int accsim_opencl_device_count(void)
{
    cl_device_list list;
    accsim_error err;
    if (accsim_cl_enumerate(&list, &err) != 0)
        return 0;
    int n = list.count;
    accsim_cl_list_free(&list);
    return n;
}

static const char *type_name(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU)
        return "GPU";
    if (t & CL_DEVICE_TYPE_CPU)
        return "CPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    return "other";
}

int accsim_opencl_list_devices(FILE *out, const char *device, accsim_error *err)
{
    cl_device_list list;
    if (accsim_cl_enumerate(&list, err) != 0)
        return -1;
    if (list.count == 0) {
        accsim_cl_list_free(&list);
        fprintf(out, "no OpenCL platform or device found (install an OpenCL driver, e.g. "
                     "pocl-opencl-icd for the CPU); accsim runs on the C reference engine\n");
        return 0;
    }
    accsim_error cerr;
    int chosen = accsim_cl_choose(&list, device, &cerr);
    int last_platform = -1;
    for (int i = 0; i < list.count; i++) {
        const cl_device_entry *d = &list.devices[i];
        if (d->platform_index != last_platform) {
            fprintf(out, "platform %d: %s (%s)\n", d->platform_index, d->platform_name,
                    d->platform_version);
            last_platform = d->platform_index;
        }
        fprintf(out, "  [%d] %s: %s, %u compute units, %u MHz, %.1f GiB, max alloc %.1f GiB, %s%s\n",
                i, d->name, type_name(d->type), d->compute_units, d->clock_mhz,
                (double)d->global_mem / (1024.0 * 1024.0 * 1024.0),
                (double)d->max_alloc / (1024.0 * 1024.0 * 1024.0), d->version,
                i == chosen ? "  <- chosen" : "");
    }
    if (chosen < 0)
        fprintf(out, "(%s)\n", cerr.message);
    int n = list.count;
    accsim_cl_list_free(&list);
    return n;
}

accsim_engine *accsim_opencl_engine_create(const accsim_engine_options *opts, accsim_error *err)
{
    cl_device_list list;
    if (accsim_cl_enumerate(&list, err) != 0)
        return NULL;
    if (list.count == 0) {
        accsim_fail(err, "no OpenCL platform found (install an OpenCL driver, e.g. "
                         "pocl-opencl-icd for the CPU, or use --engine cpu)");
        return NULL;
    }
    int idx = accsim_cl_choose(&list, opts ? opts->device : NULL, err);
    if (idx < 0) {
        accsim_cl_list_free(&list);
        return NULL;
    }
    accsim_engine *engine = calloc(1, sizeof *engine);
    ocl_engine *e = calloc(1, sizeof *e);
    if (!engine || !e) {
        free(engine);
        free(e);
        accsim_cl_list_free(&list);
        accsim_fail(err, "out of memory");
        return NULL;
    }
    e->dev = list.devices[idx];
    accsim_cl_list_free(&list);
    engine->ops = &ocl_ops;
    engine->kind = "opencl";
    engine->impl = e;
    snprintf(engine->description, sizeof engine->description, "OpenCL %s: %.200s (%.200s)",
             type_name(e->dev.type), e->dev.name, e->dev.platform_name);

    /* CPUs run a work-group on one thread: one work-item reduces the group
     * without atomics. GPUs use local atomics. */
    e->serial_hist = (e->dev.type & CL_DEVICE_TYPE_CPU) != 0;
    const char *sh = getenv("ACCSIM_OPENCL_SERIAL_HIST");
    if (sh && (strcmp(sh, "0") == 0 || strcmp(sh, "1") == 0))
        e->serial_hist = sh[0] == '1';
    /* CPUs get the explicit-vector kernels unless a switch asks for the
     * scalar (GPU) ones: ACCSIM_OPENCL_KERNELS=scalar, or any setting only
     * those have. */
    const char *kk = getenv("ACCSIM_OPENCL_KERNELS");
    e->vector_cpu = (e->dev.type & CL_DEVICE_TYPE_CPU) != 0 && e->serial_hist &&
                    !getenv("ACCSIM_OPENCL_C1_ROWS") && !(kk && strcmp(kk, "scalar") == 0);
    if (kk && strcmp(kk, "vector") == 0 && e->serial_hist)
        e->vector_cpu = true;
    /* A scalar conv1 row count to prefer (see geom_c1_rows; for tuning). */
    const char *cr = getenv("ACCSIM_OPENCL_C1_ROWS");
    e->c1_rows_want = cr ? atoi(cr) : 0;

    cl_int rc;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)e->dev.platform,
                                     0};
    e->ctx = clCreateContext(props, 1, &e->dev.device, NULL, NULL, &rc);
    if (!e->ctx) {
        accsim_cl_fail(err, "clCreateContext", rc);
        ocl_destroy(engine);
        return NULL;
    }
    e->profile = getenv("ACCSIM_OPENCL_PROFILE") != NULL;
    e->queue = clCreateCommandQueue(e->ctx, e->dev.device,
                                    e->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &rc);
    if (!e->queue) {
        accsim_cl_fail(err, "clCreateCommandQueue", rc);
        ocl_destroy(engine);
        return NULL;
    }
    e->source = accsim_cl_load_sources(opts ? opts->kernel_dir : NULL, err);
    if (!e->source) {
        ocl_destroy(engine);
        return NULL;
    }
    if (opts && !opts->quiet && getenv("ACCSIM_VERBOSE"))
        fprintf(stderr, "accsim: %s\n", engine->description);
    return engine;
}
