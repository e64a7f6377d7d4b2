"""Text in images, with the PP-OCRv4 models: ``accelrt.ocr.read(paths)``.

::

    import accelrt.ocr
    for page in accelrt.ocr.read(["scan1.png", "scan2.jpg"]):
        for line in page.lines:
            print(line.text, line.score, line.box)

Images are paths (``str`` or ``os.PathLike``), the bytes of a PNG or JPEG file, or uint8
arrays of shape (height, width, 3) in RGB order. The models (from the PyPI wheel
``rapidocr-onnxruntime==1.4.4``) are fetched into the cache the first time. Detection,
orientation and recognition run as one pipeline: several images are in flight at once and the
lines of all of them share the recogniser.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union, overload

import numpy as np

from . import _native
from ._runner import Runner
from ._stats import PipelineStats

__all__ = ["Line", "Page", "Reader", "read"]

Image = Union[str, "os.PathLike[str]", bytes, np.ndarray]


@dataclass(frozen=True)
class Line:
    """One line of text.

    Attributes:
        text: what it says.
        score: the recogniser's mean confidence in its characters (0 to 1).
        box: the line's four corners in image pixels, ``(x, y)`` clockwise from the top left
            of the text.
        box_score: the detector's confidence in the box.
        turned: the line was upside down and was read turned 180°.
    """

    text: str
    score: float
    box: List[Tuple[float, float]]
    box_score: float
    turned: bool


@dataclass(frozen=True)
class Page:
    """One image's text: its lines in reading order (top to bottom, left to right)."""

    width: int
    height: int
    lines: List[Line]

    @property
    def text(self) -> str:
        """The lines' texts, one per line."""
        return "\n".join(line.text for line in self.lines)

    def as_dict(self) -> Dict[str, Any]:
        """The page as plain dicts and lists (for JSON, Parquet)."""
        return dataclasses.asdict(self)


class Reader(_native.OcrReader, Runner):
    """An OCR pipeline you keep: ``run(image)`` gives a :class:`Task` for a :class:`Page`;
    ``read``, ``map`` and ``imap`` go over many images. Settings left ``None`` take the
    pipeline's defaults for this machine."""

    __slots__ = ()

    def read(self, images: Iterable[Image], *, window: int = 64, progress: Union[bool, dict] = False) -> List[Page]:
        """Reads every image; the pages come back in input order. The first image that cannot
        be read raises its error (an ``InvalidInputError`` naming the problem)."""
        return list(self.imap(images, window=window, progress=progress))

    def stats(self) -> PipelineStats:
        """Counters so far, per stage (decode, detect, crop, recognize)."""
        return PipelineStats._from(self._stats())


_shared: Optional[Reader] = None
_shared_lock = threading.Lock()


def _reader() -> Reader:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Reader()
        return _shared


def _is_one_image(x: Any) -> bool:
    return isinstance(x, (str, bytes, os.PathLike, np.ndarray))


@overload
def read(images: Image, *, progress: Union[bool, dict] = ...) -> Page: ...  # type: ignore[overload-overlap]
@overload
def read(images: Iterable[Image], *, progress: Union[bool, dict] = ...) -> List[Page]: ...
def read(images: Any, *, progress: Union[bool, dict] = False) -> Any:
    """Reads the text of one image (gives a :class:`Page`) or of many (a list of pages, in
    order), with a reader shared by the whole process (built on first use)."""
    if _is_one_image(images):
        return _reader().run(images).wait()
    return _reader().read(images, progress=progress)
