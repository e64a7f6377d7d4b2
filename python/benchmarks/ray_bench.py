#!/usr/bin/env python3
"""accelrt inside Ray Data next to Ray's own ONNX Runtime recipe: the same dataset, the same
cluster, the same actors, interleaved rounds, one table.

    python python/benchmarks/ray_bench.py            # the full run (a few minutes on 2 cores)
    python python/benchmarks/ray_bench.py --quick    # a smoke run
    python python/benchmarks/ray_bench.py --local    # a plain ray.init() instead of the cluster

By default it starts a real two-node Ray cluster on this machine (a head and one more node,
``ray start`` each, as tests/test_ray.py does) and stops it at the end, whatever happens.

The dataset: ``--rows`` PP-OCRv4 detector inputs, float32 ``(3, S, S)`` with S = ``--side``,
each generated from its row id by a read stage as the dataset streams (the same rows in every
run; a real pipeline has a read stage too), in blocks of ``--block-rows`` rows (a Parquet file
or image folder gives blocks of many rows; ``range()`` alone would split 4,800 rows into 200
blocks of 24). Each run maps it with ``map_batches(..., compute=ActorPoolStrategy(
size=--actors), num_cpus=--cpus-per-actor, batch_size=--batch-size)`` (Ray Data's default
SPREAD placement: one actor per node here) and the driver consumes every output batch:

- ``recipe``: the class Ray's batch-inference docs show for ONNX Runtime, as a user copies it
  (``ray_bench_udfs.OnnxRecipe``: a default ``InferenceSession``, the whole batch through one
  ``session.run``), with Ray's defaults.
- ``recipe, intra_op_num_threads=1`` (``--recipe-threads``; 0 leaves it out): the same, its
  session limited to its actor's CPU, to show how much of the difference is ONNX Runtime's
  default of one thread per core in every actor.
- ``accelrt``: ``accelrt.ray.Predictor`` (each row its own request), with the settings in
  ``--accelrt`` (repeat the flag to compare several in one run; ``calls=N`` there is
  ``ActorPoolStrategy(max_concurrent_calls_per_actor=N)``).

Per mode: rows/s (rows over the wall time from starting the dataset, actors' start-up
included, to the driver holding the last row; median over rounds), the ratio to the docs'
recipe (taken within each round, then the median), rows/s after the first output batch, the
actors' busy fraction (time the model computed over the actor's window from its first call to
its last output: the sum of ``session.run`` for the recipe, the runtime's
``instance_busy_fraction`` for accelrt), the wait per batch (time an actor had no batch inside
``__call__``, i.e. waited for Ray, divided by its batches), and each actor's private memory
(RssAnon) after its first batch, after a quarter of its batches and at its end, and its peak
RSS (which also counts object-store pages it read). Every row must come back exactly once, and
sampled rows are compared with onnxruntime run directly on the same inputs, so a fast wrong
answer cannot win. A second table says where the cores went: the actors' CPU, the rest of the
benchmark's processes (Ray's driver, raylets, GCS, read tasks, actor start-up), other
processes and idle. The load that other processes put on the machine while each run was timed
is printed: compare only quiet runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import accelrt.models  # noqa: E402
import ray_bench_udfs as udfs  # noqa: E402
from machine import CORES, machine_busy, other_load_summary  # noqa: E402
from ray_cluster import Cluster  # noqa: E402
MiB = 1 << 20

# Chosen on a 2-core machine with two actors of one CPU each, from sweeps with this script:
# - one intra-op thread per actor: the actor has one CPU, and a second thread per session
#   (accelrt's default is cores / instances) spins on the other actor's core (CPU per row
#   4.7 ms -> 7.9 ms);
# - one instance: two instances on one CPU only split it (0.7x of one);
# - max_batch 8: 4 gave 0.88x of it; 16 gave 0.77x, its batches costing more CPU per row
#   (6.1 ms against 4.6 ms on one thread at this input size);
# - parallel 1: with one instance a second preparation worker only adds a thread (0.9x);
# - calls=2 (ActorPoolStrategy(max_concurrent_calls_per_actor=2)): the next Ray task's rows
#   queue in the runtime while the last task's outputs go back (1.02x with blocks of several
#   batches, where Ray already keeps a task's batches in flight together; about 1.1x with
#   Ray's default small blocks, where a task holds about one batch).
DEFAULT_ACCELRT = "instances=1,intra_threads=1,max_batch=8,batch_timeout=0.002,parallel=1,calls=2"


# -- the machine's other load ----------------------------------------------------------------


def _cpu_by_process() -> Dict[int, tuple]:
    """pid → (session id, utime + stime + cutime + cstime in seconds) of every process."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(entry.name)] = (int(fields[3]), sum(int(v) for v in fields[11:15]) / tick)
    return out


