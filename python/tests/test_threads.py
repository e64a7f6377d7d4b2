"""accelrt from plain threads: ``wait()`` releases the GIL, many threads share one runtime,
``imap`` and ``as_completed`` go over datasets."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from helpers import slow_sim, until_started, x4

import accelrt


def test_wait_from_many_threads_at_once(sim):
    def worker(k):
        out = []
        for i in range(200):
            out.append(float(sim.run(x4(k * 1000 + i)).wait()[0, 0]))
        return out

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(worker, range(32)))
    for k, out in enumerate(results):
        assert out == [2.0 * (k * 1000 + i) + 1 for i in range(200)]
    assert sim.stats().completed == 32 * 200


def test_many_threads_submit_one_thread_waits(sim):
    tasks = []
    lock = threading.Lock()

    def submit(k):
        for i in range(100):
            t = sim.run(x4(k * 100 + i))
            with lock:
                tasks.append((k * 100 + i, t))

    threads = [threading.Thread(target=submit, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for v, t in tasks:
        assert t.wait()[0, 0] == 2 * v + 1


def test_wait_releases_the_gil():
    rt = slow_sim(0.3)
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    time.sleep(0.01)
    before = counter[0]
    rt.run(x4(1)).wait()
    during = counter[0] - before
    stop.set()
    spinner.join()
    # Had wait() held the GIL, the spinner could not have run while we waited.
    assert during > 1000
    rt.close()


def test_wait_timeout_leaves_the_request_queued():
    rt = slow_sim(0.2)
    busy = rt.run(x4(0))
    until_started(rt)
    t = rt.run(x4(1))
    with pytest.raises(TimeoutError):
        t.wait(timeout=0.01)
    assert not t.done()
    assert t.wait(timeout=10)[0, 0] == 3
    assert busy.wait()[0, 0] == 1
    with pytest.raises(ValueError):
        t.wait(timeout=-1)
    rt.close()


def test_done_and_result_without_blocking():
    rt = slow_sim(0.2)
    t = rt.run(x4(2))
    assert not t.done()
    with pytest.raises(Exception) as info:  # asyncio.InvalidStateError: not done yet
        t.result()
    assert "not set" in str(info.value)
    t.wait()
    assert t.done() and t.result()[0, 0] == 5
    rt.close()


@pytest.mark.parametrize("ordered", [True, False])
def test_imap_over_a_generator_with_a_bounded_window(sim, ordered):
    taken = [0]

    def inputs():
        for i in range(2000):
            taken[0] += 1
            yield x4(i)

    seen, ahead = [], 0
    for y in sim.imap(inputs(), window=32, ordered=ordered):
        seen.append(float(y[0, 0]))
        ahead = max(ahead, taken[0] - len(seen))
    assert ahead <= 32
    want = [2.0 * i + 1 for i in range(2000)]
    assert seen == want if ordered else sorted(seen) == want


def test_imap_progress_bar(sim, capsys):
    out = list(sim.imap([x4(i) for i in range(50)], progress={"disable": False, "mininterval": 0}))
    assert len(out) == 50


def test_as_completed_yields_each_task_once():
    rt = accelrt.Runtime.sim(max_batch=4, compute=0.002)
    tasks = [rt.run(x4(i)) for i in range(40)]
    got = list(accelrt.as_completed(tasks, timeout=30))
    assert len(got) == 40 and {id(t) for t in got} == {id(t) for t in tasks}
    assert sorted(t.result()[0, 0] for t in got) == [2 * i + 1 for i in range(40)]
    rt.close()


def test_as_completed_timeout():
    rt = slow_sim(0.5)
    tasks = [rt.run(x4(i)) for i in range(3)]
    with pytest.raises(TimeoutError):
        list(accelrt.as_completed(tasks, timeout=0.05))
    rt.close(timeout=0)


def test_results_are_independent_arrays(sim):
    a = sim.run(x4(1)).wait()
    b = sim.run(x4(1)).wait()
    a += 100
    assert b[0, 0] == 3 and not np.shares_memory(a, b)
