"""The type stubs match the extension module, and code using the API type-checks."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

PACKAGE = pathlib.Path(__file__).resolve().parents[1]


def test_stubtest_finds_no_difference():
    done = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "accelrt", "--mypy-config-file", str(PACKAGE / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=PACKAGE,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_user_code_type_checks(tmp_path):
    usage = tmp_path / "usage.py"
    usage.write_text(
        textwrap.dedent(
            """
            import asyncio
            from typing import Any, List
            import numpy as np
            import accelrt
            import accelrt.ocr

            async def main(rt: accelrt.Runtime) -> List[Any]:
                task: accelrt.Task[Any] = rt.run(np.zeros((1, 4), np.float32), priority=0, timeout=1.0)
                y = await task
                ys = await asyncio.gather(*(rt.run(np.zeros((1, 4), np.float32)) for _ in range(3)))
                async for z in rt.map([np.zeros((1, 4), np.float32)], window=8):
                    ys.append(z)
                return [y, *ys]

            rt = accelrt.Runtime.sim(max_batch=8, batch_timeout=0.002)
            out = asyncio.run(main(rt))
            stats: accelrt.Stats = rt.stats()
            p50: float = stats.latency.p50
            done: bool = rt.close()
            pipe = accelrt.Pipeline.builder().stage("a", lambda v: v, workers=2).runtime("m", rt).build()
            pages: List[accelrt.ocr.Page] = accelrt.ocr.read(["a.png"])
            try:
                rt.run(np.zeros(1)).wait(timeout=1.0)
            except accelrt.InvalidInputError as e:
                print(e.input, e.expected, e.got)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(usage)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
