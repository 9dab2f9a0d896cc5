/* Kernels of the generic network engine (host/opencl/network_engine.c): one
 * program per distinct op shape, specialized by -D constants that the host
 * derives from the network description (the *_geom_fill functions there, which
 * also give the launch geometry). Semantics are
 * those of the C reference interpreter (host/network/interp.c,
 * docs/network-format.md), bit for bit.
 *
 * Everything is inside #ifdef ACCSIM_NETWORK_CL: accsim_cl_load_sources
 * concatenates every kernels/ *.cl file into the course engine's program, where
 * this file must compile to nothing. The network engine builds this file
 * alone, with ACCSIM_NETWORK_CL defined.
 *
 * MAC layers (OP_MAC): a work-item computes one output row (all ox) for one
 * image and a block of V consecutive output channels, one channel per vector
 * lane (NX positions at a time); each lane walks its own reduction in the
 * description's order. First a pass without clamps (FAST, when the host
 * proved that no exact sum leaves int32, and try_fast, the host's guess that
 * it will pay): when no register's exact value ever left its range, that pass
 * is the one-add-at-a-time result; otherwise the positions are done again
 * with every add saturated or wrapped. Widths are kernel arguments; the
 * overflow mode and "a register of the layer is 32 bits wide" select one of
 * four specialized copies of the clamped loop (the kernel's mode argument).
 *
 * Histograms are separate programs, so the counter path is unchanged. Output
 * and peak histograms alone (HIST_STORE): the MAC kernel is the counter
 * kernel plus one vector store per output position: the four histogram bins
 * of its final accumulators and peaks, computed on vectors and packed in a
 * word each (hist_bins), into a scratch buffer; net_hist (OP_HIST) then
 * counts them. Counting inside the MAC kernel instead (local atomics, barriers) kept
 * PoCL from running work-items as vector lanes: 2.8x the CPU time of the
 * counter kernel, for one value per output. Every held value (PSUM_HIST, with
 * HIST for the others): counted in the MAC kernel, into work-group local
 * histograms with local atomics (PoCL runs work-items as vector lanes, so a
 * plain ++ on a shared bin loses counts), merged into the layer's global
 * histograms (HIST_WORDS words, in accsim_layer_hist's field order) with one
 * atomic add per nonzero bin. With PSUM_HIST there is no unclamped first
 * pass: every held value is recorded as it is added, as the interpreter does
 * one add at a time.
 *
 * Float requantization (MAC layers, add) needs cl_khr_fp64: the host refuses
 * to load such a network on a device without it. */
#ifdef ACCSIM_NETWORK_CL

/* Every helper is inlined into its kernel (PoCL otherwise kept mac_outputs a
 * call, with the mode tested at run time and the statistics in memory). */
#define NET_INLINE inline __attribute__((always_inline))

#pragma OPENCL FP_CONTRACT OFF
#if NEED_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

/* ---- TFLite fixed-point helpers (as accsim_srdhm etc. in interp.c) ------- */

NET_INLINE int net_srdhm(int a, int b)
{
    bool overflow = a == b && a == INT_MIN;
    long ab = (long)a * (long)b;
    long nudge = ab >= 0 ? (1L << 30) : (1L - (1L << 30));
    int high = (int)((ab + nudge) / (1L << 31)); /* truncating division */
    return overflow ? INT_MAX : high;
}

