/* The generic OpenCL engine for network descriptions; see network_engine.h
 * and kernels/network.cl.
 *
 * Device memory: the loaded input set; the weights of every MAC layer laid
 * out [block][reduction position][V lanes]; one activation arena holding,
 * for every tensor, a region of batch images ([image][elements]); a reshape's
 * output aliases its input's region. Every op's -D constants and its launch
 * geometry come from one description struct filled by one function (the
 * *_geom functions), so no size is written twice. Programs are cached per
 * option string: layers of the same shape share one; widths and the overflow
 * mode are kernel arguments (the kernel holds one specialized copy of its
 * loop per overflow mode and "some register is 32 bits wide"), so a width or
 * mode change builds nothing.
 *
 * Histograms: one global block per layer (uint32 words, accsim_layer_hist's
 * order), read back and added to the result after every batch; a batch is
 * cut short so that no bin can overflow (batch_images). Output and peak
 * histograms alone: the MAC kernel stores each output's four bins (final
 * accumulator, peak) into a scratch buffer, which net_hist counts right after (the MAC
 * kernel stays as fast as the counter kernel, see network.cl); the scratch
 * holds at most SCRATCH_BYTES or one image, and batches are cut to what it
 * holds. With every partial sum's histograms, the MAC kernel counts all of
 * them itself into work-group local histograms. Capture and restart
 * copy a layer's restart state (the live tensors, accsim_network_restart_
 * tensors) between the arena's regions and the host's rows with rectangular
 * transfers, in queue order with the kernels. */
#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opencl/cl_runtime.h"
#include "opencl/network_engine.h"

struct accsim_kernel_source {
    const char *name;
    const char *text;
};
extern const struct accsim_kernel_source accsim_embedded_kernels[];

#define MAX_V 16

/* One MAC layer's histograms on the device: uint32 words in accsim_layer_hist's
 * field order (kernels/network.cl's H_* offsets, from BITS_BINS and LIN_BINS). */
#define HIST_WORDS (sizeof(accsim_layer_hist) / sizeof(uint64_t))
_Static_assert(HIST_WORDS == 3 * (ACCSIM_BITS_BINS + ACCSIM_LIN_BINS) &&
                   offsetof(accsim_layer_hist, out_lin) == 8 * ACCSIM_BITS_BINS &&
                   offsetof(accsim_layer_hist, peak_bits) ==
                       8 * (ACCSIM_BITS_BINS + ACCSIM_LIN_BINS) &&
                   offsetof(accsim_layer_hist, psum_bits) ==
                       16 * (ACCSIM_BITS_BINS + ACCSIM_LIN_BINS),
               "network.cl lays the histograms out as accsim_layer_hist");

/* The scratch of the output/peak histograms holds at most this (or one image
 * of the largest layer): bounded memory whatever the batch; 64 MiB holds 256
 * images of a 32x32x16 layer twice over (4 bytes per output), so batches stay whole for
 * CIFAR-sized networks. */
#define SCRATCH_BYTES ((size_t)64 << 20)
/* net_hist: entries of one image per work-item (a work-group of one):
 * enough that its merge (up to 578 atomic adds) is small beside its
 * counting. */
#define HIST_SLICE 16384

typedef struct prog_entry {
    char *key; /* kernel name, then the options */
    cl_program prog;
    cl_kernel kernel;
} prog_entry;

/* Everything a MAC layer's kernel is specialized on, and its geometry. */
typedef struct mac_geom {
    int nhwc, H, W, C, OH, OW, CO, CG, PG, KH, KW, SH, SW, PT, PL;
    int order_hwc, tile, bias, zp_mode, zin, zout, req_fixed, clo, chi;
    int V, NB, NX, same_group, fast;
    size_t in_count, out_count;
} mac_geom;

typedef struct op_plan {
    const accsim_op *op;
    mac_geom g;
    char options[1200]; /* the -D constants */
    const char *kernel_name;
    size_t global0;     /* first dimension of the launch (the second: images) */
    cl_mem weights, bias, fold, req_a, req_b;
    /* The unclamped first pass is skipped while it failed for more than a
     * few outputs in the last batch run at the same width and mode. */
    int last_bits, last_bits_out, last_wrap;
    bool try_fast;
} op_plan;

struct accsim_netcl {
    cl_device_list list;
    int dev;
    char device_name[600];
    bool fp64;
    cl_context ctx;
    cl_command_queue queue;
    const char *source;
    prog_entry *progs;
    int prog_count, prog_cap;
    size_t batch_request;
    bool profile;
    double *op_cpu; /* [plan_count] process CPU seconds per op when profiling */
    /* loaded */
    const accsim_network *net;
    size_t count, in_count, out_count, batch;
    cl_mem inputs, arena, index, outputs, predictions, stats, zeros, hist;
    cl_mem scratch;            /* output/peak histogram scratch, made on first use */
    size_t scratch_images;     /* images it holds (of the largest layer) */
    size_t *tensor_off; /* [tensor_count] region offsets (elements per image, times batch) */
    /* Restart state per MAC layer (accsim_network_restart_bytes): its tensors
     * live_tensors[m * tensor_count ..][live_count[m]], live_bytes[m] in all;
     * mac_pos[m] its position in execution order. */
    int *live_tensors, *live_count, *mac_pos;
    size_t *live_bytes;
    /* Values the registers of MAC layer m hold per image at most (every
     * product, tile sum, bias and folded constant): bounds a batch so that
     * no device histogram bin (uint32) can overflow. */
    uint64_t *held_per_image;
    uint32_t *hist_host; /* [mac_count][HIST_WORDS] one batch's counts */
    op_plan *plans;     /* [plan_count] */
    int plan_count;     /* the network's op_count (unload does not read the network) */
    char io_options[256];
};

/* ---- programs ------------------------------------------------------------- */

static cl_kernel get_kernel(accsim_netcl *e, const char *name, const char *options,
                            accsim_error *err)
{
    size_t n = strlen(name) + strlen(options) + 2;
    char *key = malloc(n);
    if (!key) {
        accsim_fail(err, "out of memory");
        return NULL;
    }
    snprintf(key, n, "%s %s", name, options);
    for (int i = 0; i < e->prog_count; i++)
        if (strcmp(e->progs[i].key, key) == 0) {
            free(key);
            return e->progs[i].kernel;
        }
    if (e->prog_count == e->prog_cap) {
        int cap = e->prog_cap ? e->prog_cap * 2 : 16;
        prog_entry *g = realloc(e->progs, (size_t)cap * sizeof *g);
        if (!g) {
            free(key);
            accsim_fail(err, "out of memory");
            return NULL;
        }
        e->progs = g;
        e->prog_cap = cap;
    }
    char opts[1600];
    snprintf(opts, sizeof opts, "-DACCSIM_NETWORK_CL=1 %s", options);
    cl_program prog = accsim_cl_build(e->ctx, e->list.devices[e->dev].device, e->source, opts, err);
    if (!prog) {
        free(key);
        return NULL;
    }
    cl_int rc;
    cl_kernel k = clCreateKernel(prog, name, &rc);
    if (!k) {
        clReleaseProgram(prog);
        free(key);
        accsim_cl_fail(err, "clCreateKernel", rc);
        return NULL;
    }
    e->progs[e->prog_count++] = (prog_entry){.key = key, .prog = prog, .kernel = k};
    return k;
}

