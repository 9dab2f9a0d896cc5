/* accsim OpenCL kernels: the course LeNet-5 with narrow accumulators,
 * bit-exact with the C reference (host/cpu/engine_cpu.c) and SPEC sections 5-7.
 *
 * Build options (set by host/opencl/opencl_engine.c):
 *   WRAP=0|1         overflow mode: saturate or wrap to B bits
 *   HIST=0|1         layer-output and peak histograms
 *   PSUM=0|1         every-partial-sum histograms
 *   SERIAL_HIST=0|1  1 on CPU devices: one work-item per group reduces the
 *                    group's statistics without atomics; 0 on GPUs: local
 *                    atomics by every work-item
 *   VECTOR_CPU=0|1   1: conv1, conv2, fc1 and fc2 come from kernels/vector_cpu.cl
 *                    (explicit vectors for CPUs; needs SERIAL_HIST=1)
 * and the network's shapes, all from the description through the host's
 * course_geom_plan (the one source of every size here and of the launches):
 *   IN_C, IN_H, IN_W             the image
 *   C1_OUT, C1_KH, C1_KW         conv1; C1_OH x C1_OW its accumulator grid,
 *   P1_H, P1_W                   pooled
 *   C2_OUT, C2_KH, C2_KW, C2_OH, C2_OW, P2_H, P2_W   conv2 likewise
 *   FCn_IN, FCn_OUT              the fully connected layers (n = 1..3)
 *   C1_ROWS          scalar conv1: output rows per work-group (even, divides C1_OH)
 *   C2_GRID          scalar conv2: work-items per group (C2_OH rows of P1_W, rounded up)
 *   C2_PAD           conv2 outputs padded in its transposed weights
 *   FCn_PAD_I32, FCn_PAD_S16, FC3_PAD   fc outputs padded likewise (int32, int16)
 *   LANES_I32, LANES_S16, FC3_IMAGES    vector lanes, images per vector fc3 group
 *
 * One work-item computes one accumulator output, walking the reduction in
 * exactly the order of SPEC section 5, every loop fully unrolled (constant trip
 * counts) and the input address linear in the work-item id so that CPU
 * implementations vectorize across work-items. Rows are padded (conv1: its
 * output rows to the input width, conv2: to the width of its input) and the
 * padding lanes are computed but ignored.
 *
 * Why plain int adds are exact: |a*w| <= 2^14, and every value an accumulator
 * holds is at most the sum of the |products| before it; the host refuses
 * reductions of 2^15 adds or more, so that stays below 2^29 and t + p never
 * overflows int32 for any width; only fc3's int32 bias add needs 64 bits.
 *
 * Statistics per (image, layer), in stats[img][layer][NSTAT]:
 *   0 saturation events, 1 min output, 2 max output, 3 min held, 4 max held
 * Histograms, uint32 per chunk, hist[layer][kind][256]: kinds 0 out bits,
 * 1 out linear, 2 peak bits, 3 peak linear, 4 psum bits, 5 psum linear. */

#ifndef WRAP
#define WRAP 0
#endif
#ifndef HIST
#define HIST 0
#endif
#ifndef PSUM
#define PSUM 0
#endif
#ifndef SERIAL_HIST
#define SERIAL_HIST 0
#endif
#ifndef VECTOR_CPU
#define VECTOR_CPU 0
#endif
#if !defined(IN_C) || !defined(FC3_OUT) || !defined(C1_ROWS) || !defined(C2_GRID)
#error "the network's shapes come as -D constants from host/opencl/opencl_engine.c"
#endif

/* Per-image statistics and histogram layout, shared with the host. */
#define NSTAT 5      /* statistics per (image, layer), listed above */
#define NLAYER 5     /* MAC layers: conv1, conv2, fc1, fc2, fc3 */
#define LIN_BINS 256
#define HIST_KINDS 6

/* Sizes derived from the shapes. */
#define IMAGE_BYTES (IN_C * IN_H * IN_W)
#define P1_COUNT (C1_OUT * P1_H * P1_W)  /* conv2's input per image */
#define C1_TAPS (C1_KH * C1_KW)
#define C2_TAPS (C2_KH * C2_KW)
#define C1_GS (C1_ROWS * IN_W)
#define C1_BLOCKS (C1_OH / C1_ROWS)
#define C2_GS C2_GRID
#define FC1_GS FC1_PAD_I32
#define FC2_GS FC2_PAD_I32
#define FC3_GS FC3_PAD
#if FC1_IN != C2_OUT * P2_H * P2_W || FC2_IN != FC1_OUT || FC3_IN != FC2_OUT
#error "the layers' sizes do not chain"
#endif
#if C1_OH % C1_ROWS != 0 || C1_ROWS % 2 != 0 || C2_GRID < C2_OH * P1_W
#error "conv work-group sizes do not cover the grids"
#endif