NET_INLINE int net_rdbp(int x, int exponent)
{
    const int mask = (int)((1L << exponent) - 1);
    const int remainder = x & mask;
    const int threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

NET_INLINE int net_mbqm(int x, int multiplier, int shift)
{
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    int shifted = as_int(as_uint(x) << left); /* wraps, as interp.c */
    return net_rdbp(net_srdhm(shifted, multiplier), right);
}

NET_INLINE int net_mbqm_small(int x, int multiplier, int left_shift)
{
    return net_rdbp(net_srdhm(x, multiplier), -left_shift);
}

NET_INLINE char net_clamp8(long v, int lo, int hi)
{
    return (char)(v < lo ? lo : v > hi ? hi : v);
}

#if OP_MAC || OP_HIST

/* ---- Histograms ---------------------------------------------------------- */

/* One layer's histogram words, in accsim_layer_hist's order (BITS_BINS and
 * LIN_BINS come from the host, ACCSIM_BITS_BINS and ACCSIM_LIN_BINS). */
#define H_OUT_BITS 0
#define H_OUT_LIN (H_OUT_BITS + BITS_BINS)
#define H_PEAK_BITS (H_OUT_LIN + LIN_BINS)
#define H_PEAK_LIN (H_PEAK_BITS + BITS_BINS)
#define H_PSUM_BITS (H_PEAK_LIN + LIN_BINS)
#define H_PSUM_LIN (H_PSUM_BITS + BITS_BINS)
#define HIST_WORDS (H_PSUM_LIN + LIN_BINS)

/* accsim_bits_needed for int32: -1 needs as few bits as 0; clz(0) is 32. */
NET_INLINE int net_bits_needed(int v)
{
    uint magnitude = v < 0 ? ~as_uint(v) : as_uint(v);
    return 33 - (int)clz(magnitude);
}

/* lin_bin of interp.c: below lo bin 0, above the last bin the last. */
NET_INLINE uint net_lin_bin(long v, int lo, int shift)
{
    if (v < lo)
        return 0;
    ulong bin = (ulong)(v - lo) >> shift;
    return bin < LIN_BINS - 1 ? (uint)bin : LIN_BINS - 1;
}

/* An output's peak as one int32, its "key": of the extremes lo <= 0 <= hi of
 * the values its registers held, hi where hi >= -lo, else lo. The peak's
 * magnitude max(-lo, hi) is |key| and its bits max(bits(lo), bits(hi)) are
 * bits(key): bits(lo) = bits(-lo - 1) and bits grows with a value >= 0. */
NET_INLINE long net_key_magnitude(int key)
{
    return key < 0 ? -(long)key : (long)key;
}

/* One output's final accumulator and peak key into the local histograms, in
 * both paths (net_mac with HIST, net_hist). */
NET_INLINE void hist_count_output(local uint *lh, int acc, int key, int out_lo, int out_shift,
                                  int peak_lo, int peak_shift)
{
    atomic_inc(&lh[H_OUT_BITS + net_bits_needed(acc)]);
    atomic_inc(&lh[H_OUT_LIN + net_lin_bin(acc, out_lo, out_shift)]);
    atomic_inc(&lh[H_PEAK_BITS + net_bits_needed(key)]);
    atomic_inc(&lh[H_PEAK_LIN + net_lin_bin(net_key_magnitude(key), peak_lo, peak_shift)]);
}

#endif /* OP_MAC || OP_HIST */

#if OP_MAC

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define VT CAT(int, V)
#define VU CAT(uint, V)
#define VL CAT(long, V)
#define VLOAD CAT(vload, V)
#define VSTORE CAT(vstore, V)
#define AS_VT CAT(as_int, V)
#define AS_VU CAT(as_uint, V)
#define TO_VT CAT(convert_int, V)
#define TO_VL CAT(convert_long, V)

/* The registers' lanes (AT): int16 with NARROW, which the host sets where
 * every register of the run is 16 bits or narrower (B and B_out <= 16) and
 * no output adds more than 32767 times (the event counts stay in lanes).
 * Every product fits: |x - z| <= 255 and |w| <= 128, so 255 * 128 = 32640;
 * folded x * w <= 128 * 128. Twice the lanes per instruction on a CPU's
 * vector units; the run's statistics leave mac_outputs as int (VT). */
#if NARROW
#define AT CAT(short, V)
#define AU CAT(ushort, V)
#define AS_AT CAT(as_short, V)
#define AS_AU CAT(as_ushort, V)
#define TO_AT CAT(convert_short, V)
#define ACC_BITS 16
typedef short acc_t;
#else
#define AT VT
#define AU VU
#define AS_AT AS_VT
#define AS_AU AS_VU
#define TO_AT CAT(convert_int, V)
#define ACC_BITS 32
typedef int acc_t;
#endif
#define AT_TO_VT CAT(convert_int, V)

/* add_sat on the lanes. PoCL 3.1 expands OpenCL's add_sat into compares and
 * blends; clang's elementwise builtin is one instruction (vpaddsw) on x86. */
NET_INLINE AT lanes_add_sat(AT a, AT b)
{
#if defined(__has_builtin) && __has_builtin(__builtin_elementwise_add_sat)
    return __builtin_elementwise_add_sat(a, b);
#else
    return add_sat(a, b);
#endif
}

/* REQ_PARAMS: the requantization tables, fixed (multipliers, shifts) or float
 * (scales), as parameters and as arguments. */
#if REQ_FIXED
#define REQ_PARAMS global const int *mult, global const int *shift
#define REQ_ARGS mult, shift
#else
#define REQ_PARAMS global const double *scale
#define REQ_ARGS scale
#endif

/* Reduction positions per output. */
#define R (KH * KW * CG)

/* Register modes: 0 no clamps (the exact sum, which the host proved fits
 * int32), 1 saturate, 2 saturate with a 32-bit register in the layer, 3 wrap,
 * 4 wrap with a 32-bit register. Passed as constants, so every use is
 * specialized after inlining. */
#define MODE_EXACT 0
#define MODE_WRAP(m) ((m) >= 3)
#define MODE_WIDE(m) ((m) == 2 || (m) == 4)

/* Counting in the kernel (local histograms) or storing for net_hist, not both. */
#define ANY_HIST (HIST || PSUM_HIST)
#if ANY_HIST && HIST_STORE
#error "HIST_STORE excludes HIST and PSUM_HIST"
#endif

/* ---- Histograms in the MAC kernel ---------------------------------------- */

/* What the recording needs besides the local histograms: the lanes that are
 * real output channels (a block's last lanes may be padding) and the linear
 * ranges (lo, shift) of accsim_config. */
typedef struct hist_ctx {
    int lanes;
    int out_lo, out_shift, peak_lo, peak_shift, psum_lo, psum_shift;
    uint *psum; /* PSUM_HIST: the work-item's own partial-sum counts, [PSUM_COPIES][PSUM_WORDS] */
} hist_ctx;

/* linear bins (net_lin_bin) of V values. */
NET_INLINE VU lin_bins(VL v, int lo, int shift)
{
    VL bin = (v - (VL)(lo)) >> (VL)(shift);
    return CAT(convert_uint, V)(clamp(bin, (VL)(0), (VL)(LIN_BINS - 1)));
}

/* net_bits_needed of V values: 33 - clz of the magnitude (~v for v < 0). */
NET_INLINE VU bits_needed(VT v)
{
    return (VU)(33) - clz(AS_VU(v ^ (v >> 31)));
}

/* The partial-sum histograms' words (bits, then linear), and the copies a
 * work-item keeps: lanes l and l + 1 count into different copies, so that
 * increments of one bin (neighbouring lanes mostly share one) do not wait
 * on each other. */
#define PSUM_WORDS (BITS_BINS + LIN_BINS)
#define PSUM_COPIES 4

/* Every real lane's held value into the work-item's partial-sum counts:
 * bins computed on vectors, then plain increments of private words (local
 * atomics, two per lane and add, measured 0.07 G MAC per CPU-second on
 * PoCL); net_mac adds them to the layer's histogram at the end. */
NET_INLINE void hist_psum(const hist_ctx *hc, AT held)
{
#if PSUM_HIST
    VT h = AT_TO_VT(held);
    uint bits[V], lin[V];
    VSTORE(bits_needed(h), 0, bits);
    VSTORE(lin_bins(TO_VL(h), hc->psum_lo, hc->psum_shift), 0, lin);
    for (int l = 0; l < hc->lanes; l++) {
        uint *copy = hc->psum + (l % PSUM_COPIES) * PSUM_WORDS;
        copy[bits[l]]++;
        copy[BITS_BINS + lin[l]]++;
    }
#endif
}

#if HIST_STORE
#if BITS_BINS > 256 || LIN_BINS > 256
#error "hist_bins packs each bin into a byte"
#endif
/* The four bins of V outputs (final accumulators, peak keys) packed into one
 * word each, a byte per histogram in accsim_layer_hist's order: out_bits,
 * out_lin, peak_bits, peak_lin. Computed here on vectors, net_hist just
 * counts them. */
NET_INLINE VU hist_bins(const hist_ctx *hc, VT acc, VT key)
{
    VU out_bits = bits_needed(acc);
    VU peak_bits = bits_needed(key);
    VU out_lin = lin_bins(TO_VL(acc), hc->out_lo, hc->out_shift);
    VL k = TO_VL(key);
    VU peak_lin = lin_bins(select(k, -k, k < 0), hc->peak_lo, hc->peak_shift);
    return out_bits | (out_lin << 8) | (peak_bits << 16) | (peak_lin << 24);
}
#endif

/* One output position's final accumulators and peak keys (net_key_magnitude)
 * for every real lane: counted here (HIST, beside PSUM_HIST) or their bins
 * stored at scr (HIST_STORE, hist_bins) for net_hist. */
NET_INLINE void hist_output(local uint *lh, const hist_ctx *hc, global uint *scr, VT acc, VT key)
{
#if HIST_STORE
    VSTORE(hist_bins(hc, acc, key), 0, scr);
#elif HIST
    int a[V], k[V];
    VSTORE(acc, 0, a);
    VSTORE(key, 0, k);
    for (int l = 0; l < hc->lanes; l++)
        hist_count_output(lh, a[l], k[l], hc->out_lo, hc->out_shift, hc->peak_lo,
                          hc->peak_shift);
#endif
}

/* One add of terms into a register of width B (range [lo, hi],
 * sh = ACC_BITS - B), saturating or wrapping, counting events into *ev and
 * the held values into [*mn, *mx]. */
NET_INLINE AT reg_add(const int mode, AT s, AT t, AT lo, AT hi, int sh, AT *ev, AT *mn, AT *mx,
                      const hist_ctx *hc)
{
    AT held;
    if (mode == MODE_EXACT) {
        held = s + t;
    } else {
        AT w = AS_AT(AS_AU(s) + AS_AU(t)); /* the sum modulo 2^ACC_BITS */
        /* Exact unless it left the lanes' type (then beyond any range, and
         * w, of the other sign, differs from any held value: B >= 2 makes
         * lo < 0 < hi); without a 32-bit register no add can leave int32. */
        AT e = MODE_WIDE(mode) || NARROW ? lanes_add_sat(s, t) : w;
        if (MODE_WRAP(mode)) {
            held = (w << sh) >> sh;
            *ev -= held != e;
        } else {
            held = clamp(e, lo, hi);
            *ev -= held != w;
        }
    }
    *mn = min(*mn, held);
    *mx = max(*mx, held);
    hist_psum(hc, held);
    return held;
}

/* One add of an int64 term (bias, folded zero-point constant). */
NET_INLINE AT reg_add_long(const int mode, AT s, VL t, AT lo, AT hi, int sh, AT *ev, AT *mn,
                           AT *mx, const hist_ctx *hc)
{
    AT held;
    if (mode == MODE_EXACT) {
        held = s + TO_AT(t);
    } else {
        VL e = TO_VL(s) + t;
        const long up = 64 - ACC_BITS + sh; /* 64 - B */
        VL h = MODE_WRAP(mode) ? (e << up) >> up : clamp(e, TO_VL(lo), TO_VL(hi));
        *ev -= TO_AT(h != e);
        held = TO_AT(h);
    }
    *mn = min(*mn, held);
    *mx = max(*mx, held);
    hist_psum(hc, held);
    return held;
}

/* The input value of reduction position (c, ky, kx) for every lane; valid
 * false for padding taps (then the zero point). */
NET_INLINE AT tap(global const char *img, long addr, const int *goff)
{
#if SAME_GROUP
    return (AT)((acc_t)img[addr + goff[0]]);
#else
    acc_t xs[V];
    for (int l = 0; l < V; l++)
        xs[l] = img[addr + goff[l]];
    return VLOAD(0, xs);
#endif
}

/* Input offset of tap (c, y, x) of group 0. */
NET_INLINE long in_offset(int c, int y, int x)
{
#if NHWC
    return ((long)y * W + x) * C + c;
#else
    return ((long)c * H + y) * W + x;
#endif
}

/* The accumulations of NX output positions of one row (ox0, ox0 + 1, ..)
 * for the V lanes of a block: the definition of docs/network-format.md, one
 * add at a time; the NX positions are independent chains that share each
 * weight vector. Statistics of the inner (tile) registers go to imn/imx, of
 * the outer (or only) ones to omn/omx; events to ev (all [NX]). */
NET_INLINE void mac_outputs(const int mode, const bool interior, global const char *img, int iy0,
                        int ix0, const int *goff, global const char *wb, VT bias, VL fold, AT lo,
                        AT hi, int sh, AT lo2, AT hi2, int sh2, AT *outer, AT *ev, AT *imn,
                        AT *imx, AT *omn, AT *omx, const hist_ctx *hc)
{
    AT t[NX];
#pragma unroll
    for (int j = 0; j < NX; j++) {
        outer[j] = 0;
        t[j] = 0;
#if BIAS == 1
        outer[j] = reg_add_long(mode, outer[j], TO_VL(bias), lo2, hi2, sh2, &ev[j], &omn[j],
                                &omx[j], hc);
#endif
#if ZP_MODE == 1
        outer[j] = reg_add_long(mode, outer[j], fold, lo2, hi2, sh2, &ev[j], &omn[j], &omx[j],
                                hc);
#endif
    }
    int r = 0;
#if ORDER_HWC
    for (int ky = 0; ky < KH; ky++)
        for (int kx = 0; kx < KW; kx++)
            for (int c = 0; c < CG; c++) {
#else
    for (int c = 0; c < CG; c++)
        for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) {
#endif
                AT wv = TO_AT(VLOAD(r, wb));
                int y = iy0 + ky;
#pragma unroll
                for (int j = 0; j < NX; j++) {
                    int x = ix0 + j * SW + kx;
                    bool valid = interior || (y >= 0 && y < H && x >= 0 && x < W);
                    if (valid || ZP_MODE != 0) {
                        AT xv = valid ? tap(img, in_offset(c, y, x), goff) : (AT)(ZIN);
                        AT p = (ZP_MODE == 0 ? xv - (AT)(ZIN) : xv) * wv;
#if TILE
                        t[j] = reg_add(mode, t[j], p, lo, hi, sh, &ev[j], &imn[j], &imx[j], hc);
#else
                        outer[j] = reg_add(mode, outer[j], p, lo2, hi2, sh2, &ev[j], &omn[j],
                                           &omx[j], hc);
#endif
                    }
                }
                r++;
#if TILE
                if (r % TILE == 0 || r == R) {
#pragma unroll
                    for (int j = 0; j < NX; j++) {
                        outer[j] = reg_add(mode, outer[j], t[j], lo2, hi2, sh2, &ev[j],
                                           &omn[j], &omx[j], hc);
                        t[j] = 0;
                    }
                }
#endif
            }
#pragma unroll
    for (int j = 0; j < NX; j++) {
#if ZP_MODE == 2
        outer[j] = reg_add_long(mode, outer[j], fold, lo2, hi2, sh2, &ev[j], &omn[j], &omx[j],
                                hc);
#endif
#if BIAS == 2
        outer[j] = reg_add_long(mode, outer[j], TO_VL(bias), lo2, hi2, sh2, &ev[j], &omn[j],
                                &omx[j], hc);
#endif
    }
}

/* mac_outputs with every add saturated or wrapped: for interior positions one
 * specialized copy per mode (1 saturate, 2 saturate with a 32-bit register,
 * 3 wrap, 4 wrap with a 32-bit register); borders share one. */
NET_INLINE void mac_clamped(int mode, bool interior, global const char *img, int iy0, int ix0,
                            const int *goff, global const char *wb, VT bias, VL fold, AT lo,
                            AT hi, int sh, AT lo2, AT hi2, int sh2, AT *acc, AT *e, AT *imn,
                            AT *imx, AT *omn, AT *omx, const hist_ctx *hc)
{
    if (interior) {
        switch (mode) {
        case 1:
            mac_outputs(1, true, img, iy0, ix0, goff, wb, bias, fold, lo, hi, sh, lo2, hi2, sh2,
                        acc, e, imn, imx, omn, omx, hc);
            break;
        case 2:
            mac_outputs(2, true, img, iy0, ix0, goff, wb, bias, fold, lo, hi, sh, lo2, hi2, sh2,
                        acc, e, imn, imx, omn, omx, hc);
            break;
        case 3:
            mac_outputs(3, true, img, iy0, ix0, goff, wb, bias, fold, lo, hi, sh, lo2, hi2, sh2,
                        acc, e, imn, imx, omn, omx, hc);
            break;
        default:
            mac_outputs(4, true, img, iy0, ix0, goff, wb, bias, fold, lo, hi, sh, lo2, hi2, sh2,
                        acc, e, imn, imx, omn, omx, hc);
            break;
        }
    } else {
        /* Borders are a minority: one copy, the mode tested per add. */
        mac_outputs(mode, false, img, iy0, ix0, goff, wb, bias, fold, lo, hi, sh, lo2, hi2, sh2,
                    acc, e, imn, imx, omn, omx, hc);
    }
}

/* Requantization of V accumulators (multipliers, shifts, scales per lane):
 * net_mbqm and the float rule of interp.c on vectors, then + ZOUT and the
 * clamp. */
#if REQ_FIXED
NET_INLINE VT requant_fixed(VT x, VT m, VT shift)
{
    VT left = max(shift, (VT)(0)), right = max(-shift, (VT)(0));
    VT a = AS_VT(AS_VU(x) << AS_VU(left)); /* wraps, as interp.c */
    /* SaturatingRoundingDoublingHighMul(a, m) */
    VT overflow = (a == m) & (a == (VT)(INT_MIN));
    VL ab = TO_VL(a) * TO_VL(m);
    VL nudge = select((VL)(1L - (1L << 30)), (VL)(1L << 30), ab >= 0);
    VT high = TO_VT((ab + nudge) / (1L << 31)); /* truncating division */
    VT h = select(high, (VT)(INT_MAX), overflow);
    /* RoundingDivideByPOT(h, right) */
    VT mask = AS_VT((AS_VU((VT)(1)) << AS_VU(right)) - (VU)(1));
    VT remainder = h & mask;
    VT threshold = (mask >> 1) - (h < 0); /* a true comparison is -1 */
    VT r = (h >> right) - (remainder > threshold);
    return clamp(add_sat(r, (VT)(ZOUT)), (VT)(CLO), (VT)(CHI));
}
#else
NET_INLINE VT requant_float(VT x, CAT(double, V) scale)
{
#if REQ_FLOAT32 /* "precision": "float32": one float32 product (the scale is a float32 value) */
    CAT(double, V) prod = CAT(convert_double, V)(CAT(convert_float, V)(x) *
                                                 CAT(convert_float, V)(scale));
#else
    CAT(double, V) prod = CAT(convert_double, V)(x) * scale;
#endif
#if REQ_ROUND_AWAY /* "rounding": "half_away": round() rounds halves away from zero */
    CAT(double, V) q = round(prod) + (double)ZOUT;
#else /* "half_even" */
    CAT(double, V) q = rint(prod) + (double)ZOUT;
#endif
    return CAT(convert_int, V)(clamp(q, (double)CLO, (double)CHI));
}
#endif

/* All outputs of one row (oy) for one block of channels, NX at a time
 * (NX divides OW); accumulates the statistics in the lanes. */
NET_INLINE void mac_row(global const char *img, global char *out, int oy, int o0, const int *goff,
                    global const char *wb, VT bias, VL fold, AT lo, AT hi, int sh, AT lo2,
                    AT hi2, int sh2, int try_fast, int mode, REQ_PARAMS, VT *ev, VT *pmn,
                    VT *pmx, VT *fmn, VT *fmx, local uint *lh, const hist_ctx *hc,
                    global uint *scr)
{
    int iy0 = oy * SH - PT;
    for (int ox0 = 0; ox0 < OW; ox0 += NX) {
        int ix0 = ox0 * SW - PL;
        bool interior = iy0 >= 0 && ix0 >= 0 && iy0 + KH <= H && ix0 + (NX - 1) * SW + KW <= W;
        AT acc[NX], e[NX], imn[NX], imx[NX], omn[NX], omx[NX];
#pragma unroll
        for (int j = 0; j < NX; j++)
            e[j] = imn[j] = imx[j] = omn[j] = omx[j] = 0;
        bool done = false;
#if FAST && !PSUM_HIST && !NARROW /* int16 lanes cannot hold the exact sums */
        if (!try_fast)
            ;
        else if (interior)
            mac_outputs(MODE_EXACT, true, img, iy0, ix0, goff, wb, bias, fold, lo, hi, sh, lo2, hi2,
                        sh2, acc, e, imn, imx, omn, omx, hc);
        else
            mac_outputs(MODE_EXACT, false, img, iy0, ix0, goff, wb, bias, fold, lo, hi, sh, lo2, hi2,
                        sh2, acc, e, imn, imx, omn, omx, hc);
        AT okv = (AT)(-1);
#pragma unroll
        for (int j = 0; j < NX; j++)
            okv &= (imn[j] >= lo) & (imx[j] <= hi) & (omn[j] >= lo2) & (omx[j] <= hi2);
        done = try_fast && all(okv);
        if (!done) {
#pragma unroll
            for (int j = 0; j < NX; j++)
                imn[j] = imx[j] = omn[j] = omx[j] = 0;
        }
#endif
        if (!done)
            mac_clamped(mode, interior, img, iy0, ix0, goff, wb, bias, fold, lo, hi, sh, lo2, hi2,
                        sh2, acc, e, imn, imx, omn, omx, hc);
        for (int j = 0; j < NX; j++) {
            int ox = ox0 + j;
            VT peak_lo = AT_TO_VT(min(imn[j], omn[j])), peak_hi = AT_TO_VT(max(imx[j], omx[j]));
            VT final = AT_TO_VT(acc[j]);
#if ANY_HIST || HIST_STORE
            /* peak_hi + peak_lo cannot overflow: peak_lo <= 0 <= peak_hi. */
            hist_output(lh, hc, scr + ((long)oy * OW + ox) * (NB * V) + o0, final,
                        select(peak_lo, peak_hi, peak_hi + peak_lo >= 0));
#endif
            *ev += AT_TO_VT(e[j]);
            *pmn = min(*pmn, peak_lo);
            *pmx = max(*pmx, peak_hi);
            *fmn = min(*fmn, final);
            *fmx = max(*fmx, final);
#if REQ_FIXED
            VT q = requant_fixed(final, VLOAD(0, mult + o0), VLOAD(0, shift + o0));
#else
            VT q = requant_float(final, VLOAD(0, scale + o0));
#endif
#if NHWC
            if (o0 + V <= CO) {
                VSTORE(CAT(convert_char, V)(q), 0, out + ((long)oy * OW + ox) * CO + o0);
                continue;
            }
#endif
            int a[V];
            VSTORE(q, 0, a);
            for (int l = 0; l < V && o0 + l < CO; l++) {
                int o = o0 + l;
#if NHWC
                out[((long)oy * OW + ox) * CO + o] = (char)a[l];
#else
                out[((long)o * OH + oy) * OW + ox] = (char)a[l];
#endif
            }
        }
    }
}

/* One work-item of net_mac: output row oy = gid / NB, channel block
 * gid % NB, of image img_i. */
NET_INLINE void net_mac_body(int gid, int img_i, global char *arena, ulong in_off, ulong out_off,
                             global const char *weights, global const int *biasv,
                             global const long *foldv, REQ_PARAMS, global int *stats,
                             int stat_stride, int stat_base, int lo_s, int hi_s, int sh,
                             int lo2_s, int hi2_s, int sh2, int try_fast, int mode,
                             local uint *lh, hist_ctx *hc, global uint *scratch)
{
    const int b = gid % NB, oy = gid / NB;
    const int o0 = b * V;
    hc->lanes = min(V, CO - o0);
    global const char *img = arena + in_off + (ulong)img_i * IN_COUNT;
    global char *out = arena + out_off + (ulong)img_i * OUT_COUNT;
    int goff[V];
    for (int l = 0; l < V; l++) {
        int o = min(o0 + l, CO - 1);
        int g = o / PG;
#if NHWC
        goff[l] = g * CG;
#else
        goff[l] = g * CG * H * W;
#endif
    }
    VT bias = VLOAD(b, biasv);
    VL fold = CAT(vload, V)(b, foldv);
    VT ev = 0, pmn = 0, pmx = 0, fmn = (VT)(INT_MAX), fmx = (VT)(INT_MIN);
    mac_row(img, out, oy, o0, goff, weights + (long)b * R * V, bias, fold, (AT)(lo_s),
            (AT)(hi_s), sh, (AT)(lo2_s), (AT)(hi2_s), sh2, try_fast, mode, REQ_ARGS, &ev, &pmn,
            &pmx, &fmn, &fmx, lh, hc, scratch + (long)img_i * PADDED_OUT);
    int e[V], a[V], c[V], d[V], f[V];
    VSTORE(ev, 0, e);
    VSTORE(pmn, 0, a);
    VSTORE(pmx, 0, c);
    VSTORE(fmn, 0, d);
    VSTORE(fmx, 0, f);
    int se = 0, sa = 0, sc = 0, sd = INT_MAX, sf = INT_MIN;
    for (int l = 0; l < V && o0 + l < CO; l++) {
        se += e[l];
        sa = min(sa, a[l]);
        sc = max(sc, c[l]);
        sd = min(sd, d[l]);
        sf = max(sf, f[l]);
    }
    global int *st = stats + (long)img_i * stat_stride + stat_base;
    if (se)
        atomic_add(&st[0], se);
    if (sa < 0)
        atomic_min(&st[1], sa);
    if (sc > 0)
        atomic_max(&st[2], sc);
    atomic_min(&st[3], sd);
    atomic_max(&st[4], sf);
}

/* global size [NB * OH, images]. weights [NB][R][V] (lanes past C_out zero),
 * bias and fold [NB * V]; stats [image][stat_stride] from stat_base: events,
 * psum min, psum max, out min, out max (initialized by the host); hist: the
 * layer's HIST_WORDS words from hist_base (zeroed by the host), with the
 * linear ranges of accsim_config (unused without HIST and PSUM_HIST);
 * scratch (HIST_STORE only): per image, PADDED_OUT = OH * OW * NB * V words
 * of packed bins (hist_bins; [oy][ox][lane], padding lanes too). */
kernel void net_mac(global char *arena, ulong in_off, ulong out_off, global const char *weights,
                    global const int *biasv, global const long *foldv, REQ_PARAMS,
                    global int *stats, int stat_stride, int stat_base, int lo_s, int hi_s, int sh,
                    int lo2_s, int hi2_s, int sh2, int try_fast, int mode, global uint *hist,
                    int hist_base, int out_lo, int out_shift, int peak_lo, int peak_shift,
                    int psum_lo, int psum_shift, global uint *scratch)
{
    hist_ctx hc = {0, out_lo, out_shift, peak_lo, peak_shift, psum_lo, psum_shift, 0};
#if PSUM_HIST
    uint psum[PSUM_COPIES * PSUM_WORDS];
    for (int i = 0; i < PSUM_COPIES * PSUM_WORDS; i++)
        psum[i] = 0;
    hc.psum = psum;
#endif
#if ANY_HIST
    local uint lh[HIST_WORDS];
    const int lid = get_local_id(0) + get_local_id(1) * get_local_size(0);
    const int lsize = get_local_size(0) * get_local_size(1);
    for (int i = lid; i < HIST_WORDS; i += lsize)
        lh[i] = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
#else
    local uint *lh = 0;
    (void)hist;
    (void)hist_base;
#endif
    net_mac_body(get_global_id(0), get_global_id(1), arena, in_off, out_off, weights, biasv,
                 foldv, REQ_ARGS, stats, stat_stride, stat_base, lo_s, hi_s, sh, lo2_s, hi2_s,
                 sh2, try_fast, mode, lh, &hc, scratch);
#if PSUM_HIST
    /* The local words' last two histograms are the partial sums': this
     * work-item's counts join them (a few hundred local adds per row). */
    for (int i = 0; i < PSUM_WORDS; i++) {
        uint n = 0;
        for (int c = 0; c < PSUM_COPIES; c++)
            n += psum[c * PSUM_WORDS + i];
        if (n)
            atomic_add(&lh[H_PSUM_BITS + i], n);
    }
#endif
#if ANY_HIST
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int i = lid; i < HIST_WORDS; i += lsize) {
        uint n = lh[i];
        if (n)
            atomic_add(&hist[hist_base + i], n);
    }
#endif
}

