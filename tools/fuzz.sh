#!/usr/bin/env bash
# Fuzzes every loader: builds the libFuzzer harnesses of tests/fuzz/ with clang
# (ASan + UBSan) into build-fuzz/ and runs each for SECONDS (default 20) from
# its seed corpus in tests/fuzz/corpus/NAME/. New inputs go to a scratch copy,
# never into the repository. Exits non-zero on any crash, leak, timeout or
# sanitizer report, leaving the input under build-fuzz/artifacts/.
#   tools/fuzz.sh [SECONDS] [NAME ...]      e.g. tools/fuzz.sh 1800 scale_json
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
command -v clang >/dev/null || { echo "fuzz: clang not found (tools/install-deps.sh installs it)" >&2; exit 1; }

CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACCSIM_FUZZ=ON \
  -DACCSIM_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for src in tests/fuzz/fuzz_*.c; do n=$(basename "$src" .c); names+=("${n#fuzz_}"); done
fi
mkdir -p build-fuzz/artifacts
status=0
for name in "${names[@]}"; do
  work=$(mktemp -d)
  log=build-fuzz/fuzz_$name.log
  # Scratch corpus first: libFuzzer adds what it finds to the first directory.
  if build-fuzz/fuzz_"$name" "$work" "tests/fuzz/corpus/$name" -max_total_time="$seconds" \
       -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="build-fuzz/artifacts/$name-" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz $name: ${seconds}s, ${execs:-?} executions, $cov, no finding"
  else
    echo "fuzz $name: FAILED (see $log and build-fuzz/artifacts/)" >&2
    tail -40 "$log" >&2
    status=1
  fi
  rm -rf "$work"
done
exit $status