int accsim_netcl_programs_built(const accsim_netcl *e) { return e->prog_count; }

/* ---- create / destroy ----------------------------------------------------- */

int accsim_netcl_create(accsim_netcl **out, const char *device, accsim_error *err)
{
    *out = NULL;
    accsim_netcl *e = calloc(1, sizeof *e);
    if (!e)
        return accsim_fail(err, "out of memory");
    if (accsim_cl_enumerate(&e->list, err) != 0) {
        free(e);
        return -1;
    }
    if (e->list.count == 0) {
        accsim_cl_list_free(&e->list);
        free(e);
        return accsim_fail(err, "no OpenCL platform or device found (is an ICD such as PoCL "
                                "installed? see accsim devices)");
    }
    e->dev = accsim_cl_choose(&e->list, device, err);
    if (e->dev < 0) {
        accsim_cl_list_free(&e->list);
        free(e);
        return -1;
    }
    const cl_device_entry *d = &e->list.devices[e->dev];
    snprintf(e->device_name, sizeof e->device_name, "%s (%s)", d->name, d->platform_name);
    char ext[8192] = "";
    clGetDeviceInfo(d->device, CL_DEVICE_EXTENSIONS, sizeof ext - 1, ext, NULL);
    e->fp64 = strstr(ext, "cl_khr_fp64") != NULL;
    for (const struct accsim_kernel_source *k = accsim_embedded_kernels; k->name; k++)
        if (strcmp(k->name, "network.cl") == 0)
            e->source = k->text;
    if (!e->source) {
        accsim_netcl_destroy(e);
        return accsim_fail(err, "kernels/network.cl was not embedded at build time");
    }
    cl_int rc;
    e->ctx = clCreateContext(NULL, 1, &d->device, NULL, NULL, &rc);
    if (!e->ctx) {
        accsim_netcl_destroy(e);
        return accsim_cl_fail(err, "clCreateContext", rc);
    }
    e->queue = clCreateCommandQueue(e->ctx, d->device, 0, &rc);
    if (!e->queue) {
        accsim_netcl_destroy(e);
        return accsim_cl_fail(err, "clCreateCommandQueue", rc);
    }
    *out = e;
    return 0;
}

const char *accsim_netcl_device_name(const accsim_netcl *e) { return e->device_name; }

void accsim_netcl_set_batch(accsim_netcl *e, size_t batch) { e->batch_request = batch; }

void accsim_netcl_set_profile(accsim_netcl *e, bool on) { e->profile = on; }

double accsim_netcl_op_cpu_seconds(const accsim_netcl *e, int op)
{
    return e->op_cpu && op >= 0 && op < e->plan_count ? e->op_cpu[op] : 0;
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void release(cl_mem *m)
{
    if (*m)
        clReleaseMemObject(*m);
    *m = NULL;
}

static void unload(accsim_netcl *e)
{
    if (e->plans) {
        for (int i = 0; i < e->plan_count; i++) {
            op_plan *p = &e->plans[i];
            release(&p->weights);
            release(&p->bias);
            release(&p->fold);
            release(&p->req_a);
            release(&p->req_b);
        }
    }
    free(e->plans);
    e->plans = NULL;
    free(e->op_cpu);
    e->op_cpu = NULL;
    free(e->tensor_off);
    e->tensor_off = NULL;
    free(e->live_tensors);
    free(e->live_count);
    free(e->mac_pos);
    free(e->live_bytes);
    free(e->held_per_image);
    free(e->hist_host);
    e->live_tensors = e->live_count = e->mac_pos = NULL;
    e->live_bytes = NULL;
    e->held_per_image = NULL;
    e->hist_host = NULL;
    release(&e->inputs);
    release(&e->arena);
    release(&e->index);
    release(&e->outputs);
    release(&e->predictions);
    release(&e->stats);
    release(&e->zeros);
    release(&e->hist);
    release(&e->scratch);
    e->scratch_images = 0;
    e->net = NULL;
}

void accsim_netcl_destroy(accsim_netcl *e)
{
    if (!e)
        return;
    unload(e);
    for (int i = 0; i < e->prog_count; i++) {
        clReleaseKernel(e->progs[i].kernel);
        clReleaseProgram(e->progs[i].prog);
        free(e->progs[i].key);
    }
    free(e->progs);
    if (e->queue)
        clReleaseCommandQueue(e->queue);
    if (e->ctx)
        clReleaseContext(e->ctx);
    accsim_cl_list_free(&e->list);
    free(e);
}

/* ---- op descriptions ------------------------------------------------------- */

static void opt_printf(char *buf, size_t size, const char *fmt, ...) ACCSIM_PRINTF(3, 4);
static void opt_printf(char *buf, size_t size, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, size - n, fmt, ap);
    va_end(ap);
}

static void dims_of(const accsim_network *net, const accsim_tensor *t, int *H, int *W, int *C)
{
    if (t->ndim != 3) {
        *H = *W = 1;
        *C = (int)t->count;
    } else if (net->layout == ACCSIM_NHWC) {
        *H = t->dims[0], *W = t->dims[1], *C = t->dims[2];
    } else {
        *C = t->dims[0], *H = t->dims[1], *W = t->dims[2];
    }
}

static int next_pow2(int n)
{
    int v = 1;
    while (v < n)
        v *= 2;
    return v;
}

/* The stored weight of output channel o at reduction position r. */
static int8_t mac_weight(const accsim_network *net, const accsim_op *op, const mac_geom *g, int o,
                         int r)
{
    if (op->kind == ACCSIM_OP_FULLY_CONNECTED)
        return op->weights[(size_t)o * (size_t)g->CG + (size_t)r];
    int ky, kx, c;
    if (g->order_hwc) {
        c = r % g->CG;
        kx = (r / g->CG) % g->KW;
        ky = r / (g->CG * g->KW);
    } else {
        kx = r % g->KW;
        ky = (r / g->KW) % g->KH;
        c = r / (g->KW * g->KH);
    }
    size_t idx = net->layout == ACCSIM_NHWC
                     ? (((size_t)o * g->KH + ky) * g->KW + kx) * g->CG + c
                     : (((size_t)o * g->CG + c) * g->KH + ky) * g->KW + kx;
    return op->weights[idx];
}

/* Output positions times padded lanes: one image's words of the histogram
 * scratch (network.cl, net_mac). */
static size_t mac_padded_out(const mac_geom *g)
{
    return (size_t)g->OH * (size_t)g->OW * (size_t)g->NB * (size_t)g->V;
}

