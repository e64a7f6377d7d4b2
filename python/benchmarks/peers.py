"""The Python peers of ``bench.py``, written the way a competent Python user writes them.

- :func:`ort_session`: an ``onnxruntime.InferenceSession`` with the default options (all cores
  for one session), the first thing a user writes.
- :class:`SessionPerThread`: a ``ThreadPoolExecutor`` with one session per thread and
  ``intra_op_num_threads`` split so that threads × intra-op threads = cores.
- :class:`MicroBatcher`: the asyncio micro-batcher of Python serving SDKs (Ray Serve's
  ``@serve.batch`` and the like): requests wait in an ``asyncio.Queue``; one worker takes the
  first, then whatever else arrives within ``timeout``, up to ``max_batch``, concatenates them
  along the first dimension, runs the batch (inline on the loop, or in
  ``loop.run_in_executor``) and sets each caller's future with its row.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

__all__ = ["ort_session", "SessionPerThread", "MicroBatcher", "linear"]


def ort_session(model: str, intra: Optional[int] = None) -> Any:
    """One CPU session; ``intra=None`` keeps onnxruntime's default (one thread per core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if intra is not None:
        options.intra_op_num_threads = intra
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def linear(x: np.ndarray) -> np.ndarray:
    """The zero-cost model of the simulator: ``y = 2x + 1``."""
    return 2.0 * x + 1.0


class SessionPerThread:
    """``pool.map`` over the inputs, each worker thread with a session of its own (made up
    front, so building sessions is not timed). onnxruntime releases the GIL inside ``run``."""

    def __init__(self, model: str, threads: int, intra: int) -> None:
        self.threads = threads
        self.intra = intra
        self._sessions: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        for _ in range(threads):
            self._sessions.put(ort_session(model, intra))
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=threads)
        self._name = ort_session(model, 1).get_inputs()[0].name

    def _run(self, x: np.ndarray, stamps: Optional[List[float]]) -> np.ndarray:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._sessions.get_nowait()
        y = session.run(None, {self._name: x})[0]
        if stamps is not None:  # for the benchmark's latency column
            stamps.append(time.perf_counter())
        return y

    def map(self, xs: List[np.ndarray], stamps: Optional[List[float]] = None) -> List[np.ndarray]:
        return list(self._pool.map(self._run, xs, [stamps] * len(xs)))

    def close(self) -> None:
        self._pool.shutdown()


class MicroBatcher:
    """``await batcher.submit(x)`` (or ``asyncio.gather`` over many): the pattern of the Python
    serving SDKs. ``fn`` takes a batch concatenated along the first dimension and returns one
    row per request. ``inline=True`` runs ``fn`` on the event loop (best when ``fn`` is cheap
    or holds the GIL); else in the loop's default executor (the loop keeps collecting the next
    batch meanwhile). ``coroutine=True`` makes ``submit`` an ``async def`` as the SDKs' decorated
    methods are (``gather`` then wraps every call in an ``asyncio.Task``); otherwise ``submit``
    returns the future itself.

    Build it inside the running loop; ``close()`` stops the worker.
    """

    def __init__(
        self,
        fn: Callable[[np.ndarray], np.ndarray],
        max_batch: int,
        timeout: float,
        *,
        inline: bool,
        coroutine: bool = False,
    ) -> None:
        self.fn = fn
        self.max_batch = max_batch
        self.timeout = timeout
        self.inline = inline
        self._loop = asyncio.get_running_loop()
        self._queue: "asyncio.Queue[Tuple[np.ndarray, asyncio.Future]]" = asyncio.Queue()
        self._worker = self._loop.create_task(self._work())
        self.batches = 0
        self.items = 0
        self.submit: Callable[[np.ndarray], Any] = self._submit_coroutine if coroutine else self._submit_future

    def _submit_future(self, x: np.ndarray) -> "asyncio.Future[np.ndarray]":
        fut = self._loop.create_future()
        self._queue.put_nowait((x, fut))
        return fut

    async def _submit_coroutine(self, x: np.ndarray) -> np.ndarray:
        fut = self._loop.create_future()
        await self._queue.put((x, fut))
        return await fut

    async def _collect(self) -> List[Tuple[np.ndarray, "asyncio.Future[np.ndarray]"]]:
        batch = [await self._queue.get()]
        deadline = self._loop.time() + self.timeout
        while len(batch) < self.max_batch:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            left = deadline - self._loop.time()
            if left <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), left))
            except asyncio.TimeoutError:
                break
        return batch

    async def _work(self) -> None:
        while True:
            batch = await self._collect()
            xs = batch[0][0] if len(batch) == 1 else np.concatenate([x for x, _ in batch])
            try:
                if self.inline:
                    ys = self.fn(xs)
                else:
                    ys = await self._loop.run_in_executor(None, self.fn, xs)
            except Exception as e:  # the whole batch fails, as in the SDKs
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            self.batches += 1
            self.items += len(batch)
            for i, (_, fut) in enumerate(batch):
                if not fut.done():  # a caller may have given up
                    fut.set_result(ys[i : i + 1])

    async def close(self) -> None:
        self._worker.cancel()
        try:
            await self._worker
        except asyncio.CancelledError:
            pass
