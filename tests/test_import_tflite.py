#!/usr/bin/env python3
"""Unit checks of tools/import_tflite.py's arithmetic (TFLite's Prepare-time
helpers) and of netdesc_ref.py's fixed-point helpers and rounding rules, on
hand-computed cases; and the ties model (tests/make_tflite_models.py) imported
and compared with TFLite's reference kernels on random images.
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

# netdesc_ref's float requantization rules (C nearbyint and round), on ties,
# near-ties and values where floor(x + 0.5) would be wrong.
xs = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, -0.49999999999999994,
               2.4999999999999996, 1e15 + 0.5, -3.0, 0.0])
check("round_half_even", nr.round_half_even(xs).tolist(),
      [0.0, 2.0, 2.0, -0.0, -2.0, -2.0, 0.0, -0.0, 2.0, 1e15, -3.0, 0.0])
check("round_half_away", nr.round_half_away(xs).tolist(),
      [1.0, 2.0, 3.0, -1.0, -2.0, -3.0, 0.0, -0.0, 2.0, 1e15 + 1, -3.0, 0.0])


def ties_model_end_to_end():
    """tests/make_tflite_models.py's ties.tflite: its FULLY_CONNECTED
    requantization scales are powers of two, so many accumulators are exact
    ties. The import must record "rounding": "half_away" and then equal TFLite's
    reference kernels on random images, which half to even must not."""
    import tempfile
    import make_tflite_models as mk
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError as e:
        print("note: ties model end to end skipped: %s" % e)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ties.tflite")
        with open(path, "wb") as f:
            f.write(mk.make_ties())
        out = os.path.join(tmp, "ties")
        manifest = it.import_model(path, out)
        fcs = [d for d in manifest["ops"] if d["op"] == "fully_connected"]
        check("ties: two FC layers", len(fcs), 2)
        check("ties: FC rounding", [d["requantize"].get("rounding") for d in fcs],
              ["half_away", "half_away"])
        rng = np.random.default_rng(11)
        pixels = rng.integers(0, 256, size=(200, 3, 32, 32), dtype=np.uint8)
        x = (pixels.astype(np.int64) - 128).transpose(0, 2, 3, 1).astype(np.int8)
        interp = Interpreter(model_path=path,
                             experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        interp.allocate_tensors()
        inp, outp = interp.get_input_details()[0], interp.get_output_details()[0]
        truth = []
        for img in x:
            interp.set_tensor(inp["index"], img[None])
            interp.invoke()
            truth.append(interp.get_tensor(outp["index"]).reshape(-1).astype(np.int64))
        truth = np.array(truth)
        away, _ = nr.run_images(nr.Net(out), pixels)
        check("ties: half_away equals TFLite (images differing)",
              int(np.any(away != truth, axis=1).sum()), 0)
        # The same description rounding half to even: the ties are reached.
        with open(os.path.join(out, "network.json")) as f:
            text = f.read()
        with open(os.path.join(out, "network.json"), "w") as f:
            f.write(text.replace('"half_away"', '"half_even"'))
        even, _ = nr.run_images(nr.Net(out), pixels)
        differ = int(np.any(even != truth, axis=1).sum())
        print("ties model: half_even differs from TFLite on %d of %d random images" % (differ, len(pixels)))
        check("ties: half_even differs from TFLite on some images", differ > 0, True)


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ties_model_end_to_end()

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
