/* conv1, conv2, fc1 and fc2 for CPU devices (VECTOR_CPU=1): the same
 * arithmetic as the kernels in accsim.cl, but each work-item carries 8
 * accumulators in an int8 vector, so the code maps onto 256-bit SIMD registers
 * whatever the OpenCL compiler's work-item vectorizer decides. (PoCL vectorized
 * the scalar conv2 and fc kernels only 4 wide; see BENCHMARKS.md.) Each lane
 * walks its own reduction in the order of SPEC section 5.
 *
 * Lanes run along x in conv1 (a 28-wide row is four vectors, the last four
 * lanes padding) and along output channels in conv2 and the fully connected
 * layers (weights laid out [inputs][outputs] by the host), so conv2 wastes no
 * lane. Statistics use the serial group epilogue of accsim.cl (SERIAL_HIST),
 * fed from the same local arrays, indexed by output.
 *
 * Every-partial-sum histograms: eight local copies, one per lane, so that
 * repeated increments of one bin do not wait on each other; merged at the end. */

#if VECTOR_CPU

#if !SERIAL_HIST
#error "VECTOR_CPU needs SERIAL_HIST=1"
#endif

#define C1V_GS 112 /* 28 rows x 4 vectors of 8 */
#define C2V_GS 200 /* 100 positions x 2 halves of 16 channels */
#define PSUM8_WORDS (8 * 2 * LIN_BINS)

static inline int8 bits_needed8(int8 v)
{
    return 33 - as_int8(clz(v ^ (v >> 31)));
}

/* lin_bin of accsim.cl, lane by lane, in 32-bit arithmetic: v >= lo makes
 * v - lo exact as a uint. */
static inline int8 lin_bin8(int8 v, int lo, int shift)
{
    uint8 d = as_uint8(v) - (uint)lo;
    uint8 b = shift > 31 ? (uint8)0 : min(d >> (uint)shift, (uint)(LIN_BINS - 1));
    return select(as_int8(b), (int8)0, v < lo);
}

#if PSUM
#define PSUM_LANE(k, sk)                                                           \
    do {                                                                           \
        if (valid8.sk) {                                                           \
            l_psum8[(k) * 2 * LIN_BINS + b_.sk]++;                                 \
            l_psum8[(k) * 2 * LIN_BINS + LIN_BINS + l_.sk]++;                      \
        }                                                                          \
    } while (0)
#define VPSUM_COUNT(n)                                                             \
    do {                                                                           \
        int8 b_ = bits_needed8(n);                                                 \
        int8 l_ = lin_bin8((n), hr.psum_lo, hr.psum_shift);                        \
        PSUM_LANE(0, s0); PSUM_LANE(1, s1); PSUM_LANE(2, s2); PSUM_LANE(3, s3);    \
        PSUM_LANE(4, s4); PSUM_LANE(5, s5); PSUM_LANE(6, s6); PSUM_LANE(7, s7);    \
    } while (0)
#else
#define VPSUM_COUNT(n) do { } while (0)
#endif

/* VSTEP: STEP of accsim.cl on eight lanes. A true vector comparison is -1. */
#if WRAP
#define VSTEP(t, p)                                                                \
    do {                                                                           \
        int8 s_ = (t) + (p);                                                       \
        int8 n_ = as_int8(as_uint8(s_) << (uint)wsh) >> wsh;                       \
        ev -= (s_ != n_);                                                          \
        mn = min(mn, n_);                                                          \
        mx = max(mx, n_);                                                          \
        VPSUM_COUNT(n_);                                                           \
        (t) = n_;                                                                  \
    } while (0)
#define VFINISH_MINMAX() do { } while (0)
#else
#define VSTEP(t, p)                                                                \
    do {                                                                           \
        int8 s_ = (t) + (p);                                                       \
        int8 n_ = clamp(s_, lo, hi);                                               \
        ev -= (s_ != n_);                                                          \
        mn = min(mn, s_);                                                          \
        mx = max(mx, s_);                                                          \
        VPSUM_COUNT(n_);                                                           \
        (t) = n_;                                                                  \
    } while (0)
#define VFINISH_MINMAX()                                                           \
    do {                                                                           \
        mn = clamp(mn, lo, hi);                                                    \
        mx = clamp(mx, lo, hi);                                                    \
    } while (0)
#endif

/* Local arrays of a vector kernel: per-output accumulator, held extremes and
 * events for the serial epilogue, plus the lane-split partial-sum counts. */
#define VECTOR_LOCALS(N)                                                           \
    __local int l_acc[N], l_mn[N], l_mx[N];                                        \
    __local uint l_ev[N];                                                          \
    __local uint l_hist[HIST ? 4 * LIN_BINS : 1];                                  \
    __local uint l_psum8[PSUM ? PSUM8_WORDS : 1];

