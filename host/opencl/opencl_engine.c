/* The OpenCL engine: kernels/accsim.cl on the chosen device, images uploaded
 * once, many images per launch, every statistic computed on the device.
 *
 * A run goes in chunks of images: upload the chunk's indices (or its start
 * activations), launch one kernel per layer, read back the outputs,
 * predictions, per-image statistics and the chunk's histograms (uint32 on the
 * device, added into the uint64 result on the host). Programs are built lazily,
 * one per (overflow mode, histograms, partial-sum histograms). */
#include "opencl/opencl_engine.h"

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
/* Histogram bins are uint32 per chunk: conv1 has 366,912 adds per image, so
 * 8192 images per chunk stay below 2^32. */
#define MAX_CHUNK 8192
#define DEFAULT_CHUNK 4096

static const char *kernel_names[ACCSIM_LAYERS] = {"conv1", "conv2", "fc1", "fc2", "fc3"};
/* kernels/vector_cpu.cl (CPU devices): the same layers with int32 lanes, and
 * with int16 lanes for layers of width <= 16. fc3 there takes 16 images per
 * work-group. */
static const char *vec_kernel_names[ACCSIM_LAYERS] = {"conv1", "conv2", "fc1", "fc2", "fc3_v"};
static const char *s16_kernel_names[ACCSIM_LAYERS] = {"conv1_s16", "conv2_s16", "fc1_s16",
                                                      "fc2_s16", "fc3_s16"};
/* int32 lanes without clamps, for layers at or above their safe width. */
static const char *n32_kernel_names[ACCSIM_LAYERS] = {"conv1_n32", "conv2_n32", "fc1_n32",
                                                      "fc2_n32", "fc3_v"};
/* Work-group sizes of the vector kernels (int32 lanes, int16 lanes) and the
 * padded output counts of their int16 weights. */
#define FC3_IMAGES 16
static const size_t vec_group[ACCSIM_LAYERS] = {112, 200, 15, 11, FC3_IMAGES};
static const size_t s16_group[ACCSIM_LAYERS] = {56, 100, 8, 6, FC3_IMAGES};
static const int s16_padded[ACCSIM_LAYERS] = {0, 16, 128, 96, 16};
/* Work-group sizes, as in kernels/accsim.cl; conv1's depends on C1_ROWS. */
static const size_t fc_group[ACCSIM_LAYERS] = {0, 144, 120, 88, 16};
/* Outputs padded in the transposed int32 weights (see transposed_weights). */
static const int fc_padded[ACCSIM_LAYERS] = {0, 16, 120, 88, 16};

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
    int c1_rows;
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
    int32_t *stats_init;  /* [chunk][5][5] */
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
        for (int v = 0; v < 8; v++) {
            release_kernels(e, v);
            if (e->programs[v])
                clReleaseProgram(e->programs[v]);
        }
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

/* Kernels read up to 64 bytes past their input: padding lanes. */
#define READ_PAD 64

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

/* Layer l's weights as [inputs per output][pad], zero in the padding, in
 * int32 or int16 (elem): consecutive work-items, or the lanes of a vector,
 * read consecutive outputs (for conv2 the inputs are [c][ky][kx]). *count
 * receives the number of elements. */
