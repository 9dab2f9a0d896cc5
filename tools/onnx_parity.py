#!/usr/bin/env python3
"""Parity of an imported ONNX model (tools/import_onnx.py) with onnxruntime.

    onnx_parity.py --model MODEL.onnx --imported DIR --data CIFAR_DIR
                   [--accsim PATH] [--python-reference] [--outputs-csv CSV]
                   [--limit N] [--opt-level all|disable|both] [--report-only] [--skip-missing]

Truth: onnxruntime's CPU execution provider at its default graph optimization
level (ORT_ENABLE_ALL: the QDQ graph fused into QLinearConv, QGemm, QLinearAdd,
... on integer kernels) on CIFAR-10 test images. --opt-level both also runs
ORT_DISABLE_ALL (the QDQ graph as written: DequantizeLinear, float Conv,
QuantizeLinear) and reports how many images differ from each.

The model's float input is made from the pixels as DIR/network.json says:
offset kind: the raw pixel value p as float; affine: float32((p / 255 - mean) / std).
The int8 logits are recovered from the graph's output, the DequantizeLinear of
the logits: q = round(y / s) + z, exact (uint8 models: q - 128, the
description's domain). The tool also checks that
onnxruntime's QuantizeLinear of that float input (float32 division, half to
even) gives the int8 input accsim computes (in double), image for image.

Other side: `accsim run --model DIR --bits 32 --limit N --engine cpu --quiet
--dump-outputs CSV` and/or tools/netdesc_ref.py (--python-reference).

Prints how many images' int8 logits differ (must be 0) and the accuracies.
Exit status: 0 parity, 1 any difference (0 with --report-only), 2 error,
77 something missing under --skip-missing.
"""
import atexit
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common  # noqa: E402  (input checks, CIFAR-10, accsim's outputs)


def model_input(np, manifest, pixels):
    """The float image the ONNX model reads, and accsim's int8 input."""
    q = manifest["input"]["quantize"]
    p = pixels.astype(np.float64)
    if q["kind"] == "offset":
        x = p.astype(np.float32)
        mine = np.clip(pixels.astype(np.int64) + int(q["offset"]), -128, 127)
    elif q["kind"] == "affine":
        mean = np.asarray(q["mean"], dtype=np.float64).reshape(1, -1, 1, 1)
        std = np.asarray(q["std"], dtype=np.float64).reshape(1, -1, 1, 1)
        v = (p / 255.0 - mean) / std
        x = v.astype(np.float32)
        mine = np.clip(np.rint(v / float(q["scale"])) + int(q["zero_point"]), -128, 127)
    else:
        raise ValueError("input quantize kind %r" % q["kind"])
    return x, mine.astype(np.int64)


