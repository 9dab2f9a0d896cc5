#!/usr/bin/env bash
# Every test, from a fresh Debian 12 machine: installs packages, builds with
# warnings as errors, runs the suite, then runs it again under AddressSanitizer
# and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh

# Real data for the tests that need it: ../shared when present.
if [ -z "${ACCSIM_DATA:-}" ] && [ -d ../shared/cifar10 ]; then
  export ACCSIM_DATA="$(cd ../shared/cifar10 && pwd)"
fi
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACCSIM_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

# The sanitized build runs the C suites; the Python tools are not C code.
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DACCSIM_WERROR=ON -DACCSIM_SANITIZE=ON >/dev/null
cmake --build build-sanitize -j"$jobs"
(cd build-sanitize && UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$jobs" -LE python)

# Every loader fuzzed briefly (libFuzzer, ASan + UBSan); tools/fuzz.sh 1800 for a long run.
tools/fuzz.sh "${ACCSIM_FUZZ_SECONDS:-20}"
