#!/bin/sh
# Helper for tests/import.cmake and tests/import_onnx.cmake: runs the import
# tools (import_tflite.py, or import_onnx.py for a .onnx MODEL) under the pinned Python
# environment (tools/setup-python-tools.sh; $ACCSIM_PYTOOLS names its folder)
# and checks the importer's error cases. Exit 77 (skip) when the environment or
# an input cannot be had.
#
#   import_check.sh run SCRIPT ARGS...           run a Python tool
#   import_check.sh import MODEL OUT [ARGS...]   import, skipping when MODEL is absent
#   import_check.sh reject MODEL PATTERN WORK    the import must fail (exit 1) with a
#                                                message matching PATTERN (grep -E) and
#                                                leave no output directory behind
#   import_check.sh overwrite MODEL WORK         a non-empty directory without network.json
#                                                is refused and left as it was; a previous
#                                                import is replaced
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
tool="$root/tools/import_tflite.py"
# The importer for a model file: by its extension.
pick_tool() { case "$1" in *.onnx) tool="$root/tools/import_onnx.py" ;; esac; }

setup_out=$("$root/tools/setup-python-tools.sh")
rc=$?
if [ "$rc" -eq 77 ]; then
  echo "SKIP: the Python environment for the TFLite tools could not be set up"
  exit 77
fi
py=$(printf '%s\n' "$setup_out" | tail -n 1)
if [ "$rc" -ne 0 ] || [ ! -x "$py" ]; then
  echo "FAIL: tools/setup-python-tools.sh exited $rc"
  exit 1
fi

fail() { echo "FAIL: $*"; exit 1; }

mode="$1"; shift
case "$mode" in
run)
  exec "$py" "$@"
  ;;
import)
  model="$1"; shift
  if [ ! -f "$model" ]; then echo "SKIP: model $model not found"; exit 77; fi
  pick_tool "$model"
  exec "$py" "$tool" "$model" --out "$@"
  ;;
reject)
  model="$1"; pattern="$2"; work="$3"
  [ -f "$model" ] || { echo "SKIP: $model not found (import_models skipped?)"; exit 77; }
  mkdir -p "$work"
  pick_tool "$model"
  out="$work/$(basename "${model%.*}").out"
  rm -rf "$out"
  msg=$("$py" "$tool" "$model" --out "$out" 2>&1)
  rc=$?
  echo "$msg"
  [ "$rc" -eq 1 ] || fail "exit status $rc, want 1"
  echo "$msg" | grep -Eq "$pattern" || fail "the message does not match /$pattern/"
  [ ! -e "$out" ] || fail "$out was created"
  ls -a "$work" | grep -q '\.tmp-' && fail "a temporary directory was left in $work"
  echo "OK: rejected as expected"
  ;;
overwrite)
  model="$1"; work="$2"
  [ -f "$model" ] || { echo "SKIP: $model not found (import_models skipped?)"; exit 77; }
  pick_tool "$model"
  rm -rf "$work"; mkdir -p "$work/other"
  echo keep > "$work/other/file.txt"
  "$py" "$tool" "$model" --out "$work/other" --quiet 2>"$work/err.txt"
  rc=$?
  cat "$work/err.txt"
  [ "$rc" -eq 1 ] || fail "importing over a foreign non-empty directory: exit $rc, want 1"
  grep -q "refusing" "$work/err.txt" || fail "no 'refusing' in the message"
  [ "$(ls "$work/other")" = "file.txt" ] && [ "$(cat "$work/other/file.txt")" = keep ] ||
    fail "the foreign directory was changed"
  mkdir "$work/empty"
  "$py" "$tool" "$model" --out "$work/empty" --quiet || fail "import into an empty directory"
  [ -f "$work/empty/network.json" ] || fail "no network.json after importing into an empty directory"
  touch "$work/empty/stale.npy"
  "$py" "$tool" "$model" --out "$work/empty" --quiet || fail "re-import over a previous import"
  [ -f "$work/empty/network.json" ] || fail "no network.json after the re-import"
  [ ! -e "$work/empty/stale.npy" ] || fail "the re-import kept a file of the previous directory"
  ls -a "$work" | grep -q '\.\(tmp\|old\)-' && fail "temporary directories left in $work"
  echo "OK: overwrite rules hold"
  ;;
*)
  echo "usage: import_check.sh run|import|reject|overwrite ..." >&2
  exit 2
  ;;
esac