/* A MAC layer: its constants, its launch geometry and its option string. */
static void mac_geom_fill(const accsim_network *net, const accsim_op *op, op_plan *p)
{
    mac_geom *g = &p->g;
    const accsim_tensor *ti = &net->tensors[op->inputs[0]], *to = &net->tensors[op->output];
    memset(g, 0, sizeof *g);
    bool conv = op->kind == ACCSIM_OP_CONV2D;
    g->CO = op->c_out;
    g->in_count = ti->count;
    g->out_count = to->count;
    if (conv) {
        g->nhwc = net->layout == ACCSIM_NHWC;
        dims_of(net, ti, &g->H, &g->W, &g->C);
        int oc;
        dims_of(net, to, &g->OH, &g->OW, &oc);
        g->CG = op->c_in / op->groups;
        g->PG = op->c_out / op->groups;
        g->KH = op->kh, g->KW = op->kw, g->SH = op->sh, g->SW = op->sw;
        g->PT = op->pad_top, g->PL = op->pad_left;
        g->order_hwc = op->order == ACCSIM_ORDER_HWC;
    } else {
        /* fully_connected: a 1x1 convolution of a 1x1 image of N_in channels. */
        g->nhwc = 1;
        g->H = g->W = g->OH = g->OW = 1;
        g->C = g->CG = (int)ti->count;
        g->PG = op->c_out;
        g->KH = g->KW = g->SH = g->SW = 1;
        g->order_hwc = 1;
    }
    g->tile = op->tile;
    g->bias = op->bias ? (op->bias_first ? 1 : 2) : 0;
    g->zp_mode = op->zp_mode == ACCSIM_ZP_PER_PRODUCT ? 0 : op->zp_mode == ACCSIM_ZP_FOLDED_FIRST ? 1 : 2;
    g->zin = ti->zero_point;
    g->zout = to->zero_point;
    g->req_fixed = op->requant.kind == ACCSIM_REQ_FIXED;
    g->clo = op->clamp_lo, g->chi = op->clamp_hi;
    /* 16 int lanes (one AVX-512 register) measured 1.5x faster than 8 on PoCL. */
    g->V = g->CO >= MAX_V ? MAX_V : next_pow2(g->CO < 2 ? 2 : g->CO);
    g->NB = (g->CO + g->V - 1) / g->V;
    /* NX output positions per step share the weight loads; on PoCL (CPU) NX > 1
     * measured slower, so 1 unless $ACCSIM_NETCL_NX asks for more (2 or 4). */
    int nx_max = getenv("ACCSIM_NETCL_NX") ? atoi(getenv("ACCSIM_NETCL_NX")) : 1;
    g->NX = g->OW % 4 == 0 && nx_max >= 4 ? 4 : g->OW % 2 == 0 && nx_max >= 2 ? 2 : 1;
    g->same_group = op->groups == 1 || !conv || g->PG % g->V == 0;
    /* FAST: every exact value any register can hold fits int32. */
    uint64_t R = (uint64_t)g->KH * g->KW * g->CG;
    int64_t maxx = g->zp_mode == 0 ? (127 - g->zin > g->zin + 128 ? 127 - g->zin : g->zin + 128) : 128;
    uint64_t bound = R * (uint64_t)maxx * 128;
    int64_t maxbias = 0, maxfold = 0;
    for (int o = 0; o < op->c_out; o++) {
        if (op->bias) {
            int64_t b = op->bias[o] < 0 ? -(int64_t)op->bias[o] : op->bias[o];
            maxbias = b > maxbias ? b : maxbias;
        }
    }
    if (g->zp_mode != 0) /* |z * wsum| <= 128 * 128 * R */
        maxfold = (int64_t)(R * 128 * 128);
    bound += (uint64_t)maxbias + (uint64_t)maxfold;
    g->fast = bound <= (uint64_t)INT32_MAX;

    p->kernel_name = "net_mac";
    p->global0 = (size_t)g->NB * (size_t)g->OH;
    p->options[0] = '\0';
    opt_printf(p->options, sizeof p->options,
               "-DOP_MAC=1 -DNHWC=%d -DH=%d -DW=%d -DC=%d -DOH=%d -DOW=%d -DCO=%d -DCG=%d "
               "-DPG=%d -DKH=%d -DKW=%d -DSH=%d -DSW=%d -DPT=%d -DPL=%d -DORDER_HWC=%d "
               "-DTILE=%d -DBIAS=%d -DZP_MODE=%d -DZIN=%d -DZOUT=%d -DREQ_FIXED=%d -DCLO=%d "
               "-DCHI=%d -DV=%d -DNB=%d -DNX=%d -DSAME_GROUP=%d -DFAST=%d -DIN_COUNT=%zu "
               "-DOUT_COUNT=%zu -DNEED_FP64=%d -DBITS_BINS=%d -DLIN_BINS=%d -DPADDED_OUT=%zu",
               g->nhwc, g->H, g->W, g->C, g->OH, g->OW, g->CO, g->CG, g->PG, g->KH, g->KW, g->SH,
               g->SW, g->PT, g->PL, g->order_hwc, g->tile, g->bias, g->zp_mode, g->zin, g->zout,
               g->req_fixed, g->clo, g->chi, g->V, g->NB, g->NX, g->same_group, g->fast, g->in_count,
               g->out_count, !g->req_fixed, ACCSIM_BITS_BINS, ACCSIM_LIN_BINS,
               mac_padded_out(g));
    /* The float requantization's tie rule (unused by fixed requantization). */
    opt_printf(p->options, sizeof p->options, " -DREQ_ROUND_AWAY=%d -DREQ_FLOAT32=%d",
               !g->req_fixed && op->requant.rounding == ACCSIM_ROUND_HALF_AWAY,
               !g->req_fixed && op->requant.float32);
}

static void pool_geom_fill(const accsim_network *net, const accsim_op *op, op_plan *p)
{
    const accsim_tensor *ti = &net->tensors[op->inputs[0]], *to = &net->tensors[op->output];
    int H, W, C, OH, OW, OC;
    dims_of(net, ti, &H, &W, &C);
    dims_of(net, to, &OH, &OW, &OC);
    p->kernel_name = "net_pool";
    p->global0 = to->count;
    p->options[0] = '\0';
    opt_printf(p->options, sizeof p->options,
               "-DOP_POOL=1 -DNHWC=%d -DH=%d -DW=%d -DC=%d -DOH=%d -DOW=%d -DKH=%d -DKW=%d "
               "-DSH=%d -DSW=%d -DPT=%d -DPL=%d -DPOOL_MAX=%d -DCLO=%d -DCHI=%d -DIN_COUNT=%zu "
               "-DOUT_COUNT=%zu",
               net->layout == ACCSIM_NHWC, H, W, C, OH, OW, op->kh, op->kw, op->sh, op->sw,
               op->pad_top, op->pad_left, op->kind == ACCSIM_OP_MAX_POOL, op->clamp_lo,
               op->clamp_hi, ti->count, to->count);
}

static void add_geom_fill(const accsim_network *net, const accsim_op *op, op_plan *p)
{
    const accsim_tensor *to = &net->tensors[op->output];
    p->kernel_name = "net_add";
    /* The kernel takes 16 elements per work-item in this case (network.cl). */
    p->global0 = op->add_fixed && to->count % 16 == 0 ? to->count / 16 : to->count;
    p->options[0] = '\0';
    opt_printf(p->options, sizeof p->options,
               "-DOP_ADD=1 -DADD_FIXED=%d -DZA=%d -DZB=%d -DZOUT=%d -DLEFT_SHIFT=%d -DCLO=%d "
               "-DCHI=%d -DOUT_COUNT=%zu -DNEED_FP64=%d",
               op->add_fixed, net->tensors[op->inputs[0]].zero_point,
               net->tensors[op->inputs[1]].zero_point, to->zero_point, op->add_left_shift,
               op->clamp_lo, op->clamp_hi, to->count, !op->add_fixed);
    /* Float32 precision (onnxruntime's QLinearAdd): interp.c's add_float32. */
    opt_printf(p->options, sizeof p->options, " -DADD_FLOAT32=%d -DADD_VOFF=%d",
               !op->add_fixed && op->add_float32, op->add_value_offset);
}