#endif /* OP_MAC */

#if OP_HIST
/* Output and peak histograms of one MAC layer from net_mac's scratch
 * (HIST_STORE): per image, PADDED_OUT words of packed bins (hist_bins),
 * entry `at` a real channel when at % LANES < CO. One work-item per
 * work-group, for one slice of HIST_SLICE entries of one image, counting with
 * plain increments into a private histogram, merged into the layer's global
 * words from hist_base with one atomic add per nonzero bin: four local
 * atomics per output (several work-items sharing a local histogram) measured
 * as costly as the MAC kernel itself on PoCL. */
#define HIST_HALF H_PSUM_BITS /* the output and peak words */

NET_INLINE void net_hist_body(uint *h, int first, int end, global const uint *img)
{
    for (int at = first; at < end; at++) {
#if CO < LANES
        if (at % LANES >= CO)
            continue;
#endif
        uint bins = img[at];
        h[H_OUT_BITS + (bins & 0xff)]++;
        h[H_OUT_LIN + ((bins >> 8) & 0xff)]++;
        h[H_PEAK_BITS + ((bins >> 16) & 0xff)]++;
        h[H_PEAK_LIN + (bins >> 24)]++;
    }
}

/* global size [slices of an image, images], local [1, 1]. */
kernel __attribute__((reqd_work_group_size(1, 1, 1))) void
net_hist(global const uint *scratch, global uint *hist, int hist_base)
{
    uint h[HIST_HALF];
    for (int i = 0; i < HIST_HALF; i++)
        h[i] = 0;
    const int first = get_global_id(0) * HIST_SLICE;
    net_hist_body(h, first, min(first + HIST_SLICE, PADDED_OUT),
                  scratch + (long)get_global_id(1) * PADDED_OUT);
    for (int i = 0; i < HIST_HALF; i++)
        if (h[i])
            atomic_add(&hist[hist_base + i], h[i]);
}
#endif

