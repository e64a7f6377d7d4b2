#!/usr/bin/env bash
# Builds everything the GPU machine runs into one folder (no Rust toolchain needed there):
#
#     bash backends/cuda/scripts/build-device-bundle.sh [DIR]     # default target/cuda-bundle
#
# DIR/bin: the accelrt-cuda unit tests, the CUDA integration tests (tests/cuda.rs) and the
# cuda_bench example, release builds, symbols stripped; DIR/run.sh and the scripts it uses;
# DIR/wheels: NVIDIA's compute-sanitizer wheel from PyPI (skipped when pip cannot fetch it);
# DIR/MANIFEST.txt. Bindings: ACCELRT_CUDA_FEATURE (default cuda-13, the GPU machines' CUDA).
# Then on the GPU machine:  OUT=<results folder> bash DIR/run.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$repo"
dir=${1:-target/cuda-bundle}
feature=${ACCELRT_CUDA_FEATURE:-cuda-13}
major=${feature#cuda-}
flags=(--release --no-default-features --features "$feature")
# Stripped binaries: a tenth of the size, and panics still name the test and line.
export CARGO_PROFILE_RELEASE_STRIP=symbols

# Prints the executables a cargo command built (from its JSON messages).
executables() {
    cargo "$@" --message-format=json-render-diagnostics \
        | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("reason") == "compiler-artifact" and msg.get("executable"):
        print(msg["target"]["name"] + "\t" + msg["executable"])
'
}

rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/wheels"
{
    executables test -p accelrt-cuda "${flags[@]}" --lib --no-run
    executables test -p accelrt "${flags[@]}" --test cuda --no-run
    executables build -p accelrt "${flags[@]}" --example cuda_bench
} > "$dir/executables.tsv"
while IFS=$'\t' read -r name path; do
    case "$name" in
        accelrt_cuda) cp "$path" "$dir/bin/accelrt-cuda-unit-tests" ;;
        cuda) cp "$path" "$dir/bin/cuda-tests" ;;
        cuda_bench) cp "$path" "$dir/bin/cuda_bench" ;;
    esac
done < "$dir/executables.tsv"
rm "$dir/executables.tsv"
for b in accelrt-cuda-unit-tests cuda-tests cuda_bench; do
    [ -x "$dir/bin/$b" ] || { echo "build-device-bundle: $b was not built" >&2; exit 1; }
done

scripts=backends/cuda/scripts
cp "$scripts/run-on-device.sh" "$dir/run.sh"
cp "$scripts/gpu-bench.sh" "$scripts/cuda-env.sh" benches/cuda_torch_baseline.py "$dir/"
chmod +x "$dir/run.sh" "$dir/gpu-bench.sh"

# compute-sanitizer, for machines whose image has no CUDA toolkit.
if [ "$major" = 13 ]; then wheel="nvidia-cuda-sanitizer-api==13.0.*"; else wheel="nvidia-cuda-sanitizer-api-cu12==12.8.*"; fi
if ! python3 -m pip download --quiet --no-deps --dest "$dir/wheels" "$wheel" >/dev/null 2>&1; then
    echo "build-device-bundle: could not fetch $wheel from PyPI; run.sh will use a toolkit's compute-sanitizer if there is one" >&2
fi

glibc=$(for b in "$dir"/bin/*; do objdump -T "$b" 2>/dev/null; done \
    | sed -n 's/.*GLIBC_\([0-9][0-9.]*\).*/\1/p' | sort -t. -k1,1n -k2,2n -u | tail -n1)
{
    echo "accelrt CUDA device bundle"
    echo "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "built:    $(date -u +%Y-%m-%dT%H:%M:%SZ) with $(rustc --version)"
    echo "bindings: $feature"
    echo "needs:    glibc >= ${glibc:-unknown}, an NVIDIA driver for CUDA >= $major, NVRTC and cuBLAS $major"
    echo "files:"
    (cd "$dir" && find . -type f ! -name MANIFEST.txt -printf '  %8s  %p\n' | sort -k2)
} > "$dir/MANIFEST.txt"

bytes=$(du -sb "$dir" | cut -f1)
echo "bundle: $dir, $((bytes / 1024)) KiB"
cat "$dir/MANIFEST.txt"
if [ "$bytes" -ge $((64 * 1024 * 1024)) ]; then
    echo "build-device-bundle: the bundle is 64 MiB or more" >&2
    exit 1
fi
