"""What both benchmarks read about the machine: its cores, how busy they have been, and the
line that says how much other processes loaded it while runs were timed."""

from __future__ import annotations

import os
import statistics
from typing import List

CORES = len(os.sched_getaffinity(0))


def machine_busy() -> float:
    """CPU seconds all cores have been busy since boot (/proc/stat: user, nice, system, irq,
    softirq, steal)."""
    with open("/proc/stat") as f:
        v = [int(n) for n in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / os.sysconf("SC_CLK_TCK")


def other_load_summary(samples: List[float]) -> str:
    """The other processes' load over the timed runs, in cores."""
    if not samples:
        return "other load: not measured"
    return (
        f"other processes' load during the timed runs: mean {statistics.fmean(samples):.2f} cores, "
        f"max {max(samples):.2f} (of {CORES}); load average now {os.getloadavg()[0]:.2f}"
    )