def constant_values(onnx, m):
    """Every constant tensor of model m (initializers and Constant nodes) by name."""
    vals = {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant":
            vals[n.output[0]] = onnx.numpy_helper.to_array(n.attribute[0].t)
    return vals


def ort_input_quantization(np, onnx, model_path, x):
    """onnxruntime's QuantizeLinear of x: x / scale in float32, half to even, + zp."""
    m = onnx.load(model_path)
    name = m.graph.input[0].name
    vals = constant_values(onnx, m)
    q = next(n for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == name)
    s = np.float32(vals[q.input[1]].reshape(-1)[0])
    return np.clip(np.rint(x / s) + zero_point_int8(np, vals, q), -128, 127).astype(np.int64)


def zero_point_int8(np, vals, node):
    """The zero point of a QuantizeLinear/DequantizeLinear in the description's int8
    domain: a uint8 model's values and zero points are 128 lower there."""
    if len(node.input) < 3 or not node.input[2]:
        return -128                       # uint8, zero point 0
    z = vals[node.input[2]]
    return int(z.reshape(-1)[0]) - (128 if z.dtype == np.uint8 else 0)


def output_dequantizer(np, onnx, model_path):
    """(scale, zero point) of the DequantizeLinear that makes the graph output."""
    m = onnx.load(model_path)
    out = m.graph.output[0].name
    vals = constant_values(onnx, m)
    for n in m.graph.node:
        if n.output and n.output[0] == out:
            if n.op_type != "DequantizeLinear":
                raise ValueError("the graph output comes from %s, not a DequantizeLinear"
                                 % n.op_type)
            return np.float32(vals[n.input[1]].reshape(-1)[0]), zero_point_int8(np, vals, n)
    raise ValueError("no node makes the graph output")


def run_ort(np, ort, model_path, x, level, scale, zp):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    outs = []
    for k in range(len(x)):
        y = sess.run(None, {name: x[k:k + 1]})[0].astype(np.float32).reshape(-1)
        outs.append(np.rint(y / scale) + zp)
    return np.array(outs, dtype=np.int64)


def compare(np, name, got, truth, labels, truth_name):
    if got.shape != truth.shape:
        print("%s: output shape %s, %s %s" % (name, got.shape, truth_name, truth.shape))
        return False
    diff = got != truth
    nd = int(np.any(diff, axis=1).sum())
    acc = 100.0 * float((got.argmax(axis=1) == labels).mean())
    print("%s: %d of %d images have int8 logits differing from %s (%d of %d values); "
          "accuracy %.2f %%" % (name, nd, len(labels), truth_name, int(diff.sum()), diff.size, acc))
    if nd:
        for i in np.nonzero(np.any(diff, axis=1))[0][:3]:
            print("  image %d: %s vs %s" % (i, got[i].tolist(), truth[i].tolist()))
        print("  largest logit difference %d; %d predictions differ"
              % (int(np.abs(got - truth).max()),
                 int((got.argmax(axis=1) != truth.argmax(axis=1)).sum())))
    return nd == 0


def main():
    ap = parity_common.parser(__doc__, ".onnx", "import_onnx.py")
    ap.add_argument("--outputs-csv", help="compare an existing --dump-outputs CSV too")
    ap.add_argument("--python-reference", action="store_true",
                    help="compare tools/netdesc_ref.py too")
    ap.add_argument("--limit", type=int, help="first N test images (default all)")
    ap.add_argument("--opt-level", choices=("all", "disable", "both"), default="both")
    ap.add_argument("--report-only", action="store_true",
                    help="exit 0 even when outputs differ (for measurements)")
    ap.add_argument("--skip-missing", action="store_true")
    args = ap.parse_args()

    # onnxruntime's library leaves a file (.ses) in $TMPDIR: give it a scratch one.
    scratch = tempfile.mkdtemp(prefix="onnx-parity-")
    atexit.register(shutil.rmtree, scratch, True)
    os.environ["TMPDIR"] = scratch
    try:
        import numpy as np
        import onnx
        import onnx.numpy_helper  # noqa: F401
        import onnxruntime as ort
    except ImportError as e:
        parity_common.fail_missing_package(args, e)
    test_batch, manifest = parity_common.check_inputs(args)

    levels = {"all": [("ORT_ENABLE_ALL", ort.GraphOptimizationLevel.ORT_ENABLE_ALL)],
              "disable": [("ORT_DISABLE_ALL", ort.GraphOptimizationLevel.ORT_DISABLE_ALL)]}
    levels["both"] = levels["all"] + levels["disable"]
    try:
        pixels, labels = parity_common.load_cifar(np, test_batch, 0, args.limit)
        n = len(labels)
        x, mine = model_input(np, manifest, pixels)
        theirs = ort_input_quantization(np, onnx, args.model, x)
        nin = int(np.any((mine != theirs).reshape(n, -1), axis=1).sum())
        print("input quantization: %d of %d images differ between accsim (double) and "
              "onnxruntime's QuantizeLinear (float32)" % (nin, n))
        scale, zp = output_dequantizer(np, onnx, args.model)
        truths = []
        for lname, level in levels[args.opt_level]:
            t0 = time.time()
            t = run_ort(np, ort, args.model, x, level, scale, zp)
            print("onnxruntime %s (%s, CPU): %d images, accuracy %.2f %% (%.1f s)"
                  % (ort.__version__, lname, n, 100.0 * float((t.argmax(axis=1) == labels).mean()),
                     time.time() - t0))
            truths.append(("onnxruntime " + lname, t))
        sides = []
        if args.accsim:
            got, dt = parity_common.run_accsim(np, args.accsim, args.imported, args.data, n, 0)
            print("accsim run (--bits 32, cpu): %.1f s" % dt)
            sides.append(("accsim", got))
        if args.outputs_csv:
            sides.append((os.path.basename(args.outputs_csv),
                          parity_common.read_outputs_csv(np, args.outputs_csv, n, 0)))
        if args.python_reference:
            import netdesc_ref
            net = netdesc_ref.Net(args.imported)
            got, worst = netdesc_ref.run_images(net, pixels)
            print("netdesc_ref: largest partial-sum bound %.0f (fits int32: %s)"
                  % (max(worst.values()), max(worst.values()) < 2**31))
            sides.append(("netdesc_ref", got))
        ok = nin == 0
        for tname, t in truths:
            for sname, got in sides:
                same = compare(np, sname, got, t, labels, tname)
                if tname.endswith("ENABLE_ALL"):   # the truth; DISABLE_ALL is reported only
                    ok = same and ok
        if len(truths) == 2:
            d = int(np.any(truths[0][1] != truths[1][1], axis=1).sum())
            print("onnxruntime ORT_ENABLE_ALL vs ORT_DISABLE_ALL: %d of %d images differ" % (d, n))
    except (ValueError, RuntimeError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    print("parity: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok or args.report_only else 1


if __name__ == "__main__":
    sys.exit(main())
