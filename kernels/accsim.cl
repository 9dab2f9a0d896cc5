/* accsim OpenCL kernels: LeNet-5 with narrow accumulators, bit-exact with the
 * C reference (host/cpu/engine_cpu.c) and SPEC sections 5-7.
 *
 * Build options (set by host/opencl/opencl_engine.c):
 *   WRAP=0|1         overflow mode: saturate or wrap to B bits
 *   HIST=0|1         layer-output and peak histograms
 *   PSUM=0|1         every-partial-sum histograms
 *   SERIAL_HIST=0|1  1 on CPU devices: one work-item per group reduces the
 *                    group's statistics without atomics; 0 on GPUs: local
 *                    atomics by every work-item
 *   C1_ROWS          conv1 rows per work-group (even, divides 28)
 *   VECTOR_CPU=0|1   1: conv1, conv2, fc1 and fc2 come from kernels/vector_cpu.cl
 *                    (explicit 8-wide vectors for CPUs; needs SERIAL_HIST=1)
 *
 * One work-item computes one accumulator output, walking the reduction in
 * exactly the order of SPEC section 5, every loop fully unrolled (constant trip
 * counts) and the input address linear in the work-item id so that CPU
 * implementations vectorize across work-items. Rows are padded (conv1: 28 -> 32
 * wide, conv2: 10 -> 14 wide, the width of its input) and the padding lanes are
 * computed but ignored.
 *
 * Why plain int adds are exact: |a*w| <= 2^14, and every value an accumulator
 * holds is at most the sum of the |products| before it (<= 400 * 2^14 < 2^23),
 * so t + p never overflows int32 for any width; only fc3's int32 bias add
 * needs 64 bits.
 *
 * Statistics per (image, layer), in stats[img][layer][5]:
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
#ifndef C1_ROWS
#define C1_ROWS 28
#endif
#ifndef VECTOR_CPU
#define VECTOR_CPU 0
#endif

#define NSTAT 5
#define NLAYER 5
#define LIN_BINS 256
#define HIST_KINDS 6

#define C1_GS (C1_ROWS * 32)
#define C1_BLOCKS (28 / C1_ROWS)
#define C2_GS 144
#define FC1_GS 120
#define FC2_GS 88
#define FC3_GS 16

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

#if PSUM
/* Atomics even where a work-group runs on one thread (SERIAL_HIST): PoCL may
 * still put the work-item loop innermost and vectorize across work-items
 * (seen on an AVX-512 Xeon with PoCL 3.1), and plain increments of one local
 * bin from several lanes then lose counts. These scalar kernels are the GPU
 * path; CPUs run kernels/vector_cpu.cl, whose loops keep the work-item loop
 * outside. */
#define PSUM_COUNT(v)                                                              \
    do {                                                                           \
        if (valid)                                                                 \
            atomic_inc(&l_psum[bits_needed(v)]);                                   \
        if (valid)                                                                 \
            atomic_inc(&l_psum[LIN_BINS + lin_bin((v), hr.psum_lo, hr.psum_shift)]); \
    } while (0)
#else
#define PSUM_COUNT(v) do { } while (0)
#endif

/* STEP(t, p): t = sat(t + p) (or wrapped), counting an event when the exact sum
 * lay outside [lo, hi], tracking the smallest and largest value held. In
 * saturate mode mn/mx track the unclamped sums: clamp is monotone, so clamping
 * them at the end gives the extremes of the held values. */
#if WRAP
#define STEP(t, p)                                                                 \
    do {                                                                           \
        int s_ = (t) + (p);                                                        \
        int n_ = as_int(as_uint(s_) << wsh) >> wsh;                                \
        ev += (s_ != n_);                                                          \
        mn = min(mn, n_);                                                          \
        mx = max(mx, n_);                                                          \
        PSUM_COUNT(n_);                                                            \
        (t) = n_;                                                                  \
    } while (0)
