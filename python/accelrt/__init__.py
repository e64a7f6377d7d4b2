"""accelrt: keep accelerators busy from Python.

A Rust engine batches, overlaps and schedules requests from every caller without the GIL;
from Python each request is one call that returns a :class:`Task` at once::

    import asyncio, numpy as np, accelrt

    async def main():
        async with accelrt.Runtime.onnx("model.onnx", max_batch=8, batch_timeout=0.002) as rt:
            xs = [np.random.rand(1, 3, 224, 224).astype(np.float32) for _ in range(100)]
            ys = await asyncio.gather(*(rt.run(x) for x in xs))   # batched across callers

    asyncio.run(main())

Plain code blocks with ``rt.run(x).wait()`` (GIL released); datasets go through
``rt.map(...)`` (asyncio) or ``rt.imap(...)`` (threads) with bounded memory; failures are
exceptions by kind (:mod:`accelrt.errors`).
"""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

from . import _native, errors, models
from ._native import ORT_VERSION, Task
from ._stats import Latency, PhaseTimes, PipelineStats, Stats, StageStats
from .errors import (
    AccelrtError,
    BackendError,
    BackendPanicError,
    CancelledError,
    ConfigError,
    DeviceUnavailableError,
    InternalError,
    InvalidInputError,
    QueueFullError,
    ShutDownError,
    StageError,
    TimedOutError,
)
from .pipeline import Pipeline, PipelineBuilder
from .runtime import Runtime

__version__: str = _native.__version__

__all__ = [
    "Runtime",
    "Task",
    "Pipeline",
    "PipelineBuilder",
    "as_completed",
    "Stats",
    "Latency",
    "PhaseTimes",
    "PipelineStats",
    "StageStats",
    # accelrt.errors' classes, named one by one so that type checkers see them exported.
    "AccelrtError",
    "InvalidInputError",
    "QueueFullError",
    "TimedOutError",
    "CancelledError",
    "ShutDownError",
    "BackendError",
    "BackendPanicError",
    "StageError",
    "ConfigError",
    "DeviceUnavailableError",
    "InternalError",
    "errors",
    "models",
    "ORT_VERSION",
    "__version__",
]


def as_completed(tasks: Iterable[Task], timeout: Optional[float] = None) -> Iterator[Task]:
    """Yields the tasks as they finish, for plain (non-async) code: like
    ``concurrent.futures.as_completed``. Each wait releases the GIL; ``TimeoutError`` if
    ``timeout`` seconds pass (counted from the call) before all are done. In asyncio, use
    ``asyncio.as_completed``, which takes tasks as they are.
    """
    import time

    done = _native.Completions()
    count = 0
    for t in tasks:
        done.add(t)
        count += 1
    end = None if timeout is None else time.monotonic() + timeout
    for _ in range(count):
        left = None if end is None else max(0.0, end - time.monotonic())
        yield done.get(left)
