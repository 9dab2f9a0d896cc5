"""What the parity tools (tools/tflite_parity.py, tools/onnx_parity.py) share:
the checks of their inputs (with --skip-missing's exit 77), CIFAR-10 records,
and accsim's outputs (a run of `accsim run --dump-outputs`, or its CSV).

NumPy comes in as the argument np: the tools import it late, so that a missing
package is reported (or skipped) rather than a traceback.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

SKIP = 77


def fail_missing(args, msg):
    """Something needed is missing: SKIP (exit 77) under --skip-missing, else an
    error (exit 2)."""
    if args.skip_missing:
        print("SKIP: %s" % msg)
        sys.exit(SKIP)
    print("error: %s" % msg, file=sys.stderr)
    sys.exit(2)


def fail_missing_package(args, e):
    """A package of the tool's (an ImportError e) is not installed."""
    fail_missing(args, "%s (run tools/setup-python-tools.sh and use its python)" % e)


def parser(doc, model_kind, importer):
    """The parser with the arguments check_inputs reads first: --model (a
    model_kind file), --imported (importer's --out), --data and --accsim."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the %s file" % model_kind)
    ap.add_argument("--imported", required=True, help="its import (%s --out)" % importer)
    ap.add_argument("--data", required=True, help="CIFAR-10 directory (test_batch.bin)")
    ap.add_argument("--accsim", help="the accsim binary")
    return ap


def check_inputs(args):
    """The files the arguments name (--model, --data, --accsim, --imported) must
    exist, and at least one side to compare must be given. Returns the path of
    CIFAR-10's test_batch.bin and the import's network.json (a dict)."""
    if not os.path.isfile(args.model):
        fail_missing(args, "model %s not found" % args.model)
    test_batch = os.path.join(args.data, "test_batch.bin")
    if not os.path.isfile(test_batch):
        fail_missing(args, "CIFAR-10 not found in %s" % args.data)
    if not args.accsim and not args.python_reference and not args.outputs_csv:
        print("error: give --accsim PATH, --python-reference or --outputs-csv CSV",
              file=sys.stderr)
        sys.exit(2)
    if args.accsim and not os.access(args.accsim, os.X_OK):
        fail_missing(args, "accsim binary %s not found" % args.accsim)
    manifest_path = os.path.join(args.imported, "network.json")
    if not os.path.isfile(manifest_path):
        fail_missing(args, "no network.json in %s" % args.imported)
    with open(manifest_path) as f:
        return test_batch, json.load(f)


def load_cifar(np, path, offset, limit):
    """Pixels uint8 [N, 3, 32, 32] and labels of records offset..offset+limit-1."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % 3073:
        raise ValueError("%s: not CIFAR-10 records" % path)
    raw = raw.reshape(-1, 3073)[offset:]
    if limit is not None:
        raw = raw[:limit]
    return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)


def run_accsim(np, accsim, imported, data, n, offset):
    """The int8 outputs of `accsim run --bits 32 --engine cpu` on the first n test
    images, and the seconds it took."""
    if offset:
        raise ValueError("--offset is not supported with accsim (it reads from image 0)")
    fd, csv_path = tempfile.mkstemp(prefix="accsim-parity-", suffix=".csv")
    os.close(fd)
    try:
        cmd = [accsim, "run", "--model", imported, "--data", data, "--split", "test",
               "--bits", "32", "--limit", str(n), "--engine", "cpu", "--quiet",
               "--dump-outputs", csv_path]
        t0 = time.time()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        dt = time.time() - t0
        if r.returncode != 0:
            raise RuntimeError("accsim failed (exit %d): %s\n%s" % (r.returncode, " ".join(cmd),
                                                                 r.stderr.strip()))
        return read_outputs_csv(np, csv_path, n, 0), dt
    finally:
        os.unlink(csv_path)


def read_outputs_csv(np, csv_path, n, offset):
    """Outputs of test images offset..offset+n-1 from a --dump-outputs CSV."""
    rows = {}
    with open(csv_path, newline="") as f:
        rd = csv.reader(f)
        header = next(rd, None)
        if not header or header[:4] != ["split", "index", "label", "prediction"]:
            raise RuntimeError("%s: unexpected CSV header %s" % (csv_path, header))
        k = len(header) - 4
        for row in rd:
            if row and row[0] == "test":
                rows[int(row[1])] = [int(v) for v in row[4:4 + k]]
    missing = [i for i in range(offset, offset + n) if i not in rows]
    if missing:
        raise RuntimeError("%s lacks %d images (first %d)" % (csv_path, len(missing), missing[0]))
    return np.array([rows[i] for i in range(offset, offset + n)], dtype=np.int64)
