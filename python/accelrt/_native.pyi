"""Type stubs of the Rust extension module (checked against it by tests/test_stubs.py)."""

from __future__ import annotations

import asyncio
import contextvars
import os
from typing import Any, Callable, Dict, Generator, Generic, List, Optional, Sequence, Tuple, TypeVar, Union, final

from typing_extensions import disjoint_base

import numpy as np

__all__ = [
    "ORT_VERSION",
    "__version__",
    "Task",
    "Awaiting",
    "Drain",
    "Completions",
    "Runtime",
    "Built",
    "Pipeline",
    "OcrReader",
    "ocr_models",
    "test_models",
    "cache_dir",
]
__version__: str
ORT_VERSION: str

_T = TypeVar("_T")
_StrPath = Union[str, "os.PathLike[str]"]
# What a model takes: one array, a dict of input name -> array, or a list in input order.
_Inputs = Union[np.ndarray, Dict[str, Any], Sequence[Any], Any]

@final
class Task(Generic[_T]):
    """One request's result: ``await`` it, ``wait()`` for it, or look with ``done()``."""

    def wait(self, timeout: Optional[float] = None) -> _T: ...
    def done(self) -> bool: ...
    def cancelled(self) -> bool: ...
    def cancel(self, msg: Optional[Any] = None) -> bool: ...
    def result(self) -> _T: ...
    def exception(self) -> Optional[BaseException]: ...
    def add_done_callback(self, fn: Callable[[Task[_T]], object], *, context: Optional[contextvars.Context] = None) -> None: ...
    def remove_done_callback(self, fn: Callable[[Task[_T]], object]) -> int: ...
    def get_loop(self) -> asyncio.AbstractEventLoop: ...
    _asyncio_future_blocking: bool
    def __await__(self) -> Generator[Any, None, _T]: ...
    def __iter__(self) -> Generator[Any, None, _T]: ...
    def __class_getitem__(cls, item: Any) -> Any: ...

@final
class Awaiting:
    def __iter__(self) -> Awaiting: ...
    def __next__(self) -> Any: ...
    def send(self, value: Any) -> Any: ...

@final
class Drain:
    def __call__(self, *args: Any, **kwargs: Any) -> None: ...

@final
class Completions:
    """Tasks handed back as they finish: ``add`` them, ``get`` blocks for the next one."""

    def __init__(self) -> None: ...
    def add(self, task: Task[Any]) -> None: ...
    def get(self, timeout: Optional[float] = None) -> Task[Any]: ...
    def __len__(self) -> int: ...

@final
class Built: ...

@disjoint_base
class Runtime:
    """One model on one backend, with the engine that keeps its device busy."""

    def __new__(cls, built: Built) -> Runtime: ...
    @classmethod
    def onnx(
        cls: type[_R],
        model: _StrPath,
        *,
        parallel: int = 1,
        depth: int = 2,
        instances: int = 1,
        max_batch: int = 1,
        batch_timeout: float = 0.0,
        queue_capacity: int = 1024,
        overflow: str = "wait",
        preferred_batch_sizes: Optional[Sequence[int]] = None,
        timeout: Optional[float] = None,
        priority_levels: int = 1,
        pin_cores: Optional[Sequence[int]] = None,
        timeline: bool = False,
        providers: Optional[Sequence[str]] = None,
        intra_threads: Optional[int] = None,
        library_path: Optional[_StrPath] = None,
    ) -> _R: ...
    @classmethod
    def sim(
        cls: type[_R],
        *,
        len: int = 4,
        a: float = 2.0,
        b: float = 1.0,
        model_max_batch: int = 64,
        prepare: float = 0.0,
        h2d: float = 0.0,
        compute: float = 0.0,
        compute_per_item: float = 0.0,
        d2h: float = 0.0,
        synchronous: bool = False,
        faults: Optional[Dict[str, float]] = None,
        parallel: int = 1,
        depth: int = 2,
        instances: int = 1,
        max_batch: int = 1,
        batch_timeout: float = 0.0,
        queue_capacity: int = 1024,
        overflow: str = "wait",
        preferred_batch_sizes: Optional[Sequence[int]] = None,
        timeout: Optional[float] = None,
        priority_levels: int = 1,
        pin_cores: Optional[Sequence[int]] = None,
        timeline: bool = False,
    ) -> _R: ...
    def run(
        self,
        x: _Inputs,
        *,
        priority: int = 0,
        timeout: Optional[float] = None,
        batch_key: Optional[int] = None,
    ) -> Task[Any]: ...
    def try_run(self, x: _Inputs) -> Task[Any]: ...
    def _stats(self) -> Dict[str, Any]: ...
    def reset_stats(self) -> None: ...
    @property
    def inputs(self) -> List[Dict[str, Any]]: ...
    @property
    def outputs(self) -> List[Dict[str, Any]]: ...
    def close(self, timeout: Optional[float] = None) -> bool: ...
    def aclose(self, timeout: Optional[float] = None) -> Task[bool]: ...
    def trace(self) -> str: ...
    def write_trace(self, path: _StrPath) -> None: ...

_R = TypeVar("_R", bound=Runtime)

@disjoint_base
class Pipeline:
    """Python functions and runtimes as the stages of one pipeline."""

    def __new__(cls, stages: List[Tuple[str, str, Any, int]], *, queue_capacity: int = 64) -> Pipeline: ...
    def run(self, x: Any) -> Task[Any]: ...
    def try_run(self, x: Any) -> Task[Any]: ...
    def _stats(self) -> Dict[str, Any]: ...
    @property
    def stages(self) -> List[str]: ...
    def close(self) -> bool: ...
    def aclose(self) -> Task[bool]: ...

@disjoint_base
class OcrReader:
    """The PP-OCRv4 pipeline: ``run(image)`` gives a task for a page."""

    def __new__(
        cls,
        *,
        det_side: Optional[int] = None,
        min_text_score: Optional[float] = None,
        settle_confusables: Optional[bool] = None,
        images_in_flight: Optional[int] = None,
    ) -> OcrReader: ...
    def run(self, image: Union[_StrPath, bytes, np.ndarray]) -> Task[Any]: ...
    def _stats(self) -> Dict[str, Any]: ...
    def close(self) -> bool: ...
    def aclose(self) -> Task[bool]: ...

def ocr_models() -> Dict[str, str]: ...
def test_models() -> Dict[str, str]: ...
def cache_dir() -> str: ...
