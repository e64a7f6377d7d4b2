"""Small helpers the tests share."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

import accelrt


def slow_sim(compute: float = 0.1, **kw) -> accelrt.Runtime:
    """A simulated device that runs one request at a time, ``compute`` seconds each, so
    requests pile up in its queue."""
    options = dict(max_batch=1, depth=1, compute=compute)
    options.update(kw)
    return accelrt.Runtime.sim(**options)


def x4(value: float) -> np.ndarray:
    """A simulator input: float32 [1, 4] filled with ``value``."""
    return np.full((1, 4), value, np.float32)


def run_python(code: str, timeout: float = 60, **kw):
    """Runs ``code`` in a new interpreter of this environment."""
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, **kw)


def until_started(rt: accelrt.Runtime, timeout: float = 10.0) -> None:
    """Waits until nothing of ``rt`` is queued: its requests so far have reached the device."""
    import time

    end = time.monotonic() + timeout
    while rt.stats().queued:
        if time.monotonic() > end:
            raise AssertionError("requests stayed queued")
        time.sleep(0.001)