/* The layer bodies and their helpers: inlined before any optimization (as
 * the macros they replace were), so that loops whose trip counts are the
 * callers' constants unroll exactly as with literals. */
#define INLINE static inline __attribute__((always_inline))

/* Linear-histogram parameters of one layer: lo and shift for outputs, peaks and
 * partial sums. */
typedef struct {
    int out_lo, out_shift, peak_lo, peak_shift, psum_lo, psum_shift;
} hist_ranges;

static inline int bits_needed(int v)
{
    return 33 - (int)clz(v ^ (v >> 31));
}

static inline int lin_bin(long v, int lo, int shift)
{
    long d = v - (long)lo;
    if (d < 0)
        return 0;
    ulong b = ((ulong)d) >> shift;
    return b > (ulong)(LIN_BINS - 1) ? LIN_BINS - 1 : (int)b;
}

/* clamp(round_half_even(v * scale), -128, 127), exactly as the reference's
 * double arithmetic gives it. thr[k] is the smallest v whose result is at least
 * -127 + k; thr[255] is larger than every int. The truncated float product is
 * within 1 of the result (its relative error is below 2^-22, and any
 * |v * scale| > 200 clamps either way), so one threshold comparison each way
 * makes it exact: two loads instead of an 8-step dependent binary search, and
 * no rint(), which PoCL implements in software. */
static inline int requant(int v, float scale, __global const long *thr)
{
    int r = (int)clamp((float)v * scale, -128.0f, 127.0f);
    long x = v;
    /* Branch-free (the direction is data): thr[255] never rounds up, and the
     * two tests cannot both hold, thr being sorted. */
    int up = thr[r + 128] <= x;
    int down = r > -128 && thr[max(r + 127, 0)] > x;
    return r + up - down;
}

/* Reduction loops: fully unrolled so that CPU compilers vectorize across
 * work-items (and vector_cpu.cl's get constant offsets); with every-partial-sum
 * histograms (atomics or counts in the loop, never vectorized) unrolling only
 * costs compile time, and clang gives up on the longest with a warning. */
#if PSUM
#define UNROLL _Pragma("unroll 1")
#else
#define UNROLL _Pragma("unroll")
#endif

/* ---- one accumulator step ------------------------------------------------ */

/* What a step needs besides the two values. */
typedef struct {
    int lo, hi, wsh;       /* the width's range; wrap mode: 32 - B */
    int valid;             /* the output is real, not a padding lane */
    __local uint *l_psum;  /* the group's every-partial-sum counts (PSUM) */
    hist_ranges hr;
} step_ctx;

/* What an accumulator went through: saturation events, and the smallest and
 * largest value it held. */
typedef struct {
    uint ev;
    int mn, mx;
} acc_track;

/* Atomics even where a work-group runs on one thread (SERIAL_HIST): PoCL may
 * still put the work-item loop innermost and vectorize across work-items
 * (seen on an AVX-512 Xeon with PoCL 3.1), and plain increments of one local
 * bin from several lanes then lose counts. These scalar kernels are the GPU
 * path; CPUs run kernels/vector_cpu.cl, whose loops keep the work-item loop
 * outside. */
INLINE void psum_count(int v, const step_ctx *c)
{
#if PSUM
    if (c->valid)
        atomic_inc(&c->l_psum[bits_needed(v)]);
    if (c->valid)
        atomic_inc(&c->l_psum[LIN_BINS + lin_bin(v, c->hr.psum_lo, c->hr.psum_shift)]);
#endif
}

/* sat(t + p) (or wrapped), counting an event when the exact sum lay outside
 * [lo, hi], tracking the smallest and largest value held. In saturate mode
 * mn/mx track the unclamped sums: clamp is monotone, so clamping them at the
 * end (acc_finish) gives the extremes of the held values. */