static void clamp_geom_fill(const accsim_network *net, const accsim_op *op, op_plan *p)
{
    const accsim_tensor *to = &net->tensors[op->output];
    p->kernel_name = "net_clamp";
    p->global0 = to->count;
    p->options[0] = '\0';
    opt_printf(p->options, sizeof p->options, "-DOP_CLAMP=1 -DCLO=%d -DCHI=%d -DOUT_COUNT=%zu",
               op->clamp_lo, op->clamp_hi, to->count);
}

/* net_hist for a MAC layer's scratch of n images: its constants and launch
 * (global size [slices of HIST_SLICE entries per image, images], work-groups
 * of one). */
static void hist_geom_fill(const mac_geom *g, size_t n, char *options, size_t size,
                           size_t global[2])
{
    global[0] = (mac_padded_out(g) + HIST_SLICE - 1) / HIST_SLICE;
    global[1] = n;
    options[0] = '\0';
    opt_printf(options, size,
               "-DOP_HIST=1 -DBITS_BINS=%d -DLIN_BINS=%d -DPADDED_OUT=%zu -DLANES=%d -DCO=%d "
               "-DHIST_SLICE=%d",
               ACCSIM_BITS_BINS, ACCSIM_LIN_BINS, mac_padded_out(g), g->NB * g->V, g->CO,
               HIST_SLICE);
}

/* ---- load ------------------------------------------------------------------ */

static cl_mem make_buffer(accsim_netcl *e, cl_mem_flags flags, size_t size, const void *data,
                          const char *what, accsim_error *err)
{
    cl_int rc;
    cl_mem m = clCreateBuffer(e->ctx, flags, size ? size : 1, NULL, &rc);
    if (!m) {
        char w[200];
        snprintf(w, sizeof w, "clCreateBuffer (%s, %zu bytes)", what, size);
        accsim_cl_fail(err, w, rc);
        return NULL;
    }
    if (data && size) {
        rc = clEnqueueWriteBuffer(e->queue, m, CL_TRUE, 0, size, data, 0, NULL, NULL);
        if (rc != CL_SUCCESS) {
            clReleaseMemObject(m);
            char w[200];
            snprintf(w, sizeof w, "writing %s (%zu bytes) to the device", what, size);
            accsim_cl_fail(err, w, rc);
            return NULL;
        }
    }
    return m;
}

static int load_mac(accsim_netcl *e, const accsim_op *op, op_plan *p, accsim_error *err)
{
    const accsim_network *net = e->net;
    mac_geom_fill(net, op, p);
    const mac_geom *g = &p->g;
    if (!g->req_fixed && !e->fp64)
        return accsim_fail(err, "%s: float requantization needs double precision "
                                "(cl_khr_fp64), which %s lacks",
                           op->name, e->device_name);
    size_t R = (size_t)g->KH * g->KW * g->CG, lanes = (size_t)g->NB * g->V;
    int8_t *w = calloc(lanes * R + 1, 1);
    int32_t *bias = calloc(lanes, sizeof *bias);
    int64_t *fold = calloc(lanes, sizeof *fold);
    if (!w || !bias || !fold) {
        free(w);
        free(bias);
        free(fold);
        return accsim_fail(err, "out of memory");
    }
    for (int o = 0; o < g->CO; o++) {
        int b = o / g->V, l = o % g->V;
        int64_t wsum = 0;
        for (size_t r = 0; r < R; r++) {
            int8_t v = mac_weight(net, op, g, o, (int)r);
            w[((size_t)b * R + r) * (size_t)g->V + (size_t)l] = v;
            wsum += v;
        }
        bias[o] = op->bias ? op->bias[o] : 0;
        fold[o] = g->zp_mode != 0 ? -(int64_t)g->zin * wsum : 0;
    }
    p->weights = make_buffer(e, CL_MEM_READ_ONLY, lanes * R, w, "weights", err);
    p->bias = p->weights ? make_buffer(e, CL_MEM_READ_ONLY, lanes * sizeof *bias, bias, "bias", err)
                         : NULL;
    p->fold = p->bias ? make_buffer(e, CL_MEM_READ_ONLY, lanes * sizeof *fold, fold, "bias", err)
                      : NULL;
    free(w);
    free(bias);
    free(fold);
    if (!p->fold)
        return -1;
    /* Per-lane requantization parameters, padded to NB * V lanes. */
    size_t co = (size_t)g->CO;
    if (g->req_fixed) {
        int32_t *m = calloc(lanes, sizeof *m), *sh = calloc(lanes, sizeof *sh);
        if (!m || !sh) {
            free(m);
            free(sh);
            return accsim_fail(err, "out of memory");
        }
        memcpy(m, op->requant.multiplier, co * sizeof *m);
        memcpy(sh, op->requant.shift, co * sizeof *sh);
        p->req_a = make_buffer(e, CL_MEM_READ_ONLY, lanes * sizeof *m, m, "multipliers", err);
        p->req_b = p->req_a ? make_buffer(e, CL_MEM_READ_ONLY, lanes * sizeof *sh, sh, "shifts",
                                          err)
                            : NULL;
        free(m);
        free(sh);
        return p->req_b ? 0 : -1;
    }
    double *sc = malloc(lanes * sizeof *sc);
    if (!sc)
        return accsim_fail(err, "out of memory");
    for (size_t l = 0; l < lanes; l++)
        sc[l] = l < co ? op->requant.scale[l] : 1.0;
    p->req_a = make_buffer(e, CL_MEM_READ_ONLY, lanes * sizeof *sc, sc, "scales", err);
    free(sc);
    return p->req_a ? 0 : -1;
}

/* Each MAC layer's restart state (which tensors, how many bytes), position in
 * execution order and held values per image, after the plans are made. */
static int load_layer_facts(accsim_netcl *e, accsim_error *err)
{
    const accsim_network *net = e->net;
    size_t mc = (size_t)(net->mac_count ? net->mac_count : 1), T = (size_t)net->tensor_count;
    e->live_tensors = calloc(mc * T + 1, sizeof *e->live_tensors);
    e->live_count = calloc(mc, sizeof *e->live_count);
    e->mac_pos = calloc(mc, sizeof *e->mac_pos);
    e->live_bytes = calloc(mc, sizeof *e->live_bytes);
    e->held_per_image = calloc(mc, sizeof *e->held_per_image);
    e->hist_host = calloc(mc * HIST_WORDS, sizeof *e->hist_host);
    if (!e->live_tensors || !e->live_count || !e->mac_pos || !e->live_bytes ||
        !e->held_per_image || !e->hist_host)
        return accsim_fail(err, "out of memory");
    for (int k = 0; k < net->op_count; k++) {
        int m = net->ops[net->exec_order[k]].mac_index;
        if (m >= 0)
            e->mac_pos[m] = k;
    }
    for (int m = 0; m < net->mac_count; m++) {
        int *list = e->live_tensors + (size_t)m * T;
        e->live_count[m] = accsim_network_restart_tensors(net, m, list);
        if (e->live_count[m] < 0)
            return accsim_fail(err, "out of memory");
        for (int a = 0; a < e->live_count[m]; a++)
            e->live_bytes[m] += net->tensors[list[a]].count;
        const mac_geom *g = &e->plans[net->mac_ops[m]].g;
        uint64_t R = (uint64_t)g->KH * (uint64_t)g->KW * (uint64_t)g->CG;
        uint64_t tiles = g->tile > 0 ? (R + (uint64_t)g->tile - 1) / (uint64_t)g->tile : 0;
        e->held_per_image[m] = (uint64_t)g->out_count * (R + tiles + 2);
    }
    return 0;
}

