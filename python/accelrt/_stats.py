"""Counters of runtimes and pipelines, as frozen dataclasses (durations in seconds)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

__all__ = ["Latency", "PhaseTimes", "Stats", "StageStats", "PipelineStats"]


@dataclass(frozen=True)
class Latency:
    """Latency from ``run`` to the result, of the requests that completed (seconds)."""

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: float


@dataclass(frozen=True)
class PhaseTimes:
    """Mean time per phase (seconds): ``queue`` per request; the others per batch
    (``h2d``, ``compute``, ``d2h`` as the device reports them)."""

    queue: float
    prepare: float
    submit: float
    h2d: float
    compute: float
    d2h: float
    complete: float


@dataclass(frozen=True)
class Stats:
    """What a runtime has done since it was built (or since ``reset_stats()``).

    ``cancelled`` counts requests withdrawn before they started (``task.cancel()``, a dropped
    task, an asyncio cancellation or ``wait_for`` timeout); ``queued`` is what waits now.
    """

    uptime: float
    submitted: int
    completed: int
    failed: int
    cancelled: int
    queued: int
    pending_deadlines: int
    batches: int
    mean_batch: float
    throughput: float
    latency: Latency
    phases: PhaseTimes
    instance_busy_fraction: List[float]
    engine_busy_fraction: Optional[List[float]]

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "Stats":
        d = dict(d)
        d["latency"] = Latency(**d["latency"])
        d["phases"] = PhaseTimes(**d["phases"])
        return cls(**d)

    def as_dict(self) -> Dict[str, Any]:
        """The counters as nested dicts (for logging, JSON)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class StageStats:
    """One pipeline stage: threads (or items in flight), items handled and failed, time spent
    in the stage's function and waiting in its queue (seconds, summed over items)."""

    name: str
    workers: int
    items: int
    failed: int
    busy: float
    queue_wait: float


@dataclass(frozen=True)
class PipelineStats:
    """What a pipeline (or the OCR reader) has done."""

    uptime: float
    completed: int
    failed: int
    throughput: float
    latency: Latency
    stages: List[StageStats]

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "PipelineStats":
        d = dict(d)
        d["latency"] = Latency(**d["latency"])
        d["stages"] = [StageStats(**s) for s in d["stages"]]
        return cls(**d)

    def as_dict(self) -> Dict[str, Any]:
        """The counters as nested dicts."""
        return dataclasses.asdict(self)