#if OP_POOL
/* global size [OUT_COUNT, images]. */
kernel void net_pool(global char *arena, ulong in_off, ulong out_off)
{
    const int i = get_global_id(0);
    const int img_i = get_global_id(1);
    global const char *in = arena + in_off + (ulong)img_i * IN_COUNT;
    global char *out = arena + out_off + (ulong)img_i * OUT_COUNT;
#if NHWC
    int c = i % C, ox = (i / C) % OW, oy = i / (C * OW);
#else
    int ox = i % OW, oy = (i / OW) % OH, c = i / (OW * OH);
#endif
    int iy0 = oy * SH - PT, ix0 = ox * SW - PL;
    int y0 = max(iy0, 0), y1 = min(iy0 + KH, H);
    int x0 = max(ix0, 0), x1 = min(ix0 + KW, W);
    int m = INT_MIN, sum = 0, count = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
#if NHWC
            int v = in[((long)y * W + x) * C + c];
#else
            int v = in[((long)c * H + y) * W + x];
#endif
            m = max(m, v);
            sum += v;
            count++;
        }
#if POOL_MAX
    int r = m;
#else
    int r = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
#endif
    out[i] = net_clamp8(r, CLO, CHI);
}
#endif

#if OP_ADD
#if ADD_FIXED && OUT_COUNT % 16 == 0
/* 16 elements per work-item: TFLite's fixed-point helpers on int16 lanes,
 * the same integer semantics as net_srdhm and net_rdbp. */