@dataclass
class Cpu:
    """Where the machine's cores went while one run was timed (CPU seconds)."""

    wall: float
    busy: float  # all processes
    others: float  # processes that are not this benchmark's

    @property
    def other_load(self) -> float:
        return self.others / self.wall


class CpuMeter:
    """The machine's busy time over a run, and the part of it that other processes used.

    Ours are the processes of this session (``os.getsid``): the driver and everything it
    started, the Ray cluster's processes and their workers included (``ray start`` and
    ``ray.init`` keep the session). A process's CPU time counts its reaped children's, which
    makes two estimates of the others' share, each of which can only err high: the others' own
    times (a parent that reaps a child that ran long before the run books it all now), and the
    machine's busy time less ours (an actor of ours that exits unreaped is missed). The smaller
    of the two is kept."""

    def __init__(self) -> None:
        self.sid = os.getsid(0)
        self.samples: List[float] = []

    def _split(self) -> tuple:
        ours, others = {}, {}
        for pid, (sid, cpu) in _cpu_by_process().items():
            (ours if sid == self.sid else others)[pid] = cpu
        return ours, others

    def start(self) -> tuple:
        return (time.perf_counter(), machine_busy(), *self._split())

    def stop(self, start: tuple) -> Cpu:
        wall0, busy0, ours0, others0 = start
        ours1, others1 = self._split()
        wall = max(time.perf_counter() - wall0, 1e-9)
        busy = machine_busy() - busy0
        by_others = sum(c - others0.get(pid, 0.0) for pid, c in others1.items())
        by_ours = sum(c - ours0.get(pid, 0.0) for pid, c in ours1.items())
        cpu = Cpu(wall=wall, busy=busy, others=min(max(0.0, min(by_others, busy - by_ours)), busy))
        self.samples.append(cpu.other_load)
        return cpu

    def summary(self) -> str:
        return other_load_summary(self.samples)


# -- modes and runs ----------------------------------------------------------------------------


@dataclass
class Actor:
    pid: int
    anon0: float  # MiB of private memory after the first call
    anon_quarter: float  # ... at the first output after a quarter of its calls
    anon: float  # ... at its last output
    rss: float  # MiB resident after the last, object-store pages included
    busy: float
    window: float
    idle: float
    calls: int
    cpu: float  # CPU seconds of the actor's process from its first call to its last output


@dataclass
class Run:
    seconds: float
    startup: float  # dataset start to the first output batch at the driver
    rows: int
    actors: List[Actor]
    cpu: Cpu

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def steady_rate(self) -> float:
        """Rows per second after the first output batch (start-up left out)."""
        return self.rows / max(self.seconds - self.startup, 1e-9)

    @property
    def busy(self) -> float:
        return sum(a.busy for a in self.actors) / max(sum(a.window for a in self.actors), 1e-9)

    @property
    def wait_per_batch(self) -> float:
        return sum(a.idle for a in self.actors) / max(sum(a.calls for a in self.actors), 1)


@dataclass
class Mode:
    name: str
    udf: type
    kwargs: dict
    calls: Optional[int]  # max_concurrent_calls_per_actor, None = Ray's default
    runs: List[Run] = field(default_factory=list)
    max_error: float = 0.0


