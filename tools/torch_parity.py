#!/usr/bin/python3
"""Independent cross-check of accsim against PyTorch.

Computes the integer LeNet-5 forward pass of SPEC.md (sections 2, 4, 6) with
torch.nn.functional.conv2d / linear on float64 tensors (every integer involved is
exactly representable), runs `accsim run ... --bits 32 --dump-outputs FILE`, and
compares the 10 outputs of every image. With 8-bit operands no partial sum of
LeNet-5 comes near 2^31, so 32-bit saturating accumulators give the exact sums
that PyTorch computes (checked below for the final accumulators, bias included).

Also checks the model's input.csv/output.csv test vector, when present.

Exit status: 0 when everything matches, 1 on any mismatch, 2 on an error,
77 when the data or the accsim binary is missing and --skip-missing was given.
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import torch
except ImportError as _e:  # Debian's python3-torch / python3-numpy, for /usr/bin/python3
    print("%s: %s (run with /usr/bin/python3; apt-get install python3-torch python3-numpy)"
          % ("SKIP" if "--skip-missing" in sys.argv else "error", _e))
    sys.exit(77 if "--skip-missing" in sys.argv else 2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cifar10  # noqa: E402

SKIP = 77
HEADER = ["split", "index", "label", "prediction"] + ["out%d" % i for i in range(10)]


def check_test_vector(model_dir, m):
    inp = os.path.join(model_dir, "input.csv")
    outp = os.path.join(model_dir, "output.csv")
    if not (os.path.exists(inp) and os.path.exists(outp)):
        print("test vector: none in %s" % model_dir)
        return True
    x = np.loadtxt(inp, dtype=np.float64, ndmin=1)
    want = np.loadtxt(outp, dtype=np.float64, ndmin=1)
    if x.size != 3072 or want.size != 10:
        print("test vector: bad sizes (input %d, output %d)" % (x.size, want.size))
        return False
    q = cifar10.quantize_input_double(x.reshape(1, 3, 32, 32), m["scales"]["input_scale"])
    got = cifar10.forward_int(m, q)[0].numpy()
    ok = np.array_equal(got, want)
    print("test vector: torch %s, output.csv %s: %s"
          % (got.astype(int).tolist(), want.astype(int).tolist(), "match" if ok else "MISMATCH"))
    return ok


def read_dump(path, split):
    rows = {}
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r, None)
        if header is None or [h.strip() for h in header] != HEADER:
            raise ValueError("%s: unexpected header %r" % (path, header))
        for line in r:
            if not line:
                continue
            if len(line) != len(HEADER):
                raise ValueError("%s: bad line %r" % (path, line))
            if line[0].strip() != split:
                raise ValueError("%s: split %r, expected %r" % (path, line[0], split))
            idx = int(line[1])
            if idx in rows:
                raise ValueError("%s: image %d twice" % (path, idx))
            rows[idx] = (int(line[2]), int(line[3]), [int(v) for v in line[4:]])
    return rows


def run_accsim(args, dump):
    cmd = [args.accsim, "run", "--model", args.model, "--data", args.data,
           "--split", args.split, "--bits", "32", "--engine", args.engine,
           "--quiet", "--dump-outputs", dump]
    if args.limit is not None:
        cmd += ["--limit", str(args.limit)]
    print("running: " + " ".join(cmd))
    t = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.time() - t
    if p.returncode != 0:
        sys.stderr.write(p.stdout)
        sys.stderr.write(p.stderr)
        raise RuntimeError("accsim exited with status %d" % p.returncode)
    return dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model directory (course format)")
    ap.add_argument("--data", default=None,
                    help="CIFAR-10 binary directory (default $ACCSIM_DATA, else ../shared/cifar10)")
    ap.add_argument("--accsim", default=None, help="accsim binary (default build/accsim)")
    ap.add_argument("--split", default="test", choices=["test", "train"])
    ap.add_argument("--limit", type=int, default=None, help="first N images only")
    ap.add_argument("--engine", default="cpu", help="accsim --engine (default cpu)")
    ap.add_argument("--torch-only", action="store_true",
                    help="do not run accsim: torch accuracy and the test vector only")
    ap.add_argument("--skip-missing", action="store_true",
                    help="exit 77 (skip) when the data, the model or accsim is missing")
    ap.add_argument("--max-report", type=int, default=5, help="mismatches to print")
    args = ap.parse_args()

    if args.data is None:
        args.data = cifar10.default_data_dir()
    if args.accsim is None:
        args.accsim = os.path.join(cifar10.repo_root(), "build", "accsim")
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

    missing = []
    if not os.path.isdir(args.model):
        missing.append("model directory %s" % args.model)
    need = ["test_batch.bin"] if args.split == "test" else \
        ["data_batch_%d.bin" % i for i in range(1, 6)]
    for n in need:
        if not os.path.isfile(os.path.join(args.data, n)):
            missing.append("CIFAR-10 file %s" % os.path.join(args.data, n))
    if not args.torch_only and not os.access(args.accsim, os.X_OK):
        missing.append("accsim binary %s" % args.accsim)
    if missing:
        for x in missing:
            print(("SKIP: missing " if args.skip_missing else "error: missing ") + x)
        return SKIP if args.skip_missing else 2

    t0 = time.time()
    m = cifar10.load_model(args.model)
    ok = check_test_vector(args.model, m)

    pixels, labels = cifar10.load_split(args.data, args.split, args.limit)
    n = labels.shape[0]
    q = cifar10.quantize_input(pixels, m["scales"]["input_scale"])
    out, maxabs = cifar10.forward_int_batched(m, q, return_acc=True)
    pred = cifar10.predict(out).numpy()
    out_np = out.numpy().astype(np.int64)
    t_torch = time.time() - t0
    torch_acc = 100.0 * float((pred == labels).sum()) / max(n, 1)
    print("torch: %d %s images, accuracy %.2f%% (%d correct), %.1f s"
          % (n, args.split, torch_acc, int((pred == labels).sum()), t_torch))
    worst = max(maxabs.values())
    print("torch: largest |final accumulator| %d (%s)"
          % (int(worst), ", ".join("%s %d" % (k, int(v)) for k, v in maxabs.items())))
    if worst > 2**31 - 1:
        print("warning: an accumulator exceeds int32, so accsim --bits 32 saturates and "
              "cannot equal the exact sums")

    if args.torch_only:
        return 0 if ok else 1

    with tempfile.TemporaryDirectory(prefix="torch_parity.") as tmp:
        dump = os.path.join(tmp, "outputs.csv")
        try:
            t_acc = run_accsim(args, dump)
            rows = read_dump(dump, args.split)
        except (RuntimeError, ValueError, OSError) as e:
            print("error: " + str(e))
            return 2

    print("accsim: %d images in %.1f s" % (len(rows), t_acc))
    mism = []
    bad_meta = []
    acc_correct = 0
    for i in range(n):
        if i not in rows:
            mism.append((i, None))
            continue
        lab, pr, o = rows[i]
        if lab != labels[i] or pr != pred[i]:
            bad_meta.append((i, lab, int(labels[i]), pr, int(pred[i])))
        if lab == pr:
            acc_correct += 1
        if o != out_np[i].tolist():
            mism.append((i, o))
    extra = sorted(set(rows) - set(range(n)))
    accsim_acc = 100.0 * acc_correct / max(n, 1)

    print("compared: %d images, %d output mismatches, %d label/prediction mismatches, "
          "%d unexpected rows" % (n, len(mism), len(bad_meta), len(extra)))
    for i, o in mism[:args.max_report]:
        print("  image %d: torch %s, accsim %s" % (i, out_np[i].tolist(),
                                                   "missing" if o is None else o))
    for i, la, lt, pa, pt in bad_meta[:args.max_report]:
        print("  image %d: label accsim %d torch/data %d, prediction accsim %d torch %d"
              % (i, la, lt, pa, pt))
    if extra:
        print("  unexpected indices: %s" % extra[:args.max_report])
    print("accuracy: torch %.2f%%, accsim %.2f%%" % (torch_acc, accsim_acc))
    ok = ok and not mism and not bad_meta and not extra and len(rows) == n
    print("PARITY %s (%.1f s total)" % ("OK" if ok else "FAILED", time.time() - t0))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(2)