int accsim_netcl_load(accsim_netcl *e, const accsim_network *net, const int8_t *inputs,
                      size_t count, accsim_error *err)
{
    unload(e);
    const cl_device_entry *d = &e->list.devices[e->dev];
    e->net = net;
    e->count = count;
    e->in_count = net->tensors[net->input].count;
    e->out_count = net->tensors[net->output].count;
    e->plans = calloc((size_t)net->op_count + 1, sizeof *e->plans);
    e->plan_count = net->op_count;
    e->op_cpu = calloc((size_t)net->op_count + 1, sizeof *e->op_cpu);
    e->tensor_off = calloc((size_t)net->tensor_count + 1, sizeof *e->tensor_off);
    if (!e->plans || !e->tensor_off || !e->op_cpu) {
        unload(e);
        return accsim_fail(err, "out of memory");
    }
    /* Arena: elements per image, reshape outputs aliasing their inputs. */
    size_t per_image = 0;
    bool *placed = calloc((size_t)net->tensor_count + 1, sizeof *placed);
    if (!placed) {
        unload(e);
        return accsim_fail(err, "out of memory");
    }
    e->tensor_off[net->input] = per_image;
    per_image += net->tensors[net->input].count;
    placed[net->input] = true;
    for (int k = 0; k < net->op_count; k++) {
        const accsim_op *op = &net->ops[net->exec_order[k]];
        if (op->kind == ACCSIM_OP_RESHAPE) {
            e->tensor_off[op->output] = e->tensor_off[op->inputs[0]];
        } else {
            e->tensor_off[op->output] = per_image;
            per_image += net->tensors[op->output].count;
        }
        placed[op->output] = true;
    }
    free(placed);
    /* Input set. */
    size_t in_bytes = count * e->in_count;
    cl_ulong limit = d->max_alloc < d->global_mem ? d->max_alloc : d->global_mem;
    if (in_bytes > limit) {
        size_t fit = (size_t)(limit / (e->in_count ? e->in_count : 1));
        unload(e);
        return accsim_fail(err, "out of device memory: %zu images of %zu bytes need %zu bytes, "
                                "%s allows %" PRIu64 " in one buffer (about %zu images would fit)",
                           count, e->in_count, in_bytes, d->name, (uint64_t)limit, fit);
    }
    e->inputs = make_buffer(e, CL_MEM_READ_ONLY, in_bytes, inputs, "the input images", err);
    if (!e->inputs) {
        size_t fit = (size_t)(limit / (e->in_count ? e->in_count : 1));
        unload(e);
        size_t n = strlen(err->message);
        snprintf(err->message + n, sizeof err->message - n, " (about %zu images would fit)", fit);
        return -1;
    }
    /* Batch: what fits in a quarter of the device's memory, at most 256 images
     * on a CPU (PoCL: one work-group per row and channel block already fills
     * the cores) and 8192 on a GPU, whose thousands of lanes need many images
     * in flight (a guess until a lent GPU measures it: tools/device_check.sh
     * runs --batch 1024 to 16384). */
    size_t batch = e->batch_request                      ? e->batch_request
                   : (d->type & CL_DEVICE_TYPE_GPU) != 0 ? 8192
                                                         : 256;
    cl_ulong room = (limit - in_bytes) / 4;
    while (batch > 1 && (cl_ulong)batch * per_image > room)
        batch /= 2;
    if ((cl_ulong)batch * per_image > room) {
        unload(e);
        return accsim_fail(err, "out of device memory: one image's activations (%zu bytes) do "
                                "not fit beside the input set on %s",
                           per_image, d->name);
    }
    e->batch = batch;
    for (int t = 0; t < net->tensor_count; t++)
        e->tensor_off[t] *= batch;
    size_t mc = (size_t)(net->mac_count ? net->mac_count : 1);
    e->arena = make_buffer(e, CL_MEM_READ_WRITE, batch * per_image, NULL, "activations", err);
    e->index = e->arena ? make_buffer(e, CL_MEM_READ_ONLY, batch * 4, NULL, "indices", err) : NULL;
    e->outputs = e->index ? make_buffer(e, CL_MEM_WRITE_ONLY, batch * e->out_count, NULL,
                                        "outputs", err)
                          : NULL;
    e->predictions = e->outputs ? make_buffer(e, CL_MEM_WRITE_ONLY, batch * 4, NULL,
                                              "predictions", err)
                                : NULL;
    e->stats = e->predictions ? make_buffer(e, CL_MEM_READ_WRITE, batch * mc * 32, NULL,
                                            "statistics", err)
                              : NULL;
    e->hist = e->stats ? make_buffer(e, CL_MEM_READ_WRITE, mc * HIST_WORDS * sizeof(cl_uint),
                                     NULL, "histograms", err)
                       : NULL;
    if (!e->hist) {
        unload(e);
        return -1;
    }
    snprintf(e->io_options, sizeof e->io_options, "-DOP_IO=1 -DIN_COUNT=%zu -DOUT_COUNT=%zu",
             e->in_count, e->out_count);
    for (int i = 0; i < net->op_count; i++) {
        const accsim_op *op = &net->ops[i];
        op_plan *p = &e->plans[i];
        p->op = op;
        int rc = 0;
        switch (op->kind) {
        case ACCSIM_OP_CONV2D:
        case ACCSIM_OP_FULLY_CONNECTED:
            rc = load_mac(e, op, p, err);
            break;
        case ACCSIM_OP_MAX_POOL:
        case ACCSIM_OP_AVG_POOL:
            pool_geom_fill(net, op, p);
            break;
        case ACCSIM_OP_ADD:
            add_geom_fill(net, op, p);
            if (!op->add_fixed && !e->fp64)
                rc = accsim_fail(err, "%s: float requantization needs double precision "
                                      "(cl_khr_fp64), which %s lacks",
                                 op->name, e->device_name);
            break;
        case ACCSIM_OP_CLAMP:
            clamp_geom_fill(net, op, p);
            break;
        case ACCSIM_OP_RESHAPE:
            p->kernel_name = NULL;
            break;
        }
        if (rc != 0) {
            unload(e);
            return -1;
        }
    }
    if (load_layer_facts(e, err) != 0) {
        unload(e);
        return -1;
    }
    return 0;
}

/* ---- run ------------------------------------------------------------------- */

#define SET_ARG(k, i, v, what)                                                               \
    do {                                                                                     \
        cl_int rc_ = clSetKernelArg((k), (i), sizeof(v), &(v));                              \
        if (rc_ != CL_SUCCESS)                                                               \
            return accsim_cl_fail(err, what, rc_);                                           \
    } while (0)

static int launch(accsim_netcl *e, cl_kernel k, size_t g0, size_t g1, int dims, const char *what,
                  accsim_error *err)
{
    size_t global[2] = {g0, g1};
    /* The implementation's work-group size: local {1, 1} measured 1.4x slower on PoCL. */
    cl_int rc = clEnqueueNDRangeKernel(e->queue, k, (cl_uint)dims, NULL, global, NULL, 0, NULL,
                                       NULL);
    if (rc != CL_SUCCESS) {
        char w[200];
        snprintf(w, sizeof w, "launching %s", what);
        return accsim_cl_fail(err, w, rc);
    }
    return 0;
}