def parse_settings(text: str) -> tuple:
    """"instances=1,max_batch=8,calls=2" → (runtime kwargs, calls)."""
    kwargs: dict = {}
    calls = None
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, _, value = item.partition("=")
        if not value:
            raise SystemExit(f"--accelrt: expected key=value, got {item!r}")
        number = float(value) if "." in value else int(value)
        if key == "calls":
            calls = int(number)
        else:
            kwargs[key] = number
    return kwargs, calls


def run_once(ray, ds, mode: Mode, args, n: int, load: CpuMeter, sample: Dict[int, np.ndarray]) -> Run:
    strategy = ray.data.ActorPoolStrategy(size=args.actors, **({"max_concurrent_calls_per_actor": mode.calls} if mode.calls else {}))
    mark = load.start()
    t0 = time.perf_counter()
    out = ds.map_batches(
        mode.udf,
        fn_constructor_kwargs=mode.kwargs,
        compute=strategy,
        num_cpus=args.cpus_per_actor,
        batch_size=args.batch_size,
        # Actors are placed with Ray Data's default, SPREAD: one per node here.
    )
    first = None
    ids: List[np.ndarray] = []
    stats: Dict[int, np.ndarray] = {}
    memory: Dict[int, Dict[int, float]] = {}  # pid → calls so far → private memory then
    for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
        if first is None:
            first = time.perf_counter()
        ids.append(batch["id"])
        table = np.stack([batch[c].astype(np.float64) for c in udfs.STAT_COLUMNS], axis=1)
        for pid in np.unique(batch["_pid"]):
            rows = table[batch["_pid"] == pid].max(axis=0)
            stats[int(pid)] = rows if int(pid) not in stats else np.maximum(stats[int(pid)], rows)
            mine = batch["_pid"] == pid
            memory.setdefault(int(pid), {}).update(zip(batch["_calls"][mine].tolist(), batch["_anon"][mine].tolist()))
        for k in np.flatnonzero(np.isin(batch["id"], list(sample))):
            want = sample[int(batch["id"][k])]
            got = batch["y"][k]
            if got.shape != want.shape[1:] or not np.allclose(got, want[0], rtol=1e-4, atol=1e-5):
                raise SystemExit(f"{mode.name}: row {batch['id'][k]} differs from onnxruntime (max |diff| {np.abs(got - want[0]).max():.2e})")
            mode.max_error = max(mode.max_error, float(np.abs(got - want[0]).max()))
    seconds = time.perf_counter() - t0
    cpu = load.stop(mark)
    got = np.sort(np.concatenate(ids))
    if len(got) != n or not np.array_equal(got, np.arange(n)):
        raise SystemExit(f"{mode.name}: {len(got)} rows back ({len(np.unique(got))} distinct) for {n}")
    actors = []
    for pid, s in sorted(stats.items()):
        series = sorted(memory[pid].items())
        quarter = next(v for c, v in series if c >= series[-1][0] / 4)
        actors.append(Actor(pid, s[1] / MiB, quarter / MiB, series[-1][1] / MiB, s[3] / MiB, s[4], s[5], s[6], int(s[7]), s[8]))
    return Run(seconds, (first or t0) - t0, n, actors, cpu)


# -- the table -----------------------------------------------------------------------------


def fmt_rate(r: float) -> str:
    return f"{r:,.0f}" if r >= 100 else f"{r:,.1f}"


