#!/usr/bin/env python3
"""Parity of an imported TFLite model with TFLite's reference kernels on synthetic
int8 inputs of any shape, for models whose input is not a CIFAR-10 image
(tools/tflite_parity.py runs CIFAR-10 records).

    second_model_parity.py --model MODEL.tflite --imported DIR [--count N] [--seed S]
                           [--accsim BIN] [--work DIR]

The inputs are int8 tensors of the description's input shape: two constant ones
(every value -128, every value 127) and N - 2 uniformly random ones. TFLite
(ai-edge-litert, OpResolverType.BUILTIN_REF) runs each; when the model takes
float32 through a first QUANTIZE (TFLite's float I/O wrapper), it gets
x = (q - z) * s in float32, which that QUANTIZE maps back to q exactly. The
truth is the int8 tensor the description names as its output (the input of a
final SOFTMAX, inside a final DEQUANTIZE). tools/netdesc_ref.py, the NumPy
reference of the description, runs the same int8 inputs; every output value
must be equal. With --accsim, the same inputs also go through the C engine: they
are written as a NumPy data set (int8 test_images.npy, used as the network's input
as is, and test_labels.npy, TFLite's argmax) and `accsim run --bits 32
--dump-outputs` must give the same output values. Exit status: 0 equal, 1 any
difference, 2 usage, 77 a package or file missing (with --skip-missing).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the .tflite file")
    ap.add_argument("--imported", required=True, help="its description directory")
    ap.add_argument("--count", type=int, default=50, help="inputs (at least 2)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-missing", action="store_true")
    ap.add_argument("--accsim", help="also run the inputs through this accsim binary")
    ap.add_argument("--work", help="where the NumPy data set goes (default: a temporary "
                                   "directory, removed after)")
    args = ap.parse_args(argv)
    if args.count < 2:
        ap.error("--count must be at least 2")
    skip = 77 if args.skip_missing else 2
    try:
        import numpy as np
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError as e:
        print("%s: %s (run tools/setup-python-tools.sh)" % ("SKIP" if args.skip_missing
                                                          else "error", e))
        return skip
    for path in (args.model, os.path.join(args.imported, "network.json")):
        if not os.path.isfile(path):
            print("%s: %s not found" % ("SKIP" if args.skip_missing else "error", path))
            return skip
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import netdesc_ref

    net = netdesc_ref.Net(args.imported)
    manifest = json.load(open(os.path.join(args.imported, "network.json")))
    shape = list(manifest["input"]["shape"])
    rng = np.random.default_rng(args.seed)
    q = rng.integers(-128, 128, size=[args.count] + shape, dtype=np.int64)
    q[0] = -128
    q[1] = 127

    truth = run_tflite(np, Interpreter, OpResolverType, args.model, manifest, q)
    got, bounds = net.run(q)
    if got.shape != truth.shape:
        print("error: netdesc_ref output %s, TFLite %s" % (got.shape, truth.shape))
        return 1
    differ = (got != truth).any(axis=1)
    print("%s: %d synthetic inputs %s; output %d values each"
          % (os.path.basename(args.model), args.count, shape, truth.shape[1]))
    print("netdesc_ref vs TFLite reference kernels: %d of %d inputs differ "
          "(largest |difference| %d); largest partial-sum bound %d"
          % (int(differ.sum()), args.count, int(np.abs(got - truth).max()),
             max(bounds.values()) if bounds else 0))
    failed = bool(differ.any())
    if args.accsim:
        c_out = run_accsim(np, args, q, truth)
        if c_out is None:
            failed = True
        else:
            c_differ = (c_out != truth).any(axis=1)
            print("accsim run --bits 32 (C reference engine) vs TFLite reference kernels: %d of "
                  "%d inputs differ (largest |difference| %d); vs netdesc_ref: %d differ"
                  % (int(c_differ.sum()), args.count, int(np.abs(c_out - truth).max()),
                     int((c_out != got).any(axis=1).sum())))
            failed = failed or bool(c_differ.any())
    print("parity: %s" % ("OK" if not failed else "FAILED"))
    return 1 if failed else 0


def run_accsim(np, args, q, truth):
    """Every output value of `accsim run --bits 32` on q, [count][outputs], or None."""
    work = args.work or tempfile.mkdtemp(prefix="second_model_npy.")
    os.makedirs(work, exist_ok=True)
    np.save(os.path.join(work, "test_images.npy"), q.astype(np.int8))
    np.save(os.path.join(work, "test_labels.npy"), truth.argmax(axis=1).astype(np.int64))
    dump = os.path.join(work, "outputs.csv")
    cmd = [args.accsim, "run", "--model", args.imported, "--data", work, "--split", "test",
           "--bits", "32", "--engine", "cpu", "--dump-outputs", dump, "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print("error: %s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
        return None
    with open(dump) as f:
        rows = list(csv.DictReader(f))
    outs = [[int(row["out%d" % c]) for c in range(truth.shape[1])] for row in rows]
    if not args.work:
        for name in ("test_images.npy", "test_labels.npy", "outputs.csv"):
            os.remove(os.path.join(work, name))
        os.rmdir(work)
    if len(outs) != len(q):
        print("error: accsim dumped %d rows for %d inputs" % (len(outs), len(q)))
        return None
    return np.array(outs, dtype=np.int64)


def run_tflite(np, Interpreter, OpResolverType, model_path, manifest, q):
    """The description's output tensor, per input, from TFLite's reference kernels."""
    it = Interpreter(model_path=model_path, experimental_preserve_all_tensors=True,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    out_index = output_tensor(it, manifest)
    z = int(manifest["input"]["zero_point"])
    outs = []
    for x in q:
        if inp["dtype"] == np.int8:
            feed = x.astype(np.int8)
        else:
            # The float wrapper's QUANTIZE: round((q - z) * s / s) + z == q.
            scale = np.float32(net_input_scale(manifest))
            feed = ((x - z).astype(np.float32) * scale).astype(np.float32)
        it.set_tensor(inp["index"], feed.reshape(inp["shape"]))
        it.invoke()
        outs.append(np.array(it.get_tensor(out_index)).reshape(-1).astype(np.int64))
    return np.stack(outs)


def net_input_scale(manifest):
    """The int8 input's scale (the importer took it from the QUANTIZE's output):
    the affine form's scale, 1.0 for the offset form."""
    quant = manifest["input"]["quantize"]
    return quant["scale"] if quant.get("kind") == "affine" else 1.0


def output_tensor(it, manifest):
    """TFLite's tensor holding the description's output, as the importer chose it:
    the input of the SOFTMAX, else of a final DEQUANTIZE, else the model's output."""
    ops = it._get_ops_details()
    for op in ops:
        if op["op_name"] == "SOFTMAX":
            return int(op["inputs"][0])
    out = it.get_output_details()[0]
    for op in ops:
        if op["op_name"] == "DEQUANTIZE" and int(op["outputs"][0]) == out["index"]:
            return int(op["inputs"][0])
    return int(out["index"])


if __name__ == "__main__":
    sys.exit(main())
