#!/usr/bin/env bash
# Every test of the project: the Rust workspace's, then the Python package's (pytest, in a
# fresh virtual environment). This is the README's test command; .ci/run runs it after fmt,
# clippy and docs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
python/scripts/test.sh
