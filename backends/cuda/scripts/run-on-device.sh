#!/usr/bin/env bash
# The device run: the bundle's run.sh (see build-device-bundle.sh). Needs no Rust and no network.
#
#     OUT=<results folder> bash run.sh [all | probe | tests | sanitizer | bench]...
#
# Every result goes under $OUT: machine.txt, probe.txt, tests/*.txt, bench/* (tables, JSON, the
# timeline picture cuda_timeline.svg, a Chrome trace, the PyTorch comparison), sanitizer/*.txt
# and summary.txt, one line per step with its exit status.
# Run from anywhere; the folder it lives in is the bundle. GPU tests run with
# ACCELRT_REQUIRE_GPU=1, so a missing GPU, NVRTC or cuBLAS fails them instead of skipping.
# Steps can be run one call at a time (each is bounded by STEP_TIMEOUT seconds, default 300).
# Exits 3 at once when the probe finds no device, else 1 if any step failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${OUT:?set OUT to the folder the results go to}"
mkdir -p "$OUT"
step_timeout=${STEP_TIMEOUT:-300}
summary="$OUT/summary.txt"
failed=0
# shellcheck source=cuda-env.sh
. "$here/cuda-env.sh"
export ACCELRT_REQUIRE_GPU=1 RUST_BACKTRACE=1

# step NAME COMMAND...: runs COMMAND with output in $OUT/NAME.txt, notes its status.
step() {
    local name=$1
    shift
    mkdir -p "$(dirname "$OUT/$name.txt")"
    echo "== $name"
    timeout "$step_timeout" "$@" > "$OUT/$name.txt" 2>&1
    local rc=$?
    echo "$name: exit $rc$([ $rc -eq 124 ] && echo ' (timed out)')" | tee -a "$summary"
    tail -n 3 "$OUT/$name.txt" | sed 's/^/    /'
    [ $rc -eq 0 ] || failed=1
    return 0
}

machine() {
    {
        date -u
        uname -a
        ldd --version 2>&1 | head -n1
        nvidia-smi 2>&1 || echo "nvidia-smi: not available"
        python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())" 2>&1
        echo "ACCELRT_CUDA_LIB_DIRS=${ACCELRT_CUDA_LIB_DIRS:-}"
        cat "$here/MANIFEST.txt" 2>/dev/null
    } > "$OUT/machine.txt"
}

# The probe decides whether anything else can run: without a device the run ends here. A
# device without NVRTC or cuBLAS (status 4) goes on: the tests then say what fails.
probe() {
    "$here/bin/cuda_bench" --probe > "$OUT/probe.txt" 2>&1
    local rc=$?
    cat "$OUT/probe.txt"
    echo "probe: exit $rc" >> "$summary"
    case $rc in
        0) ;;
        4) echo "probe: NVRTC or cuBLAS missing; the tests will fail and say why" | tee -a "$summary"; failed=1 ;;
        *) echo "no device: nothing else can run here (see $OUT/probe.txt)" | tee -a "$summary"; exit 3 ;;
    esac
}

tests() {
    step tests/unit "$here/bin/accelrt-cuda-unit-tests"
    step tests/cuda "$here/bin/cuda-tests"
}

# A toolkit's compute-sanitizer, else the one in the bundled wheel, unpacked into a temporary
# folder (not under $OUT: only results go there).
find_sanitizer() {
    local s
    for s in "$(command -v compute-sanitizer 2>/dev/null)" /usr/local/cuda/bin/compute-sanitizer \
        /usr/local/cuda-*/bin/compute-sanitizer; do
        [ -n "$s" ] && [ -x "$s" ] && { echo "$s"; return 0; }
    done
    local wheel
    wheel=$(ls "$here"/wheels/nvidia_cuda_sanitizer_api*.whl 2>/dev/null | head -n1)
    [ -n "$wheel" ] || return 1
    local tmp
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/accelrt-sanitizer.XXXXXX") || return 1
    python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" \
        "$wheel" "$tmp" || return 1
    s=$(find "$tmp" -path '*/bin/compute-sanitizer' | head -n1)
    [ -n "$s" ] || return 1
    chmod +x "$s"
    echo "$s"
}

# memcheck and racecheck over the GPU tests, one at a time. API errors the tests provoke on
# purpose (a missing ordinal, a 2 TB allocation) are not reported; real ones fail the tests.
sanitizer() {
    local san
    if ! san=$(find_sanitizer); then
        echo "sanitizer: compute-sanitizer not available (no toolkit, no bundled wheel)" | tee -a "$summary"
        return 0
    fi
    echo "sanitizer: $san ($("$san" --version | tail -n1))" >> "$summary"
    for tool in memcheck racecheck; do
        step "sanitizer/$tool" "$san" --tool "$tool" --error-exitcode 99 --report-api-errors no \
            "$here/bin/cuda-tests" gpu:: --test-threads=1
    done
}

bench() {
    step bench/run bash "$here/gpu-bench.sh" "$here/bin/cuda_bench" "$here/cuda_torch_baseline.py" "$OUT/bench"
}

[ $# -gt 0 ] || set -- all
machine
probe
for what in "$@"; do
    case "$what" in
        all) tests; bench; sanitizer ;; # the slowest last
        probe) ;;
        tests | sanitizer | bench) "$what" ;;
        *) echo "run.sh: unknown step $what (all, probe, tests, sanitizer, bench)" >&2; exit 2 ;;
    esac
done
echo "results in $OUT:"
cat "$summary"
exit $failed
