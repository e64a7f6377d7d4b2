"""Shared fixtures: the cache, real models, tiny ONNX models of every dtype, runtimes."""

from __future__ import annotations

import os
import pathlib
from typing import Dict

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Models and ONNX Runtime are fetched into (and found in) the repository's cache.
os.environ.setdefault("ACCELRT_CACHE", str(ROOT / ".cache"))

import accelrt  # noqa: E402

# The numpy dtypes accelrt takes, with the ONNX element type of each.
DTYPES = {
    "float32": 1,
    "uint8": 2,
    "int8": 3,
    "int32": 6,
    "int64": 7,
    "bool": 9,
    "float16": 10,
    "float64": 11,
}


def _save(model, path: pathlib.Path) -> pathlib.Path:
    import onnx

    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def identity_models(onnx_dir: pathlib.Path) -> Dict[str, pathlib.Path]:
    """One model per dtype: ``y = Identity(x)``, x of shape [N, 3]."""
    from onnx import helper

    out = {}
    for name, elem in DTYPES.items():
        graph = helper.make_graph(
            [helper.make_node("Identity", ["x"], ["y"])],
            f"identity_{name}",
            [helper.make_tensor_value_info("x", elem, ["N", 3])],
            [helper.make_tensor_value_info("y", elem, ["N", 3])],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        out[name] = _save(model, onnx_dir / f"identity_{name}.onnx")
    return out


@pytest.fixture(scope="session")
def two_in_two_out(onnx_dir: pathlib.Path) -> pathlib.Path:
    """Inputs ``a`` and ``b`` (float32 [N, 4]); outputs ``sum`` = a + b and ``prod`` = a * b."""
    from onnx import helper

    f32 = 1
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"]), helper.make_node("Mul", ["a", "b"], ["prod"])],
        "two_in_two_out",
        [helper.make_tensor_value_info("a", f32, ["N", 4]), helper.make_tensor_value_info("b", f32, ["N", 4])],
        [helper.make_tensor_value_info("sum", f32, ["N", 4]), helper.make_tensor_value_info("prod", f32, ["N", 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return _save(model, onnx_dir / "two_in_two_out.onnx")


@pytest.fixture(scope="session")
def ocr_models() -> Dict[str, pathlib.Path]:
    return accelrt.models.ocr()


@pytest.fixture(scope="session")
def det_session(ocr_models):
    """The PP-OCRv4 detector in onnxruntime's own Python API: the reference."""
    import onnxruntime as ort

    return ort.InferenceSession(str(ocr_models["det"]), providers=["CPUExecutionProvider"])


@pytest.fixture
def sim():
    """A zero-delay simulated device batching up to 16 requests."""
    rt = accelrt.Runtime.sim(max_batch=16, parallel=2)
    yield rt
    rt.close()
