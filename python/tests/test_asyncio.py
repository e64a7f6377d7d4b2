"""accelrt from asyncio: tasks are awaitable Future-like objects, cancellation withdraws
queued requests, datasets stream through ``map`` with bounded memory."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from helpers import slow_sim, until_started, x4

import accelrt


def test_gather_thousands_of_tasks(sim):
    async def main():
        xs = [x4(i) for i in range(5000)]
        ys = await asyncio.gather(*(sim.run(x) for x in xs))
        return xs, ys

    xs, ys = asyncio.run(main())
    assert len(ys) == 5000
    for x, y in zip(xs, ys):
        np.testing.assert_array_equal(y, 2 * x + 1)
    s = sim.stats()
    assert s.completed == 5000 and s.failed == 0
    assert s.mean_batch > 1  # callers' requests were batched together


def test_tasks_are_asyncio_futures(sim):
    async def main():
        t = sim.run(x4(1))
        assert asyncio.isfuture(t)
        assert t.get_loop() is asyncio.get_running_loop()
        # gather and wait_for take the task itself: no wrapper coroutine.
        (y,) = await asyncio.gather(t)
        assert t.done() and not t.cancelled() and t.exception() is None
        np.testing.assert_array_equal(t.result(), y)
        y2 = await asyncio.wait_for(sim.run(x4(2)), timeout=10)
        firsts = [await f for f in asyncio.as_completed([sim.run(x4(i)) for i in range(10)])]
        return y, y2, firsts

    y, y2, firsts = asyncio.run(main())
    assert y[0, 0] == 3 and y2[0, 0] == 5
    assert sorted(f[0, 0] for f in firsts) == [2 * i + 1 for i in range(10)]


def test_many_coroutines_each_awaiting_in_turn(sim):
    async def caller(k):
        total = 0.0
        for i in range(20):
            y = await sim.run(x4(k + i))
            total += float(y[0, 0])
        return total

    async def main():
        return await asyncio.gather(*(caller(k) for k in range(100)))

    totals = asyncio.run(main())
    assert totals == [sum(2 * (k + i) + 1 for i in range(20)) for k in range(100)]


def test_wait_for_timeouts_withdraw_queued_requests():
    rt = slow_sim(0.15)

    async def main():
        first = rt.run(x4(0))  # occupies the device
        until_started(rt)
        queued = [rt.run(x4(i)) for i in range(1, 9)]
        await asyncio.sleep(0.02)
        for t in queued[4:]:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(t, 0.01)
            assert t.cancelled()
        done = await asyncio.gather(first, *queued[:4])
        return done

    done = asyncio.run(main())
    assert [d[0, 0] for d in done] == [1, 3, 5, 7, 9]
    s = rt.stats()
    assert s.cancelled == 4  # left the queue: never reached the device
    assert s.completed == 5 and s.queued == 0
    rt.close()


def test_cancelling_the_awaiting_coroutine_withdraws_its_request():
    rt = slow_sim(0.2)

    async def waiter(t):
        return await t

    async def main():
        first = rt.run(x4(0))
        until_started(rt)
        queued = rt.run(x4(1))
        job = asyncio.ensure_future(waiter(queued))
        await asyncio.sleep(0.02)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        assert queued.cancelled()
        return await first

    assert asyncio.run(main())[0, 0] == 1
    assert rt.stats().cancelled == 1
    assert rt.stats().completed == 1
    rt.close()


def test_cancel_then_await_and_wait():
    rt = slow_sim(0.2)
    busy = rt.run(x4(0))
    until_started(rt)
    t = rt.run(x4(1))
    assert t.cancel() is True
    assert t.cancel() is False  # already done
    assert t.done() and t.cancelled()
    with pytest.raises(accelrt.CancelledError):  # sync code: an accelrt error (an Exception)
        t.wait()

    async def main():
        with pytest.raises(asyncio.CancelledError):  # asyncio code: asyncio's own
            await t

    asyncio.run(main())
    assert busy.wait()[0, 0] == 1
    rt.close()


def test_async_with_drains_on_exit():
    async def main():
        async with accelrt.Runtime.sim(max_batch=4, compute=0.002) as rt:
            tasks = [rt.run(x4(i)) for i in range(50)]
        # Leaving the block ran everything queued; nothing failed with ShutDownError.
        return [t.result() for t in tasks], rt

    results, rt = asyncio.run(main())
    assert [r[0, 0] for r in results] == [2 * i + 1 for i in range(50)]
    with pytest.raises(accelrt.ShutDownError):
        rt.run(x4(0)).wait()


def test_aclose_returns_when_drained():
    async def main():
        rt = accelrt.Runtime.sim(compute=0.001)
        tasks = [rt.run(x4(i)) for i in range(20)]
        assert await rt.aclose() is True
        assert all(t.done() for t in tasks)

    asyncio.run(main())


class Counting:
    """An async iterable that counts what was taken from it."""

    def __init__(self, n):
        self.n, self.taken = n, 0

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.taken == self.n:
            raise StopAsyncIteration
        self.taken += 1
        return x4(self.taken - 1)


@pytest.mark.parametrize("ordered", [True, False])
def test_map_streams_with_a_bounded_window(sim, ordered):
    async def main():
        source = Counting(1000)
        seen, ahead = [], 0
        async for y in sim.map(source, window=16, ordered=ordered):
            seen.append(float(y[0, 0]))
            ahead = max(ahead, source.taken - len(seen))
        return seen, ahead

    seen, ahead = asyncio.run(main())
    assert ahead <= 16
    want = [2.0 * i + 1 for i in range(1000)]
    assert seen == want if ordered else sorted(seen) == want


def test_map_return_exceptions_keeps_going():
    rt = accelrt.Runtime.sim(max_batch=4, faults={"invalid_value": 3.0})

    async def main():
        return [y async for y in rt.map([x4(i) for i in range(6)], return_exceptions=True)]

    out = asyncio.run(main())
    assert isinstance(out[3], accelrt.InvalidInputError)
    assert [o[0, 0] for i, o in enumerate(out) if i != 3] == [1, 3, 5, 9, 11]

    async def fails():
        return [y async for y in rt.map([x4(i) for i in range(6)])]

    with pytest.raises(accelrt.InvalidInputError):
        asyncio.run(fails())


def test_leaving_map_early_cancels_what_is_in_flight():
    rt = slow_sim(0.05)

    async def main():
        async for _ in rt.map((x4(i) for i in range(100)), window=8):
            break

    asyncio.run(main())
    s = rt.stats()
    assert s.completed + s.cancelled + s.queued <= 9
    rt.close()


def test_event_loops_one_after_another_and_in_threads(sim):
    for _ in range(3):
        assert asyncio.run(_one(sim, 5))[0, 0] == 11
    results = []

    def in_thread(k):
        results.append(asyncio.run(_one(sim, k)))

    threads = [threading.Thread(target=in_thread, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r[0, 0] for r in results) == [1, 3, 5, 7]


async def _one(rt, k):
    return await rt.run(x4(k))


def test_uvloop_like_loops_need_add_reader_only(sim):
    # A selector event loop (the default on Linux) is all the bridge needs.
    loop = asyncio.SelectorEventLoop()
    try:
        assert loop.run_until_complete(_one(sim, 1))[0, 0] == 3
    finally:
        loop.close()
