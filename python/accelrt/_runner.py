"""What every runner (Runtime, Pipeline, ocr.Reader) offers on top of ``run``: context
managers, and whole datasets through ``map`` (asyncio) and ``imap`` (threads).

``map``/``imap`` keep at most ``window`` requests in flight, as ``accelrt::dataset`` does in
Rust: the next input is read only when a result has been handed out, so memory stays bounded
however long the dataset is. Batching, admission and overlap stay the engine's.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any, AsyncIterator, Iterable, Iterator, Union

from . import _native

__all__ = ["Runner"]


def _progress_bar(progress: Union[bool, dict], inputs: Any) -> Any:
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("progress=True needs tqdm: pip install tqdm (or accelrt[progress])") from e
    options = dict(progress) if isinstance(progress, dict) else {}
    if "total" not in options and hasattr(inputs, "__len__"):
        options["total"] = len(inputs)
    return tqdm(**options)


def _check_window(window: int) -> None:
    if not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be an int >= 1, got {window!r}")


class Runner:
    """Mixin of the runner classes; needs ``run``, ``close``, ``aclose`` and ``_stats``."""

    __slots__ = ()

    # -- context managers ------------------------------------------------------------------

    def __enter__(self) -> Any:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close()  # type: ignore[attr-defined]

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self.aclose()  # type: ignore[attr-defined]

    # -- datasets --------------------------------------------------------------------------

    def imap(
        self,
        inputs: Iterable[Any],
        *,
        window: int = 128,
        ordered: bool = True,
        return_exceptions: bool = False,
        progress: Union[bool, dict] = False,
    ) -> Iterator[Any]:
        """Runs every input, at most ``window`` in flight, and yields the results: in input
        order (``ordered=True``) or as they finish. For plain (non-async) code; each wait
        releases the GIL.

        A failed input raises its error at its place in the iteration (and stops it), unless
        ``return_exceptions=True``, which yields the exception object in its place instead.
        ``progress=True`` (or a dict of ``tqdm`` options) shows a progress bar. Leaving the
        loop early cancels the requests still in flight.
        """
        _check_window(window)
        bar = _progress_bar(progress, inputs)
        run = self.run  # type: ignore[attr-defined]

        def take(task: Any) -> Any:
            try:
                return task.wait()
            except Exception as e:
                if return_exceptions:
                    return e
                raise
            finally:
                if bar is not None:
                    bar.update(1)

        pending: Any
        try:
            if ordered:
                pending = collections.deque()
                for x in inputs:
                    pending.append(run(x))
                    if len(pending) >= window:
                        yield take(pending.popleft())
                while pending:
                    yield take(pending.popleft())
            else:
                done = _native.Completions()
                pending = set()
                for x in inputs:
                    task = run(x)
                    pending.add(task)
                    done.add(task)
                    if len(pending) >= window:
                        finished = done.get()
                        pending.discard(finished)
                        yield take(finished)
                while pending:
                    finished = done.get()
                    pending.discard(finished)
                    yield take(finished)
        finally:
            for task in pending:
                task.cancel()
            if bar is not None:
                bar.close()

    async def map(
        self,
        inputs: Union[Iterable[Any], AsyncIterator[Any]],
        *,
        window: int = 128,
        ordered: bool = True,
        return_exceptions: bool = False,
        progress: Union[bool, dict] = False,
    ) -> AsyncIterator[Any]:
        """``async for y in runner.map(inputs)``: runs every input of an iterable or async
        iterable, at most ``window`` in flight, and yields the results in input order
        (``ordered=True``) or as they finish. Errors, ``progress`` and early exit as in
        :meth:`imap`.
        """
        _check_window(window)
        bar = _progress_bar(progress, inputs)
        run = self.run  # type: ignore[attr-defined]

        async def take(task: Any) -> Any:
            try:
                return await task
            except Exception as e:
                if return_exceptions:
                    return e
                raise
            finally:
                if bar is not None:
                    bar.update(1)

        source = _aiter(inputs)
        pending: Any
        try:
            if ordered:
                pending = collections.deque()
                async for x in source:
                    pending.append(run(x))
                    if len(pending) >= window:
                        yield await take(pending.popleft())
                while pending:
                    yield await take(pending.popleft())
            else:
                done: asyncio.Queue = asyncio.Queue()
                pending = set()
                async for x in source:
                    task = run(x)
                    pending.add(task)
                    task.add_done_callback(done.put_nowait)
                    if len(pending) >= window:
                        finished = await done.get()
                        pending.discard(finished)
                        yield await take(finished)
                while pending:
                    finished = await done.get()
                    pending.discard(finished)
                    yield await take(finished)
        finally:
            for task in pending:
                task.cancel()
            if bar is not None:
                bar.close()


async def _aiter(inputs: Union[Iterable[Any], AsyncIterator[Any]]) -> AsyncIterator[Any]:
    if hasattr(inputs, "__aiter__"):
        async for x in inputs:  # type: ignore[union-attr]
            yield x
    else:
        for x in inputs:  # type: ignore[union-attr]
            yield x

