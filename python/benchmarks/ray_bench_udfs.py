"""The two ``map_batches`` classes that ``ray_bench.py`` compares, and the meter that both carry.

- :class:`OnnxRecipe` is Ray's batch-inference recipe for ONNX Runtime as a user copies it from
  the docs: ``__init__`` opens an ``onnxruntime.InferenceSession`` with default options,
  ``__call__`` runs the whole batch through ``session.run``. Nothing tuned.
- :class:`TimedRecipe` and :class:`TimedAccelrt` are the recipe and ``accelrt.ray.Predictor``
  with a :class:`Meter` around ``__call__``. The meter appends a few one-number-per-row columns
  (``_pid``, ``_anon0``, ``_anon``, ``_rss``, ``_busy``, ``_window``, ``_idle``, ``_calls``,
  ``_cpu``; counters cumulative per actor) to each output batch; the driver keeps, per actor, the largest value of each.

The driver registers this module to be pickled by value, so the Ray workers need nothing on
their path but Ray, onnxruntime and accelrt.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Dict, Optional

import numpy as np

import accelrt.ray

STAT_COLUMNS = ("_pid", "_anon0", "_anon", "_rss", "_busy", "_window", "_idle", "_calls", "_cpu")


def rss_bytes() -> tuple:
    """(RssAnon, RSS) of this process: private memory, and everything resident (which also
    counts the object store's shared pages this actor has read)."""
    found = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("RssAnon:", "VmRSS:")):
                key, value = line.split(":")
                found[key] = int(value.split()[0]) * 1024
    return found["RssAnon"], found["VmRSS"]


def _cpu_seconds() -> float:
    """CPU time of this whole process (every thread: Ray's, the model's, accelrt's)."""
    t = os.times()
    return t.user + t.system


def make_inputs(batch: Dict[str, np.ndarray], side: int) -> Dict[str, np.ndarray]:
    """Row ``i``'s detector input, reproducible from its id alone (the driver regenerates
    sampled rows to check the outputs)."""
    ids = batch["id"]
    return {"id": ids, "x": inputs_for(ids, side)}


def inputs_for(ids, side: int) -> np.ndarray:
    return np.stack([np.random.default_rng(int(i)).random((3, side, side), dtype=np.float32) for i in ids])


class Meter:
    """Per-actor counters: the time the model computed (from ``busy()``), the time with no
    batch inside ``__call__`` (waiting for Ray), the actor's window (first call to now), its
    private memory (RssAnon) when its first call returned (the model's arena has grown to its
    working size by then) and now, its whole RSS now, and the CPU time its process used since
    the first call.

    ``busy`` is a function returning cumulative compute seconds since ``start()``."""

    def __init__(self, busy: Callable[[], float], start: Optional[Callable[[], None]] = None) -> None:
        self._busy = busy
        self._start = start
        self.first: Optional[float] = None
        self.anon0: Optional[int] = None
        self.calls = 0
        self.in_flight = 0
        self.idle = 0.0
        self.idle_since: Optional[float] = None

    def enter(self) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first = now
            self.cpu0 = _cpu_seconds()
            if self._start is not None:
                self._start()
        elif self.in_flight == 0 and self.idle_since is not None:
            self.idle += now - self.idle_since
        self.in_flight += 1
        self.calls += 1

    def leave(self) -> None:
        if self.anon0 is None:
            self.anon0 = rss_bytes()[0]
        self.in_flight -= 1
        if self.in_flight == 0:
            self.idle_since = time.perf_counter()

    def columns(self, out: Dict[str, np.ndarray], n: int) -> Dict[str, np.ndarray]:
        assert self.first is not None
        anon, rss = rss_bytes()
        values = (
            os.getpid(),
            self.anon0 or 0,
            anon,
            rss,
            self._busy(),
            time.perf_counter() - self.first,
            self.idle,
            self.calls,
            _cpu_seconds() - self.cpu0,
        )
        for name, v in zip(STAT_COLUMNS, values):
            out[name] = np.full(n, v, np.int64 if isinstance(v, int) else np.float64)
        return out


# -- the recipe, as the docs show it -----------------------------------------------------------


class OnnxRecipe:
    """Ray Data batch inference with ONNX Runtime, as the docs show it."""

    def __init__(self, model_path: str) -> None:
        import onnxruntime as ort

        self.session = ort.InferenceSession(model_path)
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        (y,) = self.session.run(None, {self.input_name: batch["x"]})
        return {"id": batch["id"], "y": y}


class _TimedSession:
    """An ``InferenceSession`` whose ``run`` adds its duration to ``busy``."""

    def __init__(self, session) -> None:
        self._session = session
        self.busy = 0.0

    def run(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return self._session.run(*args, **kwargs)
        finally:
            self.busy += time.perf_counter() - t

    def __getattr__(self, name):
        return getattr(self._session, name)


class TimedRecipe(OnnxRecipe):
    """The recipe; busy = the sum of ``session.run`` durations. ``intra_op_num_threads``
    (not part of the recipe; ``--recipe-threads``) reopens the session with that many threads,
    to show the recipe tuned to its actor's CPUs."""

    def __init__(self, model_path: str, intra_op_num_threads: Optional[int] = None) -> None:
        super().__init__(model_path)
        if intra_op_num_threads:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = intra_op_num_threads
            self.session = ort.InferenceSession(model_path, options)
        self.session = _TimedSession(self.session)
        self.meter = Meter(busy=lambda: self.session.busy)

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        self.meter.enter()
        try:
            out = super().__call__(batch)
        finally:
            self.meter.leave()
        return self.meter.columns(out, len(out["id"]))


# -- accelrt --------------------------------------------------------------------------------------


class TimedAccelrt(accelrt.ray.Predictor):
    """``accelrt.ray.Predictor``; busy = the runtime's ``instance_busy_fraction`` × uptime,
    averaged over instances, with the stats reset at the first call (the ONNX backend reports no
    device times, so this is each instance's time with a batch in flight, from preparing its
    input to handing out its outputs: a little more than ``session.run`` alone)."""

    def __init__(self, model: str, **kwargs) -> None:
        super().__init__(model, **kwargs)
        self.meter = Meter(busy=self._busy, start=self.runtime.reset_stats)

    def _busy(self) -> float:
        s = self.runtime.stats()
        return s.uptime * float(np.mean(s.instance_busy_fraction))

    async def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        self.meter.enter()
        try:
            out = await super().__call__(batch)
        finally:
            self.meter.leave()
        return self.meter.columns(out, len(out["id"]))