NET_INLINE int16 net_srdhm16(int16 a, int b)
{
    int16 overflow = (a == (int16)(b)) & (a == (int16)(INT_MIN));
    long16 ab = convert_long16(a) * (long16)((long)b);
    long16 nudge = select((long16)(1L - (1L << 30)), (long16)(1L << 30), ab >= 0);
    int16 high = convert_int16((ab + nudge) / (1L << 31));
    return select(high, (int16)(INT_MAX), overflow);
}

NET_INLINE int16 net_rdbp16(int16 x, int exponent)
{
    const int mask = (int)((1L << exponent) - 1);
    int16 remainder = x & mask;
    int16 threshold = (int16)(mask >> 1) - (x < 0); /* a true comparison is -1 */
    return (x >> exponent) - (remainder > threshold);
}

NET_INLINE int16 net_mbqm_small16(int16 x, int multiplier, int left_shift)
{
    return net_rdbp16(net_srdhm16(x, multiplier), -left_shift);
}

/* global size [OUT_COUNT / 16, images]. */
kernel void net_add(global char *arena, ulong a_off, ulong b_off, ulong out_off, int m0, int s0,
                    int m1, int s1, int mo, int so)
{
    const int i = get_global_id(0);
    const int img_i = get_global_id(1);
    int16 a = convert_int16(vload16(i, arena + a_off + (ulong)img_i * OUT_COUNT));
    int16 b = convert_int16(vload16(i, arena + b_off + (ulong)img_i * OUT_COUNT));
    int16 va = (a - ZA) * (1 << LEFT_SHIFT);
    int16 vb = (b - ZB) * (1 << LEFT_SHIFT);
    va = net_mbqm_small16(va, m0, s0);
    vb = net_mbqm_small16(vb, m1, s1);
    int16 sum = as_int16(as_uint16(va) + as_uint16(vb));
    long16 r = convert_long16(net_mbqm_small16(sum, mo, so)) + ZOUT;
    r = clamp(r, (long16)(CLO), (long16)(CHI));
    vstore16(convert_char16(r), i, arena + out_off + (ulong)img_i * OUT_COUNT);
}
#else
/* global size [OUT_COUNT, images]. */
kernel void net_add(global char *arena, ulong a_off, ulong b_off, ulong out_off,
#if ADD_FIXED
                    int m0, int s0, int m1, int s1, int mo, int so
#else
                    double f0, double f1, double f2
#endif
)
{
    const int i = get_global_id(0);
    const int img_i = get_global_id(1);
    int a = arena[a_off + (ulong)img_i * OUT_COUNT + i];
    int b = arena[b_off + (ulong)img_i * OUT_COUNT + i];
    long r;
#if ADD_FIXED
    int va = (a - ZA) * (1 << LEFT_SHIFT);
    int vb = (b - ZB) * (1 << LEFT_SHIFT);
    va = net_mbqm_small(va, m0, s0);
    vb = net_mbqm_small(vb, m1, s1);
    r = (long)net_mbqm_small(as_int(as_uint(va) + as_uint(vb)), mo, so) + ZOUT;
#elif ADD_FLOAT32 /* interp.c add_float32: fma is correctly rounded, as fmaf */
    float t = fma((float)(b + ADD_VOFF), (float)f1, (float)f2);
    t = fma((float)(a + ADD_VOFF), (float)f0, t);
    float v = rint(t);
    r = v < -1000.0f ? -1000 : v > 1000.0f ? 1000 : (long)v - ADD_VOFF;
#else
    double v = rint(f0 * (a - ZA) + f1 * (b - ZB));
    r = v < -1000 ? -1000 : v > 1000 ? 1000 : (long)v + ZOUT;
#endif
    arena[out_off + (ulong)img_i * OUT_COUNT + i] = net_clamp8(r, CLO, CHI);
}
#endif
#endif