/* Register range and the shift that wraps into it, for lanes of 16 bits
 * (narrow) or 32. */
static void reg_params(int bits, bool narrow, cl_int *lo, cl_int *hi, cl_int *sh)
{
    assert(bits >= 2 && bits <= (narrow ? 16 : 32));
    *lo = (cl_int)-((int64_t)1 << (bits - 1));
    *hi = (cl_int)(((int64_t)1 << (bits - 1)) - 1);
    *sh = (narrow ? 16 : 32) - bits;
}

/* Whether MAC layer p runs in int16 lanes (the kernel's NARROW): on a CPU
 * device, where twice the lanes per instruction measured faster at B <= 16
 * (BENCHMARKS.md), when both registers are 16 bits or narrower and every
 * output's event count (at most R products, R tile sums, bias and folded
 * constant) fits an int16 lane. */
static bool narrow_lanes(const accsim_netcl *e, const op_plan *p, int bits, int bits_out)
{
    const mac_geom *g = &p->g;
    uint64_t adds = 2 * (uint64_t)g->KH * g->KW * g->CG + 2;
    bool cpu = (e->list.devices[e->dev].type & CL_DEVICE_TYPE_CPU) != 0;
    return cpu && bits <= 16 && bits_out <= 16 && adds <= INT16_MAX;
}

/* Counts the bins that MAC layer p's kernel just stored for n images into
 * its histograms from hist_base. */
