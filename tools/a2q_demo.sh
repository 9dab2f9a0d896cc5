#!/usr/bin/env bash
# A2Q end to end: train a small CIFAR-10 CNN with Brevitas's accumulator-aware weight
# quantizer for a P-bit accumulator (tools/a2q_demo.py), export it as QCDQ ONNX, import
# it (tools/import_onnx.py) and let accsim check the guarantee on every image of both
# CIFAR-10 splits: at --bits P with saturating adds, no MAC layer may count a single
# saturation event; at P-1 and P-2 the events are reported (the check can fail).
#
#   tools/a2q_demo.sh [--bits P] [--float-epochs N] [--epochs N] [--train-limit N]
#                     [--limit N] [--onnx FILE] [--work DIR] [--accsim BIN] [--data DIR]
#                     [--precision auto|float32|float64]
#
# --bits: P (default 16); --limit: images per split for accsim (default: all 60,000);
# --onnx: import this exported model instead of training one; --precision: the
# importer's requantization arithmetic (auto: float32, onnxruntime's, when this accsim
# reads it, else float64). The environment (build/a2q-venv, or $ACCSIM_A2Q_VENV) is a
# venv over Debian's /usr/bin/python3 with its python3-torch (1.13), plus pinned PyPI
# packages: brevitas 0.13.4 (installed --no-deps: its metadata asks torch>=1.13, which
# the Debian build's version 1.13.0a0 does not satisfy as a pre-release, yet it works)
# and the few packages it imports, onnx, protobuf and onnxoptimizer for the export.
# Exit status: 0 zero events at P; 1 an event at P, or a step failed; 2 usage;
# 77 torch, a package, CIFAR-10 or the accsim binary cannot be had.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bits=16
float_epochs=2
epochs=2
train_limit=""
limit=""
onnx_in=""
work="$root/build/a2q"
accsim="$root/build/accsim"
data="${ACCSIM_DATA:-$root/../shared/cifar10}"
precision=auto
venv="${ACCSIM_A2Q_VENV:-$root/build/a2q-venv}"
usage() {
  sed -n '7,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case "$1" in
    --bits) bits="$2" ;;
    --float-epochs) float_epochs="$2" ;;
    --epochs) epochs="$2" ;;
    --train-limit) train_limit="$2" ;;
    --limit) limit="$2" ;;
    --onnx) onnx_in="$2" ;;
    --work) work="$2" ;;
    --accsim) accsim="$2" ;;
    --data) data="$2" ;;
    --precision) precision="$2" ;;
    *) usage ;;
  esac
  shift 2
done
case "$bits$float_epochs$epochs$train_limit$limit" in
  *[!0-9]*) echo "a2q_demo: --bits, --float-epochs, --epochs, --train-limit and --limit take numbers" >&2; exit 2 ;;
esac
[ "$bits" -ge 6 ] && [ "$bits" -le 32 ] || { echo "a2q_demo: --bits must be in 6..32" >&2; exit 2; }
case "$precision" in auto|float32|float64) ;; *) echo "a2q_demo: --precision auto|float32|float64" >&2; exit 2 ;; esac

skip() { echo "SKIP: a2q_demo: $*"; exit 77; }
[ -f "$data/test_batch.bin" ] || skip "CIFAR-10 not found in $data"
[ -x "$accsim" ] || skip "no accsim binary at $accsim (build first)"