#if OP_CLAMP
kernel void net_clamp(global char *arena, ulong in_off, ulong out_off)
{
    const int i = get_global_id(0);
    const int img_i = get_global_id(1);
    arena[out_off + (ulong)img_i * OUT_COUNT + i] =
        net_clamp8(arena[in_off + (ulong)img_i * OUT_COUNT + i], CLO, CHI);
}
#endif

#if OP_IO
/* The chosen images into the input tensor's region: global [IN_COUNT, images]. */
kernel void net_gather(global const char *inputs, global const uint *index, global char *arena,
                       ulong in_off)
{
    const int i = get_global_id(0);
    const int img_i = get_global_id(1);
    arena[in_off + (ulong)img_i * IN_COUNT + i] = inputs[(ulong)index[img_i] * IN_COUNT + i];
}

/* Output tensor and prediction (first maximum) per image: global [images]. */
kernel void net_collect(global const char *arena, ulong out_off, global char *outputs,
                        global uint *predictions)
{
    const int img_i = get_global_id(0);
    global const char *o = arena + out_off + (ulong)img_i * OUT_COUNT;
    uint best = 0;
    for (int c = 0; c < OUT_COUNT; c++) {
        outputs[(ulong)img_i * OUT_COUNT + c] = o[c];
        if (o[c] > o[best])
            best = (uint)c;
    }
    predictions[img_i] = best;
}
#endif

#endif /* ACCSIM_NETWORK_CL */