static int run_hist(accsim_netcl *e, const op_plan *p, size_t n, cl_int hist_base,
                    accsim_error *err)
{
    char options[256];
    size_t global[2], local[2] = {1, 1};
    hist_geom_fill(&p->g, n, options, sizeof options, global);
    cl_kernel k = get_kernel(e, "net_hist", options, err);
    if (!k)
        return -1;
    cl_uint a = 0;
    SET_ARG(k, a++, e->scratch, "clSetKernelArg");
    SET_ARG(k, a++, e->hist, "clSetKernelArg");
    SET_ARG(k, a++, hist_base, "clSetKernelArg");
    cl_int rc = clEnqueueNDRangeKernel(e->queue, k, 2, NULL, global, local, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return accsim_cl_fail(err, "launching net_hist", rc);
    return 0;
}

static int run_mac(accsim_netcl *e, const accsim_network_config *cfg, op_plan *p, size_t n,
                   accsim_error *err)
{
    const accsim_op *op = p->op;
    int m = op->mac_index;
    int bits = cfg->bits[m];
    int bits_out = op->tile > 0 ? (cfg->bits_out ? cfg->bits_out[m] : bits) : bits;
    bool wide = bits == 32 || bits_out == 32;
    cl_int mode = (cfg->overflow == ACCSIM_WRAP ? 3 : 1) + wide;
    bool narrow = narrow_lanes(e, p, bits, bits_out);
    /* Histograms are other programs (the counter path stays as it is): with
     * partial sums counted in the kernel, else stored for net_hist. */
    bool store = cfg->histograms && !cfg->psum_histograms;
    char options[sizeof p->options + 80];
    snprintf(options, sizeof options, "%s -DHIST=%d -DPSUM_HIST=%d -DHIST_STORE=%d -DNARROW=%d",
             p->options, cfg->histograms && !store, cfg->psum_histograms ? 1 : 0, store, narrow);
    cl_kernel k = get_kernel(e, p->kernel_name, options, err);
    if (!k)
        return -1;
    cl_ulong in_off = e->tensor_off[op->inputs[0]], out_off = e->tensor_off[op->output];
    cl_int stride = e->net->mac_count * 8, base = m * 8;
    cl_int lo, hi, sh, lo2, hi2, sh2;
    reg_params(bits, narrow, &lo, &hi, &sh);
    reg_params(bits_out, narrow, &lo2, &hi2, &sh2);
    cl_uint a = 0;
    SET_ARG(k, a++, e->arena, "clSetKernelArg");
    SET_ARG(k, a++, in_off, "clSetKernelArg");
    SET_ARG(k, a++, out_off, "clSetKernelArg");
    SET_ARG(k, a++, p->weights, "clSetKernelArg");
    SET_ARG(k, a++, p->bias, "clSetKernelArg");
    SET_ARG(k, a++, p->fold, "clSetKernelArg");
    SET_ARG(k, a++, p->req_a, "clSetKernelArg");
    if (p->g.req_fixed)
        SET_ARG(k, a++, p->req_b, "clSetKernelArg");
    SET_ARG(k, a++, e->stats, "clSetKernelArg");
    SET_ARG(k, a++, stride, "clSetKernelArg");
    SET_ARG(k, a++, base, "clSetKernelArg");
    SET_ARG(k, a++, lo, "clSetKernelArg");
    SET_ARG(k, a++, hi, "clSetKernelArg");
    SET_ARG(k, a++, sh, "clSetKernelArg");
    SET_ARG(k, a++, lo2, "clSetKernelArg");
    SET_ARG(k, a++, hi2, "clSetKernelArg");
    SET_ARG(k, a++, sh2, "clSetKernelArg");
    if (bits != p->last_bits || bits_out != p->last_bits_out ||
        (int)cfg->overflow != p->last_wrap) {
        p->try_fast = true;
        p->last_bits = bits;
        p->last_bits_out = bits_out;
        p->last_wrap = (int)cfg->overflow;
    }
    cl_int try_fast = p->try_fast;
    SET_ARG(k, a++, try_fast, "clSetKernelArg");
    SET_ARG(k, a++, mode, "clSetKernelArg");
    cl_int hist_base = (cl_int)((size_t)m * HIST_WORDS);
    accsim_lin_range none = {0, 0};
    accsim_lin_range ranges[3] = {cfg->histograms ? cfg->out_range[m] : none,
                                  cfg->histograms ? cfg->peak_range[m] : none,
                                  cfg->psum_histograms ? cfg->psum_range[m] : none};
    SET_ARG(k, a++, e->hist, "clSetKernelArg");
    SET_ARG(k, a++, hist_base, "clSetKernelArg");
    for (int r = 0; r < 3; r++) {
        cl_int lo = ranges[r].lo, shift = ranges[r].shift;
        SET_ARG(k, a++, lo, "clSetKernelArg");
        SET_ARG(k, a++, shift, "clSetKernelArg");
    }
    /* Without HIST_STORE the kernel does not touch its scratch: any buffer. */
    cl_mem scratch = store ? e->scratch : e->hist;
    assert(!store || (e->scratch && n <= e->scratch_images));
    SET_ARG(k, a++, scratch, "clSetKernelArg");
    if (launch(e, k, p->global0, n, 2, op->name, err) != 0)
        return -1;
    return store ? run_hist(e, p, n, hist_base, err) : 0;
}

static int run_other(accsim_netcl *e, op_plan *p, size_t n, accsim_error *err)
{
    const accsim_op *op = p->op;
    if (!p->kernel_name)
        return 0; /* reshape: an alias */
    cl_kernel k = get_kernel(e, p->kernel_name, p->options, err);
    if (!k)
        return -1;
    cl_ulong in_off = e->tensor_off[op->inputs[0]], out_off = e->tensor_off[op->output];
    cl_uint a = 0;
    SET_ARG(k, a++, e->arena, "clSetKernelArg");
    SET_ARG(k, a++, in_off, "clSetKernelArg");
    if (op->kind == ACCSIM_OP_ADD) {
        cl_ulong b_off = e->tensor_off[op->inputs[1]];
        SET_ARG(k, a++, b_off, "clSetKernelArg");
        SET_ARG(k, a++, out_off, "clSetKernelArg");
        if (op->add_fixed) {
            cl_int v[6] = {op->add_in_mult[0], op->add_in_shift[0], op->add_in_mult[1],
                           op->add_in_shift[1], op->add_out_mult, op->add_out_shift};
            for (int i = 0; i < 6; i++)
                SET_ARG(k, a++, v[i], "clSetKernelArg");
        } else {
            cl_double f0 = op->add_scales[0], f1 = op->add_scales[1], f2 = op->add_offset;
            SET_ARG(k, a++, f0, "clSetKernelArg");
            SET_ARG(k, a++, f1, "clSetKernelArg");
            SET_ARG(k, a++, f2, "clSetKernelArg");
        }
    } else {
        SET_ARG(k, a++, out_off, "clSetKernelArg");
    }
    return launch(e, k, p->global0, n, 2, op->name, err);
}

/* What the interpreter refuses besides accsim_network_check_run, alike:
 * capture without buffers (from the engine's own execution positions). */
static int check_extras(const accsim_netcl *e, const accsim_network_config *cfg, size_t count,
                        const accsim_network_result *res, accsim_error *err)
{
    const accsim_network *net = e->net;
    int start_pos = cfg->start_layer > 0 ? e->mac_pos[cfg->start_layer] : 0;
    for (int m = 0; cfg->capture && count > 0 && m < net->mac_count; m++)
        if (e->mac_pos[m] >= start_pos && !res->acts[m])
            return accsim_fail(err, "network run: no buffer to capture %s's restart state",
                               net->ops[net->mac_ops[m]].name);
    return 0;
}

/* Copies MAC layer m's restart state of n images between the arena's tensor
 * regions and host rows ([n][live_bytes[m]], tensors concatenated in tensor
 * order): to the device (restart) or from it (capture). Not blocking; the
 * host rows must stay until the queue is finished. */
static int transfer_state(accsim_netcl *e, int m, size_t n, const int8_t *to_device,
                          int8_t *from_device, accsim_error *err)
{
    const accsim_network *net = e->net;
    const int *list = e->live_tensors + (size_t)m * (size_t)net->tensor_count;
    size_t at = 0, row = e->live_bytes[m];
    for (int a = 0; a < e->live_count[m]; a++) {
        size_t c = net->tensors[list[a]].count;
        size_t buffer_origin[3] = {e->tensor_off[list[a]], 0, 0}, host_origin[3] = {at, 0, 0};
        size_t region[3] = {c, n, 1};
        cl_int rc = to_device ? clEnqueueWriteBufferRect(e->queue, e->arena, CL_FALSE,
                                                         buffer_origin, host_origin, region, c, 0,
                                                         row, 0, to_device, 0, NULL, NULL)
                              : clEnqueueReadBufferRect(e->queue, e->arena, CL_FALSE,
                                                        buffer_origin, host_origin, region, c, 0,
                                                        row, 0, from_device, 0, NULL, NULL);
        if (rc != CL_SUCCESS)
            return accsim_cl_fail(err, to_device ? "writing a restart state"
                                                 : "reading a restart state",
                                  rc);
        at += c;
    }
    return 0;
}

/* Images per batch: the loaded batch, fewer when histograms are on, so that
 * no device bin (uint32) can overflow in one batch; 0 (with the error) when
 * one image alone could overflow one. */
static size_t batch_images(const accsim_netcl *e, const accsim_network_config *cfg, int start_pos,
                           accsim_error *err)
{
    if (!cfg->histograms && !cfg->psum_histograms)
        return e->batch;
    const accsim_network *net = e->net;
    uint64_t most = 1;
    for (int m = 0; m < net->mac_count; m++) {
        if (e->mac_pos[m] < start_pos)
            continue;
        uint64_t v = cfg->psum_histograms ? e->held_per_image[m]
                                          : (uint64_t)e->plans[net->mac_ops[m]].g.out_count;
        most = v > most ? v : most;
    }
    if (most > UINT32_MAX) {
        accsim_fail(err, "network run: a layer holds %" PRIu64 " values per image, more than "
                         "the device's 32-bit histogram bins can count",
                    most);
        return 0;
    }
    uint64_t fit = UINT32_MAX / most;
    if (cfg->histograms && !cfg->psum_histograms && fit > e->scratch_images)
        fit = e->scratch_images; /* what the output/peak scratch holds */
    return fit < e->batch ? (size_t)fit : e->batch;
}

/* Makes the output/peak histogram scratch on first use: as many images of
 * the largest MAC layer as SCRATCH_BYTES holds (at least one, at most a
 * batch); batch_images cuts batches to it. */
static int ensure_scratch(accsim_netcl *e, accsim_error *err)
{
    if (e->scratch)
        return 0;
    const accsim_network *net = e->net;
    size_t per_image = 0;
    for (int m = 0; m < net->mac_count; m++) {
        size_t b = mac_padded_out(&e->plans[net->mac_ops[m]].g) * sizeof(cl_uint);
        per_image = b > per_image ? b : per_image;
    }
    size_t images = per_image ? SCRATCH_BYTES / per_image : e->batch;
    images = images < 1 ? 1 : images > e->batch ? e->batch : images;
    e->scratch = make_buffer(e, CL_MEM_READ_WRITE, images * per_image, NULL,
                             "histogram scratch", err);
    if (!e->scratch)
        return -1;
    e->scratch_images = images;
    return 0;
}

/* Enqueues the work of one batch of n images, from the gathered images or
 * the uploaded restart state, capturing restart states on the way. */
static int enqueue_batch(accsim_netcl *e, const accsim_network_config *cfg,
                         const uint32_t *indices, size_t done, size_t n, int start_pos,
                         uint32_t *idx, accsim_network_result *res, accsim_error *err)
{
    const accsim_network *net = e->net;
    size_t mc = (size_t)net->mac_count;
    cl_int crc;
    if (mc) {
        cl_int pattern[8] = {0, 0, 0, INT32_MAX, INT32_MIN, 0, 0, 0};
        crc = clEnqueueFillBuffer(e->queue, e->stats, pattern, sizeof pattern, 0,
                                  n * mc * sizeof pattern, 0, NULL, NULL);
        if (crc != CL_SUCCESS)
            return accsim_cl_fail(err, "clearing the statistics", crc);
    }
    if (mc && (cfg->histograms || cfg->psum_histograms)) {
        cl_uint zero = 0;
        crc = clEnqueueFillBuffer(e->queue, e->hist, &zero, sizeof zero, 0,
                                  mc * HIST_WORDS * sizeof zero, 0, NULL, NULL);
        if (crc != CL_SUCCESS)
            return accsim_cl_fail(err, "clearing the histograms", crc);
    }
    if (cfg->start_layer > 0) {
        int m = cfg->start_layer;
        if (transfer_state(e, m, n, cfg->start_acts + done * e->live_bytes[m], NULL, err) != 0)
            return -1;
    } else {
        for (size_t i = 0; i < n; i++)
            idx[i] = indices ? indices[done + i] : (uint32_t)(done + i);
        crc = clEnqueueWriteBuffer(e->queue, e->index, CL_FALSE, 0, n * sizeof *idx, idx, 0,
                                   NULL, NULL);
        if (crc != CL_SUCCESS)
            return accsim_cl_fail(err, "writing the image indices", crc);
        cl_kernel gather = get_kernel(e, "net_gather", e->io_options, err);
        if (!gather)
            return -1;
        cl_ulong in_off = e->tensor_off[net->input];
        cl_uint a = 0;
        SET_ARG(gather, a++, e->inputs, "clSetKernelArg");
        SET_ARG(gather, a++, e->index, "clSetKernelArg");
        SET_ARG(gather, a++, e->arena, "clSetKernelArg");
        SET_ARG(gather, a++, in_off, "clSetKernelArg");
        if (launch(e, gather, e->in_count, n, 2, "net_gather", err) != 0)
            return -1;
    }
    double t0 = e->profile && clFinish(e->queue) == CL_SUCCESS ? cpu_seconds() : 0;
    for (int k = start_pos; k < net->op_count; k++) {
        op_plan *p = &e->plans[net->exec_order[k]];
        int m = p->op->mac_index;
        int rc;
        if (m >= 0) {
            if (cfg->capture &&
                transfer_state(e, m, n, NULL, res->acts[m] + done * e->live_bytes[m], err) != 0)
                return -1;
            rc = run_mac(e, cfg, p, n, err);
        } else {
            rc = run_other(e, p, n, err);
        }
        if (rc != 0)
            return -1;
        if (e->profile && clFinish(e->queue) == CL_SUCCESS) {
            double t1 = cpu_seconds();
            e->op_cpu[net->exec_order[k]] += t1 - t0;
            t0 = t1;
        }
    }
    cl_kernel collect = get_kernel(e, "net_collect", e->io_options, err);
    if (!collect)
        return -1;
    cl_ulong out_off = e->tensor_off[net->output];
    cl_uint a = 0;
    SET_ARG(collect, a++, e->arena, "clSetKernelArg");
    SET_ARG(collect, a++, out_off, "clSetKernelArg");
    SET_ARG(collect, a++, e->outputs, "clSetKernelArg");
    SET_ARG(collect, a++, e->predictions, "clSetKernelArg");
    return launch(e, collect, n, 1, 1, "net_collect", err);
}

/* Reads one batch's results back into res (rows done..done+n) once the
 * queue has run it: outputs, predictions, the counters of the layers the run
 * computed, histogram counts added. */
static int read_batch(accsim_netcl *e, const accsim_network_config *cfg, size_t done, size_t n,
                      int start_pos, int32_t *st, accsim_network_result *res, accsim_error *err)
{
    const accsim_network *net = e->net;
    size_t mc = (size_t)net->mac_count;
    bool hist = mc && res->hist && (cfg->histograms || cfg->psum_histograms);
    cl_int crc = clEnqueueReadBuffer(e->queue, e->outputs, CL_FALSE, 0, n * e->out_count,
                                     res->outputs + done * e->out_count, 0, NULL, NULL);
    if (crc == CL_SUCCESS)
        crc = clEnqueueReadBuffer(e->queue, e->predictions, CL_FALSE, 0, n * sizeof(uint32_t),
                                  res->predictions + done, 0, NULL, NULL);
    if (crc == CL_SUCCESS && mc)
        crc = clEnqueueReadBuffer(e->queue, e->stats, CL_FALSE, 0, n * mc * 32, st, 0, NULL,
                                  NULL);
    if (crc == CL_SUCCESS && hist)
        crc = clEnqueueReadBuffer(e->queue, e->hist, CL_FALSE, 0,
                                  mc * HIST_WORDS * sizeof *e->hist_host, e->hist_host, 0, NULL,
                                  NULL);
    if (crc == CL_SUCCESS)
        crc = clFinish(e->queue);
    if (crc != CL_SUCCESS)
        return accsim_cl_fail(err, "running the network", crc);
    for (size_t m = 0; m < mc; m++) {
        /* Layers before the start are not computed: their rows stay as they are. */
        if (e->mac_pos[m] < start_pos)
            continue;
        for (size_t i = 0; i < n; i++) {
            const int32_t *s = st + (i * mc + m) * 8;
            size_t r = (done + i) * mc + m;
            res->saturations[r] = (uint32_t)s[0];
            res->psum_min[r] = s[1];
            res->psum_max[r] = s[2];
            res->out_min[r] = s[3];
            res->out_max[r] = s[4];
        }
        if (hist) {
            uint64_t *dst = (uint64_t *)&res->hist[m];
            const uint32_t *src = e->hist_host + m * HIST_WORDS;
            for (size_t b = 0; b < HIST_WORDS; b++)
                dst[b] += src[b];
        }
        /* Whether the unclamped pass paid off: events in at most 1 output in 64. */
        op_plan *p = &e->plans[net->mac_ops[m]];
        uint64_t events = 0;
        for (size_t i = 0; i < n; i++)
            events += res->saturations[(done + i) * mc + m];
        p->try_fast = events * 64 <= (uint64_t)n * p->g.out_count;
    }
    return 0;
}

int accsim_netcl_run(accsim_netcl *e, const accsim_network_config *cfg,
                     const uint32_t *indices, size_t count, accsim_network_result *res,
                     accsim_error *err)
{
    const accsim_network *net = e->net;
    if (!net)
        return accsim_fail(err, "network engine: no network loaded");
    /* The same checks as the interpreter's, so both refuse alike. */
    if (accsim_network_check_run(net, cfg, count, res, err) != 0 ||
        check_extras(e, cfg, count, res, err) != 0)
        return -1;
    /* A restart takes its images from start_acts, by position (as the interpreter). */
    for (size_t i = 0; cfg->start_layer == 0 && i < count; i++) {
        size_t idx = indices ? indices[i] : i;
        if (idx >= e->count)
            return accsim_fail(err, "network run: image %zu is not in the loaded set of %zu", idx,
                               e->count);
    }
    int start_pos = cfg->start_layer > 0 ? e->mac_pos[cfg->start_layer] : 0;
    if (cfg->histograms && !cfg->psum_histograms && ensure_scratch(e, err) != 0)
        return -1;
    size_t step = batch_images(e, cfg, start_pos, err);
    if (step == 0)
        return -1;
    size_t mc = (size_t)net->mac_count;
    /* As the interpreter: the histograms start from zero whatever is asked. */
    if (res->hist)
        memset(res->hist, 0, (mc ? mc : 1) * sizeof *res->hist);
    uint32_t *idx = malloc(e->batch * sizeof *idx);
    int32_t *st = malloc(e->batch * (mc ? mc : 1) * 8 * sizeof *st);
    if (!idx || !st) {
        free(idx);
        free(st);
        return accsim_fail(err, "out of memory");
    }
    int rc = 0;
    for (size_t done = 0; done < count && rc == 0;) {
        size_t n = count - done < step ? count - done : step;
        rc = enqueue_batch(e, cfg, indices, done, n, start_pos, idx, res, err);
        if (rc == 0)
            rc = read_batch(e, cfg, done, n, start_pos, st, res, err);
        accsim_progress_advance(cfg->progress, n);
        done += n;
    }
    if (rc != 0)
        clFinish(e->queue);
    free(idx);
    free(st);
    return rc;
}
