#!/usr/bin/env bash
# The CUDA backend's GPU benchmark and its PyTorch comparison, from one command in a checkout:
#
#     bash benches/cuda_bench.sh [cuda_bench arguments]
#
# Builds examples/cuda_bench in release with the CUDA bindings that match the driver (`cuda-13`
# when nvidia-smi reports CUDA 13, else `cuda-12`; set ACCELRT_CUDA_FEATURE to choose), then
# runs backends/cuda/scripts/gpu-bench.sh, the same path the prebuilt device bundle takes.
# Results go to target/cuda_bench/. NVRTC and cuBLAS come from a CUDA toolkit or from the
# pip wheels PyTorch installs (see backends/cuda/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

feature=${ACCELRT_CUDA_FEATURE:-}
if [ -z "$feature" ]; then
    cuda=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9]*\).*/\1/p' | head -n1 || true)
    if [ "${cuda:-0}" -ge 13 ]; then feature=cuda-13; else feature=cuda-12; fi
fi
cargo build --release -p accelrt --no-default-features --features "$feature" --example cuda_bench
exec bash backends/cuda/scripts/gpu-bench.sh target/release/examples/cuda_bench \
    benches/cuda_torch_baseline.py target/cuda_bench "$@"