INLINE int acc_step(int t, int p, acc_track *s, const step_ctx *c)
{
    int sum = t + p;
#if WRAP
    int n = as_int(as_uint(sum) << c->wsh) >> c->wsh;
    s->mn = min(s->mn, n);
    s->mx = max(s->mx, n);
#else
    int n = clamp(sum, c->lo, c->hi);
    s->mn = min(s->mn, sum);
    s->mx = max(s->mx, sum);
#endif
    s->ev += (sum != n);
    psum_count(n, c);
    return n;
}

INLINE void acc_finish(acc_track *s, const step_ctx *c)
{
#if !WRAP
    s->mn = clamp(s->mn, c->lo, c->hi);
    s->mx = clamp(s->mx, c->lo, c->hi);
#endif
}

/* ---- per-group statistics and histograms --------------------------------- */

/* Entry j of a group is a real output when (j % width) < valid_width and
 * j < count. */
INLINE int is_valid(int j, int width, int valid_width, int count)
{
    return (j % width) < valid_width && j < count;
}

/* Folds a group's statistics into its image's: events, output extremes,
 * held extremes (stats[img][layer], see the top of this file). */
static void publish_stats(__global int *st, uint ev, int omn, int omx, int pmn, int pmx)
{
    if (ev)
        atomic_add((__global uint *)&st[0], ev);
    atomic_min(&st[1], omn);
    atomic_max(&st[2], omx);
    atomic_min(&st[3], pmn);
    atomic_max(&st[4], pmx);
}

#if SERIAL_HIST
/* CPU: work-item 0 walks the group's outputs; work-groups run on one thread
 * each, so this costs no atomics but a few per group. */
static void group_epilogue(__local const int *l_acc, __local const int *l_mn,
                           __local const int *l_mx, __local const uint *l_ev, int count,
                           int width, int valid_width, __global int *st,
                           __global uint *hist, __local uint *l_hist, hist_ranges hr)
{
    uint ev = 0;
    int omn = INT_MAX, omx = INT_MIN, pmn = 0, pmx = 0;
#if HIST
    for (int k = 0; k < 4 * LIN_BINS; k++)
        l_hist[k] = 0;
#endif
    for (int j = 0; j < count; j++) {
        if (!is_valid(j, width, valid_width, count))
            continue;
        int a = l_acc[j], lmn = l_mn[j], lmx = l_mx[j];
        ev += l_ev[j];
        omn = min(omn, a);
        omx = max(omx, a);
        pmn = min(pmn, lmn);
        pmx = max(pmx, lmx);
#if HIST
        l_hist[bits_needed(a)]++;
        l_hist[LIN_BINS + lin_bin(a, hr.out_lo, hr.out_shift)]++;
        l_hist[2 * LIN_BINS + max(bits_needed(lmx), bits_needed(lmn))]++;
        l_hist[3 * LIN_BINS + lin_bin(max((long)lmx, -(long)lmn), hr.peak_lo, hr.peak_shift)]++;
#endif
    }
    publish_stats(st, ev, omn, omx, pmn, pmx);
#if HIST
    for (int k = 0; k < 4 * LIN_BINS; k++)
        if (l_hist[k])
            atomic_add(&hist[k], l_hist[k]);
#endif
}
#else
/* GPU: every work-item adds its output with local atomics. */
#define LS_EV 0
#define LS_OMN 1
#define LS_OMX 2
#define LS_PMN 3
#define LS_PMX 4
static void group_epilogue_atomic(int a, int lmn, int lmx, uint ev, int valid,
                                  __local int *l_stat, __local uint *l_hist, hist_ranges hr)
{
    if (!valid)
        return;
    if (ev)
        atomic_add((__local uint *)&l_stat[LS_EV], ev);
    atomic_min(&l_stat[LS_OMN], a);
    atomic_max(&l_stat[LS_OMX], a);
    atomic_min(&l_stat[LS_PMN], lmn);
    atomic_max(&l_stat[LS_PMX], lmx);
#if HIST
    atomic_inc(&l_hist[bits_needed(a)]);
    atomic_inc(&l_hist[LIN_BINS + lin_bin(a, hr.out_lo, hr.out_shift)]);
    atomic_inc(&l_hist[2 * LIN_BINS + max(bits_needed(lmx), bits_needed(lmn))]);
    atomic_inc(&l_hist[3 * LIN_BINS + lin_bin(max((long)lmx, -(long)lmn), hr.peak_lo, hr.peak_shift)]);
#endif
}
#endif

