#!/usr/bin/env python3
"""Parity of an imported TFLite model with the TFLite interpreter.

    tflite_parity.py --model MODEL.tflite --imported DIR --data CIFAR_DIR
                     [--accsim PATH | --python-reference] [--limit N] [--offset K]
                     [--xnnpack] [--skip-missing]

Truth: the TFLite interpreter of PyPI ai-edge-litert with its reference kernels
(OpResolverType.BUILTIN_REF) and experimental_preserve_all_tensors, on CIFAR-10
test images (records [label][3072 bytes C,H,W], transposed to NHWC). The int8
logits are the input of the final SOFTMAX (or the output when there is none).
The input is quantized as DIR/network.json says (offset: p + k; affine: the
design's double formula), identically for both sides.

Other side: `accsim run --model DIR --bits 32 --limit N --engine cpu --quiet
--dump-outputs CSV` (CSV header split,index,label,prediction,out0,...), or with
--python-reference, tools/netdesc_ref.py (NumPy, exact sums) instead of accsim.
Both may be given: then each is compared with TFLite.

--localize N compares every op's output on the first N images (each op fed TFLite's
own inputs), to find where a difference starts.

--xnnpack also runs the interpreter's default CPU path (XNNPACK delegate) and
counts the images whose logits differ from the reference kernels' (reported,
not a failure).

Prints the number of images whose logits differ (must be 0) and the accuracies.
Exit status: 0 parity, 1 any difference, 2 error, 77 something missing under
--skip-missing (the interpreter package, the data, the accsim binary, the model).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common  # noqa: E402  (input checks, CIFAR-10, accsim's outputs)


def logits_tensor(tflite, model_path):
    """Index of the int8 logits: the input of a final SOFTMAX, else the output."""
    from tflite.BuiltinOperator import BuiltinOperator as BO
    buf = open(model_path, "rb").read()
    m = tflite.Model.GetRootAsModel(buf, 0)
    g = m.Subgraphs(0)
    out = int(g.Outputs(0))
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        oc = m.OperatorCodes(op.OpcodeIndex())
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        if code == BO.SOFTMAX and int(op.Outputs(0)) == out:
            return int(op.Inputs(0))
    return out


def run_tflite(np, Interpreter, OpResolverType, model_path, x_nhwc, logits_index, reference):
    kw = {"model_path": model_path, "experimental_preserve_all_tensors": True}
    if reference:
        kw["experimental_op_resolver_type"] = OpResolverType.BUILTIN_REF
    it = Interpreter(**kw)
    inp = it.get_input_details()[0]
    batch = 1
    n = len(x_nhwc)
    # Batched invocation when the graph allows it (one image per call otherwise).
    try:
        want = min(n, 100)
        it.resize_tensor_input(inp["index"], [want] + list(inp["shape"][1:]))
        it.allocate_tensors()
        batch = want
    except Exception:
        it = Interpreter(**kw)
        it.allocate_tensors()
        batch = 1
    outs = []
    i = 0
    while i < n:
        chunk = x_nhwc[i:i + batch]
        if len(chunk) != batch:
            it = Interpreter(**kw)
            it.resize_tensor_input(inp["index"], [len(chunk)] + list(inp["shape"][1:]))
            it.allocate_tensors()
            batch = len(chunk)
        it.set_tensor(inp["index"], chunk.astype(np.int8))
        it.invoke()
        outs.append(np.array(it.get_tensor(logits_index)).reshape(len(chunk), -1).astype(np.int64))
        i += len(chunk)
    return np.concatenate(outs)


def localize(np, Interpreter, OpResolverType, model_path, imported, pixels, x_nhwc):
    """Per op of the import: how many output values netdesc_ref computes differently
    from TFLite's reference kernels when both start from TFLite's inputs to that op.
    The description's tensor of each TFLite tensor comes from re-running the
    importer (deterministic) on the model."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import import_tflite
    import netdesc_ref
    imp = import_tflite.Importer(import_tflite.Model(model_path), "localize")
    imp.run()
    by_name = {name: idx for idx, name in imp.names.items()}
    it = Interpreter(model_path=model_path, experimental_preserve_all_tensors=True,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    truth = {}
    for k in range(len(x_nhwc)):
        it.set_tensor(inp["index"], x_nhwc[k:k + 1].astype(np.int8))
        it.invoke()
        for name, idx in by_name.items():
            truth.setdefault(name, []).append(np.array(it.get_tensor(idx)).reshape(-1))
    net = netdesc_ref.Net(imported)
    rows = []

    def observe(op, y):
        t = np.stack(truth[op["output"]]).astype(np.int64).reshape(y.shape)
        d = t != y
        rows.append((op["name"], op["op"], int(d.sum()), d.size,
                     int(np.abs(t - y).max()) if d.any() else 0))
        return t
    net.run(net.quantize_input(pixels), observe)
    print("per op, netdesc_ref vs TFLite from TFLite's inputs (%d images):" % len(x_nhwc))
    for name, kind, nd, size, mx in rows:
        print("  %-16s %-16s %9d of %9d values differ%s"
              % (name, kind, nd, size, " (by up to %d)" % mx if nd else ""))
    return all(r[2] == 0 for r in rows)


def quantize_input(np, manifest, pixels_chw):
    """The int8 input TFLite reads (NHWC), as the description quantizes it."""
    import netdesc_ref
    x = netdesc_ref.quantize_pixels(manifest, pixels_chw)
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def compare(np, name, got, truth, labels):
    if got.shape != truth.shape:
        print("%s: output shape %s, TFLite %s" % (name, got.shape, truth.shape))
        return False
    diff = np.any(got != truth, axis=1)
    nd = int(diff.sum())
    acc = 100.0 * float((got.argmax(axis=1) == labels).mean())
    print("%s: %d of %d images have logits differing from TFLite's reference kernels; "
          "accuracy %.2f %%" % (name, nd, len(labels), acc))
    if nd:
        idx = np.nonzero(diff)[0]
        for i in idx[:5]:
            print("  image %d: %s vs TFLite %s" % (i, got[i].tolist(), truth[i].tolist()))
        print("  largest logit difference %d" % int(np.abs(got - truth).max()))
    return nd == 0


def main():
    ap = parity_common.parser(__doc__, ".tflite", "import_tflite.py")
    ap.add_argument("--outputs-csv", help="compare this existing --dump-outputs CSV "
                    "(e.g. from another accsim build) too")
    ap.add_argument("--python-reference", action="store_true",
                    help="compare tools/netdesc_ref.py too (or instead of accsim)")
    ap.add_argument("--limit", type=int, help="first N test images (default all)")
    ap.add_argument("--offset", type=int, default=0,
                    help="start at test image K (only without --accsim)")
    ap.add_argument("--xnnpack", action="store_true",
                    help="also count images where the default (XNNPACK) path differs")
    ap.add_argument("--localize", type=int, metavar="N",
                    help="on the first N images, compare every op's output of "
                    "netdesc_ref with TFLite's (each op fed TFLite's inputs): finds the "
                    "first op that differs")
    ap.add_argument("--skip-missing", action="store_true")
    args = ap.parse_args()

    try:
        import numpy as np
        import tflite
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError as e:
        parity_common.fail_missing_package(args, e)
    test_batch, manifest = parity_common.check_inputs(args)

    try:
        pixels, labels = parity_common.load_cifar(np, test_batch, args.offset, args.limit)
        n = len(labels)
        x = quantize_input(np, manifest, pixels)
        li = logits_tensor(tflite, args.model)
        t0 = time.time()
        truth = run_tflite(np, Interpreter, OpResolverType, args.model, x, li, True)
        t_ref = time.time() - t0
        acc_ref = 100.0 * float((truth.argmax(axis=1) == labels).mean())
        print("TFLite reference kernels: %d images (from %d), accuracy %.2f %% (%.1f s)"
              % (n, args.offset, acc_ref, t_ref))
        ok = True
        if args.accsim:
            got, dt = parity_common.run_accsim(np, args.accsim, args.imported, args.data, n,
                                               args.offset)
            print("accsim run (--bits 32, cpu): %.1f s" % dt)
            ok = compare(np, "accsim", got, truth, labels) and ok
        if args.outputs_csv:
            got = parity_common.read_outputs_csv(np, args.outputs_csv, n, args.offset)
            ok = compare(np, os.path.basename(args.outputs_csv), got, truth, labels) and ok
        if args.python_reference:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import netdesc_ref
            net = netdesc_ref.Net(args.imported)
            t0 = time.time()
            got, worst = netdesc_ref.run_images(net, pixels)
            print("netdesc_ref: %.1f s; largest partial-sum bound %.0f (fits int32: %s)"
                  % (time.time() - t0, max(worst.values()), max(worst.values()) < 2**31))
            ok = compare(np, "netdesc_ref", got, truth, labels) and ok
        if args.localize:
            k = min(args.localize, n)
            ok = localize(np, Interpreter, OpResolverType, args.model, args.imported,
                          pixels[:k], x[:k]) and ok
        if args.xnnpack:
            t0 = time.time()
            try:
                fast = run_tflite(np, Interpreter, OpResolverType, args.model, x, li, False)
            except (RuntimeError, ValueError) as e:
                print("TFLite default path (XNNPACK): could not run (%s)"
                      % str(e).strip().replace("\n", " "))
                fast = None
        if args.xnnpack and fast is not None:
            nd = int(np.any(fast != truth, axis=1).sum())
            acc_fast = 100.0 * float((fast.argmax(axis=1) == labels).mean())
            npred = int((fast.argmax(axis=1) != truth.argmax(axis=1)).sum())
            print("TFLite default path (XNNPACK): %d of %d images have logits differing from "
                  "the reference kernels, %d predictions differ; accuracy %.2f %% (%.1f s)"
                  % (nd, n, npred, acc_fast, time.time() - t0))
    except (ValueError, RuntimeError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    print("parity: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