def table(rows: List[List[str]], header: List[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
        for r in [header, *rows]
    )


def report(modes: List[Mode]) -> str:
    recipe = modes[0]
    header = ["mode", "rows/s", "min-max", "× recipe", "after start-up", "busy", "wait/batch", "batches/actor", "start-up", "private MiB/actor: 1st batch→¼→end (max growth ¼→end)", "max RSS", "check"]
    rows = []
    for m in modes:
        rates = [r.rate for r in m.runs]
        ratio = statistics.median(r.rate / recipe.runs[i].rate for i, r in enumerate(m.runs))
        last = m.runs[-1]
        anon = ", ".join(f"{a.anon0:.0f}→{a.anon_quarter:.0f}→{a.anon:.0f}" for a in last.actors)
        growth = max(a.anon - a.anon_quarter for r in m.runs for a in r.actors)
        rss = max(a.rss for r in m.runs for a in r.actors)
        rows.append(
            [
                m.name,
                fmt_rate(statistics.median(rates)),
                f"{fmt_rate(min(rates))}-{fmt_rate(max(rates))}",
                f"{ratio:.2f}×",
                fmt_rate(statistics.median(r.steady_rate for r in m.runs)),
                f"{statistics.median(r.busy for r in m.runs):.0%}",
                f"{statistics.median(r.wait_per_batch for r in m.runs) * 1e3:.1f} ms",
                f"{statistics.median(statistics.fmean(a.calls for a in r.actors) for r in m.runs):.0f}",
                f"{statistics.median(r.startup for r in m.runs):.1f} s",
                f"{anon} ({growth:+.0f})",
                f"{rss:.0f}",
                f"ok (max |diff| {m.max_error:.1e})",
            ]
        )
    return table(rows, header)


def profile(modes: List[Mode]) -> str:
    """Where the machine's cores went during each mode's runs (medians over rounds)."""
    header = ["mode", "actors' CPU", "Ray & start-up CPU", "other processes", "idle", "actors' CPU/row", "all ours CPU/row"]
    rows = []
    for m in modes:
        def med(f) -> float:
            return statistics.median(f(r) for r in m.runs)

        actors = lambda r: sum(a.cpu for a in r.actors)  # noqa: E731
        ours = lambda r: r.cpu.busy - r.cpu.others  # noqa: E731
        rows.append(
            [
                m.name,
                f"{med(lambda r: actors(r) / r.cpu.wall):.2f} cores",
                f"{med(lambda r: (ours(r) - actors(r)) / r.cpu.wall):.2f} cores",
                f"{med(lambda r: r.cpu.others / r.cpu.wall):.2f} cores",
                f"{med(lambda r: max(0.0, CORES - r.cpu.busy / r.cpu.wall)):.2f} cores",
                f"{med(lambda r: actors(r) / r.rows) * 1e3:.2f} ms",
                f"{med(lambda r: ours(r) / r.rows) * 1e3:.2f} ms",
            ]
        )
    return table(rows, header)


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=4800)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--actors", type=int, default=2)
    p.add_argument("--cpus-per-actor", type=float, default=1.0)
    p.add_argument("--side", type=int, default=128, help="detector input side S: rows are float32 (3, S, S)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--block-rows", type=int, default=128, help="rows per dataset block (0: Ray's default for range(), 200 blocks)")
    p.add_argument("--accelrt", action="append", default=None, metavar="SETTINGS", help=f"accelrt settings, repeatable (default {DEFAULT_ACCELRT})")
    p.add_argument("--recipe-threads", type=int, default=1, metavar="N", help="also run the recipe with intra_op_num_threads=N, tuned to its actor's CPU (0: leave that row out)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 480 rows, one round")
    p.add_argument("--local", action="store_true", help="a plain ray.init() instead of the two-node cluster")
    args = p.parse_args()
    if args.quick:
        args.rows, args.rounds = min(args.rows, 480), 1
    settings = args.accelrt or [DEFAULT_ACCELRT]

    model = str(accelrt.models.ocr()["det"])
    cluster = None
    import ray

    # A SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so the cluster is stopped either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    try:
        if args.local:
            # Logical CPUs for the actors and one more for the read stage: with only the
            # cores' worth, the actors take every CPU and the read tasks never start (the
            # two-node cluster has 4 on 2 cores for the same reason).
            cpus = max(CORES, int(args.actors * args.cpus_per_actor + 0.999) + 1)
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
            where = f"local Ray (ray.init(num_cpus={cpus}), {CORES} cores)"
        else:
            cluster = Cluster(head_cpus=2)
            cluster.add_node(cpus=2)
            ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.WARNING)
            where = f"a two-node Ray cluster on this machine (head + 1 node, 2 CPUs each, {CORES} cores)"
        import ray.cloudpickle

        ray.cloudpickle.register_pickle_by_value(udfs)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)

        side = args.side

        def dataset(rows: int):
            # Inputs are made from the row ids as the dataset streams (a read stage, as a real
            # pipeline has one), not materialized: 2,400 rows at side 128 would not fit the
            # test cluster's 200 MB object stores.
            blocks = {"override_num_blocks": max(1, -(-rows // args.block_rows))} if args.block_rows else {}
            return ray.data.range(rows, **blocks).map_batches(udfs.make_inputs, fn_kwargs={"side": side}, num_cpus=0.25)

        ds = dataset(args.rows)

        import onnxruntime as ort

        session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        sample_ids = sorted(set(np.linspace(0, args.rows - 1, 24).astype(int).tolist()))
        sample = {i: session.run(None, {"x": udfs.inputs_for([i], side)})[0] for i in sample_ids}
        del session

        modes = [Mode("recipe (onnxruntime, Ray defaults)", udfs.TimedRecipe, {"model_path": model}, None)]
        if args.recipe_threads:
            kwargs = {"model_path": model, "intra_op_num_threads": args.recipe_threads}
            modes.append(Mode(f"recipe, intra_op_num_threads={args.recipe_threads}", udfs.TimedRecipe, kwargs, None))
        for s in settings:
            kwargs, calls = parse_settings(s)
            kwargs.update(model=model, output_columns="y", drop_inputs=True)
            modes.append(Mode(f"accelrt [{s}]", udfs.TimedAccelrt, kwargs, calls))

        print(
            f"{where}; {args.rows} rows of float32 (3, {side}, {side}) (blocks: {args.block_rows or 'Ray default'} rows), "
            f"{args.actors} actors × {args.cpus_per_actor:g} CPU, batch_size={args.batch_size}, {args.rounds} rounds",
            file=sys.stderr,
            flush=True,
        )
        load = CpuMeter()
        # Warm-up (not counted): every mode once on a small slice, so that libraries are in the
        # page cache and Ray's workers have started once.
        warm_rows = args.actors * args.batch_size * 2
        for m in modes:
            run_once(ray, dataset(warm_rows), m, args, warm_rows, CpuMeter(), {})
        for r in range(args.rounds):
            order = modes[r % len(modes) :] + modes[: r % len(modes)]
            for m in order:
                m.runs.append(run_once(ray, ds, m, args, args.rows, load, sample))
            line = " | ".join(f"{fmt_rate(m.runs[-1].rate)} (other load {m.runs[-1].cpu.other_load:.2f})" for m in modes)
            print(f"  round {r + 1}/{args.rounds} rows/s, in table order: {line}", file=sys.stderr, flush=True)

        print(
            f"\nRay Data map_batches, PP-OCRv4 detector on float32 (3, {side}, {side}); {where}; "
            f"{args.rows} rows, {args.actors} actors × {args.cpus_per_actor:g} CPU, batch_size={args.batch_size}; "
            f"median of {args.rounds} interleaved rounds"
        )
        print(report(modes))
        print(load.summary())
        print(f"\nwhere the {CORES} cores went (actors: from each actor's first call to its last output; Ray & start-up: the rest of this benchmark's processes: driver, raylets, GCS, read tasks, actors' start-up)")
        print(profile(modes))
        print(
            "busy: model computing / actor window (recipe: sum of session.run; accelrt: runtime "
            "instance_busy_fraction, prepare to completion). wait/batch: time with no batch in "
            "__call__ per batch. start-up: dataset start to the first output batch."
        )
    finally:
        try:
            ray.shutdown()
        finally:
            if cluster is not None:
                cluster.stop()
                import shutil

                shutil.rmtree(cluster.temp_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