/* A group's local memory, declared by its __kernel (OpenCL keeps __local
 * variables at kernel scope) with GROUP_MEM_DECLARE and passed down. */
typedef struct {
    __local int *acc;   /* every entry's output, for pooling */
    __local int *mn, *mx;
    __local uint *ev;   /* SERIAL_HIST: every entry's statistics */
    __local uint *hist; /* 4 x LIN_BINS with HIST */
    __local uint *psum; /* 2 x LIN_BINS with PSUM */
    __local int *stat;  /* !SERIAL_HIST: the group's statistics */
} group_mem;

#define SERIAL_ONLY(n) (SERIAL_HIST ? (n) : 1)
#define GROUP_MEM_DECLARE(gm, GS)                                                  \
    __local int gm##_acc[GS], gm##_mn[SERIAL_ONLY(GS)], gm##_mx[SERIAL_ONLY(GS)];   \
    __local uint gm##_ev[SERIAL_ONLY(GS)];                                         \
    __local uint gm##_hist[HIST ? 4 * LIN_BINS : 1];                               \
    __local uint gm##_psum[PSUM ? 2 * LIN_BINS : 1];                               \
    __local int gm##_stat[SERIAL_HIST ? 1 : 5];                                    \
    const group_mem gm = {gm##_acc, gm##_mn, gm##_mx, gm##_ev, gm##_hist, gm##_psum, gm##_stat}

/* Zeroes the group's local histograms (and, on GPUs, statistics); call before
 * the first barrier. */
static void group_prologue(int lid, int gs, group_mem gm)
{
#if !SERIAL_HIST
    if (lid == 0) {
        gm.stat[0] = 0;
        gm.stat[1] = INT_MAX;
        gm.stat[2] = INT_MIN;
        gm.stat[3] = 0;
        gm.stat[4] = 0;
    }
#if HIST
    for (int k = lid; k < 4 * LIN_BINS; k += gs)
        gm.hist[k] = 0;
#endif
#endif
#if PSUM
    for (int k = lid; k < 2 * LIN_BINS; k += gs)
        gm.psum[k] = 0;
#endif
}

/* The group's prologue and, where the group's memory is written by others
 * before it is read, a barrier. */
INLINE void group_start(int lid, int gs, group_mem gm)
{
    group_prologue(lid, gs, gm);
#if PSUM || !SERIAL_HIST
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
}

/* Entry j's output (and on CPUs its statistics) for pooling and the epilogue. */
INLINE void group_publish(group_mem gm, int j, int acc, acc_track s)
{
    gm.acc[j] = acc;
#if SERIAL_HIST
    gm.mn[j] = s.mn;
    gm.mx[j] = s.mx;
    gm.ev[j] = s.ev;
#endif
}

/* After pooling: the group's statistics and histograms into global memory
 * (count, width, valid_width: see is_valid). */
static void group_finish(int lid, int gs, group_mem gm, int acc, acc_track s, int count,
                         int width, int valid_width, __global int *st, __global uint *hist,
                         hist_ranges hr)
{
#if SERIAL_HIST
    if (lid == 0)
        group_epilogue(gm.acc, gm.mn, gm.mx, gm.ev, count, width, valid_width, st, hist,
                       gm.hist, hr);
#else
    group_epilogue_atomic(acc, s.mn, s.mx, s.ev, is_valid(lid, width, valid_width, count),
                          gm.stat, gm.hist, hr);
#endif
#if PSUM || !SERIAL_HIST
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
#if !SERIAL_HIST
    if (lid == 0)
        publish_stats(st, (uint)gm.stat[0], gm.stat[1], gm.stat[2], gm.stat[3], gm.stat[4]);
#if HIST
    for (int k = lid; k < 4 * LIN_BINS; k += gs)
        if (gm.hist[k])
            atomic_add(&hist[k], gm.hist[k]);
#endif
#endif
#if PSUM
    for (int k = lid; k < 2 * LIN_BINS; k += gs)
        if (gm.psum[k])
            atomic_add(&hist[4 * LIN_BINS + k], gm.psum[k]);
#endif
}

/* Layer `layer`'s statistics of image img and its histograms. */
INLINE __global int *layer_stats(__global int *stats, int img, int layer)
{
    return stats + (img * NLAYER + layer) * NSTAT;
}

INLINE __global uint *layer_hist(__global uint *hist, int layer)
{
    return hist + layer * HIST_KINDS * LIN_BINS;
}

#if !VECTOR_CPU
/* ---- conv1: IN_C x IN_H x IN_W -> C1_OUT x C1_OH x C1_OW, pool -> P1 ------ */

/* Work-group g: image g / (C1_BLOCKS C1_OUT), output channel o, row block rb;
 * work-item j of the group is output (y, x) = (rb C1_ROWS + j / IN_W,
 * j % IN_W), x >= C1_OW padding. */
INLINE void conv1_body(int lid, int g, __global const char *images,
                              __global const uint *index, __global const int *weights,
                              __global const long *thr, __global char *out_act,
                              __global int *stats, __global uint *hist, step_ctx c,
                              float scale, group_mem gm)
{
    const int rb = g % C1_BLOCKS;
    const int o = (g / C1_BLOCKS) % C1_OUT;
    const int img = g / (C1_BLOCKS * C1_OUT);
    __global int *st = layer_stats(stats, img, 0);
    __global uint *h = layer_hist(hist, 0);
    group_start(lid, C1_GS, gm);

    /* Position of this work-item's output. The last row's padding lanes read
     * past the image, into the next one or the buffer's padding (the host
     * allocates spare bytes): keeping the address linear in lid is what lets
     * CPU compilers vectorize. */
    const int jj = rb * C1_GS + lid;
    c.valid = (lid % IN_W) < C1_OW;
    c.l_psum = gm.psum;
    __global const char *a = images + (size_t)index[img] * IMAGE_BYTES + jj;
    __global const int *w = weights + o * IN_C * C1_TAPS;

    int acc = 0;
    acc_track s = {0, 0, 0};
UNROLL
    for (int ch = 0; ch < IN_C; ch++) {
        int t = 0;
UNROLL
        for (int ky = 0; ky < C1_KH; ky++) {
UNROLL
            for (int kx = 0; kx < C1_KW; kx++) {
                int p = (int)a[ch * IN_H * IN_W + ky * IN_W + kx] *
                        w[ch * C1_TAPS + ky * C1_KW + kx];
                t = acc_step(t, p, &s, &c);
            }
        }
        acc = acc_step(acc, t, &s, &c);
    }
    acc_finish(&s, &c);
    group_publish(gm, lid, acc, s);
    barrier(CLK_LOCAL_MEM_FENCE);

    /* ReLU, 2x2 max-pool, requantize: pooled rows rb * C1_ROWS / 2 .. */
    if (lid < (C1_ROWS / 2) * P1_W) {
        int py = lid / P1_W, px = lid % P1_W;
        int j0 = py * 2 * IN_W + px * 2;
        int v = max(max(gm.acc[j0], gm.acc[j0 + 1]), max(gm.acc[j0 + IN_W], gm.acc[j0 + IN_W + 1]));
        v = max(v, 0);
        out_act[(size_t)img * P1_COUNT + o * P1_H * P1_W + (rb * (C1_ROWS / 2) + py) * P1_W + px] =
            (char)requant(v, scale, thr);
    }
#if SERIAL_HIST
    barrier(CLK_LOCAL_MEM_FENCE); /* keeps the pooling region vectorizable */
#endif
    group_finish(lid, C1_GS, gm, acc, s, C1_GS, IN_W, C1_OW, st, h, c.hr);
}

__kernel __attribute__((reqd_work_group_size(C1_GS, 1, 1)))
void conv1(__global const char *images, __global const uint *index,
           __global const int *weights, __global const long *thr,
           __global char *out_act, __global int *stats, __global uint *hist,
           int lo, int hi, int wsh, hist_ranges hr, float scale)
{
    GROUP_MEM_DECLARE(gm, C1_GS);
    const step_ctx c = {lo, hi, wsh, 1, 0, hr};
    conv1_body(get_local_id(0), get_group_id(0), images, index, weights, thr, out_act, stats,
               hist, c, scale, gm);
}

/* ---- conv2: C1_OUT x P1_H x P1_W -> C2_OUT x C2_OH x C2_OW, pool -> P2 ---- */

/* Work-group g: image g / C2_OUT, output channel g % C2_OUT; work-item j is
 * output (y, x) = (j / P1_W, j % P1_W) of a grid as wide as the input, valid
 * when x < C2_OW, y < C2_OH. */
INLINE void conv2_body(int lid, int g, __global const char *in_act,
                              __global const int *weights, __global const long *thr,
                              __global char *out_act, __global int *stats, __global uint *hist,
                              step_ctx c, float scale, group_mem gm)
{
    const int o = g % C2_OUT;
    const int img = g / C2_OUT;
    __global int *st = layer_stats(stats, img, 1);
    __global uint *h = layer_hist(hist, 1);
    group_start(lid, C2_GS, gm);

    /* Padding lanes read past the image: see conv1. */
    c.valid = is_valid(lid, P1_W, C2_OW, C2_OH * P1_W);
    c.l_psum = gm.psum;
    __global const char *a = in_act + (size_t)img * P1_COUNT + lid;
    __global const int *w = weights + o; /* [c][ky][kx][C2_PAD]: see vector_cpu.cl */

    int acc = 0;
    acc_track s = {0, 0, 0};
UNROLL
    for (int ch = 0; ch < C1_OUT; ch++) {
        int t = 0;
UNROLL
        for (int ky = 0; ky < C2_KH; ky++) {
UNROLL
            for (int kx = 0; kx < C2_KW; kx++) {
                int p = (int)a[ch * P1_H * P1_W + ky * P1_W + kx] *
                        w[(ch * C2_TAPS + ky * C2_KW + kx) * C2_PAD];
                t = acc_step(t, p, &s, &c);
            }
        }
        acc = acc_step(acc, t, &s, &c);
    }
    acc_finish(&s, &c);
    group_publish(gm, lid, acc, s);
    barrier(CLK_LOCAL_MEM_FENCE);

    if (lid < P2_H * P2_W) {
        int py = lid / P2_W, px = lid % P2_W;
        int j0 = py * 2 * P1_W + px * 2;
        int v = max(max(gm.acc[j0], gm.acc[j0 + 1]), max(gm.acc[j0 + P1_W], gm.acc[j0 + P1_W + 1]));
        v = max(v, 0);
        out_act[(size_t)img * FC1_IN + o * P2_H * P2_W + lid] = (char)requant(v, scale, thr);
    }
#if SERIAL_HIST
    barrier(CLK_LOCAL_MEM_FENCE); /* keeps the pooling region vectorizable */
#endif
    group_finish(lid, C2_GS, gm, acc, s, C2_OH * P1_W, P1_W, C2_OW, st, h, c.hr);
}

__kernel __attribute__((reqd_work_group_size(C2_GS, 1, 1)))
void conv2(__global const char *in_act, __global const int *weights,
           __global const long *thr, __global char *out_act, __global int *stats,
           __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale)
{
    GROUP_MEM_DECLARE(gm, C2_GS);
    const step_ctx c = {lo, hi, wsh, 1, 0, hr};
    conv2_body(get_local_id(0), get_group_id(0), in_act, weights, thr, out_act, stats, hist, c,
               scale, gm);
}

/* ---- fully connected layers ---------------------------------------------- */

/* Work-group: one image; work-item o computes output o (o >= n_out padding).
 * Weights are transposed on the host to [n_in][gs] so that consecutive
 * work-items read consecutive weights. layer, n_in, n_out, gs: constants of
 * the wrapper, so the loop unrolls as with literals. */
INLINE void fc_body(int lid, int img, int layer, int n_in, int n_out, int gs,
                           __global const char *in_act, __global const int *wt,
                           __global const long *thr, __global char *out_act,
                           __global int *stats, __global uint *hist, step_ctx c, float scale,
                           group_mem gm)
{
    __global int *st = layer_stats(stats, img, layer);
    __global uint *h = layer_hist(hist, layer);
    group_start(lid, gs, gm);
    __global const char *a = in_act + (size_t)img * n_in;
    c.valid = lid < n_out;
    c.l_psum = gm.psum;
    int acc = 0;
    acc_track s = {0, 0, 0};
UNROLL
    for (int i = 0; i < n_in; i++) {
        int p = (int)a[i] * wt[i * gs + lid];
        acc = acc_step(acc, p, &s, &c);
    }
    acc_finish(&s, &c);
    group_publish(gm, lid, acc, s);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid < n_out)
        out_act[(size_t)img * n_out + lid] = (char)requant(max(acc, 0), scale, thr);
    group_finish(lid, gs, gm, acc, s, n_out, gs, n_out, st, h, c.hr);
}