static void *transposed_weights(const accsim_model *model, int l, int pad, size_t elem,
                                size_t *count)
{
    const accsim_layer_info *li = &accsim_layers[l];
    int nout = li->out_channels, nin = li->weight_count / nout;
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
    const accsim_model *model = net->course;
    e->net = net;

    /* Weights: conv1 as it is; conv2 and the fully connected layers transposed
     * (see transposed_weights). */
    for (int l = 0; l < ACCSIM_LAYERS; l++) {
        size_t n = (size_t)accsim_layers[l].weight_count;
        int32_t *w = l == 0 ? malloc(n * sizeof *w)
                            : transposed_weights(model, l, fc_padded[l], sizeof *w, &n);
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
        int16_t *w = transposed_weights(model, l, s16_padded[l], sizeof *w, &n);
        if (!w)
            return accsim_fail(err, "out of memory");
        e->s16_weights[l] = make_buffer(e, CL_MEM_READ_ONLY, n * sizeof *w, w, "weights", err);
        free(w);
        if (!e->s16_weights[l])
            goto fail;
    }
    /* Padded to 16 for the vector fc3 (one vector load). */
    int32_t bias16[16] = {0};
    memcpy(bias16, model->bias, sizeof model->bias);
    e->bias = make_buffer(e, CL_MEM_READ_ONLY, sizeof bias16, bias16, "bias", err);
    if (!e->bias)
        goto fail;

    /* The data set goes up once when one buffer can hold it; else chunks of
     * images are gathered on the host and streamed. */
    e->image_count = count;
    size_t bytes = count * (size_t)ACCSIM_IMAGE_BYTES;
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
    char options[512];
    snprintf(options, sizeof options,
             "-cl-std=CL1.2 -DWRAP=%d -DHIST=%d -DPSUM=%d -DSERIAL_HIST=%d -DC1_ROWS=%d "
             "-DVECTOR_CPU=%d",
             v & 1, (v >> 1) & 1, (v >> 2) & 1, e->serial_hist ? 1 : 0, e->c1_rows,
             e->vector_cpu ? 1 : 0);
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
        e->acts[l] = make_padded(e, CL_MEM_READ_WRITE, m * (size_t)accsim_layers[l].input_count,
                                 NULL, "activations", err);
        if (!e->acts[l])
            goto fail;
    }
    e->outputs = make_buffer(e, CL_MEM_WRITE_ONLY, m * ACCSIM_CLASSES, NULL, "outputs", err);
    e->predictions = make_buffer(e, CL_MEM_WRITE_ONLY, m, NULL, "predictions", err);
    e->stats = make_buffer(e, CL_MEM_READ_WRITE, m * ACCSIM_LAYERS * NSTAT * sizeof(int32_t),
                           NULL, "statistics", err);
    e->hist = make_buffer(e, CL_MEM_READ_WRITE, HIST_WORDS * sizeof(uint32_t), NULL,
                          "histograms", err);
    if (!e->outputs || !e->predictions || !e->stats || !e->hist)
        goto fail;
    if (!e->resident) {
        e->images = make_padded(e, CL_MEM_READ_ONLY, m * (size_t)ACCSIM_IMAGE_BYTES, NULL,
                                "image chunk", err);
        if (!e->images)
            goto fail;
        e->stream_host = malloc(m * (size_t)ACCSIM_IMAGE_BYTES);
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

static size_t chunk_size(size_t count)
{
    size_t m = DEFAULT_CHUNK;
    const char *env = getenv("ACCSIM_OPENCL_CHUNK");
    if (env) {
        long v = strtol(env, NULL, 10);
        if (v > 0 && v <= MAX_CHUNK)
            m = (size_t)v;
    }
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
    if (e->vector_cpu) {
        /* kernels/vector_cpu.cl: 8 or 16 accumulators per work-item; fc3 an
         * image per work-item, so the group count rounds up and the kernel
         * needs the real count. */
        local = s16 ? s16_group[l] : vec_group[l];
        if (l == 4) {
            cl_uint count = (cl_uint)m;
            SETARG(k, a++, count);
            global = (m + local - 1) / local * local;
        } else {
            global = m * (l == 0 ? 6 : 1) * local;
        }
    } else if (l == 0) {
        local = (size_t)e->c1_rows * 32;
        global = m * 6 * (size_t)(28 / e->c1_rows) * local;
    } else {
        local = fc_group[l];
        global = m * (l == 1 ? 16 : 1) * local;
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
        res->output_count != ACCSIM_CLASSES)
        return accsim_fail(err, "OpenCL engine: result holds %zu images of %d layers, run asks "
                                "%zu of %d", res->count, res->layers, count, ACCSIM_LAYERS);
    const int start = cfg->start_layer;
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
    const size_t m_max = chunk_size(count);
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
                    memcpy(e->stream_host + i * ACCSIM_IMAGE_BYTES,
                           e->host_images + idx * ACCSIM_IMAGE_BYTES, ACCSIM_IMAGE_BYTES);
                    e->index_host[i] = (uint32_t)i;
                }
                rc = clEnqueueWriteBuffer(e->queue, e->images, CL_FALSE, 0,
                                          m * ACCSIM_IMAGE_BYTES, e->stream_host, 0, NULL, NULL);
                if (rc != CL_SUCCESS)
                    return accsim_cl_fail(err, "uploading images", rc);
            }
            rc = clEnqueueWriteBuffer(e->queue, e->index, CL_FALSE, 0, m * sizeof(uint32_t),
                                      e->index_host, 0, NULL, NULL);
            if (rc != CL_SUCCESS)
                return accsim_cl_fail(err, "uploading image indices", rc);
        } else {
            size_t n = (size_t)accsim_layers[start].input_count;
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
        rc = clEnqueueReadBuffer(e->queue, e->outputs, CL_FALSE, 0, m * ACCSIM_CLASSES,
                                 res->outputs + off * ACCSIM_CLASSES, 0, NULL, NULL);
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
                size_t n = (size_t)accsim_layers[l].input_count;
                rc = clEnqueueReadBuffer(e->queue, e->acts[l], CL_FALSE, 0, m * n,
                                         res->acts[l] + off * n, 0, NULL, NULL);
            }
            if (start == 0) {
                for (size_t i = 0; i < m && rc == CL_SUCCESS; i++) {
                    int8_t *dst = res->acts[0] + (off + i) * ACCSIM_IMAGE_BYTES;
                    if (e->resident)
                        rc = clEnqueueReadBuffer(e->queue, e->images, CL_FALSE,
                                                 (size_t)e->index_host[i] * ACCSIM_IMAGE_BYTES,
                                                 ACCSIM_IMAGE_BYTES, dst, 0, NULL, NULL);
                    else
                        memcpy(dst, e->stream_host + i * ACCSIM_IMAGE_BYTES, ACCSIM_IMAGE_BYTES);
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
    static const int rows[] = {28, 14, 4, 2};
    e->c1_rows = 2;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if ((size_t)rows[i] * 32 <= e->dev.max_work_group) {
            e->c1_rows = rows[i];
            break;
        }
    const char *cr = getenv("ACCSIM_OPENCL_C1_ROWS");
    if (cr) {
        int r = atoi(cr);
        if ((r == 2 || r == 4 || r == 14 || r == 28) && (size_t)r * 32 <= e->dev.max_work_group)
            e->c1_rows = r;
    }
    if (e->dev.max_work_group < 144) {
        accsim_fail(err, "OpenCL device %s allows work-groups of %zu work-items; accsim needs 144",
                    e->dev.name, e->dev.max_work_group);
        ocl_destroy(engine);
        return NULL;
    }

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
    /* Build the plain variant now so that kernel errors show up at once. */
    if (ensure_program(e, 0, err) != 0) {
        ocl_destroy(engine);
        return NULL;
    }
    if (opts && !opts->quiet && getenv("ACCSIM_VERBOSE"))
        fprintf(stderr, "accsim: %s\n", engine->description);
    return engine;
}
