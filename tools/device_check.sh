#!/bin/bash
# tools/device_check.sh: the GPU check, run on a lent GPU machine that has the
# NVIDIA driver but no OpenCL loader, no packages and no network.
#
# It expects a bundle in .dev/ (built and filled on the development machine):
#   .dev/bin/{accsim,accsim_bench,accsim_bench_network,test_engines,
#             test_network_opencl}          Release builds
#   .dev/lib/    libOpenCL.so.1 (ocl-icd), libjson-c, Criterion and its needs
#   .dev/cifar10/test_batch.bin   .dev/model/   (the course model)
#   .dev/resnet8/   the MLPerf Tiny ResNet-8 as a network description
#                   (accsim import; needs tools/setup-python-tools.sh here)
# and registers the driver's OpenCL library with the loader, then checks the
# GPU against the C reference (accsim verify, test_engines) and measures it
# (per-kernel profile, tools/bench's program, the study on the test split).
# Logs go to $OUT when set. NET_IMAGES (8192) and NET_VERIFY (2000) size the
# network checks (smaller for a try here with LOCAL_CHECK=1).
#
#   tools/device_check.sh bundle [BUILD]  here: fill .dev/ from a Release build
#                                         (default build-perf) and ../shared
#   tools/device_check.sh [quick|network] there (run with carry [".dev"]):
#        quick: the course model's checks only; network: the network
#        engine's checks and speed on ResNet-8 only (issue 11's 1 T
#        clamped-MAC/s); nothing: both, then the course study
#
# .dev/ must be ignored by git (add /.dev/ to .git/info/exclude).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
D=$root/.dev

if [ "${1:-}" = bundle ]; then
    build=${2:-$root/build-perf}
    shared=${ACCSIM_SHARED:-$root/../shared}
    mkdir -p "$D/bin" "$D/lib" "$D/cifar10" "$D/model" || exit 1
    cp "$build/accsim" "$build/accsim_bench" "$build/accsim_bench_network" \
        "$build/test_engines" "$build/test_network_opencl" "$D/bin/" || exit 1
    for l in $(ldd "$build/test_engines" | awk '/=>/ {print $3}' | grep -v 'libc.so\|libm.so\|libresolv'); do
        cp -L "$l" "$D/lib/"
    done
    cp "$shared/cifar10/test_batch.bin" "$shared/cifar10/batches.meta.txt" "$D/cifar10/" || exit 1
    cp "$shared/models/cs5120-2021-lenet5/"* "$D/model/" || exit 1
    if [ ! -f "$D/resnet8/network.json" ]; then
        "$build/accsim" import "$shared/models/mlperf-tiny-resnet8/resnet8_int8.tflite" \
            --out "$D/resnet8" || exit 1
    fi
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

# The network engine on ResNet-8 (12.5 M MACs per image, 10 MAC layers):
# every output, bin, flag, counter and peak against the C reference (which
# runs on the 16 cores), then the speed at B = 32 and 16 with statistics on
# (counters, then output and peak histograms) over a range of batch sizes.
network_checks() {
    local R=$D/resnet8
    step net_verify16 "$A" verify --model "$R" --limit "${NET_VERIFY:-2000}" --bits 16 --psum --quiet
    step net_verify32 "$A" verify --model "$R" --limit "${NET_VERIFY:-2000}" --bits 32 --quiet
    step net_verify_wrap "$A" verify --model "$R" --limit "${NET_VERIFY:-2000}" --bits 13 --overflow wrap --quiet
    step net_verify_layers "$A" verify --model "$R" --limit "${NET_VERIFY:-2000}" \
        --bits 18,17,17,17,17,16,18,17,17,13 --quiet
    step test_network_opencl "$D/bin/test_network_opencl" -j8
    # Most telling first; the rest only while the call has time left (one
    # device call runs at most 10 minutes: stop starting runs after 420 s).
    for run in 4096:0 4096:1 1024:0 16384:0 1024:1 16384:1; do
        local batch=${run%:*} h=${run#*:}
        if [ "$SECONDS" -gt 420 ]; then
            echo "batch $batch hist $h: skipped (time)"
            continue
        fi
        {
            timeout 90 "$D/bin/accsim_bench_network" --model "$R" --images "${NET_IMAGES:-8192}" --repeat 3 \
                --bits 32,16 --hist $h --batch $batch --check 8 >"$out/netbench_${batch}_$h.log" 2>&1
            echo "batch $batch hist $h (rc $?):"
            grep -E 'G MAC/s|differ' "$out/netbench_${batch}_$h.log" | cut -c1-110
        }
    done
    [ "$SECONDS" -gt 480 ] && { echo "profile: skipped (time)"; return; }
    timeout 60 "$D/bin/accsim_bench_network" --model "$R" --images "${NET_IMAGES:-8192}" --repeat 2 --bits 16 \
        --hist 1 --check 0 --profile 1 >"$out/netbench_profile.log" 2>&1
    tail -16 "$out/netbench_profile.log"
}
if [ "${1:-}" = network ]; then
    network_checks
    exit 0
fi

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
network_checks

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
