"""accelrt from Rust, for ``bench.py``: the ``accelrt bench`` command of the CLI (``cli/``), run as
a subprocess with the same model, input shape and engine settings as the Python rounds. It
warms up, resets its counters and then times only the measured requests, as the Python rounds do.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

__all__ = ["RustResult", "build_cli", "run_cli"]

REPO = Path(__file__).resolve().parents[2]


@dataclass
class RustResult:
    throughput: float
    p50: float
    p99: float
    mean_batch: float
    seconds: float


def build_cli() -> Path:
    """``cargo build --release -p accelrt-cli`` (quick when up to date), so that the Rust number
    always comes from the checked-out code; returns the binary's path."""
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "-p", "accelrt-cli"],
        cwd=REPO,
        check=True,
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target.is_absolute():
        target = REPO / target
    return target / "release" / "accelrt"


_UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def _seconds(text: str) -> float:
    value, unit = text.split()
    return float(value) * _UNITS[unit]


def run_cli(binary: Path, args: List[str], env: Optional[Dict[str, str]] = None) -> RustResult:
    """Runs ``accelrt bench ARGS`` and reads its summary row (Concurrency, Completed, Failed,
    Throughput, Mean batch, p50, p90, p99, Max)."""
    proc = subprocess.run(
        [str(binary), "bench", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"accelrt bench {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}")
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Concurrency"))
    cells = re.split(r"\s{2,}", lines[header + 1].strip())
    completed, failed = int(cells[1]), int(cells[2])
    if failed:
        raise RuntimeError(f"accelrt bench: {failed} of {completed + failed} requests failed:\n{proc.stdout}")
    measured = re.search(r"measured: \d+ requests in (.+)$", proc.stdout, re.M)
    return RustResult(
        throughput=float(cells[3].split()[0]),
        mean_batch=float(cells[4]),
        p50=_seconds(cells[5]),
        p99=_seconds(cells[7]),
        seconds=_seconds(measured.group(1)) if measured else float("nan"),
    )
