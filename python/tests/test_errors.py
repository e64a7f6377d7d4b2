"""Errors by kind: a bad input fails alone with a message saying which input, what was
expected and what came; every other failure has its own exception class."""

from __future__ import annotations

import asyncio
import pickle

import numpy as np
import pytest
from helpers import slow_sim, until_started, x4

import accelrt


def test_bad_inputs_fail_alone_among_good_ones(ocr_models, det_session):
    good = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
    (want,) = det_session.run(None, {"x": good})
    bad = {
        "wrong dtype": (good.astype(np.float64), ["float32", "float64"]),
        "wrong rank": (good[0], ["float32 [3, 64, 64]"]),
        "object array": (np.array([object(), object()]), ["dtype object"]),
        "0-d": (np.float32(1.0), ["float32 []"]),
        "empty": (np.zeros((0, 3, 64, 64), np.float32), ["a dimension is 0"]),
        "missing name": ({"image": good}, ["\"x\"", "'image'"]),
        "extra name": ({"x": good, "scale": good}, ["scale"]),
        "a string": ("not an image", ["<U12"]),
        "ragged list": ([[1.0, 2.0], [3.0]], ["inhomogeneous"]),
        "wrong channels": (np.zeros((1, 4, 64, 64), np.float32), ["3", "[1, 4, 64, 64]"]),
    }
    rt = accelrt.Runtime.onnx(ocr_models["det"], max_batch=8, batch_timeout=0.05)

    async def main():
        goods = [rt.run(good) for _ in range(4)]
        # Not C-contiguous is not an error: it is copied once (see test_runtime).
        goods.append(rt.run(np.asfortranarray(good)))
        bads = {name: rt.run(x) for name, (x, _) in bad.items()}
        results = await asyncio.gather(*goods, *bads.values(), return_exceptions=True)
        return results[: len(goods)], dict(zip(bads, results[len(goods) :]))

    goods, bads = asyncio.run(main())
    for g in goods:
        np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-5)
    for name, err in bads.items():
        assert isinstance(err, accelrt.InvalidInputError), (name, err)
        assert isinstance(err, ValueError)
        text = str(err)
        for fragment in bad[name][1]:
            assert fragment in text, (name, text)
        if name not in ("extra name",):
            assert err.input == "x", (name, err.input)
        assert err.expected and err.got
    # One message in full, as a user sees it.
    assert str(bads["wrong dtype"]) == 'input "x": expected float32 [p2o.DynamicDimension.0, 3, p2o.DynamicDimension.1, p2o.DynamicDimension.2], got float64 [1, 3, 64, 64]'
    s = rt.stats()
    assert s.completed == 5
    rt.close()


def test_a_request_onnx_runtime_refuses_fails_alone(ocr_models):
    # The detector wants sides that are multiples of 32; ONNX Runtime fails on 50 × 50.
    rt = accelrt.Runtime.onnx(ocr_models["det"], max_batch=4, batch_timeout=0.05)
    ok = [rt.run(np.zeros((1, 3, 64, 64), np.float32)) for _ in range(3)]
    odd = rt.run(np.zeros((1, 3, 50, 50), np.float32))
    for t in ok:
        assert t.wait().shape == (1, 1, 64, 64)
    try:
        out = odd.wait()
    except accelrt.BackendError as e:
        assert "onnx" in str(e).lower() or "run" in str(e).lower()
    else:  # some ONNX Runtime builds pad instead of failing: then it is simply a result
        assert out.shape[0] == 1


def test_queue_full():
    rt = slow_sim(0.2, queue_capacity=2, overflow="reject")
    busy = rt.run(x4(0))
    until_started(rt)
    queued = [rt.run(x4(i)) for i in range(1, 3)]
    over = rt.run(x4(9))
    with pytest.raises(accelrt.QueueFullError) as info:
        over.wait()
    assert info.value.capacity == 2
    assert [t.wait()[0, 0] for t in [busy, *queued]] == [1, 3, 5]
    rt.close()


def test_try_run_refuses_when_full_even_when_run_would_wait():
    rt = slow_sim(0.2, queue_capacity=1)
    busy = rt.run(x4(0))
    until_started(rt)
    queued = rt.run(x4(1))
    with pytest.raises(accelrt.QueueFullError):
        rt.try_run(x4(2)).wait()
    waiting = rt.run(x4(3))  # overflow="wait": lines up for room instead
    assert [t.wait()[0, 0] for t in (busy, queued, waiting)] == [1, 3, 7]
    rt.close()


def test_timed_out_is_a_timeout_error():
    rt = slow_sim(0.3)
    busy = rt.run(x4(0))
    until_started(rt)
    late = rt.run(x4(1), timeout=0.01)
    with pytest.raises(accelrt.TimedOutError) as info:
        late.wait()
    assert isinstance(info.value, TimeoutError)
    assert info.value.timeout == pytest.approx(0.01)
    busy.wait()
    rt.close()


def test_shut_down():
    rt = accelrt.Runtime.sim()
    rt.close()
    with pytest.raises(accelrt.ShutDownError):
        rt.run(x4(1)).wait()


def test_backend_errors_fail_the_batch_others_go_on():
    rt = accelrt.Runtime.sim(max_batch=1, faults={"fail_value": 5.0, "fail_item_value": 6.0})
    with pytest.raises(accelrt.BackendError):
        rt.run(x4(5)).wait()
    with pytest.raises(accelrt.BackendError):
        rt.run(x4(6)).wait()
    assert rt.run(x4(1)).wait()[0, 0] == 3


def test_a_backend_panic_becomes_an_exception_and_the_runtime_keeps_serving():
    rt = accelrt.Runtime.sim(max_batch=1, faults={"panic_value": 7.0})
    with pytest.raises(accelrt.BackendPanicError) as info:
        rt.run(x4(7)).wait()
    assert isinstance(info.value, accelrt.BackendError)
    assert [rt.run(x4(i)).wait()[0, 0] for i in range(3)] == [1, 3, 5]


def test_config_errors_are_value_errors(ocr_models):
    with pytest.raises(accelrt.ConfigError) as info:
        accelrt.Runtime.sim(max_batch=0)
    assert isinstance(info.value, ValueError)
    assert "max_batch" in str(info.value)
    with pytest.raises(accelrt.ConfigError):
        accelrt.Runtime.sim(max_batch=65)  # the simulated model takes 64
    with pytest.raises(ValueError):
        accelrt.Runtime.sim(overflow="sometimes")
    with pytest.raises(ValueError):
        accelrt.Runtime.sim(batch_timeout=-1)
    with pytest.raises(ValueError):
        accelrt.Runtime.onnx(ocr_models["det"], providers=["tpu"])
    with pytest.raises(accelrt.AccelrtError):
        accelrt.Runtime.onnx("/nonexistent/model.onnx")


def test_errors_pickle_with_their_fields():
    rt = accelrt.Runtime.sim()
    try:
        rt.run(np.zeros((1, 4), np.int64)).wait()
    except accelrt.InvalidInputError as e:
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is accelrt.InvalidInputError
        assert (back.input, back.expected, back.got, str(back)) == (e.input, e.expected, e.got, str(e))
    else:
        pytest.fail("an int64 input should fail")
    q = pickle.loads(pickle.dumps(accelrt.QueueFullError("full", capacity=3)))
    assert q.capacity == 3


def test_every_error_is_an_accelrt_error():
    for name in accelrt.errors.__all__:
        assert issubclass(getattr(accelrt, name), accelrt.AccelrtError)
    assert issubclass(accelrt.CancelledError, Exception)
