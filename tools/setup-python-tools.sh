#!/usr/bin/env bash
# Creates (or checks) the virtual environment that the import tools use:
# tools/import_tflite.py, tools/tflite_parity.py, tools/import_onnx.py and
# tools/onnx_parity.py. Idempotent: when the
# environment already holds the pinned packages it does nothing.
#
#   tools/setup-python-tools.sh [VENV_DIR]
#
# VENV_DIR defaults to $ACCSIM_PYTOOLS, else build/pytools under the source root.
# Prints the environment's python on the last line of standard output.
# Exit status: 0 ready, 77 when the packages cannot be had (no network, no
# python3-venv), 1 on any other error.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-${ACCSIM_PYTOOLS:-$root/build/pytools}}"
base_python=/usr/bin/python3

# Pinned for Debian 12's Python 3.11 (checked: these install from PyPI wheels).
requirements=(
  "numpy==2.4.6"
  "flatbuffers==25.12.19"
  "tflite==2.18.0"
  "ai-edge-litert==2.3.0"
  "onnx==1.23.2"
  "onnxruntime==1.32.0"
)
stamp="$venv/.accsim-requirements"
want="$(printf '%s\n' "${requirements[@]}")"
# onnxruntime's library writes a file (.ses) into $TMPDIR when it loads: the
# quick check only finds it; the full import runs once, after installing, with
# TMPDIR in a scratch folder.
check='import importlib.util, numpy, tflite, flatbuffers, onnx; from ai_edge_litert import interpreter; assert importlib.util.find_spec("onnxruntime")'
full_check='import numpy, tflite, flatbuffers, onnx, onnxruntime; from ai_edge_litert import interpreter'

skip() { echo "SKIP: setup-python-tools: $*" >&2; exit 77; }

ready() {
  [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
    "$venv/bin/python" -c "$check" 2>/dev/null
}
if ready; then
  echo "$venv/bin/python"
  exit 0
fi

# One setup at a time for this environment (parallel tests, two shells).
mkdir -p "$(dirname "$venv")"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$venv.lock"
  flock 9
fi
if ready; then   # another setup finished it while this one waited
  echo "$venv/bin/python"
  exit 0
fi

[ -x "$base_python" ] || skip "$base_python not found (apt-get install python3)"

# python3 -m venv needs Debian's python3-venv (ensurepip).
if ! "$base_python" -c 'import venv, ensurepip' 2>/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup-python-tools: installing python3-venv" >&2
  if ! { $sudo apt-get update -qq &&
         DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >&2; }; then
    skip "python3-venv is missing and could not be installed"
  fi
fi

# Build the environment beside its final place, then move it in, so that an
# interrupted run never leaves a half-installed environment that looks ready.
mkdir -p "$(dirname "$venv")"
tmp="$venv.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
"$base_python" -m venv "$tmp" >&2
if ! "$tmp/bin/python" -m pip install --disable-pip-version-check -q \
       --only-binary=:all: "${requirements[@]}" >&2; then
  skip "pip could not install ${requirements[*]} (no network to PyPI?)"
fi
# Scripts in a venv hard-code its path; recreate at the final path instead of
# moving when the two differ (pip's console scripts are not used by the tools).
scratch="$(mktemp -d)"
TMPDIR="$scratch" "$tmp/bin/python" -c "$full_check" >&2 ||
  { rm -rf "$scratch"; echo "setup-python-tools: the installed packages do not import" >&2; exit 1; }
rm -rf "$scratch"
printf '%s\n' "${requirements[@]}" > "$tmp/.accsim-requirements"
rm -rf "$venv"
mv "$tmp" "$venv"
trap - EXIT
# pyvenv.cfg records no path, but bin/activate and the pip scripts name $tmp:
# fix the activate script's VIRTUAL_ENV so `source bin/activate` works too.
sed -i "s|$tmp|$venv|g" "$venv/bin/activate" "$venv/bin/activate.csh" "$venv/bin/activate.fish" 2>/dev/null || true
"$venv/bin/python" -c "$check" >&2 || { echo "setup-python-tools: $venv does not work after the move" >&2; exit 1; }
echo "$venv/bin/python"
