#!/usr/bin/env python3
"""Parity of an imported TFLite model with TFLite's reference kernels on synthetic
int8 inputs of any shape, for models whose input is not a CIFAR-10 image (accsim's
data sets are CIFAR-10 records; tools/tflite_parity.py needs them).

    second_model_parity.py --model MODEL.tflite --imported DIR [--count N] [--seed S]

The inputs are int8 tensors of the description's input shape: two constant ones
(every value -128, every value 127) and N - 2 uniformly random ones. TFLite
(ai-edge-litert, OpResolverType.BUILTIN_REF) runs each; when the model takes
float32 through a first QUANTIZE (TFLite's float I/O wrapper), it gets
x = (q - z) * s in float32, which that QUANTIZE maps back to q exactly. The
truth is the int8 tensor the description names as its output (the input of a
final SOFTMAX, inside a final DEQUANTIZE). tools/netdesc_ref.py, the NumPy
reference of the description, runs the same int8 inputs; every output value
must be equal. Exit status: 0 equal, 1 any difference, 2 usage, 77 a package or
file missing (with --skip-missing).
"""
import argparse
import json
import os
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the .tflite file")
    ap.add_argument("--imported", required=True, help="its description directory")
    ap.add_argument("--count", type=int, default=50, help="inputs (at least 2)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-missing", action="store_true")
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
    print("parity: %s" % ("OK" if not differ.any() else "FAILED"))
    return 1 if differ.any() else 0


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
