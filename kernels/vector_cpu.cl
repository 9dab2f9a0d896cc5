/* The five layer kernels for CPU devices (VECTOR_CPU=1): the same
 * arithmetic as the kernels in accsim.cl, but each work-item carries a vector
 * of accumulators, so the code maps onto 256-bit SIMD registers whatever the
 * OpenCL compiler's work-item vectorizer decides. (PoCL vectorized the scalar
 * conv2 and fc kernels only 4 wide; see BENCHMARKS.md.) Each lane walks its
 * own reduction in the order of SPEC section 5.
 *
 * Lane kinds, each kernel defined once for all (W32 only for fc3, which
 * puts an image's 10 outputs in one vector and 16 images in a group):
 *   I32: int8 lanes, any width 2..32, optimistic: a first pass without
 *        clamps is exact for every work-item whose sums stayed inside the
 *        width's range; the others compute again, clamped
 *        (SECOND_PASS_OPTIMISTIC).
 *        The n32 kernels are I32 without clamps, for layers at or above
 *        their safe width (no int8 input can make a partial sum need more;
 *        the host computes it).
 *   W32: I32's arithmetic on int16 vectors, clamped every step.
 *   S16: short16 lanes, twice as many per instruction, for widths up to 16
 *        (the host picks them per layer). A product of two int8 fits in 15
 *        bits, and a held value in B <= 16 bits, so a sum saturated to int16
 *        and then clamped to B bits is the exact clamped sum; with B <= 15 the
 *        wrapping int16 sum is exact, and with B = 16 it differs from the
 *        saturated one exactly when the true sum left int16. Hence:
 *          saturate: n = clamp(sat16(t + p)), event when wrap16(t + p) != n
 *          wrap:     n = sign-extend B bits of wrap16(t + p), event when
 *                    sat16(t + p) != n
 *        and min/max of the saturated sums clamp to the held extremes.
 *        Event counters stay below 2^15 (the host refuses reductions of
 *        2^15 adds or more).
 *
 * Lanes run along x in conv1 (an output row padded to the input's width,
 * the padding lanes computed and ignored) and along output channels in conv2 and the fully
 * connected layers (weights laid out [inputs][outputs] by the host, in int32
 * for I32 and int16 for S16), so conv2 wastes no lane. Statistics use the
 * serial group epilogue of accsim.cl (SERIAL_HIST) on per-output local arrays
 * with histograms; without, each work-item reduces its own lanes.
 *
 * Every-partial-sum histograms: one key per value naming both its bins,
 * computed on the vector (psum_keys), counted into eight local copies (lane k
 * into copy k % 8) so that repeated increments of one key do not wait on each
 * other, padding lanes into a ninth that is never merged; the merge turns the
 * keys back into bins (psum_key_bins). */

#if VECTOR_CPU

#if !SERIAL_HIST
#error "VECTOR_CPU needs SERIAL_HIST=1"
#endif

#ifdef __clang__
/* int16 vectors passed to builtins without AVX-512: an ABI note about calls
 * that are all inlined, printed as "N warnings generated" on every build. */
#pragma clang diagnostic ignored "-Wpsabi"
#endif

#if LANES_I32 != 8 || LANES_S16 != 16 || FC3_PAD != LANES_S16
#error "the host's lane counts differ from the vector types below"
#endif

#define PSUM_COPIES 8
#define PSUM_WORDS (PSUM_COPIES * PSUM_KEYS)
/* Padding lanes count into a spare copy after the eight, never merged. */
#define PSUM_LOCAL_WORDS (PSUM_WORDS + PSUM_KEYS)

/* ---- lane kinds ----------------------------------------------------------- */

/* Unaligned vector loads: one instruction, where PoCL's vload8/vload16 of
 * bytes assembled the vector from 4-byte pieces. */
typedef char8 __attribute__((aligned(1))) unaligned_char8;
typedef char16 __attribute__((aligned(1))) unaligned_char16;
typedef int8 __attribute__((aligned(4))) unaligned_int8;
typedef short16 __attribute__((aligned(2))) unaligned_short16;
typedef int16 __attribute__((aligned(4))) unaligned_int16;

#define I32_N 8
#define I32_T int8
#define I32_S int
#define I32_BITS 32
#define I32_INT(v) (v)
#define I32_LOAD_PIXELS(p) convert_int8(*(__global const unaligned_char8 *)(p))
#define I32_LOAD_WEIGHTS(p) (*(__global const unaligned_int8 *)(p))
#define I32_STORE_INT(v, p) vstore8((v), 0, (p))
#define I32_ADD_SAT(a, b) ((a) + (b)) /* exact: see accsim.cl */
#define I32_SHL(v, s) as_int8(as_uint8(v) << (uint)(s))
#define I32_LANE (int8)(0, 1, 2, 3, 4, 5, 6, 7)
#define I32_IT int8
#define I32_PSUM_KEYS psum_keys8
#define I32_HMIN(v) hmin8(v)
#define I32_HMAX(v) hmax8(v)
#define I32_HSUM(v) hsum8(v)

