"""``accelrt.Pipeline``: Python functions and runtimes as stages, joined by bounded queues."""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

from . import _native
from ._runner import Runner
from ._stats import PipelineStats

__all__ = ["Pipeline", "PipelineBuilder"]


class PipelineBuilder:
    """Adds stages in order, then :meth:`build`. Every method returns the builder.

    ::

        pipe = (accelrt.Pipeline.builder()
                .stage("decode", decode, workers=2)     # a Python function on 2 threads
                .runtime("model", rt, concurrency=64)   # a Runtime (or Pipeline, ocr.Reader)
                .stage("postprocess", summarize)
                .build())
    """

    def __init__(self) -> None:
        self._stages: List[Tuple[str, str, Any, int]] = []
        self._queue_capacity = 64

    def stage(self, name: str, fn: Callable[[Any], Any], *, workers: int = 1) -> "PipelineBuilder":
        """A stage that calls ``fn(item)`` on ``workers`` threads of its own.

        The threads hold the GIL only while ``fn`` runs, so a function that spends its time in
        code that releases the GIL (numpy, PIL, OpenCV, file and network I/O, another
        accelrt runtime's ``wait()``) runs in parallel on several workers. Pure-Python CPU work
        does not: to spread it over cores, hand it to a ``concurrent.futures.ProcessPoolExecutor``
        inside ``fn`` (``return pool.submit(work, item).result()``), with ``workers`` set to the
        pool's size. An exception fails that item alone (:class:`StageError`).
        """
        self._stages.append(("fn", name, fn, workers))
        return self

    def runtime(self, name: str, runtime: Any, *, concurrency: int = 64) -> "PipelineBuilder":
        """A stage that runs each item on ``runtime`` (a :class:`Runtime`, a :class:`Pipeline`
        or an ``ocr.Reader``), with up to ``concurrency`` items in flight so it can batch them.
        An item may be an array, a dict of input name → array, or the previous runtime stage's
        output (which stays in Rust until a Python stage needs it).
        """
        self._stages.append(("runtime", name, runtime, concurrency))
        return self

    def queue_capacity(self, n: int) -> "PipelineBuilder":
        """Items that may wait in front of each stage (default 64)."""
        self._queue_capacity = n
        return self

    def build(self) -> "Pipeline":
        """Checks the stages and starts their threads (``ConfigError`` on a bad setting)."""
        return Pipeline(list(self._stages), queue_capacity=self._queue_capacity)


class Pipeline(_native.Pipeline, Runner):
    """A pipeline of Python functions and runtimes; make one with :meth:`Pipeline.builder`.

    ``run(x)`` returns a :class:`Task` for the last stage's output, and the same ``await``,
    ``wait()``, ``map``, ``imap``, ``close`` and context managers as a :class:`Runtime`. Each
    item fails alone: an error in any stage resolves its task with :class:`StageError` (its
    ``stage`` and ``error``), and the other items go on.
    """

    __slots__ = ()

    @staticmethod
    def builder() -> PipelineBuilder:
        """A new, empty builder."""
        return PipelineBuilder()

    def stats(self) -> PipelineStats:
        """Counters so far, per stage too (see :class:`PipelineStats`)."""
        return PipelineStats._from(self._stats())