#define FINISH_MINMAX() do { } while (0)
#else
#define STEP(t, p)                                                                 \
    do {                                                                           \
        int s_ = (t) + (p);                                                        \
        int n_ = clamp(s_, lo, hi);                                                \
        ev += (s_ != n_);                                                          \
        mn = min(mn, s_);                                                          \
        mx = max(mx, s_);                                                          \
        PSUM_COUNT(n_);                                                            \
        (t) = n_;                                                                  \
    } while (0)
#define FINISH_MINMAX()                                                            \
    do {                                                                           \
        mn = clamp(mn, lo, hi);                                                    \
        mx = clamp(mx, lo, hi);                                                    \
    } while (0)
#endif

/* ---- per-group statistics and histograms --------------------------------- */

/* Entry j of a group is a real output when (j % width) < valid_width and
 * j < count. */
#define IS_VALID(j, width, valid_width, count) (((j) % (width)) < (valid_width) && (j) < (count))

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
        if (!IS_VALID(j, width, valid_width, count))
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
static void group_epilogue_atomic(int j, int a, int lmn, int lmx, uint ev, int valid,
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

/* Zeroes the group's local histograms (and, on GPUs, statistics); call before
 * the first barrier. */
static void group_prologue(int lid, int gs, __local int *l_stat, __local uint *l_hist,
                           __local uint *l_psum)
{
#if !SERIAL_HIST
    if (lid == 0) {
        l_stat[0] = 0;
        l_stat[1] = INT_MAX;
        l_stat[2] = INT_MIN;
        l_stat[3] = 0;
        l_stat[4] = 0;
    }
#if HIST
    for (int k = lid; k < 4 * LIN_BINS; k += gs)
        l_hist[k] = 0;
#endif
#endif
#if PSUM
    for (int k = lid; k < 2 * LIN_BINS; k += gs)
        l_psum[k] = 0;
#endif
}

/* After the last barrier: merges local histograms (and GPU statistics) into
 * global memory. */
static void group_merge(int lid, int gs, __local int *l_stat, __local uint *l_hist,
                        __local uint *l_psum, __global int *st, __global uint *hist)
{
#if !SERIAL_HIST
    if (lid == 0)
        publish_stats(st, (uint)l_stat[0], l_stat[1], l_stat[2], l_stat[3], l_stat[4]);
#if HIST
    for (int k = lid; k < 4 * LIN_BINS; k += gs)
        if (l_hist[k])
            atomic_add(&hist[k], l_hist[k]);
#endif
#endif
#if PSUM
    for (int k = lid; k < 2 * LIN_BINS; k += gs)
        if (l_psum[k])
            atomic_add(&hist[4 * LIN_BINS + k], l_psum[k]);
#endif
}

/* The common tail of every layer kernel: publish this work-item's output,
 * reduce the group. Expects lid, j (entry index), acc, mn, mx, ev in scope. */
#if SERIAL_HIST
#define GROUP_STATS_LOCALS(GS)                                                     \
    __local int l_mn[GS], l_mx[GS];                                                \
    __local uint l_ev[GS];                                                         \
    __local uint l_hist[HIST ? 4 * LIN_BINS : 1];                                  \
    __local uint l_psum[PSUM ? 2 * LIN_BINS : 1];                                  \
    __local int l_stat[1];
#define GROUP_PUBLISH(j)                                                           \
    do {                                                                           \
        l_acc[j] = acc;                                                            \
        l_mn[j] = mn;                                                              \
        l_mx[j] = mx;                                                              \
        l_ev[j] = ev;                                                              \
    } while (0)
#define GROUP_REDUCE(count, width, valid_width, st, hist)                          \
    do {                                                                           \
        if (lid == 0)                                                              \
            group_epilogue(l_acc, l_mn, l_mx, l_ev, (count), (width), (valid_width), \
                           (st), (hist), l_hist, hr);                              \
    } while (0)
#else
#define GROUP_STATS_LOCALS(GS)                                                     \
    __local uint l_hist[HIST ? 4 * LIN_BINS : 1];                                  \
    __local uint l_psum[PSUM ? 2 * LIN_BINS : 1];                                  \
    __local int l_stat[5];
#define GROUP_PUBLISH(j)                                                           \
    do {                                                                           \
        l_acc[j] = acc;                                                            \
    } while (0)
#define GROUP_REDUCE(count, width, valid_width, st, hist)                          \
    group_epilogue_atomic(lid, acc, mn, mx, ev, IS_VALID(lid, (width), (valid_width), (count)), \
                          l_stat, l_hist, hr)
#endif

#if !VECTOR_CPU
/* ---- conv1: 3x32x32 -> 6x28x28, pool -> 6x14x14 -------------------------- */

/* Work-group: one image, one output channel, C1_ROWS output rows; work-item j
 * of the group is output (y, x) = (row0 + j / 32, j % 32), x >= 28 padding. */
__kernel __attribute__((reqd_work_group_size(C1_GS, 1, 1)))
void conv1(__global const char *images, __global const uint *index,
           __global const int *weights, __global const long *thr,
           __global char *out_act, __global int *stats, __global uint *hist,
           int lo, int hi, int wsh, hist_ranges hr, float scale)
{
    __local int l_acc[C1_GS];
    GROUP_STATS_LOCALS(C1_GS)
    const int lid = get_local_id(0);
    const int g = get_group_id(0);
    const int rb = g % C1_BLOCKS;
    const int o = (g / C1_BLOCKS) % 6;
    const int img = g / (C1_BLOCKS * 6);
    __global int *st = stats + (img * NLAYER + 0) * NSTAT;
    __global uint *h = hist + 0 * HIST_KINDS * LIN_BINS;

    group_prologue(lid, C1_GS, l_stat, l_hist, l_psum);
#if PSUM || !SERIAL_HIST
    barrier(CLK_LOCAL_MEM_FENCE);
#endif

    /* Position of this work-item's output. The last row's padding lanes read
     * past the image, into the next one or the buffer's padding (the host
     * allocates 64 spare bytes): keeping the address linear in lid is what
     * lets CPU compilers vectorize. */
    const int jj = rb * C1_GS + lid;
    const int valid = (lid & 31) < 28;
    __global const char *a = images + (size_t)index[img] * 3072 + jj;
    __global const int *w = weights + o * 75;

    int acc = 0, mn = 0, mx = 0;
    uint ev = 0;
UNROLL
    for (int c = 0; c < 3; c++) {
        int t = 0;
UNROLL
        for (int ky = 0; ky < 5; ky++) {
UNROLL
            for (int kx = 0; kx < 5; kx++) {
                int p = (int)a[c * 1024 + ky * 32 + kx] * w[c * 25 + ky * 5 + kx];
                STEP(t, p);
            }
        }
        STEP(acc, t);
    }
    FINISH_MINMAX();
    GROUP_PUBLISH(lid);
    barrier(CLK_LOCAL_MEM_FENCE);

    /* ReLU, 2x2 max-pool, requantize: pooled rows rb*C1_ROWS/2 .. */
    if (lid < (C1_ROWS / 2) * 14) {
        int py = lid / 14, px = lid % 14;
        int j0 = py * 2 * 32 + px * 2;
        int v = max(max(l_acc[j0], l_acc[j0 + 1]), max(l_acc[j0 + 32], l_acc[j0 + 33]));
        v = max(v, 0);
        out_act[(size_t)img * 1176 + o * 196 + (rb * (C1_ROWS / 2) + py) * 14 + px] =
            (char)requant(v, scale, thr);
    }
#if SERIAL_HIST
    barrier(CLK_LOCAL_MEM_FENCE); /* keeps the pooling region vectorizable */
#endif
    GROUP_REDUCE(C1_GS, 32, 28, st, h);
#if PSUM || !SERIAL_HIST
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
    group_merge(lid, C1_GS, l_stat, l_hist, l_psum, st, h);
}

/* ---- conv2: 6x14x14 -> 16x10x10, pool -> 16x5x5 -------------------------- */

/* Work-group: one image, one output channel; work-item j is output
 * (y, x) = (j / 14, j % 14) of a 14-wide grid, valid when x < 10, y < 10. */
__kernel __attribute__((reqd_work_group_size(C2_GS, 1, 1)))
void conv2(__global const char *in_act, __global const int *weights,
           __global const long *thr, __global char *out_act, __global int *stats,
           __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale)
{
    __local int l_acc[C2_GS];
    GROUP_STATS_LOCALS(C2_GS)
    const int lid = get_local_id(0);
    const int g = get_group_id(0);
    const int o = g % 16;
    const int img = g / 16;
    __global int *st = stats + (img * NLAYER + 1) * NSTAT;
    __global uint *h = hist + 1 * HIST_KINDS * LIN_BINS;

    group_prologue(lid, C2_GS, l_stat, l_hist, l_psum);
#if PSUM || !SERIAL_HIST
    barrier(CLK_LOCAL_MEM_FENCE);
#endif

    const int jj = lid; /* padding lanes read up to 64 bytes ahead: see conv1 */
    const int valid = IS_VALID(lid, 14, 10, 140);
    __global const char *a = in_act + (size_t)img * 1176 + jj;
    __global const int *w = weights + o; /* [c][ky][kx][16]: see vector_cpu.cl */

    int acc = 0, mn = 0, mx = 0;
    uint ev = 0;
UNROLL
    for (int c = 0; c < 6; c++) {
        int t = 0;
UNROLL
        for (int ky = 0; ky < 5; ky++) {
UNROLL
            for (int kx = 0; kx < 5; kx++) {
                int p = (int)a[c * 196 + ky * 14 + kx] * w[(c * 25 + ky * 5 + kx) * 16];
                STEP(t, p);
            }
        }
        STEP(acc, t);
    }
    FINISH_MINMAX();
    GROUP_PUBLISH(lid);
    barrier(CLK_LOCAL_MEM_FENCE);

    if (lid < 25) {
        int py = lid / 5, px = lid % 5;
        int j0 = py * 2 * 14 + px * 2;
        int v = max(max(l_acc[j0], l_acc[j0 + 1]), max(l_acc[j0 + 14], l_acc[j0 + 15]));
        v = max(v, 0);
        out_act[(size_t)img * 400 + o * 25 + lid] = (char)requant(v, scale, thr);
    }
#if SERIAL_HIST
    barrier(CLK_LOCAL_MEM_FENCE); /* keeps the pooling region vectorizable */
#endif
    GROUP_REDUCE(140, 14, 10, st, h);
#if PSUM || !SERIAL_HIST
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
    group_merge(lid, C2_GS, l_stat, l_hist, l_psum, st, h);
}

/* ---- fully connected layers ---------------------------------------------- */

/* Work-group: one image; work-item o computes output o (o >= N_OUT padding).
 * Weights are transposed on the host to [N_IN][GS] so that consecutive
 * work-items read consecutive weights. */
#define FC_KERNEL(NAME, LAYER, N_IN, N_OUT, GS)                                    \
    __kernel __attribute__((reqd_work_group_size(GS, 1, 1)))                      \
    void NAME(__global const char *in_act, __global const int *wt,                \
              __global const long *thr, __global char *out_act, __global int *stats, \
              __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale)       \
    {                                                                              \
        __local int l_acc[GS];                                                     \
        GROUP_STATS_LOCALS(GS)                                                     \
        const int lid = get_local_id(0);                                           \
        const int img = get_group_id(0);                                           \
        __global int *st = stats + (img * NLAYER + LAYER) * NSTAT;                 \
        __global uint *h = hist + LAYER * HIST_KINDS * LIN_BINS;                   \
        group_prologue(lid, GS, l_stat, l_hist, l_psum);                           \
        if (PSUM || !SERIAL_HIST)                                                  \
            barrier(CLK_LOCAL_MEM_FENCE);                                          \
        __global const char *a = in_act + (size_t)img * N_IN;                      \
        const int valid = lid < N_OUT;                                             \
        int acc = 0, mn = 0, mx = 0;                                               \
        uint ev = 0;                                                               \
        UNROLL                                                                     \
        for (int i = 0; i < N_IN; i++) {                                           \
            int p = (int)a[i] * wt[i * GS + lid];                             \
            STEP(acc, p);                                                          \
        }                                                                          \
        FINISH_MINMAX();                                                           \
        GROUP_PUBLISH(lid);                                                        \
        barrier(CLK_LOCAL_MEM_FENCE);                                              \
        if (lid < N_OUT)                                                           \
            out_act[(size_t)img * N_OUT + lid] = (char)requant(max(acc, 0), scale, thr);  \
        GROUP_REDUCE(N_OUT, GS, N_OUT, st, h);                                     \
        if (PSUM || !SERIAL_HIST)                                                  \
            barrier(CLK_LOCAL_MEM_FENCE);                                          \
        group_merge(lid, GS, l_stat, l_hist, l_psum, st, h);                       \
    }

FC_KERNEL(fc1, 2, 400, 120, FC1_GS)
FC_KERNEL(fc2, 3, 120, 84, FC2_GS)
#endif /* !VECTOR_CPU: kernels/vector_cpu.cl has these four */

/* fc3: 84 -> 10 plus the bias (an add like any other: event, peak, partial
 * sum; 64-bit since the bias is any int32); no ReLU; the prediction. */
__kernel __attribute__((reqd_work_group_size(FC3_GS, 1, 1)))
void fc3(__global const char *in_act, __global const int *wt, __global const int *bias,
         __global const long *thr, __global char *outputs, __global uchar *predictions,
         __global int *stats, __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale)
{
    __local int l_acc[FC3_GS];
    __local int l_out[FC3_GS];
    GROUP_STATS_LOCALS(FC3_GS)
    const int lid = get_local_id(0);
    const int img = get_group_id(0);
    __global int *st = stats + (img * NLAYER + 4) * NSTAT;
    __global uint *h = hist + 4 * HIST_KINDS * LIN_BINS;
    group_prologue(lid, FC3_GS, l_stat, l_hist, l_psum);
#if PSUM || !SERIAL_HIST
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
    __global const char *a = in_act + (size_t)img * 84;
    const int valid = lid < 10;
    int acc = 0, mn = 0, mx = 0;
    uint ev = 0;
UNROLL
    for (int i = 0; i < 84; i++) {
        int p = (int)a[i] * wt[i * FC3_GS + lid];
        STEP(acc, p);
    }
    {
        long e = (long)acc + (long)bias[min(lid, 9)];
#if WRAP
        int n = (int)(((long)((ulong)e << (64 - (32 - wsh)))) >> (64 - (32 - wsh)));
        ev += (e < (long)lo || e > (long)hi);
#else
        int n = (int)clamp(e, (long)lo, (long)hi);
        ev += (e != (long)n);
#endif
        mn = min(mn, n);
        mx = max(mx, n);
        PSUM_COUNT(n);
        acc = n;
    }
    FINISH_MINMAX();
    GROUP_PUBLISH(lid);
    if (lid < 10) {
        int r = requant(acc, scale, thr);
        outputs[(size_t)img * 10 + lid] = (char)r;
        l_out[lid] = r;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {
        int best = 0;
        for (int k = 1; k < 10; k++)
            if (l_out[k] > l_out[best])
                best = k;
        predictions[img] = (uchar)best;
    }
    GROUP_REDUCE(10, FC3_GS, 10, st, h);
#if PSUM || !SERIAL_HIST
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
    group_merge(lid, FC3_GS, l_stat, l_hist, l_psum, st, h);
}
