#!/usr/bin/env bash
# The CUDA backend's GPU benchmark and its PyTorch comparison, from one command:
#
#     bash benches/cuda_bench.sh [extra cuda_bench arguments]
#
# Needs an NVIDIA GPU and driver. NVRTC and cuBLAS come from the CUDA toolkit if it is on the
# library path, otherwise from the pip wheels PyTorch installs (nvidia-cuda-nvrtc-cu12,
# nvidia-cublas-cu12), whose lib directories are added to LD_LIBRARY_PATH here.
set -euo pipefail
cd "$(dirname "$0")/.."

wheel_libs=$(python3 - <<'PY' 2>/dev/null || true
import importlib, os
dirs = []
for pkg in ("cuda_nvrtc", "cublas", "cuda_runtime"):
    try:
        m = importlib.import_module("nvidia." + pkg)
        dirs.append(os.path.join(list(m.__path__)[0], "lib"))
    except Exception:
        pass
print(":".join(d for d in dirs if os.path.isdir(d)))
PY
)
if [ -n "$wheel_libs" ]; then
    export LD_LIBRARY_PATH="${wheel_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

out=target/cuda_bench.json
cargo run --release --example cuda_bench -- --json "$out" "$@"
echo
if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
    python3 benches/cuda_torch_baseline.py --from "$out"
else
    echo "PyTorch with CUDA not found: pip install torch, then: python3 benches/cuda_torch_baseline.py --from $out"
fi