static void psum8_zero(int lid, int gs, __local uint *l_psum8)
{
#if PSUM
    for (int k = lid; k < PSUM8_WORDS; k += gs)
        l_psum8[k] = 0;
#endif
}

static void psum8_merge(int lid, int gs, __local const uint *l_psum8, __global uint *hist)
{
#if PSUM
    for (int k = lid; k < 2 * LIN_BINS; k += gs) {
        uint n = 0;
        for (int c = 0; c < 8; c++)
            n += l_psum8[c * 2 * LIN_BINS + k];
        if (n)
            atomic_add(&hist[4 * LIN_BINS + k], n);
    }
#endif
}

#define VPUBLISH(j)                                                                \
    do {                                                                           \
        vstore8(acc, 0, l_acc + (j));                                              \
        vstore8(mn, 0, l_mn + (j));                                                \
        vstore8(mx, 0, l_mx + (j));                                                \
        vstore8(as_uint8(ev), 0, l_ev + (j));                                      \
    } while (0)

/* ---- conv1: 3x32x32 -> 6x28x28, pool -> 6x14x14 -------------------------- */

/* Work-group: one image, one output channel. Work-item j computes outputs
 * (y, x0 .. x0 + 7) with y = j / 4, x0 = 8 (j % 4); lanes x >= 28 are padding
 * and read into the next row (or the buffer's spare bytes). Output j of the
 * group is y * 32 + x, as in accsim.cl. */
__kernel __attribute__((reqd_work_group_size(C1V_GS, 1, 1)))
void conv1(__global const char *images, __global const uint *index,
           __global const int *weights, __global const long *thr,
           __global char *out_act, __global int *stats, __global uint *hist,
           int lo, int hi, int wsh, hist_ranges hr, float scale)
{
    VECTOR_LOCALS(28 * 32)
    const int lid = get_local_id(0);
    const int o = get_group_id(0) % 6;
    const int img = get_group_id(0) / 6;
    __global int *st = stats + (img * NLAYER + 0) * NSTAT;
    __global uint *h = hist + 0 * HIST_KINDS * LIN_BINS;
    psum8_zero(lid, C1V_GS, l_psum8);
#if PSUM
    barrier(CLK_LOCAL_MEM_FENCE);
#endif

    const int j = (lid >> 2) * 32 + (lid & 3) * 8;
    const int8 valid8 = (lid & 3) < 3 ? (int8)(-1) : (int8)(-1, -1, -1, -1, 0, 0, 0, 0);
    (void)valid8;
    __global const char *a = images + (size_t)index[img] * 3072 + j;
    __global const int *w = weights + o * 75;

    int8 acc = 0, mn = 0, mx = 0, ev = 0;
#pragma unroll
    for (int c = 0; c < 3; c++) {
        int8 t = 0;
#pragma unroll
        for (int ky = 0; ky < 5; ky++) {
#pragma unroll
            for (int kx = 0; kx < 5; kx++) {
                int8 p = convert_int8(vload8(0, a + c * 1024 + ky * 32 + kx)) *
                         w[c * 25 + ky * 5 + kx];
                VSTEP(t, p);
            }
        }
        VSTEP(acc, t);
    }
    VFINISH_MINMAX();
    VPUBLISH(j);
    barrier(CLK_LOCAL_MEM_FENCE);

    /* ReLU, 2x2 max-pool, requantize. */
    for (int k = lid; k < 196; k += C1V_GS) {
        int py = k / 14, px = k % 14;
        int j0 = py * 64 + px * 2;
        int v = max(max(l_acc[j0], l_acc[j0 + 1]), max(l_acc[j0 + 32], l_acc[j0 + 33]));
        out_act[(size_t)img * 1176 + o * 196 + k] = (char)requant(max(v, 0), scale, thr);
    }
    if (lid == 0)
        group_epilogue(l_acc, l_mn, l_mx, l_ev, 28 * 32, 32, 28, st, h, l_hist, hr);
#if PSUM
    barrier(CLK_LOCAL_MEM_FENCE);
    psum8_merge(lid, C1V_GS, l_psum8, h);
#endif
}

/* ---- conv2: 6x14x14 -> 16x10x10, pool -> 16x5x5 -------------------------- */

/* Work-group: one image. Work-item j computes output channels 8 (j / 100) ..
 * + 7 at position p = j % 100 (y = p / 10, x = p % 10); weights are
 * [c][ky][kx][16]. Output index of the group: p * 16 + channel. */
