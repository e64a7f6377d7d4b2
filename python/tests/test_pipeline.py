"""Pipelines of Python functions and runtimes: results in order, one error per item, stage
workers that run Python in parallel with the GIL taken only while the function runs."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from helpers import x4

import accelrt


def test_python_stages_around_a_runtime(sim):
    pipe = (
        accelrt.Pipeline.builder()
        .stage("prepare", lambda v: np.full((1, 4), v, np.float32), workers=2)
        .runtime("model", sim, concurrency=32)
        .stage("summarize", lambda y: float(y.sum()))
        .build()
    )
    assert pipe.stages == ["prepare", "model", "summarize"]
    assert list(pipe.imap(range(100))) == [4 * (2.0 * v + 1) for v in range(100)]

    async def main():
        return await asyncio.gather(*(pipe.run(v) for v in range(10)))

    assert asyncio.run(main()) == [4 * (2.0 * v + 1) for v in range(10)]
    s = pipe.stats()
    assert s.completed == 110 and [st.name for st in s.stages] == pipe.stages
    assert all(st.items == 110 for st in s.stages)
    pipe.close()


def test_two_runtimes_in_a_row(sim):
    second = accelrt.Runtime.sim(a=10.0, b=0.0, max_batch=8)
    pipe = accelrt.Pipeline.builder().runtime("first", sim).runtime("second", second).build()
    out = [t.wait() for t in [pipe.run(x4(v)) for v in range(20)]]
    for v, y in enumerate(out):
        np.testing.assert_array_equal(y, x4(10 * (2 * v + 1)))


def test_each_item_fails_alone(sim):
    def prepare(v):
        if v % 3 == 0:
            raise KeyError(f"no page {v}")
        return x4(v) if v % 3 == 1 else np.zeros((1, 5), np.float32)  # a wrong shape for the model

    pipe = accelrt.Pipeline.builder().stage("prepare", prepare).runtime("model", sim).build()
    results = list(pipe.imap(range(9), return_exceptions=True))
    for v, r in enumerate(results):
        if v % 3 == 0:
            assert isinstance(r, accelrt.StageError) and r.stage == "prepare"
            assert isinstance(r.error, KeyError) and r.__cause__ is r.error
            assert "no page" in str(r)
        elif v % 3 == 1:
            np.testing.assert_array_equal(r, 2 * x4(v) + 1)
        else:
            assert isinstance(r, accelrt.StageError) and r.stage == "model"
            assert isinstance(r.error, accelrt.InvalidInputError)
    assert pipe.stats().failed == 6


def test_stage_workers_run_at_the_same_time():
    # Four workers must all be inside the function at once to pass the barrier: the GIL is
    # not held by the pipeline around the calls.
    barrier = threading.Barrier(4, timeout=20)
    threads = set()

    def meet(v):
        threads.add(threading.get_ident())
        barrier.wait()
        return v

    pipe = accelrt.Pipeline.builder().stage("meet", meet, workers=4).build()
    assert sorted(pipe.imap(range(8), window=8)) == list(range(8))
    assert len(threads) == 4


def test_a_stage_can_use_a_process_pool():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # "spawn": forking a process whose engine threads are running is not safe.
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pipe = accelrt.Pipeline.builder().stage("square", lambda v: pool.submit(pow, v, 2).result(), workers=2).build()
        assert list(pipe.imap(range(10))) == [v * v for v in range(10)]
        pipe.close()


def test_async_with_and_shutdown(sim):
    async def main():
        async with accelrt.Pipeline.builder().stage("id", lambda v: v).build() as pipe:
            tasks = [pipe.run(v) for v in range(50)]
        return [t.result() for t in tasks], pipe

    results, pipe = asyncio.run(main())
    assert results == list(range(50))
    with pytest.raises(accelrt.ShutDownError):
        pipe.run(1).wait()


def test_bad_builds_are_config_errors(sim):
    with pytest.raises(accelrt.ConfigError):
        accelrt.Pipeline.builder().build()
    with pytest.raises(accelrt.ConfigError):
        accelrt.Pipeline.builder().stage("s", lambda v: v, workers=0).build()
    with pytest.raises(ValueError):
        accelrt.Pipeline.builder().runtime("r", object()).build()
