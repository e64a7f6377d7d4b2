"""Model files accelrt fetches from PyPI into its cache (``accelrt.models.cache_dir()``)."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from . import _native

__all__ = ["ocr", "test_models", "cache_dir"]


def ocr() -> Dict[str, Path]:
    """The PP-OCRv4 detector, orientation classifier and recogniser (keys ``det``, ``cls``,
    ``rec``), from the ``rapidocr-onnxruntime==1.4.4`` wheel, fetched the first time."""
    return {k: Path(v) for k, v in _native.ocr_models().items()}


def test_models() -> Dict[str, Path]:
    """The ``onnxruntime`` wheel's small test models (``mul_1``, ``sigmoid``, ``logreg_iris``)."""
    return {k: Path(v) for k, v in _native.test_models().items()}


def cache_dir() -> Path:
    """The cache: ``$ACCELRT_CACHE``, else ``$XDG_CACHE_HOME/accelrt`` or ``~/.cache/accelrt``."""
    return Path(_native.cache_dir())
