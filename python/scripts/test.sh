#!/usr/bin/env bash
# Builds the Python package into a fresh virtual environment and runs its tests (pytest).
#
#   python/scripts/test.sh [pytest arguments]
#
# The venv is $ACCELRT_TEST_VENV, else .cache/python-test-venv; it is recreated every run so
# that the tests see exactly what a new user installs. Packages come from PyPI
# (python/tests/requirements.txt); models and ONNX Runtime from the cache ($ACCELRT_CACHE,
# else .cache), fetched from PyPI the first time.
set -euo pipefail
python_dir="$(cd "$(dirname "$0")/.." && pwd)"
root="$(dirname "$python_dir")"
export ACCELRT_CACHE="${ACCELRT_CACHE:-$root/.cache}"
venv="${ACCELRT_TEST_VENV:-$ACCELRT_CACHE/python-test-venv}"
mkdir -p "$ACCELRT_CACHE"

python3 -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$python_dir/tests/requirements.txt"
# An editable install of this checkout, built in the dev profile (shares the workspace's
# target/ with `cargo test`).
(cd "$python_dir" && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --quiet)
cd "$python_dir"
exec "$venv/bin/python" -m pytest "$@"
