#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs packages, builds, and
# runs the whole study on the shipped model and both splits. Arguments go to
# `accsim study` (default: --out report).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
if [ -z "${ACCSIM_DATA:-}" ] && [ ! -d data/cifar-10-batches-bin ] && [ -d ../shared/cifar10 ]; then
  export ACCSIM_DATA="$(cd ../shared/cifar10 && pwd)"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target accsim
[ $# -gt 0 ] || set -- --out report
exec build/accsim study "$@"