__kernel __attribute__((reqd_work_group_size(FC1_GS, 1, 1)))
void fc1(__global const char *in_act, __global const int *wt, __global const long *thr,
         __global char *out_act, __global int *stats, __global uint *hist, int lo, int hi,
         int wsh, hist_ranges hr, float scale)
{
    GROUP_MEM_DECLARE(gm, FC1_GS);
    const step_ctx c = {lo, hi, wsh, 1, 0, hr};
    fc_body(get_local_id(0), get_group_id(0), 2, FC1_IN, FC1_OUT, FC1_GS, in_act, wt, thr,
            out_act, stats, hist, c, scale, gm);
}

__kernel __attribute__((reqd_work_group_size(FC2_GS, 1, 1)))
void fc2(__global const char *in_act, __global const int *wt, __global const long *thr,
         __global char *out_act, __global int *stats, __global uint *hist, int lo, int hi,
         int wsh, hist_ranges hr, float scale)
{
    GROUP_MEM_DECLARE(gm, FC2_GS);
    const step_ctx c = {lo, hi, wsh, 1, 0, hr};
    fc_body(get_local_id(0), get_group_id(0), 3, FC2_IN, FC2_OUT, FC2_GS, in_act, wt, thr,
            out_act, stats, hist, c, scale, gm);
}
#endif /* !VECTOR_CPU: kernels/vector_cpu.cl has these four */

