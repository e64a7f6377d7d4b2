"""Closing, garbage collection, Ctrl-C and interpreter exit: nothing hangs, no request is
lost silently."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
import weakref

import pytest
from helpers import run_python, slow_sim, until_started, x4

import accelrt


def test_close_runs_everything_queued():
    rt = accelrt.Runtime.sim(max_batch=2, compute=0.002)
    tasks = [rt.run(x4(i)) for i in range(100)]
    assert rt.close() is True
    assert all(t.done() for t in tasks)
    assert [t.wait()[0, 0] for t in tasks] == [2 * i + 1 for i in range(100)]


def test_close_with_a_timeout_fails_what_is_still_queued():
    rt = slow_sim(0.2)
    tasks = [rt.run(x4(i)) for i in range(10)]
    time.sleep(0.02)
    rt.close(timeout=0)
    outcomes = []
    for t in tasks:
        try:
            outcomes.append(t.wait(timeout=10)[0, 0])
        except accelrt.ShutDownError:
            outcomes.append("shut down")
    assert outcomes[0] == 1  # was on the device: it finishes
    assert outcomes.count("shut down") >= 8


def test_with_block_closes():
    with accelrt.Runtime.sim(compute=0.001) as rt:
        tasks = [rt.run(x4(i)) for i in range(10)]
    assert [t.result()[0, 0] for t in tasks] == [2 * i + 1 for i in range(10)]


def test_garbage_collecting_a_busy_runtime_resolves_every_task():
    rt = slow_sim(0.05)
    tasks = [rt.run(x4(i)) for i in range(40)]
    time.sleep(0.02)
    ref = weakref.ref(rt)
    del rt
    gc.collect()
    assert ref() is None
    results, shut = 0, 0
    for t in tasks:
        try:
            t.wait(timeout=10)
            results += 1
        except accelrt.ShutDownError:
            shut += 1
    assert results + shut == 40
    assert shut >= 35  # only what was on the device finished


def test_dropping_a_task_withdraws_its_request():
    rt = slow_sim(0.2)
    busy = rt.run(x4(0))
    until_started(rt)
    t = rt.run(x4(1))
    del t
    gc.collect()
    assert rt.stats().cancelled == 1
    busy.wait()
    assert rt.stats().completed == 1
    rt.close()


def test_garbage_collecting_a_pipeline_never_hangs():
    rt = slow_sim(0.05)
    pipe = accelrt.Pipeline.builder().stage("prep", lambda x: x, workers=1).runtime("model", rt, concurrency=4).build()
    tasks = [pipe.run(x4(i)) for i in range(20)]
    del pipe, rt
    gc.collect()
    for t in tasks:
        try:
            t.wait(timeout=10)
        except (accelrt.ShutDownError, accelrt.StageError):
            pass


CTRL_C = """
import sys, time
import numpy as np
import accelrt
rt = accelrt.Runtime.sim(max_batch=1, depth=1, compute=60.0)
t = rt.run(np.ones((1, 4), np.float32))
print("waiting", flush=True)
start = time.monotonic()
try:
    t.wait()
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - start:.3f}", flush=True)
    sys.exit(3)
"""


def test_ctrl_c_interrupts_wait_promptly():
    env = dict(os.environ)
    child = subprocess.Popen([sys.executable, "-c", CTRL_C], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "waiting"
        time.sleep(0.2)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        child.kill()
    assert child.returncode == 3, err
    assert "interrupted after" in out
    # "Promptly": the wait looks for signals every 50 ms; 30 s is only the hang guard.
    assert took < 30


def test_interpreter_exits_with_requests_in_flight():
    code = """
import numpy as np, accelrt
rt = accelrt.Runtime.sim(max_batch=1, depth=1, compute=0.5)
tasks = [rt.run(np.ones((1, 4), np.float32)) for _ in range(100)]
print("submitted", flush=True)
"""
    done = run_python(code, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "submitted" in done.stdout


def test_close_from_a_with_block_that_raised():
    with pytest.raises(RuntimeError):
        with accelrt.Runtime.sim() as rt:
            t = rt.run(x4(1))
            raise RuntimeError("boom")
    assert t.done()
