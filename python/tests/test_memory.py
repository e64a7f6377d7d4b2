"""Memory: a million small requests leave resident memory where it was after warm-up."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import accelrt


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.slow
def test_a_million_requests_with_flat_rss():
    rt = accelrt.Runtime.sim(max_batch=64, parallel=2)
    x = np.ones((1, 4), np.float32)
    total, n = 0.0, 1_000_000
    warm_up = 100_000
    rss_warm = 0
    for i, y in enumerate(rt.imap(itertools.repeat(x, n), window=512)):
        total += float(y[0, 0])
        if i == warm_up:
            rss_warm = rss_bytes()
    rss_end = rss_bytes()
    assert total == 3.0 * n
    s = rt.stats()
    assert s.completed == n and s.failed == 0 and s.queued == 0 and s.pending_deadlines == 0
    growth = (rss_end - rss_warm) / rss_warm
    print(f"RSS after warm-up {rss_warm / 2**20:.1f} MiB, after {n} requests {rss_end / 2**20:.1f} MiB ({growth:+.2%})")
    assert growth <= 0.05
    rt.close()


@pytest.mark.slow
def test_asyncio_tasks_leave_nothing_behind():
    import asyncio

    rt = accelrt.Runtime.sim(max_batch=64)
    x = np.ones((1, 4), np.float32)

    async def rounds(k):
        for _ in range(k):
            await asyncio.gather(*(rt.run(x) for _ in range(1000)))

    asyncio.run(rounds(20))
    rss_warm = rss_bytes()
    asyncio.run(rounds(200))
    rss_end = rss_bytes()
    assert (rss_end - rss_warm) / rss_warm <= 0.05
    assert rt.stats().completed == 220_000
    rt.close()