/* fc3: FC3_IN -> FC3_OUT plus the bias (an add like any other: event, peak,
 * partial sum; 64-bit since the bias is any int32); no ReLU; the prediction.
 * Work-group: one image, work-item o output o. */
INLINE void fc3_body(int lid, int img, __global const char *in_act,
                            __global const int *wt, __global const int *bias,
                            __global const long *thr, __global char *outputs,
                            __global uchar *predictions, __global int *stats,
                            __global uint *hist, step_ctx c, float scale, group_mem gm,
                            __local int *l_out)
{
    __global int *st = layer_stats(stats, img, 4);
    __global uint *h = layer_hist(hist, 4);
    group_start(lid, FC3_GS, gm);
    __global const char *a = in_act + (size_t)img * FC3_IN;
    c.valid = lid < FC3_OUT;
    c.l_psum = gm.psum;
    int acc = 0;
    acc_track s = {0, 0, 0};
UNROLL
    for (int i = 0; i < FC3_IN; i++) {
        int p = (int)a[i] * wt[i * FC3_GS + lid];
        acc = acc_step(acc, p, &s, &c);
    }
    {
        long e = (long)acc + (long)bias[min(lid, FC3_OUT - 1)];
#if WRAP
        int n = (int)(((long)((ulong)e << (64 - (32 - c.wsh)))) >> (64 - (32 - c.wsh)));
        s.ev += (e < (long)c.lo || e > (long)c.hi);
#else
        int n = (int)clamp(e, (long)c.lo, (long)c.hi);
        s.ev += (e != (long)n);
#endif
        s.mn = min(s.mn, n);
        s.mx = max(s.mx, n);
        psum_count(n, &c);
        acc = n;
    }
    acc_finish(&s, &c);
    group_publish(gm, lid, acc, s);
    if (lid < FC3_OUT) {
        int r = requant(acc, scale, thr);
        outputs[(size_t)img * FC3_OUT + lid] = (char)r;
        l_out[lid] = r;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {
        int best = 0;
        for (int k = 1; k < FC3_OUT; k++)
            if (l_out[k] > l_out[best])
                best = k;
        predictions[img] = (uchar)best;
    }
    group_finish(lid, FC3_GS, gm, acc, s, FC3_OUT, FC3_GS, FC3_OUT, st, h, c.hr);
}

__kernel __attribute__((reqd_work_group_size(FC3_GS, 1, 1)))
void fc3(__global const char *in_act, __global const int *wt, __global const int *bias,
         __global const long *thr, __global char *outputs, __global uchar *predictions,
         __global int *stats, __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale)
{
    GROUP_MEM_DECLARE(gm, FC3_GS);
    __local int l_out[FC3_GS];
    const step_ctx c = {lo, hi, wsh, 1, 0, hr};
    fc3_body(get_local_id(0), get_group_id(0), in_act, wt, bias, thr, outputs, predictions,
             stats, hist, c, scale, gm, l_out);
}
