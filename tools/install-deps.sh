#!/usr/bin/env bash
# Installs what accsim needs to build, test and draw on Debian 12. Idempotent:
# does nothing when every package is already there.
set -euo pipefail

packages=(
  cmake make gcc pkg-config           # build
  libjson-c-dev                       # JSON (scale.json, reports)
  ocl-icd-opencl-dev opencl-headers   # OpenCL ICD loader and headers
  pocl-opencl-icd clinfo              # OpenCL on any CPU
  libcriterion-dev                    # tests
  clang libclang-rt-14-dev            # libFuzzer harnesses (tools/fuzz.sh)
  gnuplot-nox                         # report plots
  python3 python3-numpy python3-torch # PyTorch cross-check and training tools
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
