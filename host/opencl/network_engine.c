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
 * mode change builds nothing. */
#include <inttypes.h>
#include <limits.h>
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
    cl_mem inputs, arena, index, outputs, predictions, stats, zeros;
    size_t *tensor_off; /* [tensor_count] region offsets (elements per image, times batch) */
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
    release(&e->inputs);
    release(&e->arena);
    release(&e->index);
    release(&e->outputs);
    release(&e->predictions);
    release(&e->stats);
    release(&e->zeros);
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
               "-DOUT_COUNT=%zu -DNEED_FP64=%d",
               g->nhwc, g->H, g->W, g->C, g->OH, g->OW, g->CO, g->CG, g->PG, g->KH, g->KW, g->SH,
               g->SW, g->PT, g->PL, g->order_hwc, g->tile, g->bias, g->zp_mode, g->zin, g->zout,
               g->req_fixed, g->clo, g->chi, g->V, g->NB, g->NX, g->same_group, g->fast, g->in_count,
               g->out_count, !g->req_fixed);
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
    /* Batch: what fits in a quarter of the device's memory, at most 256 images. */
    size_t batch = e->batch_request ? e->batch_request : 256;
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
    if (!e->stats) {
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

static void reg_params(int bits, cl_int *lo, cl_int *hi, cl_int *sh)
{
    *lo = (cl_int)-((int64_t)1 << (bits - 1));
    *hi = (cl_int)(((int64_t)1 << (bits - 1)) - 1);
    *sh = 32 - bits;
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
    cl_kernel k = get_kernel(e, p->kernel_name, p->options, err);
    if (!k)
        return -1;
    cl_ulong in_off = e->tensor_off[op->inputs[0]], out_off = e->tensor_off[op->output];
    cl_int stride = e->net->mac_count * 8, base = m * 8;
    cl_int lo, hi, sh, lo2, hi2, sh2;
    reg_params(bits, &lo, &hi, &sh);
    reg_params(bits_out, &lo2, &hi2, &sh2);
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
    return launch(e, k, p->global0, n, 2, op->name, err);
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

int accsim_netcl_run(accsim_netcl *e, const accsim_network_config *cfg,
                     const uint32_t *indices, size_t count, accsim_network_result *res,
                     accsim_error *err)
{
    const accsim_network *net = e->net;
    if (!net)
        return accsim_fail(err, "network engine: no network loaded");
    /* The same checks as the interpreter's, so both refuse alike. */
    if (accsim_network_check_run(net, cfg, count, res, err) != 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        size_t idx = indices ? indices[i] : i;
        if (idx >= e->count)
            return accsim_fail(err, "network run: image %zu is not in the loaded set of %zu", idx,
                               e->count);
    }
    size_t mc = (size_t)net->mac_count;
    size_t sn = e->batch * (mc ? mc : 1) * 8;
    uint32_t *idx = malloc(e->batch * sizeof *idx);
    int32_t *st = malloc(sn * sizeof *st);
    if (!idx || !st) {
        free(idx);
        free(st);
        return accsim_fail(err, "out of memory");
    }
    int rc = 0;
    cl_kernel gather = get_kernel(e, "net_gather", e->io_options, err);
    cl_kernel collect = gather ? get_kernel(e, "net_collect", e->io_options, err) : NULL;
    if (!collect)
        rc = -1;
    for (size_t done = 0; done < count && rc == 0;) {
        size_t n = count - done < e->batch ? count - done : e->batch;
        for (size_t i = 0; i < n; i++)
            idx[i] = indices ? indices[done + i] : (uint32_t)(done + i);
        cl_int crc = clEnqueueWriteBuffer(e->queue, e->index, CL_FALSE, 0, n * sizeof *idx, idx, 0,
                                          NULL, NULL);
        if (crc != CL_SUCCESS) {
            rc = accsim_cl_fail(err, "writing the image indices", crc);
            break;
        }
        if (mc) {
            cl_int pattern[8] = {0, 0, 0, INT32_MAX, INT32_MIN, 0, 0, 0};
            crc = clEnqueueFillBuffer(e->queue, e->stats, pattern, sizeof pattern, 0,
                                      n * mc * sizeof pattern, 0, NULL, NULL);
            if (crc != CL_SUCCESS) {
                rc = accsim_cl_fail(err, "clearing the statistics", crc);
                break;
            }
        }
        cl_ulong in_off = e->tensor_off[net->input], out_off = e->tensor_off[net->output];
        cl_uint a = 0;
        crc = clSetKernelArg(gather, a++, sizeof(cl_mem), &e->inputs);
        crc |= clSetKernelArg(gather, a++, sizeof(cl_mem), &e->index);
        crc |= clSetKernelArg(gather, a++, sizeof(cl_mem), &e->arena);
        crc |= clSetKernelArg(gather, a++, sizeof in_off, &in_off);
        if (crc != CL_SUCCESS) {
            rc = accsim_cl_fail(err, "clSetKernelArg", crc);
            break;
        }
        rc = launch(e, gather, e->in_count, n, 2, "net_gather", err);
        double t0 = e->profile && clFinish(e->queue) == CL_SUCCESS ? cpu_seconds() : 0;
        for (int k = 0; k < net->op_count && rc == 0; k++) {
            op_plan *p = &e->plans[net->exec_order[k]];
            if (p->op->mac_index >= 0)
                rc = run_mac(e, cfg, p, n, err);
            else
                rc = run_other(e, p, n, err);
            if (rc == 0 && e->profile && clFinish(e->queue) == CL_SUCCESS) {
                double t1 = cpu_seconds();
                e->op_cpu[net->exec_order[k]] += t1 - t0;
                t0 = t1;
            }
        }
        if (rc != 0)
            break;
        a = 0;
        crc = clSetKernelArg(collect, a++, sizeof(cl_mem), &e->arena);
        crc |= clSetKernelArg(collect, a++, sizeof out_off, &out_off);
        crc |= clSetKernelArg(collect, a++, sizeof(cl_mem), &e->outputs);
        crc |= clSetKernelArg(collect, a++, sizeof(cl_mem), &e->predictions);
        if (crc != CL_SUCCESS) {
            rc = accsim_cl_fail(err, "clSetKernelArg", crc);
            break;
        }
        rc = launch(e, collect, n, 1, 1, "net_collect", err);
        if (rc != 0)
            break;
        crc = clEnqueueReadBuffer(e->queue, e->outputs, CL_FALSE, 0, n * e->out_count,
                                  res->outputs + done * e->out_count, 0, NULL, NULL);
        if (crc == CL_SUCCESS)
            crc = clEnqueueReadBuffer(e->queue, e->predictions, CL_FALSE, 0, n * sizeof(uint32_t),
                                      res->predictions + done, 0, NULL, NULL);
        if (crc == CL_SUCCESS && mc)
            crc = clEnqueueReadBuffer(e->queue, e->stats, CL_FALSE, 0, n * mc * 32, st, 0, NULL,
                                      NULL);
        if (crc == CL_SUCCESS)
            crc = clFinish(e->queue);
        if (crc != CL_SUCCESS) {
            rc = accsim_cl_fail(err, "running the network", crc);
            break;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t m = 0; m < mc; m++) {
                const int32_t *s = st + (i * mc + m) * 8;
                size_t r = (done + i) * mc + m;
                res->saturations[r] = (uint32_t)s[0];
                res->psum_min[r] = s[1];
                res->psum_max[r] = s[2];
                res->out_min[r] = s[3];
                res->out_max[r] = s[4];
            }
        /* Whether the unclamped pass paid off: events in at most 1 output in 64. */
        for (size_t m = 0; m < mc; m++) {
            op_plan *p = &e->plans[net->mac_ops[m]];
            uint64_t events = 0;
            for (size_t i = 0; i < n; i++)
                events += res->saturations[(done + i) * mc + m];
            p->try_fast = events * 64 <= (uint64_t)n * p->g.out_count;
        }
        done += n;
    }
    if (rc != 0)
        clFinish(e->queue);
    free(idx);
    free(st);
    return rc;
}