/* How a kernel adds, named in its definition and pasted onto VSTEP_ and
 * SECOND_PASS_ (so the choice is made by the preprocessor): CLAMPED every
 * step (the S16 and fc3 kernels); OPTIMISTIC, first unclamped and again
 * clamped only for a work-item where some output's sums left the width's
 * range (I32; see SECOND_PASS_OPTIMISTIC); UNCLAMPED (I32 at or above the
 * layer's safe width: the n32 kernels). */

/* W32: int16 vectors (16 lanes of int32, two registers), for fc3's 10
 * outputs in one work-item at any width. */
#define W32_N 16
#define W32_T int16
#define W32_S int
#define W32_BITS 32
#define W32_INT(v) (v)
#define W32_FROM_LONG(v) convert_int16(v)
#define W32_LOAD_WEIGHTS(p) (*(__global const unaligned_int16 *)(p))
#define W32_STORE_INT(v, p) vstore16((v), 0, (p))
#define W32_ADD_SAT(a, b) ((a) + (b))
#define W32_SHL(v, s) as_int16(as_uint16(v) << (uint)(s))
#define W32_LANE (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#define W32_IT int16
#define W32_PSUM_KEYS psum_keys16
#define W32_HMIN(v) hmin8(min((v).lo, (v).hi))
#define W32_HMAX(v) hmax8(max((v).lo, (v).hi))
#define W32_HSUM(v) hsum8((v).lo + (v).hi)

#define S16_N 16
#define S16_T short16
#define S16_S short
#define S16_BITS 16
#define S16_INT(v) convert_int16(v)
#define S16_FROM_LONG(v) convert_short16(v)
#define S16_LOAD_PIXELS(p) convert_short16(*(__global const unaligned_char16 *)(p))
#define S16_LOAD_WEIGHTS(p) (*(__global const unaligned_short16 *)(p))
#define S16_STORE_INT(v, p) vstore16(convert_int16(v), 0, (p))
/* add_sat() became compare-and-blend sequences in PoCL; the builtin is one
 * vpaddsw. */
#define S16_ADD_SAT(a, b) __builtin_elementwise_add_sat((a), (b))
#define S16_SHL(v, s) as_short16(as_ushort16(v) << (ushort)(s))
#define S16_LANE (short16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#define S16_IT int16
#define S16_PSUM_KEYS psum_keys16_narrow
#define S16_HMIN(v) hmin8(min(convert_int8((v).lo), convert_int8((v).hi)))
#define S16_HMAX(v) hmax8(max(convert_int8((v).lo), convert_int8((v).hi)))
#define S16_HSUM(v) hsum8(convert_int8((v).lo) + convert_int8((v).hi))

static inline int hmin8(int8 v)
{
    int4 a = min(v.lo, v.hi);
    int2 b = min(a.lo, a.hi);
    return min(b.x, b.y);
}

static inline int hmax8(int8 v)
{
    int4 a = max(v.lo, v.hi);
    int2 b = max(a.lo, a.hi);
    return max(b.x, b.y);
}

static inline int hsum8(int8 v)
{
    int4 a = v.lo + v.hi;
    int2 b = a.lo + a.hi;
    return b.x + b.y;
}

/* Every-partial-sum counting, one increment per add and lane: a key that
 * names both the value's linear bin l and its bits-needed bin b (bits_needed
 * and lin_bin of accsim.cl). With bins of width W = 2^shift, a value with
 * |x| >= W (x = v ^ (v >> 31)) shares its bin only with values of its own
 * sign whose b differs from its own by at most one (bits-needed classes are
 * then at least W wide), so 2 l + (b & 1) names the pair. The other values
 * are few and keyed by b and what else they need: the small ones (|x| < W)
 * by their bin's distance from lz = lin_bin(-W) (0..2), those below or above
 * the linear range by the side.
 * psum_merge turns the keys back into the two bins. */
#define PSUM_SMALL_KEYS (2 * LIN_BINS)
#define PSUM_CLIP_KEYS (PSUM_SMALL_KEYS + 3 * 32)
#define PSUM_KEYS (PSUM_CLIP_KEYS + 2 * 32)

/* lz: the linear bin of -W, the first a small value can fall in. */
static inline int psum_small_bin0(hist_ranges hr)
{
    return lin_bin(-(1L << hr.psum_shift), hr.psum_lo, hr.psum_shift);
}

/* The vector of keys, plus each lane's copy offset (base: the spare copy for
 * padding lanes), so the count loop has a constant trip count and no branch.
 * bits_needed = floor(log2(x)) + 2 (1 for x = 0) comes from the float
 * exponent (x < 2^31: a signed conversion, one instruction); AVX2 has no
 * vector clz and its emulation cost more than the counting. The conversion
 * is exact below 2^24, so only WIDE lanes (values of more than 16 bits) check
 * for rounding up to the next power of two. The linear bin is in 32-bit
 * arithmetic (v >= lo makes v - lo exact as a uint); it only counts for
 * values inside the linear range. */