__kernel __attribute__((reqd_work_group_size(C2V_GS, 1, 1)))
void conv2(__global const char *in_act, __global const int *weights,
           __global const long *thr, __global char *out_act, __global int *stats,
           __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale)
{
    VECTOR_LOCALS(1600)
    const int lid = get_local_id(0);
    const int img = get_group_id(0);
    __global int *st = stats + (img * NLAYER + 1) * NSTAT;
    __global uint *h = hist + 1 * HIST_KINDS * LIN_BINS;
    psum8_zero(lid, C2V_GS, l_psum8);
#if PSUM
    barrier(CLK_LOCAL_MEM_FENCE);
#endif

    const int group8 = lid / 100, pos = lid % 100;
    const int8 valid8 = (int8)(-1);
    (void)valid8;
    __global const char *a = in_act + (size_t)img * 1176 + (pos / 10) * 14 + pos % 10;
    __global const int *w = weights + group8 * 8;

    int8 acc = 0, mn = 0, mx = 0, ev = 0;
#pragma unroll
    for (int c = 0; c < 6; c++) {
        int8 t = 0;
#pragma unroll
        for (int ky = 0; ky < 5; ky++) {
#pragma unroll
            for (int kx = 0; kx < 5; kx++) {
                int8 p = (int)a[c * 196 + ky * 14 + kx] *
                         vload8(0, w + (c * 25 + ky * 5 + kx) * 16);
                VSTEP(t, p);
            }
        }
        VSTEP(acc, t);
    }
    VFINISH_MINMAX();
    VPUBLISH(pos * 16 + group8 * 8);
    barrier(CLK_LOCAL_MEM_FENCE);

    /* ReLU, pool, requantize: output (channel o, pooled position q). */
    for (int k = lid; k < 400; k += C2V_GS) {
        int o = k / 25, q = k % 25;
        int p0 = (q / 5) * 20 + (q % 5) * 2;
        int v = max(max(l_acc[p0 * 16 + o], l_acc[(p0 + 1) * 16 + o]),
                    max(l_acc[(p0 + 10) * 16 + o], l_acc[(p0 + 11) * 16 + o]));
        out_act[(size_t)img * 400 + k] = (char)requant(max(v, 0), scale, thr);
    }
    if (lid == 0)
        group_epilogue(l_acc, l_mn, l_mx, l_ev, 1600, 16, 16, st, h, l_hist, hr);
#if PSUM
    barrier(CLK_LOCAL_MEM_FENCE);
    psum8_merge(lid, C2V_GS, l_psum8, h);
#endif
}

/* ---- fully connected layers ---------------------------------------------- */

/* Work-group: one image; work-item j computes outputs 8j .. 8j + 7 (those
 * >= N_OUT are padding); weights are [N_IN][GS]. */
#define FC_VECTOR_KERNEL(NAME, LAYER, N_IN, N_OUT, GS)                             \
    __kernel __attribute__((reqd_work_group_size(GS / 8, 1, 1)))                  \
    void NAME(__global const char *in_act, __global const int *wt,                \
              __global const long *thr, __global char *out_act, __global int *stats, \
              __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale) \
    {                                                                              \
        VECTOR_LOCALS(GS)                                                          \
        const int lid = get_local_id(0);                                           \
        const int img = get_group_id(0);                                           \
        __global int *st = stats + (img * NLAYER + LAYER) * NSTAT;                 \
        __global uint *h = hist + LAYER * HIST_KINDS * LIN_BINS;                   \
        psum8_zero(lid, GS / 8, l_psum8);                                          \
        if (PSUM)                                                                  \
            barrier(CLK_LOCAL_MEM_FENCE);                                          \
        const int o0 = lid * 8;                                                    \
        const int8 valid8 = (int8)(o0) + (int8)(0, 1, 2, 3, 4, 5, 6, 7) < N_OUT;   \
        (void)valid8;                                                              \
        __global const char *a = in_act + (size_t)img * N_IN;                      \
        int8 acc = 0, mn = 0, mx = 0, ev = 0;                                      \
        _Pragma("unroll 8")                                                        \
        for (int i = 0; i < N_IN; i++) {                                           \
            int8 p = (int)a[i] * vload8(0, wt + i * GS + o0);                      \
            VSTEP(acc, p);                                                         \
        }                                                                          \
        VFINISH_MINMAX();                                                          \
        VPUBLISH(o0);                                                              \
        barrier(CLK_LOCAL_MEM_FENCE);                                              \
        for (int k = lid; k < N_OUT; k += GS / 8)                                  \
            out_act[(size_t)img * N_OUT + k] = (char)requant(max(l_acc[k], 0), scale, thr); \
        if (lid == 0)                                                              \
            group_epilogue(l_acc, l_mn, l_mx, l_ev, N_OUT, GS, N_OUT, st, h, l_hist, hr); \
        if (PSUM)                                                                  \
            barrier(CLK_LOCAL_MEM_FENCE);                                          \
        psum8_merge(lid, GS / 8, l_psum8, h);                                      \
    }

FC_VECTOR_KERNEL(fc1, 2, 400, 120, FC1_GS)
FC_VECTOR_KERNEL(fc2, 3, 120, 84, FC2_GS)

#endif /* VECTOR_CPU */
