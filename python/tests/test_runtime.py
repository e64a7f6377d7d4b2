"""Results: every output compared with the simulator's formula or with onnxruntime's own
Python API on the same input."""

from __future__ import annotations

import asyncio

import numpy as np
import onnxruntime as ort
import pytest
from helpers import x4

import accelrt


def test_sim_computes_a_x_plus_b_for_each_request(sim):
    xs = [np.random.default_rng(i).random((1, 4), dtype=np.float32) for i in range(200)]
    ys = [t.wait() for t in [sim.run(x) for x in xs]]
    for x, y in zip(xs, ys):
        np.testing.assert_array_equal(y, 2 * x + 1)
        assert y.dtype == np.float32 and y.shape == (1, 4)
    # Results are new, writeable arrays.
    ys[0][0, 0] = -1.0


def test_sim_settings_are_the_rust_builders():
    rt = accelrt.Runtime.sim(len=8, a=3.0, b=-1.0, max_batch=4, parallel=2, depth=3, instances=2)
    y = rt.run(np.ones((1, 8), np.float32)).wait()
    np.testing.assert_array_equal(y, np.full((1, 8), 2.0, np.float32))
    assert rt.inputs == [{"name": "x", "dtype": "float32", "shape": ["N", 8]}]
    assert rt.outputs[0]["name"] == "y"
    rt.close()


@pytest.mark.parametrize("side", [64, 96, 160])
def test_detector_matches_onnxruntime(ocr_models, det_session, side):
    rng = np.random.default_rng(side)
    images = [rng.random((1, 3, side, side), dtype=np.float32) for _ in range(12)]
    with accelrt.Runtime.onnx(ocr_models["det"], max_batch=4, batch_timeout=0.005, instances=2, intra_threads=1) as rt:
        outs = asyncio.run(_gather(rt, images))
        assert rt.stats().completed == len(images)
    for img, out in zip(images, outs):
        (want,) = det_session.run(None, {"x": img})
        assert out.shape == want.shape == (1, 1, side, side)
        # Batched runs may pick other kernels than single ones: equal up to float rounding.
        np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)


async def _gather(rt, xs):
    return await asyncio.gather(*(rt.run(x) for x in xs))


def test_a_batch_of_rows_in_one_request(ocr_models, det_session):
    images = np.random.default_rng(1).random((3, 3, 64, 64), dtype=np.float32)
    rt = accelrt.Runtime.onnx(ocr_models["det"], max_batch=2)
    out = rt.run(images).wait()
    (want,) = det_session.run(None, {"x": images})
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "dtype", ["float32", "float16", "float64", "int64", "int32", "int8", "uint8", "bool"]
)
def test_every_dtype_in_and_out(identity_models, dtype):
    rng = np.random.default_rng(7)
    if dtype == "bool":
        xs = [rng.random((2, 3)) > 0.5 for _ in range(8)]
    elif dtype.startswith("float"):
        xs = [rng.standard_normal((2, 3)).astype(dtype) for _ in range(8)]
    else:
        info = np.iinfo(dtype)
        xs = [rng.integers(info.min, info.max, (2, 3), dtype=dtype, endpoint=True) for _ in range(8)]
    session = ort.InferenceSession(str(identity_models[dtype]), providers=["CPUExecutionProvider"])
    rt = accelrt.Runtime.onnx(identity_models[dtype], max_batch=4, batch_timeout=0.002)
    for x, y in zip(xs, [rt.run(x) for x in xs]):
        got = y.wait()
        (want,) = session.run(None, {"x": x})
        assert got.dtype == want.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, want)
    rt.close()


def test_dict_and_list_inputs_and_dict_outputs(two_in_two_out):
    session = ort.InferenceSession(str(two_in_two_out), providers=["CPUExecutionProvider"])
    rt = accelrt.Runtime.onnx(two_in_two_out, max_batch=8, batch_timeout=0.002)
    rng = np.random.default_rng(3)
    pairs = [(rng.random((1, 4), dtype=np.float32), rng.random((1, 4), dtype=np.float32)) for _ in range(20)]
    by_name = [rt.run({"a": a, "b": b}) for a, b in pairs]
    by_order = [rt.run([a, b]) for a, b in pairs]
    for (a, b), t1, t2 in zip(pairs, by_name, by_order):
        want = dict(zip(["sum", "prod"], session.run(None, {"a": a, "b": b})))
        for got in (t1.wait(), t2.wait()):
            assert list(got) == ["sum", "prod"]
            np.testing.assert_array_equal(got["sum"], want["sum"])
            np.testing.assert_array_equal(got["prod"], want["prod"])
    assert rt.inputs[0]["name"] == "a" and rt.inputs[1]["name"] == "b"


def test_inputs_in_other_layouts_are_copied_once_and_read_right(ocr_models, det_session):
    img = np.random.default_rng(5).random((1, 3, 64, 64), dtype=np.float32)
    (want,) = det_session.run(None, {"x": img})
    rt = accelrt.Runtime.onnx(ocr_models["det"])
    for variant in [
        np.asfortranarray(img),  # not C-contiguous
        img[:, :, ::-1, :][:, :, ::-1, :],  # negative strides
        img.astype(">f4"),  # big-endian
        np.ascontiguousarray(img).view(np.float32).copy(),  # plain copy
    ]:
        np.testing.assert_array_equal(rt.run(variant).wait(), want)


def test_python_lists_and_buffers_go_through_numpy(sim):
    np.testing.assert_array_equal(sim.run(np.array([[1, 2, 3, 4]], np.float32)).wait(), [[3, 5, 7, 9]])
    # array.array exposes the buffer protocol: numpy reads it without a copy.
    import array

    buf = array.array("f", [1, 2, 3, 4])
    np.testing.assert_array_equal(sim.run(np.frombuffer(buf, np.float32).reshape(1, 4)).wait(), [[3, 5, 7, 9]])


def test_try_run_and_per_request_options(sim):
    assert sim.try_run(x4(1)).wait()[0, 0] == 3
    assert sim.run(x4(2), priority=0, timeout=5.0).wait()[0, 0] == 5
    assert sim.run(x4(3), batch_key=42).wait()[0, 0] == 7


def test_repr_and_spec(sim, ocr_models):
    assert "sim" in repr(sim)
    rt = accelrt.Runtime.onnx(ocr_models["det"])
    assert rt.inputs[0]["name"] == "x" and rt.inputs[0]["dtype"] == "float32"
    assert rt.inputs[0]["shape"][1] == 3
    assert "onnx" in repr(rt)