#define DEFINE_PSUM_KEYS(NAME, N, WIDE)                                            \
    static inline void NAME(int##N v, int##N base, hist_ranges hr, uint *keys)     \
    {                                                                              \
        const int shift = hr.psum_shift;                                           \
        const int small_max = shift > 30 ? INT_MAX : (1 << shift) - 1;             \
        const int lz = psum_small_bin0(hr);                                        \
        const long top = (long)hr.psum_lo + ((long)LIN_BINS << shift) - 1;         \
        const int range_hi = top > INT_MAX ? INT_MAX : (int)top;                   \
        int##N x = v ^ (v >> 31);                                                  \
        int##N f = as_int##N(convert_float##N(x)) >> 23;                           \
        int##N b;                                                                  \
        if (WIDE) {                                                                \
            int##N e = max(f - 127, 0);                                            \
            e += as_uint##N(x) < ((uint##N)1 << as_uint##N(e)); /* -1 where true */ \
            b = e + 2;                                                             \
        } else {                                                                   \
            b = max(f - 125, 1);                                                   \
        }                                                                          \
        int##N l = as_int##N(shift > 31 ? (uint##N)0                               \
                                        : (as_uint##N(v) - (uint)hr.psum_lo) >> (uint)shift); \
        int##N key = select(PSUM_SMALL_KEYS - 1 + ((l - lz) << 5) + b, 2 * l + (b & 1), \
                            x > small_max);                                        \
        int##N above = v > range_hi;                                               \
        key = select(key, PSUM_CLIP_KEYS - 1 + (above & 32) + b, (v < hr.psum_lo) | above); \
        vstore##N(as_uint##N(base + key), 0, keys);                                \
    }
DEFINE_PSUM_KEYS(psum_keys8, 8, 1)
DEFINE_PSUM_KEYS(psum_keys16, 16, 1)
DEFINE_PSUM_KEYS(psum_keys16_narrow, 16, 0)

#if PSUM
#define VPSUM_COUNT(K, n)                                                          \
    do {                                                                           \
        uint key_[K##_N];                                                          \
        /* Copy offsets from memory, volatile: kept in registers across the   \
         * loop, PoCL stored the padding mask as bits and rebuilt it one bit  \
         * at a time on every add. */                                         \
        const K##_IT base_ = *(volatile __local K##_IT *)(l_pbase + lid * K##_N); \
        K##_PSUM_KEYS(K##_INT(n), base_, hr, key_);                                \
        _Pragma("unroll") /* lanes: a short constant loop */                       \
        for (int k_ = 0; k_ < K##_N; k_++)                                         \
            l_psum[key_[k_]]++;                                                    \
    } while (0)
#else
#define VPSUM_COUNT(K, n) do { } while (0)
#endif

/* VSTEP_CLAMPED: STEP of accsim.cl on a vector. A true vector comparison is
 * -1. VSTEP_UNCLAMPED only adds and tracks the extremes. The optimistic
 * first pass is unclamped, except with every-partial-sum histograms, which
 * it would count as it goes: then it clamps from the start. */
#define VSTEP_UNCLAMPED(K, t, p)                                                   \
    do {                                                                           \
        (t) += (p);                                                                \
        mn = min(mn, (t));                                                         \
        mx = max(mx, (t));                                                         \
        VPSUM_COUNT(K, (t));                                                       \
    } while (0)
#if PSUM
#define VSTEP_OPTIMISTIC(K, t, p) VSTEP_CLAMPED(K, t, p)
#else
#define VSTEP_OPTIMISTIC(K, t, p) VSTEP_UNCLAMPED(K, t, p)
#endif
#if WRAP
#define VSTEP_CLAMPED(K, t, p)                                                     \
    do {                                                                           \
        K##_T w_ = (t) + (p);                                                      \
        K##_T s_ = K##_ADD_SAT((t), (p));                                          \
        K##_T n_ = K##_SHL(w_, lane_wsh) >> (K##_S)lane_wsh;                       \
        ev -= (s_ != n_);                                                          \
        mn = min(mn, n_);                                                          \
        mx = max(mx, n_);                                                          \
        VPSUM_COUNT(K, n_);                                                        \
        (t) = n_;                                                                  \
    } while (0)
#define VFINISH_MINMAX() do { } while (0)
#else
#define VSTEP_CLAMPED(K, t, p)                                                     \
    do {                                                                           \
        K##_T w_ = (t) + (p);                                                      \
        K##_T s_ = K##_ADD_SAT((t), (p));                                          \
        K##_T n_ = clamp(s_, lane_lo, lane_hi);                                    \
        ev -= (w_ != n_);                                                          \
        mn = min(mn, s_);                                                          \
        mx = max(mx, s_);                                                          \
        VPSUM_COUNT(K, n_);                                                        \
        (t) = n_;                                                                  \
    } while (0)
#define VFINISH_MINMAX()                                                           \
    do {                                                                           \
        mn = clamp(mn, lane_lo, lane_hi);                                          \
        mx = clamp(mx, lane_lo, lane_hi);                                          \
    } while (0)
#endif

/* OPTIMISTIC kinds: the first pass added without clamping; where a valid
 * lane's sums stayed inside the width's range nothing would have clamped,
 * wrapped or counted an event, so the pass is exact. Else the work-item
 * computes again, clamped (the wider layers of real models rarely leave
 * their range, at which point this halves the work per add). */
#define SECOND_PASS_CLAMPED(K, SUMS)
#define SECOND_PASS_UNCLAMPED(K, SUMS)
#define SECOND_PASS_OPTIMISTIC(K, SUMS)                                            \
    if (!PSUM) {                                                                   \
        K##_T pad_ = K##_LANE >= (K##_S)nvalid;                                    \
        if (any(select((mn < lane_lo) | (mx > lane_hi), (K##_T)0, pad_))) {        \
            acc = 0;                                                               \
            mn = 0;                                                                \
            mx = 0;                                                                \
            ev = 0;                                                                \
            SUMS(K, VSTEP_CLAMPED);                                                \
        }                                                                          \
    }

/* Locals of a vector kernel: per-output accumulator, held extremes and events
 * for the serial epilogue, and the split partial-sum counts. */
#define VECTOR_LOCALS(N, GS)                                                       \
    __local int l_acc[N], l_mn[HIST ? N : 1], l_mx[HIST ? N : 1];                  \
    __local uint l_ev[HIST ? N : 1];                                               \
    __local int l_part[HIST ? 1 : 5 * (GS)];                                       \
    __local uint l_hist[HIST ? 4 * LIN_BINS : 1];                                  \
    __local uint l_psum[PSUM ? PSUM_LOCAL_WORDS : 1];                              \
    __local int l_pbase[PSUM ? N : 1] __attribute__((aligned(64)));

/* A reduction loop's trip count that PoCL must take to differ between
 * work-items: with every-partial-sum histograms the loops stay rolled, and
 * PoCL would otherwise put the work-item loop inside each (uniform) innermost
 * loop, saving and reloading every work-item's state on every add. */
#define VARYING(n) ((n) + varying_zero)

/* The lane-typed limits and accumulators every kernel starts with. */
#define VECTOR_STATE(K)                                                            \
    const K##_S lane_lo = (K##_S)lo, lane_hi = (K##_S)hi;                          \
    const int lane_wsh = wsh - (32 - K##_BITS);                                    \
    (void)lane_lo; (void)lane_hi; (void)lane_wsh;                                  \
    if (PSUM) /* each lane's copy of the partial-sum counts */                    \
        for (int k_ = 0; k_ < K##_N; k_++)                                         \
            l_pbase[lid * K##_N + k_] = k_ < nvalid ? (k_ % PSUM_COPIES) * PSUM_KEYS \
                                                    : PSUM_WORDS;                  \
    const int varying_zero = PSUM ? (int)(get_local_id(0) >> 24) : 0;             \
    (void)varying_zero;                                                            \
    K##_T acc = 0, mn = 0, mx = 0, ev = 0

/* Publishes this work-item's outputs for pooling. With histograms, every
 * output's statistics go to the serial epilogue of accsim.cl; without, each
 * work-item reduces its own lanes (the first nvalid) and the epilogue only
 * combines the work-items. */
#if HIST
#define VPUBLISH(K, j)                                                             \
    do {                                                                           \
        K##_STORE_INT(acc, l_acc + (j));                                           \
        K##_STORE_INT(mn, l_mn + (j));                                             \
        K##_STORE_INT(mx, l_mx + (j));                                             \
        K##_STORE_INT(ev, (__local int *)l_ev + (j));                              \
    } while (0)
#define VGROUP_REDUCE(count, width, valid_width)                                   \
    do {                                                                           \
        if (lid == 0)                                                              \
            group_epilogue(l_acc, l_mn, l_mx, l_ev, (count), (width), (valid_width), \
                           st, h, l_hist, hr);                                     \
    } while (0)
#else
#define VPUBLISH(K, j)                                                             \
    do {                                                                           \
        K##_STORE_INT(acc, l_acc + (j));                                           \
        K##_T pad_ = K##_LANE >= (K##_S)nvalid; /* -1 on padding lanes */          \
        l_part[5 * lid + 0] = K##_HSUM(select(ev, (K##_T)0, pad_));                \
        l_part[5 * lid + 1] = K##_HMIN(select(acc, (K##_T)lane_hi, pad_));         \
        l_part[5 * lid + 2] = K##_HMAX(select(acc, (K##_T)lane_lo, pad_));         \
        l_part[5 * lid + 3] = K##_HMIN(select(mn, (K##_T)0, pad_));                \
        l_part[5 * lid + 4] = K##_HMAX(select(mx, (K##_T)0, pad_));                \
    } while (0)
#define VGROUP_REDUCE(count, width, valid_width)                                   \
    do {                                                                           \
        if (lid == 0)                                                              \
            combine_parts(l_part, gs, st);                                         \
    } while (0)
#endif

/* The start and the end of every layer kernel but fc3: clear the group's
 * partial-sum counts; after pooling, the group's statistics and the merge of
 * those counts (count: outputs; width, valid_width: see is_valid in accsim.cl). Plain
 * statement lists, not do-while blocks: barriers stay outside any loop. */
#define VGROUP_START()                                                             \
    psum_zero(lid, gs, l_psum);                                                    \
    if (PSUM)                                                                      \
        barrier(CLK_LOCAL_MEM_FENCE)
#define VGROUP_FINISH(count, width, valid_width)                                   \
    VGROUP_REDUCE((count), (width), (valid_width));                                \
    if (PSUM)                                                                      \
        barrier(CLK_LOCAL_MEM_FENCE);                                              \
    psum_merge(lid, gs, l_psum, hr, h)

/* Work-item 0 folds the work-items' partial statistics into the image's. */
static void combine_parts(__local const int *l_part, int gs, __global int *st)
{
    uint ev = 0;
    int omn = INT_MAX, omx = INT_MIN, pmn = 0, pmx = 0;
    for (int k = 0; k < gs; k++) {
        ev += (uint)l_part[5 * k];
        omn = min(omn, l_part[5 * k + 1]);
        omx = max(omx, l_part[5 * k + 2]);
        pmn = min(pmn, l_part[5 * k + 3]);
        pmx = max(pmx, l_part[5 * k + 4]);
    }
    publish_stats(st, ev, omn, omx, pmn, pmx);
}

static void psum_zero(int lid, int gs, __local uint *l_psum)
{
#if PSUM
    for (int k = lid; k < PSUM_WORDS; k += gs)
        l_psum[k] = 0;
#endif
}

/* The bits-needed and the linear bin a key of psum_keys counts. */
static void psum_key_bins(int key, hist_ranges hr, int *bits, int *lin)
{
    const int shift = hr.psum_shift;
    if (key >= PSUM_CLIP_KEYS) {
        *bits = (key - PSUM_CLIP_KEYS) % 32 + 1;
        *lin = key - PSUM_CLIP_KEYS >= 32 ? LIN_BINS - 1 : 0;
    } else if (key >= PSUM_SMALL_KEYS) {
        *bits = (key - PSUM_SMALL_KEYS) % 32 + 1;
        *lin = psum_small_bin0(hr) + (key - PSUM_SMALL_KEYS) / 32;
    } else {
        /* A large value (|x| >= W, so shift <= 30): the bin's large values
         * span one or two classes, at the ends of their part of the bin; the
         * parity picks one. */
        const long w = 1L << shift;
        long first = max((long)hr.psum_lo + (long)(key >> 1) * w, (long)INT_MIN);
        long last = min((long)hr.psum_lo + (long)(key >> 1) * w + w - 1, (long)INT_MAX);
        if (last >= w)
            first = max(first, w);
        else
            last = min(last, -w - 1);
        int b = bits_needed((int)first);
        *bits = (b & 1) == (key & 1) ? b : bits_needed((int)last);
        *lin = key >> 1;
    }
}

static void psum_merge(int lid, int gs, __local const uint *l_psum, hist_ranges hr,
                       __global uint *hist)
{
#if PSUM
    for (int k = lid; k < PSUM_KEYS; k += gs) {
        uint n = 0;
        for (int c = 0; c < PSUM_COPIES; c++)
            n += l_psum[c * PSUM_KEYS + k];
        if (n) {
            int bits, lin;
            psum_key_bins(k, hr, &bits, &lin);
            atomic_add(&hist[4 * LIN_BINS + bits], n);
            atomic_add(&hist[5 * LIN_BINS + lin], n);
        }
    }
#endif
}

/* ---- conv1: IN_C x IN_H x IN_W -> C1_OUT x C1_OH x C1_OW, pool -> P1 ------ */

/* The reduction, in the order of SPEC section 5, with the given step. */
#define CONV1_SUMS(K, STEP)                                                        \
    UNROLL                                                                         \
    for (int c = 0; c < IN_C; c++) {                                               \
        K##_T t = 0;                                                               \
        UNROLL                                                                     \
        for (int ky = 0; ky < C1_KH; ky++) {                                       \
            UNROLL                                                                 \
            for (int kx = 0; kx < VARYING(C1_KW); kx++) {                          \
                K##_T p = K##_LOAD_PIXELS(a + c * IN_H * IN_W + ky * IN_W + kx) *  \
                          (K##_S)w[c * C1_TAPS + ky * C1_KW + kx];                 \
                STEP(K, t, p);                                                     \
            }                                                                      \
        }                                                                          \
        STEP(K, acc, t);                                                           \
    }

/* Work-group: one image, one output channel. Work-item j computes outputs
 * (y, x0 .. x0 + N - 1), y = j / (IN_W / N), x0 = N (j % (IN_W / N)); lanes
 * with x >= C1_OW are padding and read into the next row (or the buffer's
 * spare bytes). Output y * IN_W + x of the group, as in accsim.cl. */
#define C1V_OUTPUTS (C1_OH * IN_W)
#define CONV1_VECTOR_KERNEL(NAME, K, ADDS)                                         \
    __kernel __attribute__((reqd_work_group_size(C1V_OUTPUTS / K##_N, 1, 1)))     \
    void NAME(__global const char *images, __global const uint *index,            \
              __global const int *weights, __global const long *thr,              \
              __global char *out_act, __global int *stats, __global uint *hist,   \
              int lo, int hi, int wsh, hist_ranges hr, float scale)               \
    {                                                                              \
        const int gs = C1V_OUTPUTS / K##_N, per_row = IN_W / K##_N;                \
        VECTOR_LOCALS(C1V_OUTPUTS, C1V_OUTPUTS / K##_N)                            \
        const int lid = get_local_id(0);                                           \
        const int o = get_group_id(0) % C1_OUT;                                    \
        const int img = get_group_id(0) / C1_OUT;                                  \
        __global int *st = stats + (img * NLAYER + 0) * NSTAT;                     \
        __global uint *h = hist + 0 * HIST_KINDS * LIN_BINS;                       \
        VGROUP_START();                                                            \
        const int x0 = (lid % per_row) * K##_N;                                    \
        const int j = (lid / per_row) * IN_W + x0;                                 \
        const int nvalid = min(K##_N, C1_OW - x0);                                 \
        (void)nvalid;                                                              \
        __global const char *a = images + (size_t)index[img] * IMAGE_BYTES + j;    \
        __global const int *w = weights + o * IN_C * C1_TAPS;                      \
        VECTOR_STATE(K);                                                           \
        CONV1_SUMS(K, VSTEP_##ADDS);                                               \
        SECOND_PASS_##ADDS(K, CONV1_SUMS);                                         \
        VFINISH_MINMAX();                                                          \
        VPUBLISH(K, j);                                                            \
        barrier(CLK_LOCAL_MEM_FENCE);                                              \
        /* ReLU, 2x2 max-pool, requantize. */                                      \
        for (int k = lid; k < P1_H * P1_W; k += gs) {                              \
            int j0 = (k / P1_W) * 2 * IN_W + (k % P1_W) * 2;                       \
            int v = max(max(l_acc[j0], l_acc[j0 + 1]),                             \
                        max(l_acc[j0 + IN_W], l_acc[j0 + IN_W + 1]));              \
            out_act[(size_t)img * P1_COUNT + o * P1_H * P1_W + k] =                \
                (char)requant(max(v, 0), scale, thr);                              \
        }                                                                          \
        VGROUP_FINISH(C1V_OUTPUTS, IN_W, C1_OW);                                   \
    }

/* ---- conv2: C1_OUT x P1_H x P1_W -> C2_OUT x C2_OH x C2_OW, pool -> P2 ---- */

#define CONV2_SUMS(K, STEP)                                                        \
    UNROLL                                                                         \
    for (int c = 0; c < C1_OUT; c++) {                                             \
        K##_T t = 0;                                                               \
        UNROLL                                                                     \
        for (int ky = 0; ky < C2_KH; ky++) {                                       \
            UNROLL                                                                 \
            for (int kx = 0; kx < VARYING(C2_KW); kx++) {                          \
                K##_T p = (K##_S)a[c * P1_H * P1_W + ky * P1_W + kx] *             \
                          K##_LOAD_WEIGHTS(w + (c * C2_TAPS + ky * C2_KW + kx) * C2_PAD); \
                STEP(K, t, p);                                                     \
            }                                                                      \
        }                                                                          \
        STEP(K, acc, t);                                                           \
    }

/* Work-group: one image. Work-item j computes output channels
 * N (j / C2_POS) .. + N - 1 at position p = j % C2_POS (y = p / C2_OW,
 * x = p % C2_OW); weights are [c][ky][kx][C2_PAD], channels from C2_OUT on
 * padding. Output p * C2_PAD + channel of the group. */
#define C2_POS (C2_OH * C2_OW)
#define CONV2_VECTOR_KERNEL(NAME, K, ADDS)                                             \
    __kernel __attribute__((reqd_work_group_size(C2_POS * C2_PAD / K##_N, 1, 1))) \
    void NAME(__global const char *in_act, __global const K##_S *weights,         \
              __global const long *thr, __global char *out_act, __global int *stats, \
              __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale) \
    {                                                                              \
        const int gs = C2_POS * C2_PAD / K##_N;                                    \
        VECTOR_LOCALS(C2_POS * C2_PAD, C2_POS * C2_PAD / K##_N)                    \
        const int lid = get_local_id(0);                                           \
        const int img = get_group_id(0);                                           \
        __global int *st = stats + (img * NLAYER + 1) * NSTAT;                     \
        __global uint *h = hist + 1 * HIST_KINDS * LIN_BINS;                       \
        VGROUP_START();                                                            \
        const int o0 = (lid / C2_POS) * K##_N, pos = lid % C2_POS;                 \
        const int nvalid = C2_OUT % K##_N == 0 ? K##_N : clamp(C2_OUT - o0, 0, K##_N); \
        (void)nvalid;                                                              \
        __global const char *a =                                                   \
            in_act + (size_t)img * P1_COUNT + (pos / C2_OW) * P1_W + pos % C2_OW;  \
        __global const K##_S *w = weights + o0;                                    \
        VECTOR_STATE(K);                                                           \
        CONV2_SUMS(K, VSTEP_##ADDS);                                               \
        SECOND_PASS_##ADDS(K, CONV2_SUMS);                                         \
        VFINISH_MINMAX();                                                          \
        VPUBLISH(K, pos * C2_PAD + o0);                                            \
        barrier(CLK_LOCAL_MEM_FENCE);                                              \
        /* ReLU, pool, requantize: output (channel o, pooled position q). */       \
        for (int k = lid; k < FC1_IN; k += gs) {                                   \
            int o = k / (P2_H * P2_W), q = k % (P2_H * P2_W);                      \
            int p0 = (q / P2_W) * 2 * C2_OW + (q % P2_W) * 2;                      \
            int v = max(max(l_acc[p0 * C2_PAD + o], l_acc[(p0 + 1) * C2_PAD + o]), \
                        max(l_acc[(p0 + C2_OW) * C2_PAD + o],                      \
                            l_acc[(p0 + C2_OW + 1) * C2_PAD + o]));                \
            out_act[(size_t)img * FC1_IN + k] = (char)requant(max(v, 0), scale, thr); \
        }                                                                          \
        VGROUP_FINISH(C2_POS * C2_PAD, C2_PAD, C2_OUT);                            \
    }

/* ---- fully connected layers ---------------------------------------------- */

#if PSUM
#define FC_UNROLL UNROLL
#define FC3_UNROLL UNROLL
#else
#define FC_UNROLL _Pragma("unroll 8")
#define FC3_UNROLL _Pragma("unroll 4")
#endif

/* Expects fc_in (inputs) and fc_gs (padded outputs, the weights' row length)
 * from FC_VECTOR_KERNEL. */
#define FC_SUMS(K, STEP)                                                           \
    FC_UNROLL                                                                      \
    for (int i = 0; i < VARYING(fc_in); i++) {                                     \
        K##_T p = (K##_S)a[i] * K##_LOAD_WEIGHTS(wt + i * fc_gs + o0);             \
        STEP(K, acc, p);                                                           \
    }

/* Work-group: one image; work-item j computes outputs N j .. N j + N - 1
 * (those >= N_OUT are padding); weights are [N_IN][GS], GS the outputs padded
 * to a multiple of N. */
#define FC_VECTOR_KERNEL(NAME, K, ADDS, LAYER, N_IN, N_OUT, GS)                        \
    __kernel __attribute__((reqd_work_group_size(GS / K##_N, 1, 1)))              \
    void NAME(__global const char *in_act, __global const K##_S *wt,              \
              __global const long *thr, __global char *out_act, __global int *stats, \
              __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale) \
    {                                                                              \
        const int gs = GS / K##_N, fc_in = N_IN, fc_gs = GS;                       \
        VECTOR_LOCALS(GS, GS / K##_N)                                                          \
        const int lid = get_local_id(0);                                           \
        const int img = get_group_id(0);                                           \
        __global int *st = stats + (img * NLAYER + LAYER) * NSTAT;                 \
        __global uint *h = hist + LAYER * HIST_KINDS * LIN_BINS;                   \
        VGROUP_START();                                                            \
        const int o0 = lid * K##_N;                                                \
        const int nvalid = clamp(N_OUT - o0, 0, K##_N);                            \
        (void)nvalid;                                                              \
        __global const char *a = in_act + (size_t)img * N_IN;                      \
        VECTOR_STATE(K);                                                           \
        FC_SUMS(K, VSTEP_##ADDS);                                                  \
        SECOND_PASS_##ADDS(K, FC_SUMS);                                            \
        VFINISH_MINMAX();                                                          \
        VPUBLISH(K, o0);                                                           \
        barrier(CLK_LOCAL_MEM_FENCE);                                              \
        for (int k = lid; k < N_OUT; k += gs)                                      \
            out_act[(size_t)img * N_OUT + k] = (char)requant(max(l_acc[k], 0), scale, thr); \
        VGROUP_FINISH(N_OUT, GS, N_OUT);                                           \
    }

/* fc3: FC3_IN -> FC3_OUT plus the bias (an add like any other, in 64 bits
 * since the bias is any int32), no ReLU, the prediction. Work-group:
 * FC3_IMAGES images, one per work-item, its outputs in the lanes of one
 * vector (launching a group per image cost more than the image's few hundred
 * adds). Each work-item owns its image's statistics; histograms go through
 * the group's local copy. */
#define FC3_VECTOR_KERNEL(NAME, K)                                                 \
    __kernel __attribute__((reqd_work_group_size(FC3_IMAGES, 1, 1)))              \
    void NAME(__global const char *in_act, __global const K##_S *wt,              \
              __global const int *bias, __global const long *thr,                 \
              __global char *outputs, __global uchar *predictions, __global int *stats, \
              __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale, \
              uint count)                                                          \
    {                                                                              \
        const int gs = FC3_IMAGES;                                                 \
        __local uint l_hist[HIST ? 4 * LIN_BINS : 1];                              \
        __local uint l_psum[PSUM ? PSUM_LOCAL_WORDS : 1];                          \
        __local int l_pbase[PSUM ? FC3_IMAGES * K##_N : 1] __attribute__((aligned(64))); \
        const int lid = get_local_id(0);                                           \
        const uint img = get_global_id(0);                                         \
        __global uint *h = hist + 4 * HIST_KINDS * LIN_BINS;                       \
        psum_zero(lid, gs, l_psum);                                                \
        if (HIST)                                                                  \
            for (int k = lid; k < 4 * LIN_BINS; k += gs)                           \
                l_hist[k] = 0;                                                     \
        if (HIST || PSUM)                                                          \
            barrier(CLK_LOCAL_MEM_FENCE);                                          \
        const int nvalid = img < count ? FC3_OUT : 0;                              \
        VECTOR_STATE(K);                                                           \
        if (img < count) {                                                         \
            __global const char *a = in_act + (size_t)img * FC3_IN;                \
            FC3_UNROLL                                                             \
            for (int i = 0; i < VARYING(FC3_IN); i++) {                            \
                K##_T p = (K##_S)a[i] * K##_LOAD_WEIGHTS(wt + i * FC3_PAD);        \
                VSTEP_CLAMPED(K, acc, p);                                          \
            }                                                                      \
            long16 e = convert_long16(K##_INT(acc)) + convert_long16(vload16(0, bias)); \
            long16 outside = (e < (long)lo) | (e > (long)hi); /* -1: an event */   \
            long16 held = WRAP ? as_long16(as_ulong16(e) << (ulong)(32 + wsh)) >> (long)(32 + wsh) \
                               : clamp(e, (long)lo, (long)hi);                     \
            K##_T n = K##_FROM_LONG(held);                                         \
            ev -= K##_FROM_LONG(outside);                                          \
            mn = min(mn, n);                                                       \
            mx = max(mx, n);                                                       \
            VPSUM_COUNT(K, n);                                                     \
            acc = n;                                                               \
            VFINISH_MINMAX();                                                      \
            int r[K##_N], rmn[K##_N], rmx[K##_N];                                  \
            vstore16(K##_INT(acc), 0, r);                                          \
            vstore16(K##_INT(mn), 0, rmn);                                         \
            vstore16(K##_INT(mx), 0, rmx);                                         \
            int best = 0, best_q = -129;                                           \
            for (int o = 0; o < FC3_OUT; o++) {                                    \
                int q = requant(r[o], scale, thr);                                 \
                outputs[(size_t)img * FC3_OUT + o] = (char)q;                      \
                if (q > best_q) {                                                  \
                    best = o;                                                      \
                    best_q = q;                                                    \
                }                                                                  \
                if (HIST) {                                                        \
                    l_hist[bits_needed(r[o])]++;                                   \
                    l_hist[LIN_BINS + lin_bin(r[o], hr.out_lo, hr.out_shift)]++;   \
                    l_hist[2 * LIN_BINS + max(bits_needed(rmx[o]), bits_needed(rmn[o]))]++; \
                    l_hist[3 * LIN_BINS + lin_bin(max((long)rmx[o], -(long)rmn[o]), \
                                                  hr.peak_lo, hr.peak_shift)]++;   \
                }                                                                  \
            }                                                                      \
            predictions[img] = (uchar)best;                                        \
            K##_T pad_ = K##_LANE >= (K##_S)FC3_OUT;                               \
            __global int *st = stats + (img * NLAYER + 4) * NSTAT;                 \
            st[0] = K##_HSUM(select(ev, (K##_T)0, pad_));                          \
            st[1] = K##_HMIN(select(acc, (K##_T)lane_hi, pad_));                   \
            st[2] = K##_HMAX(select(acc, (K##_T)lane_lo, pad_));                   \
            st[3] = K##_HMIN(select(mn, (K##_T)0, pad_));                          \
            st[4] = K##_HMAX(select(mx, (K##_T)0, pad_));                          \
        }                                                                          \
        if (HIST || PSUM)                                                          \
            barrier(CLK_LOCAL_MEM_FENCE);                                          \
        if (HIST)                                                                  \
            for (int k = lid; k < 4 * LIN_BINS; k += gs)                           \
                if (l_hist[k])                                                     \
                    atomic_add(&h[k], l_hist[k]);                                  \
        psum_merge(lid, gs, l_psum, hr, h);                                        \
    }

/* The padded output counts come from the host: FCn_PAD_I32, FCn_PAD_S16. */
CONV1_VECTOR_KERNEL(conv1, I32, OPTIMISTIC)
CONV2_VECTOR_KERNEL(conv2, I32, OPTIMISTIC)
FC_VECTOR_KERNEL(fc1, I32, OPTIMISTIC, 2, FC1_IN, FC1_OUT, FC1_PAD_I32)
FC_VECTOR_KERNEL(fc2, I32, OPTIMISTIC, 3, FC2_IN, FC2_OUT, FC2_PAD_I32)

CONV1_VECTOR_KERNEL(conv1_s16, S16, CLAMPED)
CONV2_VECTOR_KERNEL(conv2_s16, S16, CLAMPED)
FC_VECTOR_KERNEL(fc1_s16, S16, CLAMPED, 2, FC1_IN, FC1_OUT, FC1_PAD_S16)
FC_VECTOR_KERNEL(fc2_s16, S16, CLAMPED, 3, FC2_IN, FC2_OUT, FC2_PAD_S16)

CONV1_VECTOR_KERNEL(conv1_n32, I32, UNCLAMPED)
CONV2_VECTOR_KERNEL(conv2_n32, I32, UNCLAMPED)
FC_VECTOR_KERNEL(fc1_n32, I32, UNCLAMPED, 2, FC1_IN, FC1_OUT, FC1_PAD_I32)
FC_VECTOR_KERNEL(fc2_n32, I32, UNCLAMPED, 3, FC2_IN, FC2_OUT, FC2_PAD_I32)

FC3_VECTOR_KERNEL(fc3_v, W32)
FC3_VECTOR_KERNEL(fc3_s16, S16)

#endif /* VECTOR_CPU */
