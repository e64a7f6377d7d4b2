"""``accelrt.Runtime``: one model on one backend."""

from __future__ import annotations

from . import _native
from ._runner import Runner
from ._stats import Stats

__all__ = ["Runtime"]


class Runtime(_native.Runtime, Runner):
    """One model on one backend, with the engine that keeps its device busy.

    Build one with :meth:`Runtime.onnx` (an ONNX model on ONNX Runtime) or :meth:`Runtime.sim`
    (the simulated accelerator). Then::

        task = rt.run(x)          # returns at once; the request is queued
        y = await task            # in asyncio
        y = task.wait()           # in plain code (GIL released while waiting)
        ys = await asyncio.gather(*(rt.run(x) for x in xs))
        async for y in rt.map(dataset): ...
        for y in rt.imap(dataset): ...

    Close it with ``rt.close()`` / ``await rt.aclose()`` (runs what is queued, then stops), or
    use it as a context manager (``with`` / ``async with``). A runtime that is garbage
    collected fails what is still queued with :class:`ShutDownError` and never blocks.
    """

    __slots__ = ()

    def stats(self) -> Stats:
        """Counters so far (see :class:`Stats`)."""
        return Stats._from(self._stats())
