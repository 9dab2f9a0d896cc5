#!/usr/bin/env python3
"""Unit checks of tools/import_tflite.py's arithmetic (TFLite's Prepare-time
helpers) and of netdesc_ref.py's fixed-point helpers, on hand-computed cases.
Prints 'N passed, N failed' and exits 1 on any failure."""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import import_tflite as it  # noqa: E402
import netdesc_ref as nr  # noqa: E402

passed = failed = 0


def check(name, got, want):
    global passed, failed
    if got == want:
        passed += 1
    else:
        failed += 1
        print("FAIL %s: got %r, want %r" % (name, got, want))


# TfLiteRound: halves away from zero.
for x, want in [(0.5, 1), (1.5, 2), (2.5, 3), (-0.5, -1), (-2.5, -3), (2.4999, 2), (0.0, 0)]:
    check("tflite_round(%r)" % x, it.tflite_round(x), want)

# QuantizeMultiplier: m ~= q * 2^(shift - 31), q in [2^30, 2^31).
check("qm(0)", it.quantize_multiplier(0.0), (0, 0))
check("qm(0.5)", it.quantize_multiplier(0.5), (1 << 30, 0))
check("qm(1.0)", it.quantize_multiplier(1.0), (1 << 30, 1))
check("qm(0.75)", it.quantize_multiplier(0.75), (3 << 29, 0))
check("qm(2^-10)", it.quantize_multiplier(2.0 ** -10), (1 << 30, -9))
# frexp gives q just below 1; q * 2^31 rounds to 2^31: halved, shift + 1.
below_one = 1.0 - 2.0 ** -40
check("qm(1 - 2^-40)", it.quantize_multiplier(below_one), (1 << 30, 1))
# A multiplier below 2^-32 gives shift < -31: flushed to zero.
check("qm(2^-33)", it.quantize_multiplier(2.0 ** -33), (0, 0))
# The rounding of q * 2^31 is half away from zero: q = 0.5 + 2^-32 -> 2^30 + 0.5 -> 2^30 + 1.
check("qm(0.5 + 2^-32)", it.quantize_multiplier(0.5 + 2.0 ** -32), ((1 << 30) + 1, 0))
# Against the definition on random multipliers.
rng = np.random.default_rng(7)
ok = True
for m in rng.uniform(1e-6, 4.0, 2000):
    q, s = it.quantize_multiplier(float(m))
    if not ((1 << 30) <= q < (1 << 31)) or abs(q * 2.0 ** (s - 31) - m) > m * 2.0 ** -30:
        ok = False
check("qm random", ok, True)

# Activation ranges (int8 output, scale s, zero point z).
check("relu", it.activation_range(it.AFT.RELU, np.float32(0.1), -128, "t"), (-128, 127))
check("relu z=5", it.activation_range(it.AFT.RELU, np.float32(0.1), 5, "t"), (5, 127))
check("relu6", it.activation_range(it.AFT.RELU6, np.float32(0.05), -128, "t"), (-128, -8))
check("relu_n1_to_1", it.activation_range(it.AFT.RELU_N1_TO_1, np.float32(1 / 64), 0, "t"),
      (-64, 64))
check("none", it.activation_range(it.AFT.NONE, np.float32(0.05), 3, "t"), (-128, 127))
try:
    it.activation_range(it.AFT.TANH, np.float32(0.05), 3, "t")
    check("tanh refused", False, True)
except it.ImportError_:
    check("tanh refused", True, True)

# Tie counting: x = 0.5 makes every odd a a tie; x = 0.25 none... except odd*0.25
# never lands on .5 (it lands on .25/.75) while a = 2 mod 4 does.
check("ties x=0.5", it.count_ties(0.5, 3), 4)        # -3, -1, 1, 3
check("ties x=0.25", it.count_ties(0.25, 6), 4)      # -6, -2, 2, 6
# 0.3 is not exact, yet 5 * 0.3 rounds to exactly 1.5 in double: ties happen for
# inexact multipliers too (odd multiples of 5 here: 200 of them in [-1000, 1000]).
check("ties x=0.3", it.count_ties(0.3, 1000), 200)
check("ties x=0.0225920340711614", it.count_ties(0.0225920340711614, 100000), 0)

# netdesc_ref fixed point against hand-computed gemmlowp values.
a = np.array([100000, -100000, 7, -7, 1 << 30], dtype=np.int64)
# x * 2^30 / 2^31 with gemmlowp's nudge: 3.5 -> 4 but -3.5 -> -3 (the negative
# nudge is 1 - 2^30, then C division truncates toward zero).
got = nr.srdhm(a, np.int64(1 << 30)).tolist()
check("srdhm", got, [50000, -50000, 4, -3, 1 << 29])
check("rdbpot", nr.rdbpot(np.array([5, -5, 6, -6, 7], dtype=np.int64), 1).tolist(),
      [3, -3, 3, -3, 4])                            # halves away from zero
check("mbqm", nr.mbqm(np.array([1000, -1000], dtype=np.int64), np.int64(1 << 30),
                      np.int64(-1)).tolist(), [250, -250])
check("mbqm left shift", nr.mbqm(np.array([3], dtype=np.int64), np.int64(1 << 30),
                                 np.int64(2)).tolist(), [6])

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
