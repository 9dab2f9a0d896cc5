#!/usr/bin/env python3
"""Unit checks of tools/import_tflite.py's arithmetic (TFLite's Prepare-time
helpers) and of netdesc_ref.py's fixed-point helpers and rounding rules, on
hand-computed cases; and the ties model (tests/make_tflite_models.py) imported
and compared with TFLite's reference kernels on random images.

With --accsim ACCSIM --models DIR [--data CIFAR]: instead, the command-level
tests of `accsim import` and `--model MODEL.tflite` (docs/import.md).
Prints 'N passed, N failed' and exits 1 on any failure."""
import json
import math
import os
import signal
import subprocess
import sys
import time

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


# --- accsim import and --model MODEL.tflite (with --accsim ACCSIM --models DIR) -----

def accsim_cmd(accsim, args, env=None, timeout=600):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([accsim] + args, capture_output=True, text=True, env=e, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def leftovers(d):
    """Temporary names left in d (the importer's .X.tmp-*, accsim's .X.tmp.*, .X.old.*)."""
    return sorted(n for n in os.listdir(d) if ".tmp" in n or ".old" in n)


def fake_tools(d, importer_body):
    """A tools directory whose setup script prints this python and whose
    import_tflite.py is importer_body (stdlib only)."""
    os.makedirs(d)
    with open(os.path.join(d, "setup-python-tools.sh"), "w") as f:
        f.write("#!/bin/bash\necho %s\n" % sys.executable)
    with open(os.path.join(d, "import_tflite.py"), "w") as f:
        f.write(importer_body)


# Makes its --out directory, says so in a file, then waits to be stopped.
SLOW_IMPORTER = r"""
import os, sys, time
out = sys.argv[sys.argv.index("--out") + 1]
os.makedirs(out)
open(os.path.join(out, "network.json"), "w").write("{}")
with open(os.environ["FAKE_READY"], "w") as f:
    f.write(str(os.getpid()))
time.sleep(60)
"""


def interrupted_import(accsim, tmp, args, what):
    """accsim stopped by SIGTERM while its importer runs: exit 143, the
    importer stopped, nothing left in TMPDIR nor next to --out."""
    tools = os.path.join(tmp, "slow_tools")
    if not os.path.isdir(tools):
        fake_tools(tools, SLOW_IMPORTER)
    tmpdir = os.path.join(tmp, "tmpdir_" + what)
    os.makedirs(tmpdir)
    ready = os.path.join(tmp, "ready_" + what)
    env = dict(os.environ, ACCSIM_TOOLS=tools, TMPDIR=tmpdir, FAKE_READY=ready)
    p = subprocess.Popen([accsim] + args, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not os.path.exists(ready) and time.time() - t0 < 60 and p.poll() is None:
        time.sleep(0.05)
    time.sleep(0.2)
    pid = int(open(ready).read()) if os.path.exists(ready) else 0
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    check("%s: SIGTERM during the import: exit 143 (%s)" % (what, err.strip()), p.returncode, 143)
    alive = True
    for _ in range(100):
        try:
            os.kill(pid, 0)
            time.sleep(0.05)
        except OSError:
            alive = False
            break
    check("%s: the importer was stopped" % what, alive, False)
    check("%s: TMPDIR left empty" % what, os.listdir(tmpdir), [])


def command_tests(accsim, models, data):
    import shutil
    import tempfile
    ties = os.path.join(models, "ties.tflite")
    if not os.path.isfile(ties):
        print("note: command tests skipped: %s not found" % ties)
        return
    with tempfile.TemporaryDirectory() as tmp:
        # Success: a whole description with the report marker, a summary on stdout.
        out = os.path.join(tmp, "ties")
        rc, so, se = accsim_cmd(accsim, ["import", ties, "--out", out])
        check("import: exit 0 (%s)" % se.strip(), rc, 0)
        check("import: summary names the MAC layers", "2 MAC layers (dense_3,dense_6)" in so, True)
        check("import: network.json", os.path.isfile(os.path.join(out, "network.json")), True)
        check("import: marker", os.path.isfile(os.path.join(out, ".accsim-report")), True)
        check("import: no temporary names left", leftovers(tmp), [])
        # Again over it: replaced whole (a stale file goes).
        open(os.path.join(out, "stale.npy"), "w").close()
        rc, _, se = accsim_cmd(accsim, ["import", ties, "--out", out, "--quiet"])
        check("re-import: exit 0 (%s)" % se.strip(), rc, 0)
        check("re-import: stale file gone", os.path.exists(os.path.join(out, "stale.npy")), False)
        # The importer's own options after "--": --name reaches network.json;
        # an option it does not know is its refusal, passed through.
        named = os.path.join(tmp, "named")
        rc, _, se = accsim_cmd(accsim, ["import", ties, "--out", named, "--", "--name", "custom_net"])
        check("import -- --name: exit 0 (%s)" % se.strip(), rc, 0)
        with open(os.path.join(named, "network.json")) as f:
            check("import -- --name: the name in network.json",
                  json.load(f).get("name"), "custom_net")
        rc, _, se = accsim_cmd(accsim, ["import", ties, "--out", os.path.join(tmp, "bogus"), "--",
                                        "--no-such-option"])
        check("import -- --no-such-option: exit 1", rc, 1)
        check("import -- --no-such-option: the importer's message",
              "--no-such-option" in se and "import failed" in se, True)
        check("import -- --no-such-option: no output", os.path.exists(os.path.join(tmp, "bogus")),
              False)
        rc, _, se = accsim_cmd(accsim, ["run", "--limit", "1", "--", "--name", "x"])
        check("run --: exit 2", rc, 2)
        check("run --: says only import takes it", "only accsim import takes it" in se, True)
        # A foreign non-empty directory is refused and left alone.
        foreign = os.path.join(tmp, "foreign")
        os.makedirs(foreign)
        open(os.path.join(foreign, "keep.txt"), "w").write("keep")
        rc, _, se = accsim_cmd(accsim, ["import", ties, "--out", foreign])
        check("foreign dir: exit 1", rc, 1)
        check("foreign dir: refusing", "refusing" in se, True)
        check("foreign dir: untouched", os.listdir(foreign), ["keep.txt"])
        # The importer's own refusal passes through; nothing is left behind.
        for name, pattern in [("truncated.tflite", "truncated"),
                              ("notflatbuffer.tflite", "not a TFLite flatbuffer")]:
            bad = os.path.join(tmp, "bad_" + name)
            rc, _, se = accsim_cmd(accsim, ["import", os.path.join(models, name), "--out", bad])
            check("%s: exit 1" % name, rc, 1)
            check("%s: importer's message passed through" % name,
                  pattern in se and "import failed" in se, True)
            check("%s: no output directory" % name, os.path.exists(bad), False)
            check("%s: no temporary names" % name, leftovers(tmp), [])
        # Neither extension nor magic: a clear error before any tool runs.
        junk = os.path.join(tmp, "model.bin")
        open(junk, "w").write("just text\n")
        rc, _, se = accsim_cmd(accsim, ["import", junk, "--out", os.path.join(tmp, "j")])
        check("unknown format: exit 1", rc, 1)
        check("unknown format: message", "neither a TFLite (.tflite) nor an ONNX" in se, True)
        # Usage: the model first, --out required.
        rc, _, se = accsim_cmd(accsim, ["import", "--out", os.path.join(tmp, "u")])
        check("no model: exit 2", rc, 2)
        rc, _, se = accsim_cmd(accsim, ["import", ties])
        check("no --out: exit 2 (%s)" % se.strip(), rc, 2)
        # The importer missing from the tools directory.
        empty = os.path.join(tmp, "empty_tools")
        os.makedirs(empty)
        rc, _, se = accsim_cmd(accsim, ["import", ties, "--out", os.path.join(tmp, "m")],
                               {"ACCSIM_TOOLS": empty})
        check("missing tool: exit 1", rc, 1)
        check("missing tool: message (%s)" % se.strip(),
              "import_tflite.py is not there" in se and "ACCSIM_TOOLS" in se, True)
        onnx = os.path.join(tmp, "x.onnx")
        open(onnx, "wb").write(b"\x08\x07")
        rc, _, se = accsim_cmd(accsim, ["import", onnx, "--out", os.path.join(tmp, "m")],
                               {"ACCSIM_TOOLS": empty})
        check("missing ONNX tool: exit 1", rc, 1)
        check("missing ONNX tool: message (%s)" % se.strip(),
              "ONNX importer" in se and "import_onnx.py is not there" in se, True)
        # The Python environment not available (the setup script exits 77).
        noenv = os.path.join(tmp, "noenv_tools")
        os.makedirs(noenv)
        shutil.copy(os.path.join(os.path.dirname(it.__file__), "import_tflite.py"), noenv)
        with open(os.path.join(noenv, "setup-python-tools.sh"), "w") as f:
            f.write("#!/bin/bash\necho 'SKIP: setup-python-tools: no network' >&2\nexit 77\n")
        rc, _, se = accsim_cmd(accsim, ["import", ties, "--out", os.path.join(tmp, "n")],
                               {"ACCSIM_TOOLS": noenv})
        check("no environment: exit 1", rc, 1)
        check("no environment: says how to get it (%s)" % se.strip(),
              "not available" in se and "setup-python-tools.sh" in se, True)
        check("no environment: no output directory", os.path.exists(os.path.join(tmp, "n")), False)
        # --model MODEL.tflite for other commands: imported into TMPDIR, removed at exit.
        tmpdir = os.path.join(tmp, "tmpdir")
        os.makedirs(tmpdir)
        env = {"TMPDIR": tmpdir}
        rc, so, se = accsim_cmd(accsim, ["energy", "--model", ties, "--bits", "16"], env)
        check("energy --model x.tflite: exit 0 (%s)" % se.strip(), rc, 0)
        check("energy --model x.tflite: layers", "dense_3" in so and "dense_6" in so, True)
        check("energy --model x.tflite: TMPDIR empty after", os.listdir(tmpdir), [])
        # Standard output stays the command's result: the import writes none of it.
        rc, so, se = accsim_cmd(accsim, ["energy", "--model", ties, "--bits", "16", "--json", "-"],
                                env)
        try:
            layers = [l["name"] for l in json.loads(so)["layers"]]
        except (ValueError, KeyError, TypeError) as e:
            layers = "not the JSON result (%s): %r" % (e, so[:200])
        check("energy --model x.tflite --json -: stdout is the JSON result", layers,
              ["dense_3", "dense_6"])
        rc, _, se = accsim_cmd(accsim, ["energy", "--model", os.path.join(models, "truncated.tflite")],
                               env)
        check("energy --model truncated: exit 1", rc, 1)
        check("energy --model truncated: message", "truncated" in se, True)
        check("energy --model truncated: TMPDIR empty after", os.listdir(tmpdir), [])
        if data and os.path.isfile(os.path.join(data, "test_batch.bin")):
            base = ["--data", data, "--limit", "40", "--engine", "cpu", "--quiet"]
            a, b = os.path.join(tmp, "a.csv"), os.path.join(tmp, "b.csv")
            rc, _, se = accsim_cmd(accsim, ["run", "--model", ties, "--dump-outputs", a] + base, env)
            check("run --model x.tflite: exit 0 (%s)" % se.strip(), rc, 0)
            rc, _, se = accsim_cmd(accsim, ["run", "--model", out, "--dump-outputs", b] + base)
            check("run --model DIR: exit 0", rc, 0)
            check("run --model x.tflite: same outputs as the imported DIR",
                  open(a).read() == open(b).read() and len(open(a).read()) > 100, True)
            check("run --model x.tflite: TMPDIR empty after", os.listdir(tmpdir), [])
        else:
            print("note: run --model x.tflite skipped: no CIFAR-10 in %r" % data)
        # Interrupted while the importer runs: everything temporary goes.
        interrupted_import(accsim, tmp, ["energy", "--model", ties], "energy --model")
        dest = os.path.join(tmp, "interrupted")
        interrupted_import(accsim, tmp, ["import", ties, "--out", dest], "import")
        check("import interrupted: no output directory", os.path.exists(dest), False)
        check("import interrupted: no temporary names", leftovers(tmp), [])


def parse_args():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--accsim", help="the accsim binary: also run the command-level tests")
    ap.add_argument("--models", help="tests/make_tflite_models.py's output directory")
    ap.add_argument("--data", help="CIFAR-10 (for run --model x.tflite)")
    return ap.parse_args()


args = parse_args()
if args.accsim:
    command_tests(args.accsim, args.models, args.data)
else:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    ties_model_end_to_end()

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