# Pinned: these import and export with Debian 12's torch 1.13 and numpy 1.24.
# sympy and typing-extensions come with python3-torch (its Debian dependencies).
requirements=(
  "brevitas==0.13.4" "dependencies==2.0.1" "unfoldNd==0.2.3" "packaging==26.4"
  "onnx==1.17.0" "protobuf==7.36.2" "onnxoptimizer==0.4.2"
)
check='import torch, numpy, onnx, onnxoptimizer, brevitas; from brevitas.export import export_onnx_qcdq'
venv_ready() {
  [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.accsim-a2q" 2>/dev/null)" = "${requirements[*]}" ] &&
    "$venv/bin/python" -c "$check" 2>/dev/null
}
make_venv() {
  /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null ||
    skip "/usr/bin/python3 cannot import torch and numpy (apt-get install python3-torch python3-numpy)"
  /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null ||
    skip "python3-venv is missing (tools/setup-python-tools.sh installs it)"
  local tmp="$venv.tmp.$$"
  rm -rf "$tmp"
  /usr/bin/python3 -m venv --system-site-packages "$tmp" >&2
  if ! "$tmp/bin/python" -m pip install --disable-pip-version-check -q --no-deps \
         --only-binary=:all: "${requirements[@]}" >&2; then
    rm -rf "$tmp"
    skip "pip could not install ${requirements[*]} (no network to PyPI?)"
  fi
  "$tmp/bin/python" -c "$check" >&2 || { rm -rf "$tmp"; echo "a2q_demo: the packages do not import" >&2; exit 1; }
  echo "${requirements[*]}" > "$tmp/.accsim-a2q"
  rm -rf "$venv"
  # A venv records its own path in its scripts; python itself runs from anywhere.
  mv "$tmp" "$venv"
}

mkdir -p "$work"
onnx="$work/a2q$bits.onnx"
if [ -n "$onnx_in" ]; then
  onnx="$onnx_in"
else
  venv_ready || make_venv
  train_args=(--data "$data" --acc-bits "$bits" --out "$onnx" --float-epochs "$float_epochs"
              --epochs "$epochs")
  [ -n "$train_limit" ] && train_args+=(--train-limit "$train_limit")
  "$venv/bin/python" -W ignore "$root/tools/a2q_demo.py" "${train_args[@]}"
fi

py="$("$root/tools/setup-python-tools.sh" | tail -n 1)" || {
  rc=$?; [ "$rc" -eq 77 ] && skip "the Python tools' environment cannot be made"; exit "$rc"; }
desc="$work/a2q$bits"
import() {
  "$py" "$root/tools/import_onnx.py" "$onnx" --out "$desc" --name "a2q$bits" --precision "$1"
}
# auto: onnxruntime's float32 requantization when this accsim reads the field.
if [ "$precision" = auto ]; then
  import float32
  if ! "$accsim" run --model "$desc" --data "$data" --limit 1 --engine cpu --quiet >/dev/null 2>&1; then
    echo "a2q_demo: this accsim does not read \"precision\": \"float32\"; importing with float64" \
         "(the QDQ graph's arithmetic in double; the accumulators' guarantee does not depend on it)"
    import float64
  fi
else
  import "$precision"
fi

run_args=(--model "$desc" --data "$data" --split both --engine cpu --overflow saturate --quiet)
[ -n "$limit" ] && run_args+=(--limit "$limit")
status=0
for b in "$bits" $((bits - 1)) $((bits - 2)); do
  json="$work/a2q$bits.run$b.json"
  "$accsim" run "${run_args[@]}" --bits "$b" --json "$json" >/dev/null
  # Every MAC layer's saturation count; at P each must be 0.
  "$py" - "$json" "$b" "$bits" <<'EOF' || status=1
import json, sys
r = json.load(open(sys.argv[1]))
b, p = int(sys.argv[2]), int(sys.argv[3])
events = {l["name"]: (l["saturations"], l["images_saturated"], l["psum_min"], l["psum_max"])
          for l in r["layers"]}
print("--bits %d saturate, %d images (split %s): accuracy %.2f %%"
      % (b, r["images"], r["split"], r["accuracy"]))
for name, (ev, imgs, lo, hi) in events.items():
    print("  %-14s %9d events in %6d images; partial sums %7d .. %7d" % (name, ev, imgs, lo, hi))
total = sum(ev for ev, _, _, _ in events.values())
if b == p:
    print("  A2Q guarantee at P = %d: %s" % (p, "holds (0 events)" if total == 0 else
                                           "BROKEN (%d events)" % total))
    sys.exit(1 if total else 0)
EOF
done
"$accsim" bounds --model "$desc" --data "$data" --split test --limit 1000 --quiet
exit "$status"
