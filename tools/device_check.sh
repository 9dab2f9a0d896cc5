#!/bin/bash
# tools/device_check.sh: the GPU check, run on a lent GPU machine that has the
# NVIDIA driver but no OpenCL loader, no packages and no network.
#
# It expects a bundle in .dev/ (built and filled on the development machine):
#   .dev/bin/{accsim,accsim_bench,test_engines}   Release builds
#   .dev/lib/    libOpenCL.so.1 (ocl-icd), libjson-c, Criterion and its needs
#   .dev/cifar10/test_batch.bin   .dev/model/   (the course model)
# and registers the driver's OpenCL library with the loader, then checks the
# GPU against the C reference (accsim verify, test_engines) and measures it
# (per-kernel profile, tools/bench's program, the study on the test split).
# Logs go to $OUT when set.
#
#   tools/device_check.sh bundle [BUILD]  here: fill .dev/ from a Release build
#                                         (default build-perf) and ../shared
#   tools/device_check.sh [quick]         there (run with carry [".dev"])
#
# .dev/ must be ignored by git (add /.dev/ to .git/info/exclude).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
D=$root/.dev

if [ "${1:-}" = bundle ]; then
    build=${2:-$root/build-perf}
    shared=${ACCSIM_SHARED:-$root/../shared}
    mkdir -p "$D/bin" "$D/lib" "$D/cifar10" "$D/model" || exit 1
    cp "$build/accsim" "$build/accsim_bench" "$build/test_engines" "$D/bin/" || exit 1
    for l in $(ldd "$build/test_engines" | awk '/=>/ {print $3}' | grep -v 'libc.so\|libm.so\|libresolv'); do
        cp -L "$l" "$D/lib/"
    done
    cp "$shared/cifar10/test_batch.bin" "$shared/cifar10/batches.meta.txt" "$D/cifar10/" || exit 1
    cp "$shared/models/cs5120-2021-lenet5/"* "$D/model/" || exit 1
    du -sh "$D"
    exit 0
fi
out=${OUT:-/tmp/device_check}
mkdir -p "$out"
export LD_LIBRARY_PATH=$D/lib
export ACCSIM_DATA=$D/cifar10 ACCSIM_MODEL=$D/model
A=$D/bin/accsim

if [ -z "${LOCAL_CHECK:-}" ]; then # LOCAL_CHECK=1: try the script here, on PoCL
nvlib=""
for f in /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 \
    /usr/lib64/libnvidia-opencl.so.1; do
    [ -e "$f" ] && { nvlib=$f; break; }
done
[ -z "$nvlib" ] && nvlib=$(find / -xdev -name 'libnvidia-opencl.so*' 2>/dev/null | head -1)
if [ -z "$nvlib" ]; then
    echo "no libnvidia-opencl found"; ls /usr/local/nvidia/lib64 2>&1 | head -40; exit 1
fi
mkdir -p /tmp/icd && echo "$nvlib" >/tmp/icd/nvidia.icd
export OCL_ICD_VENDORS=/tmp/icd
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
fi
"$A" devices 2>&1 | tee "$out/devices.txt"

step() { # name, command...: runs with a time limit, logs, prints a one-line result
    local name=$1; shift
    local t0 t1 rc
    t0=$(date +%s%N)
    timeout 120 "$@" >"$out/$name.log" 2>&1
    rc=$?
    t1=$(date +%s%N)
    printf '%-16s rc=%-3s %6.1fs  %s\n' "$name" "$rc" "$(awk "BEGIN{print ($t1-$t0)/1e9}")" \
        "$( (grep -E 'identical|differ|Synthesis' "$out/$name.log" || grep -i -m2 error "$out/$name.log") | head -2 | tr '\n' ' ' | cut -c1-150)"
}

# Correctness first: every field, bit for bit, against the C reference.
step verify_s16 "$A" verify --split test --limit 3000 --bits 16 --quiet
step verify_perlayer "$A" verify --split test --limit 3000 --bits 17,16,16,14,16 --quiet
step verify_wrap12 "$A" verify --split test --limit 3000 --bits 12 --overflow wrap --quiet
step verify_s8 "$A" verify --split test --limit 3000 --bits 8 --quiet
step verify_s24 "$A" verify --split test --limit 3000 --bits 24 --quiet
step verify_wrap5 "$A" verify --split test --limit 3000 --bits 5,9,7,6,4 --overflow wrap --quiet
step verify_s32 "$A" verify --split test --limit 3000 --bits 32 --quiet
step test_engines "$D/bin/test_engines" -j8
[ "${1:-}" = quick ] && exit 0

# Where the time goes, then the benchmark (C reference on 16 cores beside).
for b in 16 24; do
    ACCSIM_OPENCL_PROFILE=1 "$A" run --split test --bits $b --quiet >/dev/null 2>"$out/profile_$b.log"
    echo "profile B=$b"; cat "$out/profile_$b.log"
done
for r in 14 4; do
    ACCSIM_OPENCL_C1_ROWS=$r ACCSIM_OPENCL_PROFILE=1 "$A" run --split test --bits 16 --quiet \
        >/dev/null 2>"$out/profile_rows$r.log"
    echo "C1_ROWS=$r: $(grep conv1 "$out/profile_rows$r.log")"
done
for b in 16 24; do
    "$D/bin/accsim_bench" --data "$ACCSIM_DATA" --model "$ACCSIM_MODEL" --split test \
        --cpu-images 2000 --opencl-images 10000 --repeat 10 --bits $b 2>&1 | tee "$out/bench_$b.md" | grep -E '^\| (C ref|OpenCL)|x$'
done
ACCSIM_OPENCL_CHUNK=8192 "$D/bin/accsim_bench" --data "$ACCSIM_DATA" --model "$ACCSIM_MODEL" \
    --split test --cpu-images 10 --opencl-images 10000 --repeat 10 --modes 1 2>&1 |
    grep -E '^\| OpenCL' | sed 's/^/chunk 8192: /'
( time timeout 150 "$A" study --split test --out /tmp/study_np --quiet --no-prove ) >"$out/study_noprove.log" 2>&1
( time timeout 200 "$A" study --split test --out /tmp/study ) >"$out/study.log" 2>&1
echo "study --split test --no-prove: $(grep real "$out/study_noprove.log")"
echo "study --split test:            $(grep real "$out/study.log")"
grep -h "search on\|proved" "$out/study.log" | cut -c1-200
cp /tmp/study/timing.json "$out/study_timing.json" 2>/dev/null
cp /tmp/study/summary.md "$out/study_summary.md" 2>/dev/null
