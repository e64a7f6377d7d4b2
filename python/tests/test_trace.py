"""Stats and the timeline as a Chrome trace."""

from __future__ import annotations

import json

import pytest
from helpers import x4

import accelrt


def test_stats_fields(sim):
    for t in [sim.run(x4(i)) for i in range(64)]:
        t.wait()
    s = sim.stats()
    assert isinstance(s, accelrt.Stats)
    assert s.submitted == s.completed == 64 and s.failed == s.cancelled == s.queued == 0
    assert s.batches >= 4 and 1 <= s.mean_batch <= 16
    assert s.latency.count == 64 and 0 < s.latency.p50 <= s.latency.p99 <= s.latency.max
    assert s.throughput > 0 and s.uptime > 0
    assert len(s.instance_busy_fraction) == 1
    assert s.as_dict()["latency"]["count"] == 64
    sim.reset_stats()
    assert sim.stats().completed == 0


def test_timeline_as_chrome_trace(tmp_path):
    rt = accelrt.Runtime.sim(max_batch=4, h2d=0.001, compute=0.002, d2h=0.001, depth=3, timeline=True)
    for t in [rt.run(x4(i)) for i in range(20)]:
        t.wait()
    trace = json.loads(rt.trace())
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    names = {e.get("name") for e in events}
    assert {"h2d", "compute", "d2h"} <= names
    path = tmp_path / "trace.json"
    rt.write_trace(path)
    assert json.loads(path.read_text()) == trace
    s = rt.stats()
    assert s.engine_busy_fraction is not None and len(s.engine_busy_fraction) == 3


def test_no_timeline_is_a_clear_error(sim):
    with pytest.raises(ValueError, match="timeline=True"):
        sim.trace()
