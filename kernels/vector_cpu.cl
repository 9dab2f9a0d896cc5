/* The five layer kernels for CPU devices (VECTOR_CPU=1): the same
 * arithmetic as the kernels in accsim.cl, but each work-item carries a vector
 * of accumulators, so the code maps onto 256-bit SIMD registers whatever the
 * OpenCL compiler's work-item vectorizer decides. (PoCL vectorized the scalar
 * conv2 and fc kernels only 4 wide; see BENCHMARKS.md.) Each lane walks its
 * own reduction in the order of SPEC section 5.
 *
 * Lane kinds, each kernel defined once for all (W32 only for fc3, which
 * puts an image's FC3_OUT outputs in one vector and FC3_IMAGES images in a
 * group):
 *   I32: int8 lanes, any width 2..32, optimistic: a first pass without
 *        clamps is exact for every work-item whose sums stayed inside the
 *        width's range; the others compute again, clamped
 *        (vsecond_pass).
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

/* W32: int16 vectors (16 lanes of int32, two registers), for fc3's outputs
 * in one work-item at any width. */
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

/* ---- a vector step -------------------------------------------------------- */

/* What a lane kind's step needs besides the values: the width's range in
 * lanes, the wrap shift for the lane type, the partial-sum counting state. */
#define DEFINE_LANE_KIND(K)                                                        \
    typedef struct {                                                               \
        K##_T acc, mn, mx;                                                         \
        K##_T ev; /* counts down: a true vector comparison is -1 */                \
    } vstate_##K;                                                                  \
    typedef struct {                                                               \
        K##_S lo, hi;                                                              \
        int wsh;                                                                   \
        int varying_zero; /* see vary */                                           \
        hist_ranges hr;                                                            \
        __local uint *l_psum;                                                      \
        __local const int *pbase; /* this work-item's lanes' copy offsets */       \
    } vctx_##K;                                                                    \
                                                                                   \
    /* The lane-typed limits; with every-partial-sum histograms each lane's  \
     * copy of the counts (the first nvalid lanes are real). */             \
    INLINE vctx_##K vctx_##K##_make(int lo, int hi, int wsh, hist_ranges hr, \
                                            int lid, int nvalid, vector_mem m)     \
    {                                                                              \
        vctx_##K c;                                                                \
        c.lo = (K##_S)lo;                                                          \
        c.hi = (K##_S)hi;                                                          \
        c.wsh = wsh - (32 - K##_BITS);                                             \
        c.hr = hr;                                                                 \
        c.l_psum = m.psum;                                                         \
        c.pbase = m.pbase + lid * K##_N;                                           \
        if (PSUM)                                                                  \
            for (int k = 0; k < K##_N; k++)                                        \
                m.pbase[lid * K##_N + k] =                                         \
                    k < nvalid ? (k % PSUM_COPIES) * PSUM_KEYS : PSUM_WORDS;       \
        c.varying_zero = PSUM ? (int)(get_local_id(0) >> 24) : 0;                  \
        return c;                                                                  \
    }                                                                              \
                                                                                   \
    /* One increment per lane of the value's key (see psum_keys). The copy   \
     * offsets come from memory, volatile: kept in registers across the loop, \
     * PoCL stored the padding mask as bits and rebuilt it one bit at a time \
     * on every add. */                                                       \
    INLINE void vpsum_count_##K(K##_T n, const vctx_##K *c)                 \
    {                                                                              \
        if (!PSUM)                                                                 \
            return;                                                                \
        uint key[K##_N];                                                           \
        const K##_IT base = *(volatile __local const K##_IT *)c->pbase;            \
        K##_PSUM_KEYS(K##_INT(n), base, c->hr, key);                               \
        _Pragma("unroll") /* lanes: a short constant loop */                       \
        for (int k = 0; k < K##_N; k++)                                            \
            c->l_psum[key[k]]++;                                                   \
    }                                                                              \
                                                                                   \
    /* acc_step of accsim.cl on a vector: t + p held as `adds` says. The      \
     * optimistic first pass is unclamped, except with every-partial-sum      \
     * histograms, which it would count as it goes: then it clamps from the   \
     * start. */                                                              \
    INLINE K##_T vstep_##K(K##_T t, K##_T p, int adds, vstate_##K *s,      \
                                  const vctx_##K *c)                               \
    {                                                                              \
        if (adds == ADDS_UNCLAMPED || (adds == ADDS_OPTIMISTIC && !PSUM)) {        \
            t += p;                                                                \
            s->mn = min(s->mn, t);                                                 \
            s->mx = max(s->mx, t);                                                 \
            vpsum_count_##K(t, c);                                                 \
            return t;                                                              \
        }                                                                          \
        K##_T w = t + p;                                                           \
        K##_T sat = K##_ADD_SAT(t, p);                                             \
        K##_T n;                                                                   \
        if (WRAP) {                                                                \
            n = K##_SHL(w, c->wsh) >> (K##_S)c->wsh;                               \
            s->ev -= (sat != n);                                                   \
            s->mn = min(s->mn, n);                                                 \
            s->mx = max(s->mx, n);                                                 \
        } else {                                                                   \
            n = clamp(sat, c->lo, c->hi);                                          \
            s->ev -= (w != n);                                                     \
            s->mn = min(s->mn, sat);                                               \
            s->mx = max(s->mx, sat);                                               \
        }                                                                          \
        vpsum_count_##K(n, c);                                                     \
        return n;                                                                  \
    }                                                                              \
                                                                                   \
    /* Saturate mode tracked the unclamped sums: clamped, the held extremes. */ \
    INLINE void vfinish_##K(vstate_##K *s, const vctx_##K *c)              \
    {                                                                              \
        if (!WRAP) {                                                               \
            s->mn = clamp(s->mn, c->lo, c->hi);                                    \
            s->mx = clamp(s->mx, c->lo, c->hi);                                    \
        }                                                                          \
    }                                                                              \
                                                                                   \
    /* OPTIMISTIC kinds: the first pass added without clamping; where a      \
     * valid lane's sums stayed inside the width's range nothing would have   \
     * clamped, wrapped or counted an event, so the pass is exact. Else the   \
     * work-item computes again, clamped (the wider layers of real models     \
     * rarely leave their range, at which point this halves the work per     \
     * add). */                                                               \
    INLINE bool vsecond_pass_##K(int adds, const vstate_##K *s, int nvalid, \
                                        const vctx_##K *c)                         \
    {                                                                              \
        if (adds != ADDS_OPTIMISTIC || PSUM)                                       \
            return false;                                                          \
        K##_T pad = K##_LANE >= (K##_S)nvalid;                                     \
        return any(select((s->mn < c->lo) | (s->mx > c->hi), (K##_T)0, pad));      \
    }                                                                              \
                                                                                   \
    /* Publishes this work-item's outputs (entries j ..) for pooling. With    \
     * histograms, every output's statistics go to the serial epilogue of     \
     * accsim.cl; without, each work-item reduces its own lanes (the first    \
     * nvalid) and the epilogue only combines the work-items. */              \
    INLINE void vpublish_##K(vector_mem m, int lid, int j, int nvalid,      \
                                    const vstate_##K *s, const vctx_##K *c)        \
    {                                                                              \
        K##_STORE_INT(s->acc, m.acc + j);                                          \
        if (HIST) {                                                                \
            K##_STORE_INT(s->mn, m.mn + j);                                        \
            K##_STORE_INT(s->mx, m.mx + j);                                        \
            K##_STORE_INT(s->ev, (__local int *)m.ev + j);                         \
        } else {                                                                   \
            K##_T pad = K##_LANE >= (K##_S)nvalid; /* -1 on padding lanes */       \
            m.part[5 * lid + 0] = K##_HSUM(select(s->ev, (K##_T)0, pad));          \
            m.part[5 * lid + 1] = K##_HMIN(select(s->acc, (K##_T)c->hi, pad));     \
            m.part[5 * lid + 2] = K##_HMAX(select(s->acc, (K##_T)c->lo, pad));     \
            m.part[5 * lid + 3] = K##_HMIN(select(s->mn, (K##_T)0, pad));          \
            m.part[5 * lid + 4] = K##_HMAX(select(s->mx, (K##_T)0, pad));          \
        }                                                                          \
    }

/* How a kernel adds, a constant argument of the bodies (each kernel compiles
 * to one): CLAMPED every step (the S16 and fc3 kernels); OPTIMISTIC, first
 * unclamped and again clamped only for a work-item where some output's sums
 * left the width's range (I32; see vsecond_pass); UNCLAMPED (I32 at or above
 * the layer's safe width: the n32 kernels). */
#define ADDS_CLAMPED 0
#define ADDS_OPTIMISTIC 1
#define ADDS_UNCLAMPED 2

/* A vector kernel's local memory, declared by its __kernel (OpenCL keeps
 * __local variables at kernel scope) with VECTOR_MEM_DECLARE and passed
 * down: per-output accumulators, held extremes and events for the serial
 * epilogue (HIST), per-work-item partial statistics (no HIST), histograms,
 * the split partial-sum counts and their per-lane copy offsets. */
typedef struct {
    __local int *acc, *mn, *mx;
    __local uint *ev;
    __local int *part;
    __local uint *hist, *psum;
    __local int *pbase;
} vector_mem;

#define VECTOR_MEM_DECLARE(vm, N, GS)                                              \
    __local int vm##_acc[N], vm##_mn[HIST ? N : 1], vm##_mx[HIST ? N : 1];         \
    __local uint vm##_ev[HIST ? N : 1];                                            \
    __local int vm##_part[HIST ? 1 : 5 * (GS)];                                    \
    __local uint vm##_hist[HIST ? 4 * LIN_BINS : 1];                               \
    __local uint vm##_psum[PSUM ? PSUM_LOCAL_WORDS : 1];                           \
    __local int vm##_pbase[PSUM ? N : 1] __attribute__((aligned(64)));             \
    const vector_mem vm = {vm##_acc, vm##_mn,   vm##_mx,   vm##_ev,                \
                           vm##_part, vm##_hist, vm##_psum, vm##_pbase}

DEFINE_LANE_KIND(I32)
DEFINE_LANE_KIND(W32)
DEFINE_LANE_KIND(S16)

/* A reduction loop's trip count that PoCL must take to differ between
 * work-items: with every-partial-sum histograms the loops stay rolled, and
 * PoCL would otherwise put the work-item loop inside each (uniform) innermost
 * loop, saving and reloading every work-item's state on every add. */
INLINE int vary(int n, int varying_zero)
{
    return n + varying_zero;
}

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

/* The start and the end of every layer body but fc3's: clear the group's
 * partial-sum counts; after pooling, the group's statistics (count: outputs;
 * width, valid_width: see is_valid in accsim.cl) and the merge of those
 * counts. */
INLINE void vgroup_start(int lid, int gs, vector_mem m)
{
    psum_zero(lid, gs, m.psum);
    if (PSUM)
        barrier(CLK_LOCAL_MEM_FENCE);
}

INLINE void vgroup_finish(int lid, int gs, vector_mem m, int count, int width,
                                 int valid_width, __global int *st, __global uint *h,
                                 hist_ranges hr)
{
    if (lid == 0) {
#if HIST
        group_epilogue(m.acc, m.mn, m.mx, m.ev, count, width, valid_width, st, h, m.hist, hr);
#else
        combine_parts(m.part, gs, st);
#endif
    }
    if (PSUM)
        barrier(CLK_LOCAL_MEM_FENCE);
    psum_merge(lid, gs, m.psum, hr, h);
}

/* ---- conv1: IN_C x IN_H x IN_W -> C1_OUT x C1_OH x C1_OW, pool -> P1 ------ */

/* Work-group: one image, one output channel. Work-item j computes outputs
 * (y, x0 .. x0 + N - 1), y = j / (IN_W / N), x0 = N (j % (IN_W / N)); lanes
 * with x >= C1_OW are padding and read into the next row (or the buffer's
 * spare bytes). Output y * IN_W + x of the group, as in accsim.cl. */
#define C1V_OUTPUTS (C1_OH * IN_W)

/* The reduction, in the order of SPEC section 5, the steps as `adds` says;
 * then the ReLU, 2x2 max-pool and requantization of the group. */
#define DEFINE_CONV1(K)                                                            \
    INLINE void conv1_sums_##K(__global const char *a, __global const int *w, \
                                      int adds, vstate_##K *s, const vctx_##K *c)  \
    {                                                                              \
        UNROLL                                                                     \
        for (int ch = 0; ch < IN_C; ch++) {                                        \
            K##_T t = 0;                                                           \
            UNROLL                                                                 \
            for (int ky = 0; ky < C1_KH; ky++) {                                   \
                UNROLL                                                             \
                for (int kx = 0; kx < vary(C1_KW, c->varying_zero); kx++) {        \
                    K##_T p = K##_LOAD_PIXELS(a + ch * IN_H * IN_W + ky * IN_W + kx) * \
                              (K##_S)w[ch * C1_TAPS + ky * C1_KW + kx];            \
                    t = vstep_##K(t, p, adds, s, c);                               \
                }                                                                  \
            }                                                                      \
            s->acc = vstep_##K(s->acc, t, adds, s, c);                             \
        }                                                                          \
    }                                                                              \
                                                                                   \
    INLINE void conv1_body_##K(                                             \
        int adds, __global const char *images, __global const uint *index,        \
        __global const int *weights, __global const long *thr, __global char *out_act, \
        __global int *stats, __global uint *hist, int lo, int hi, int wsh,         \
        hist_ranges hr, float scale, vector_mem m)                                 \
    {                                                                              \
        const int gs = C1V_OUTPUTS / K##_N, per_row = IN_W / K##_N;                \
        const int lid = get_local_id(0);                                           \
        const int o = get_group_id(0) % C1_OUT;                                    \
        const int img = get_group_id(0) / C1_OUT;                                  \
        __global int *st = layer_stats(stats, img, 0);                             \
        __global uint *h = layer_hist(hist, 0);                                    \
        vgroup_start(lid, gs, m);                                                  \
        const int x0 = (lid % per_row) * K##_N;                                    \
        const int j = (lid / per_row) * IN_W + x0;                                 \
        const int nvalid = min(K##_N, C1_OW - x0);                                 \
        __global const char *a = images + (size_t)index[img] * IMAGE_BYTES + j;    \
        __global const int *w = weights + o * IN_C * C1_TAPS;                      \
        const vctx_##K c = vctx_##K##_make(lo, hi, wsh, hr, lid, nvalid, m);       \
        vstate_##K s = {(K##_T)0, (K##_T)0, (K##_T)0, (K##_T)0};                                               \
        conv1_sums_##K(a, w, adds, &s, &c);                                        \
        if (vsecond_pass_##K(adds, &s, nvalid, &c)) {                              \
            s = (vstate_##K){(K##_T)0, (K##_T)0, (K##_T)0, (K##_T)0};                                          \
            conv1_sums_##K(a, w, ADDS_CLAMPED, &s, &c);                            \
        }                                                                          \
        vfinish_##K(&s, &c);                                                       \
        vpublish_##K(m, lid, j, nvalid, &s, &c);                                   \
        barrier(CLK_LOCAL_MEM_FENCE);                                              \
        for (int k = lid; k < P1_H * P1_W; k += gs) {                              \
            int j0 = (k / P1_W) * 2 * IN_W + (k % P1_W) * 2;                       \
            int v = max(max(m.acc[j0], m.acc[j0 + 1]),                             \
                        max(m.acc[j0 + IN_W], m.acc[j0 + IN_W + 1]));              \
            out_act[(size_t)img * P1_COUNT + o * P1_H * P1_W + k] =                \
                (char)requant(max(v, 0), scale, thr);                              \
        }                                                                          \
        vgroup_finish(lid, gs, m, C1V_OUTPUTS, IN_W, C1_OW, st, h, hr);            \
    }

/* ---- conv2: C1_OUT x P1_H x P1_W -> C2_OUT x C2_OH x C2_OW, pool -> P2 ---- */

/* Work-group: one image. Work-item j computes output channels
 * N (j / C2_POS) .. + N - 1 at position p = j % C2_POS (y = p / C2_OW,
 * x = p % C2_OW); weights are [c][ky][kx][C2_PAD], channels from C2_OUT on
 * padding. Output p * C2_PAD + channel of the group. */
#define C2_POS (C2_OH * C2_OW)

#define DEFINE_CONV2(K)                                                            \
    INLINE void conv2_sums_##K(__global const char *a, __global const K##_S *w, \
                                      int adds, vstate_##K *s, const vctx_##K *c)  \
    {                                                                              \
        UNROLL                                                                     \
        for (int ch = 0; ch < C1_OUT; ch++) {                                      \
            K##_T t = 0;                                                           \
            UNROLL                                                                 \
            for (int ky = 0; ky < C2_KH; ky++) {                                   \
                UNROLL                                                             \
                for (int kx = 0; kx < vary(C2_KW, c->varying_zero); kx++) {        \
                    K##_T p = (K##_S)a[ch * P1_H * P1_W + ky * P1_W + kx] *        \
                              K##_LOAD_WEIGHTS(w + (ch * C2_TAPS + ky * C2_KW + kx) * C2_PAD); \
                    t = vstep_##K(t, p, adds, s, c);                               \
                }                                                                  \
            }                                                                      \
            s->acc = vstep_##K(s->acc, t, adds, s, c);                             \
        }                                                                          \
    }                                                                              \
                                                                                   \
    INLINE void conv2_body_##K(                                             \
        int adds, __global const char *in_act, __global const K##_S *weights,     \
        __global const long *thr, __global char *out_act, __global int *stats,    \
        __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale, \
        vector_mem m)                                                              \
    {                                                                              \
        const int gs = C2_POS * C2_PAD / K##_N;                                    \
        const int lid = get_local_id(0);                                           \
        const int img = get_group_id(0);                                           \
        __global int *st = layer_stats(stats, img, 1);                             \
        __global uint *h = layer_hist(hist, 1);                                    \
        vgroup_start(lid, gs, m);                                                  \
        const int o0 = (lid / C2_POS) * K##_N, pos = lid % C2_POS;                 \
        const int nvalid = C2_OUT % K##_N == 0 ? K##_N : clamp(C2_OUT - o0, 0, K##_N); \
        __global const char *a =                                                   \
            in_act + (size_t)img * P1_COUNT + (pos / C2_OW) * P1_W + pos % C2_OW;  \
        __global const K##_S *w = weights + o0;                                    \
        const vctx_##K c = vctx_##K##_make(lo, hi, wsh, hr, lid, nvalid, m);       \
        vstate_##K s = {(K##_T)0, (K##_T)0, (K##_T)0, (K##_T)0};                                               \
        conv2_sums_##K(a, w, adds, &s, &c);                                        \
        if (vsecond_pass_##K(adds, &s, nvalid, &c)) {                              \
            s = (vstate_##K){(K##_T)0, (K##_T)0, (K##_T)0, (K##_T)0};                                          \
            conv2_sums_##K(a, w, ADDS_CLAMPED, &s, &c);                            \
        }                                                                          \
        vfinish_##K(&s, &c);                                                       \
        vpublish_##K(m, lid, pos * C2_PAD + o0, nvalid, &s, &c);                   \
        barrier(CLK_LOCAL_MEM_FENCE);                                              \
        /* ReLU, pool, requantize: output (channel o, pooled position q). */       \
        for (int k = lid; k < FC1_IN; k += gs) {                                   \
            int o = k / (P2_H * P2_W), q = k % (P2_H * P2_W);                      \
            int p0 = (q / P2_W) * 2 * C2_OW + (q % P2_W) * 2;                      \
            int v = max(max(m.acc[p0 * C2_PAD + o], m.acc[(p0 + 1) * C2_PAD + o]), \
                        max(m.acc[(p0 + C2_OW) * C2_PAD + o],                      \
                            m.acc[(p0 + C2_OW + 1) * C2_PAD + o]));                \
            out_act[(size_t)img * FC1_IN + k] = (char)requant(max(v, 0), scale, thr); \
        }                                                                          \
        vgroup_finish(lid, gs, m, C2_POS * C2_PAD, C2_PAD, C2_OUT, st, h, hr);     \
    }

/* ---- fully connected layers ---------------------------------------------- */

#if PSUM
#define FC_UNROLL UNROLL
#define FC3_UNROLL UNROLL
#else
#define FC_UNROLL _Pragma("unroll 8")
#define FC3_UNROLL _Pragma("unroll 4")
#endif

/* Work-group: one image; work-item j computes outputs N j .. N j + N - 1
 * (those >= n_out are padding); weights are [n_in][pad], pad the outputs
 * padded to a multiple of N. layer, n_in, n_out, pad: constants of the
 * wrapper. */
#define DEFINE_FC(K)                                                               \
    INLINE void fc_sums_##K(__global const char *a, __global const K##_S *wt, \
                                   int n_in, int pad, int o0, int adds, vstate_##K *s, \
                                   const vctx_##K *c)                              \
    {                                                                              \
        FC_UNROLL                                                                  \
        for (int i = 0; i < vary(n_in, c->varying_zero); i++) {                    \
            K##_T p = (K##_S)a[i] * K##_LOAD_WEIGHTS(wt + i * pad + o0);           \
            s->acc = vstep_##K(s->acc, p, adds, s, c);                             \
        }                                                                          \
    }                                                                              \
                                                                                   \
    INLINE void fc_body_##K(                                                \
        int adds, int layer, int n_in, int n_out, int pad, __global const char *in_act, \
        __global const K##_S *wt, __global const long *thr, __global char *out_act, \
        __global int *stats, __global uint *hist, int lo, int hi, int wsh,         \
        hist_ranges hr, float scale, vector_mem m)                                 \
    {                                                                              \
        const int gs = pad / K##_N;                                                \
        const int lid = get_local_id(0);                                           \
        const int img = get_group_id(0);                                           \
        __global int *st = layer_stats(stats, img, layer);                         \
        __global uint *h = layer_hist(hist, layer);                                \
        vgroup_start(lid, gs, m);                                                  \
        const int o0 = lid * K##_N;                                                \
        const int nvalid = clamp(n_out - o0, 0, K##_N);                            \
        __global const char *a = in_act + (size_t)img * n_in;                      \
        const vctx_##K c = vctx_##K##_make(lo, hi, wsh, hr, lid, nvalid, m);       \
        vstate_##K s = {(K##_T)0, (K##_T)0, (K##_T)0, (K##_T)0};                                               \
        fc_sums_##K(a, wt, n_in, pad, o0, adds, &s, &c);                           \
        if (vsecond_pass_##K(adds, &s, nvalid, &c)) {                              \
            s = (vstate_##K){(K##_T)0, (K##_T)0, (K##_T)0, (K##_T)0};                                          \
            fc_sums_##K(a, wt, n_in, pad, o0, ADDS_CLAMPED, &s, &c);               \
        }                                                                          \
        vfinish_##K(&s, &c);                                                       \
        vpublish_##K(m, lid, o0, nvalid, &s, &c);                                  \
        barrier(CLK_LOCAL_MEM_FENCE);                                              \
        for (int k = lid; k < n_out; k += gs)                                      \
            out_act[(size_t)img * n_out + k] = (char)requant(max(m.acc[k], 0), scale, thr); \
        vgroup_finish(lid, gs, m, n_out, pad, n_out, st, h, hr);                   \
    }

/* fc3: FC3_IN -> FC3_OUT plus the bias (an add like any other, in 64 bits
 * since the bias is any int32), no ReLU, the prediction. Work-group:
 * FC3_IMAGES images, one per work-item, its outputs in the lanes of one
 * vector (launching a group per image cost more than the image's few hundred
 * adds). Each work-item owns its image's statistics; histograms go through
 * the group's local copy. */
#define DEFINE_FC3(K)                                                              \
    INLINE void fc3_body_##K(                                               \
        __global const char *in_act, __global const K##_S *wt, __global const int *bias, \
        __global const long *thr, __global char *outputs, __global uchar *predictions, \
        __global int *stats, __global uint *hist, int lo, int hi, int wsh,         \
        hist_ranges hr, float scale, uint count, __local uint *l_hist,             \
        __local uint *l_psum, __local int *l_pbase)                                \
    {                                                                              \
        const int gs = FC3_IMAGES;                                                 \
        const int lid = get_local_id(0);                                           \
        const uint img = get_global_id(0);                                         \
        __global uint *h = layer_hist(hist, 4);                                    \
        psum_zero(lid, gs, l_psum);                                                \
        if (HIST)                                                                  \
            for (int k = lid; k < 4 * LIN_BINS; k += gs)                           \
                l_hist[k] = 0;                                                     \
        if (HIST || PSUM)                                                          \
            barrier(CLK_LOCAL_MEM_FENCE);                                          \
        const int nvalid = img < count ? FC3_OUT : 0;                              \
        const vector_mem m = {0, 0, 0, 0, 0, l_hist, l_psum, l_pbase};             \
        const vctx_##K c = vctx_##K##_make(lo, hi, wsh, hr, lid, nvalid, m);       \
        vstate_##K s = {(K##_T)0, (K##_T)0, (K##_T)0, (K##_T)0};                                               \
        if (img < count) {                                                         \
            __global const char *a = in_act + (size_t)img * FC3_IN;                \
            FC3_UNROLL                                                             \
            for (int i = 0; i < vary(FC3_IN, c.varying_zero); i++) {               \
                K##_T p = (K##_S)a[i] * K##_LOAD_WEIGHTS(wt + i * FC3_PAD);        \
                s.acc = vstep_##K(s.acc, p, ADDS_CLAMPED, &s, &c);                 \
            }                                                                      \
            long16 e = convert_long16(K##_INT(s.acc)) + convert_long16(vload16(0, bias)); \
            long16 outside = (e < (long)lo) | (e > (long)hi); /* -1: an event */   \
            long16 held = WRAP ? as_long16(as_ulong16(e) << (ulong)(32 + wsh)) >> (long)(32 + wsh) \
                               : clamp(e, (long)lo, (long)hi);                     \
            K##_T n = K##_FROM_LONG(held);                                         \
            s.ev -= K##_FROM_LONG(outside);                                        \
            s.mn = min(s.mn, n);                                                   \
            s.mx = max(s.mx, n);                                                   \
            vpsum_count_##K(n, &c);                                                \
            s.acc = n;                                                             \
            vfinish_##K(&s, &c);                                                   \
            int r[K##_N], rmn[K##_N], rmx[K##_N];                                  \
            vstore16(K##_INT(s.acc), 0, r);                                        \
            vstore16(K##_INT(s.mn), 0, rmn);                                       \
            vstore16(K##_INT(s.mx), 0, rmx);                                       \
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
            K##_T pad = K##_LANE >= (K##_S)FC3_OUT;                                \
            __global int *st = layer_stats(stats, img, 4);                         \
            st[0] = K##_HSUM(select(s.ev, (K##_T)0, pad));                         \
            st[1] = K##_HMIN(select(s.acc, (K##_T)c.hi, pad));                     \
            st[2] = K##_HMAX(select(s.acc, (K##_T)c.lo, pad));                     \
            st[3] = K##_HMIN(select(s.mn, (K##_T)0, pad));                         \
            st[4] = K##_HMAX(select(s.mx, (K##_T)0, pad));                         \
        }                                                                          \
        if (HIST || PSUM)                                                          \
            barrier(CLK_LOCAL_MEM_FENCE);                                          \
        if (HIST)                                                                  \
            for (int k = lid; k < 4 * LIN_BINS; k += gs)                           \
                if (l_hist[k])                                                     \
                    atomic_add(&h[k], l_hist[k]);                                  \
        psum_merge(lid, gs, l_psum, hr, h);                                        \
    }

DEFINE_CONV1(I32)
DEFINE_CONV1(S16)
DEFINE_CONV2(I32)
DEFINE_CONV2(S16)
DEFINE_FC(I32)
DEFINE_FC(S16)
DEFINE_FC3(W32)
DEFINE_FC3(S16)

/* ---- the kernels: thin wrappers -------------------------------------------- */

/* Each declares its group's local memory and calls its body with the lane
 * kind, the way it adds and (fc) the layer's sizes as constants. */
#define CONV1_KERNEL(NAME, K, ADDS)                                                \
    __kernel __attribute__((reqd_work_group_size(C1V_OUTPUTS / K##_N, 1, 1)))     \
    void NAME(__global const char *images, __global const uint *index,            \
              __global const int *weights, __global const long *thr,              \
              __global char *out_act, __global int *stats, __global uint *hist,   \
              int lo, int hi, int wsh, hist_ranges hr, float scale)               \
    {                                                                              \
        VECTOR_MEM_DECLARE(m, C1V_OUTPUTS, C1V_OUTPUTS / K##_N);                   \
        conv1_body_##K(ADDS, images, index, weights, thr, out_act, stats, hist, lo, hi, \
                       wsh, hr, scale, m);                                         \
    }

#define CONV2_KERNEL(NAME, K, ADDS)                                                \
    __kernel __attribute__((reqd_work_group_size(C2_POS * C2_PAD / K##_N, 1, 1))) \
    void NAME(__global const char *in_act, __global const K##_S *weights,         \
              __global const long *thr, __global char *out_act, __global int *stats, \
              __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale) \
    {                                                                              \
        VECTOR_MEM_DECLARE(m, C2_POS * C2_PAD, C2_POS * C2_PAD / K##_N);           \
        conv2_body_##K(ADDS, in_act, weights, thr, out_act, stats, hist, lo, hi, wsh, hr, \
                       scale, m);                                                  \
    }

#define FC_KERNEL(NAME, K, ADDS, LAYER, N_IN, N_OUT, PAD)                          \
    __kernel __attribute__((reqd_work_group_size(PAD / K##_N, 1, 1)))             \
    void NAME(__global const char *in_act, __global const K##_S *wt,              \
              __global const long *thr, __global char *out_act, __global int *stats, \
              __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale) \
    {                                                                              \
        VECTOR_MEM_DECLARE(m, PAD, PAD / K##_N);                                   \
        fc_body_##K(ADDS, LAYER, N_IN, N_OUT, PAD, in_act, wt, thr, out_act, stats, hist, \
                    lo, hi, wsh, hr, scale, m);                                    \
    }

#define FC3_KERNEL(NAME, K)                                                        \
    __kernel __attribute__((reqd_work_group_size(FC3_IMAGES, 1, 1)))              \
    void NAME(__global const char *in_act, __global const K##_S *wt,              \
              __global const int *bias, __global const long *thr,                 \
              __global char *outputs, __global uchar *predictions, __global int *stats, \
              __global uint *hist, int lo, int hi, int wsh, hist_ranges hr, float scale, \
              uint count)                                                          \
    {                                                                              \
        __local uint l_hist[HIST ? 4 * LIN_BINS : 1];                              \
        __local uint l_psum[PSUM ? PSUM_LOCAL_WORDS : 1];                          \
        __local int l_pbase[PSUM ? FC3_IMAGES * K##_N : 1] __attribute__((aligned(64))); \
        fc3_body_##K(in_act, wt, bias, thr, outputs, predictions, stats, hist, lo, hi, wsh, \
                     hr, scale, count, l_hist, l_psum, l_pbase);                   \
    }

CONV1_KERNEL(conv1, I32, ADDS_OPTIMISTIC)
CONV2_KERNEL(conv2, I32, ADDS_OPTIMISTIC)
FC_KERNEL(fc1, I32, ADDS_OPTIMISTIC, 2, FC1_IN, FC1_OUT, FC1_PAD_I32)
FC_KERNEL(fc2, I32, ADDS_OPTIMISTIC, 3, FC2_IN, FC2_OUT, FC2_PAD_I32)

CONV1_KERNEL(conv1_s16, S16, ADDS_CLAMPED)
CONV2_KERNEL(conv2_s16, S16, ADDS_CLAMPED)
FC_KERNEL(fc1_s16, S16, ADDS_CLAMPED, 2, FC1_IN, FC1_OUT, FC1_PAD_S16)
FC_KERNEL(fc2_s16, S16, ADDS_CLAMPED, 3, FC2_IN, FC2_OUT, FC2_PAD_S16)

CONV1_KERNEL(conv1_n32, I32, ADDS_UNCLAMPED)
CONV2_KERNEL(conv2_n32, I32, ADDS_UNCLAMPED)
FC_KERNEL(fc1_n32, I32, ADDS_UNCLAMPED, 2, FC1_IN, FC1_OUT, FC1_PAD_I32)
FC_KERNEL(fc2_n32, I32, ADDS_UNCLAMPED, 3, FC2_IN, FC2_OUT, FC2_PAD_I32)

FC3_KERNEL(fc3_v, W32)
FC3_KERNEL(fc3_s16, S16)

#endif /* VECTOR_CPU */
