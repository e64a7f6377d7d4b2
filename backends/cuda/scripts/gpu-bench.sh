#!/usr/bin/env bash
# The GPU benchmark and its PyTorch comparison: the one path both `benches/cuda_bench.sh` (from
# a checkout, after building) and the device bundle's `run.sh` (prebuilt) take.
#
#     gpu-bench.sh BENCH_BINARY TORCH_BASELINE_PY OUT_DIR [cuda_bench arguments]
#
# Writes under OUT_DIR: cuda_bench.txt (tables, ASCII timeline), cuda_bench.json,
# cuda_timeline.svg (8 batches at depth 3 from CUDA events), cuda_trace.json (Chrome trace of
# the depth-3 run), torch_baseline.txt and torch_baseline.json (the comparison). Exits with the
# benchmark's status (2: no GPU; 4: no NVRTC or cuBLAS).
set -uo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 BENCH_BINARY TORCH_BASELINE_PY OUT_DIR [cuda_bench arguments]" >&2
    exit 2
fi
bench=$1 baseline=$2 out=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
# shellcheck source=cuda-env.sh
. "$here/cuda-env.sh"

"$bench" --json "$out/cuda_bench.json" --svg "$out/cuda_timeline.svg" --trace "$out/cuda_trace.json" "$@" \
    2>&1 | tee "$out/cuda_bench.txt"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    echo "cuda_bench exited with $status" >&2
    exit "$status"
fi
echo
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
    python3 "$baseline" --from "$out/cuda_bench.json" --out "$out/torch_baseline.json" 2>&1 \
        | tee "$out/torch_baseline.txt"
    exit "${PIPESTATUS[0]}"
else
    echo "PyTorch with CUDA not found: pip install torch, then:" \
        "python3 $baseline --from $out/cuda_bench.json" | tee "$out/torch_baseline.txt"
fi
