#!/usr/bin/env python3
"""accelrt from Python next to the Python peers and next to accelrt from Rust, from one run with
interleaved rounds.

    python python/benchmarks/bench.py            # the full run (a few minutes on 2 cores)
    python python/benchmarks/bench.py --quick    # a smoke run (seconds)

Two tables:

1. The PP-OCRv4 text detector at a fixed input size (``--size``), a burst of ``--requests``
   inputs: accelrt from asyncio (``asyncio.gather`` over the tasks) and from a thread pool whose
   workers call ``run(x).wait()``, against the onnxruntime loop a user writes first, a
   ``ThreadPoolExecutor`` with one session per thread, and the pure-Python asyncio
   micro-batcher (``peers.py``), and against the same model, input size and engine settings
   driven from Rust (``accelrt bench``, built from this checkout; ``--skip-rust`` leaves it out).
2. The zero-delay simulator (``y = 2x + 1`` on float32 [1, 4]; nothing left but accelrt's own
   cost of crossing into Rust and back): requests/s of one Python caller through accelrt from
   asyncio, threads, the sync ``wait()`` loop and ``imap``, next to the same micro-batcher
   driving the same model in numpy.

Each round runs every mode once, in an order rotated from round to round; throughputs are the
median over rounds, and ratios are taken within each round, then the median. Every output is
checked (the detector's against onnxruntime's on the same inputs, the simulator's against
``2x + 1``), so a fast wrong answer cannot win. The machine's other load during the timed runs
(CPU time of other processes, from /proc/stat) is printed with each table: compare only quiet runs.

Needs ``numpy``, ``onnxruntime`` (1.31.1, the version accelrt's ONNX backend uses; accelrt is
pointed at the very same library) and, for the Rust row, ``cargo``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accelrt  # noqa: E402
from peers import MicroBatcher, SessionPerThread, linear, ort_session  # noqa: E402
from machine import CORES, machine_busy, other_load_summary  # noqa: E402
from rust_cli import build_cli, run_cli  # noqa: E402


# -- measuring -------------------------------------------------------------------------------


class OtherLoad:
    """CPU time that other processes used while we timed, in cores (from /proc/stat, less our
    own process's and its children's CPU time)."""

    def __init__(self) -> None:
        self.samples: List[float] = []

    @staticmethod
    def _read() -> tuple:
        t = os.times()
        return time.perf_counter(), machine_busy(), t.user + t.system + t.children_user + t.children_system

    def start(self) -> tuple:
        return self._read()

    def stop(self, start: tuple) -> None:
        wall0, busy0, own0 = start
        wall1, busy1, own1 = self._read()
        if wall1 - wall0 > 0.05:  # /proc/stat counts in 10 ms ticks
            self.samples.append(max(0.0, (busy1 - busy0) - (own1 - own0)) / (wall1 - wall0))

    def summary(self) -> str:
        return other_load_summary(self.samples)


@dataclass
class Run:
    """One mode's result in one round."""

    seconds: float
    requests: int
    latencies: Optional[List[float]] = None  # seconds, per request; summed up in p50/p99
    mean_batch: Optional[float] = None
    outputs: Optional[list] = None  # checked, then dropped
    p50: Optional[float] = None
    p99: Optional[float] = None
    faults: float = 0.0  # page faults per request (minor_faults)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds


@dataclass
class Mode:
    name: str
    kind: str  # "peer", "accelrt", "rust" or "context"
    run: Callable[[], Run]
    warm: Callable[[], object] = lambda: None
    runs: List[Run] = field(default_factory=list)
    max_error: float = 0.0
    wrong: Optional[str] = None


def pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def fmt_rate(r: float) -> str:
    return f"{r:,.0f}" if r >= 100 else f"{r:,.1f}"


def fmt_time(s: Optional[float]) -> str:
    if s is None or s != s:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def minor_faults() -> int:
    """Page faults of this process and its waited-for children so far (first touches of memory)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt + resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt


def rounds(modes: List[Mode], n: int, load: OtherLoad, check: Callable[[Mode, Run], None]) -> None:
    """Warms every mode up, then ``n`` rounds of every mode, the order rotated each round."""
    for m in modes:
        m.warm()
    for r in range(n):
        order = modes[r % len(modes) :] + modes[: r % len(modes)]
        for m in order:
            mark, faults = load.start(), minor_faults()
            result = m.run()
            load.stop(mark)
            result.faults = (minor_faults() - faults) / result.requests
            check(m, result)
            if result.latencies:
                result.p50, result.p99 = pct(result.latencies, 50), pct(result.latencies, 99)
            result.outputs = result.latencies = None
            m.runs.append(result)
        line = " | ".join(fmt_rate(m.runs[-1].throughput) for m in modes)
        print(f"  round {r + 1}/{n} req/s, in table order: {line}", file=sys.stderr, flush=True)


def median_ratio(a: Mode, b: List[Mode]) -> float:
    """Median over rounds of a's throughput over the best of b's in the same round."""
    return statistics.median(x.throughput / max(m.runs[i].throughput for m in b) for i, x in enumerate(a.runs))


def table(rows: List[List[str]], header: List[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for r in [header, *rows]:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    return "\n".join(out)


def report(title: str, modes: List[Mode], columns: Dict[str, Callable[[Mode], str]]) -> str:
    header = ["mode", "req/s", "min-max", "p50", "p99", "batch", *columns, "check"]
    rows = []
    for m in modes:
        rates = [r.throughput for r in m.runs]
        p50 = [r.p50 for r in m.runs if r.p50 is not None]
        p99 = [r.p99 for r in m.runs if r.p99 is not None]
        batches = [r.mean_batch for r in m.runs if r.mean_batch is not None]
        rows.append(
            [
                m.name,
                fmt_rate(statistics.median(rates)),
                f"{fmt_rate(min(rates))}-{fmt_rate(max(rates))}",
                fmt_time(statistics.median(p50)) if p50 else "-",
                fmt_time(statistics.median(p99)) if p99 else "-",
                f"{statistics.fmean(batches):.2f}" if batches else "-",
                *[f(m) for f in columns.values()],
                m.wrong or (f"ok (max |diff| {m.max_error:.1e})" if m.max_error else "ok"),
            ]
        )
    return f"{title}\n{table(rows, header)}"


# -- the detector ----------------------------------------------------------------------------


def detector(args: argparse.Namespace, loop: asyncio.AbstractEventLoop, load: OtherLoad, cli: Optional[Path]) -> bool:
    import onnxruntime as ort

    model = str(accelrt.models.ocr()["det"])
    library = Path(ort.__file__).parent / "capi" / f"libonnxruntime.so.{ort.__version__}"
    n, size = args.requests, args.size
    rng = np.random.default_rng(7)
    distinct = [rng.random((1, 3, size, size), dtype=np.float32) for _ in range(min(args.distinct, n))]
    xs = [distinct[i % len(distinct)] for i in range(n)]
    ref_session = ort_session(model)
    reference = [ref_session.run(None, {"x": x})[0] for x in distinct]
    s = args
    engine = dict(
        instances=s.instances,
        intra_threads=s.intra,
        parallel=s.parallel,
        depth=s.depth,
        max_batch=s.max_batch,
        batch_timeout=s.batch_timeout,
    )
    rt = accelrt.Runtime.onnx(model, library_path=library, **engine)
    pool_threads = CORES
    per_thread = SessionPerThread(model, threads=pool_threads, intra=max(1, CORES // pool_threads))
    mb_session = ort_session(model)
    name = mb_session.get_inputs()[0].name
    user_pool = ThreadPoolExecutor(max_workers=s.threads)

    def mb_fn(batch: np.ndarray) -> np.ndarray:
        return mb_session.run(None, {name: batch})[0]

    def ort_loop() -> Run:
        out, stamps = [], []
        t0 = time.perf_counter()
        for x in xs:
            out.append(ref_session.run(None, {"x": x})[0])
            stamps.append(time.perf_counter())
        t1 = time.perf_counter()
        return Run(t1 - t0, n, [t - t0 for t in stamps], outputs=out)

    def ort_pool() -> Run:
        stamps: List[float] = []
        t0 = time.perf_counter()
        out = per_thread.map(xs, stamps)
        t1 = time.perf_counter()
        return Run(t1 - t0, n, [t - t0 for t in stamps], outputs=out)

    def micro_batcher(inline: bool) -> Callable[[], Run]:
        async def go() -> Run:
            mb = MicroBatcher(mb_fn, s.mb_max_batch, s.mb_timeout, inline=inline)
            stamps: List[float] = []
            t0 = time.perf_counter()
            futures = [mb.submit(x) for x in xs]
            for f in futures:
                f.add_done_callback(lambda _: stamps.append(time.perf_counter()))
            out = await asyncio.gather(*futures)
            t1 = time.perf_counter()
            await mb.close()
            return Run(t1 - t0, n, [t - t0 for t in stamps], mb.items / mb.batches, out)

        return lambda: loop.run_until_complete(go())

    def accelrt_gather() -> Run:
        async def go() -> Run:
            rt.reset_stats()
            stamps: List[float] = []
            t0 = time.perf_counter()
            tasks = [rt.run(x) for x in xs]
            for t in tasks:
                t.add_done_callback(lambda _: stamps.append(time.perf_counter()))
            out = await asyncio.gather(*tasks)
            t1 = time.perf_counter()
            return Run(t1 - t0, n, [t - t0 for t in stamps], rt.stats().mean_batch, out)

        return loop.run_until_complete(go())

    def accelrt_threads() -> Run:
        rt.reset_stats()
        stamps: List[float] = []

        def one(x: np.ndarray) -> np.ndarray:
            y = rt.run(x).wait()
            stamps.append(time.perf_counter())
            return y

        t0 = time.perf_counter()
        out = list(user_pool.map(one, xs))
        t1 = time.perf_counter()
        return Run(t1 - t0, n, [t - t0 for t in stamps], rt.stats().mean_batch, out)

    rust_args = [
        model, "--input-shape", f"1x3x{size}x{size}", "--requests", str(n), "--concurrency", str(n),
        "--warmup", str(min(n, 4 * CORES)), "--instances", str(s.instances), "--intra-threads", str(s.intra),
        "--parallel", str(s.parallel), "--depth", str(s.depth), "--max-batch", str(s.max_batch),
        "--batch-timeout", f"{s.batch_timeout * 1e3:g}ms",
    ]  # fmt: skip

    def rust() -> Run:
        r = run_cli(cli, rust_args, env={"ORT_DYLIB_PATH": str(library)})
        return Run(n / r.throughput, n, mean_batch=r.mean_batch, p50=r.p50, p99=r.p99)

    warm = xs[: 4 * CORES]
    modes = [
        Mode("onnxruntime loop (default session)", "peer", ort_loop, lambda: [ref_session.run(None, {"x": x}) for x in warm[:2]]),
        Mode(f"onnxruntime ThreadPoolExecutor ({pool_threads} threads x {max(1, CORES // pool_threads)} intra)", "peer", ort_pool, lambda: per_thread.map(warm)),
        Mode("asyncio micro-batcher, batch inline", "peer", micro_batcher(True), micro_batcher(True)),
        Mode("asyncio micro-batcher, batch in run_in_executor", "peer", micro_batcher(False), micro_batcher(False)),
        Mode("accelrt from asyncio (gather)", "accelrt", accelrt_gather, accelrt_gather),
        Mode(f"accelrt from {s.threads} threads (run(x).wait())", "accelrt", accelrt_threads, accelrt_threads),
    ]  # fmt: skip
    if cli is not None:
        modes.append(Mode("accelrt from Rust (accelrt bench)", "rust", rust))

    def check(m: Mode, r: Run) -> None:
        if r.outputs is None:
            return
        for i, y in enumerate(r.outputs):
            want = reference[i % len(distinct)]
            if y.shape != want.shape or y.dtype != want.dtype:
                m.wrong = f"WRONG: output {i} is {y.dtype} {y.shape}, onnxruntime gives {want.dtype} {want.shape}"
                return
            err = float(np.max(np.abs(y - want)))
            m.max_error = max(m.max_error, err)
            if not err <= args.tolerance:
                m.wrong = f"WRONG: output {i} differs from onnxruntime's by {err:.2g}"

    print(
        f"\n# PP-OCRv4 detector, float32 1x3x{size}x{size}, bursts of {n} requests ({len(distinct)} distinct inputs), "
        f"{args.rounds} rounds",
        file=sys.stderr,
    )
    rounds(modes, args.rounds, load, check)
    rt.close()
    per_thread.close()
    user_pool.shutdown()

    peers = [m for m in modes if m.kind == "peer"]
    rust_mode = next((m for m in modes if m.kind == "rust"), None)
    columns: Dict[str, Callable[[Mode], str]] = {
        "vs best peer": lambda m: f"{median_ratio(m, peers):.2f}x",
    }
    if rust_mode is not None:
        columns["vs Rust"] = lambda m: f"{median_ratio(m, [rust_mode]):.2f}x"
    columns["faults/req"] = lambda m: f"{statistics.median(r.faults for r in m.runs):,.0f}"
    title = (
        f"PP-OCRv4 detector ({Path(model).name}), float32 1x3x{size}x{size}: bursts of {n} requests, "
        f"{args.rounds} interleaved rounds"
    )
    print(report(title, modes, columns))
    print(
        f"settings: accelrt instances {s.instances} x intra_threads {s.intra}, parallel {s.parallel}, depth {s.depth}, "
        f"max_batch {s.max_batch}, batch_timeout {s.batch_timeout * 1e3:g} ms (the Rust row: the same); "
        f"micro-batcher max_batch {s.mb_max_batch}, timeout {s.mb_timeout * 1e3:g} ms, default session; "
        f"onnxruntime {ort.__version__} ({library.name} for accelrt)"
    )
    print("p50/p99 (median over rounds): time from the burst's start to each result; Rust: the engine's run-to-result latency")
    print("faults/req: page faults (first touches of fresh memory) per request; Rust: its whole process, start-up included")
    gather = modes[4]
    ok = all(m.wrong is None for m in modes)
    vs_peer = median_ratio(gather, peers)
    print(f"target: accelrt from asyncio >= 1.3x the best Python peer: {vs_peer:.3f}x -> {'met' if vs_peer >= 1.3 else 'MISSED'}")
    if rust_mode is not None:
        vs_rust = median_ratio(gather, [rust_mode])
        print(
            f"target: accelrt from asyncio >= 0.9x accelrt from Rust:    {vs_rust:.3f}x -> {'met' if vs_rust >= 0.9 else 'MISSED'}"
        )
    return ok


# -- the zero-delay simulator ----------------------------------------------------------------


def simulator(args: argparse.Namespace, loop: asyncio.AbstractEventLoop, load: OtherLoad, cli: Optional[Path]) -> bool:
    chunk = args.requests
    n = max(chunk, args.sim_requests // chunk * chunk)
    rng = np.random.default_rng(11)
    xs = [rng.random((1, 4), dtype=np.float32) for _ in range(chunk)]
    every = xs * (n // chunk)
    s = args
    rt = accelrt.Runtime.sim(
        parallel=s.sim_parallel, depth=s.sim_depth, max_batch=s.sim_max_batch,
        batch_timeout=s.sim_batch_timeout, model_max_batch=max(64, s.sim_max_batch),
    )  # fmt: skip
    user_pool = ThreadPoolExecutor(max_workers=s.threads)

    def micro_batcher(inline: bool, coroutine: bool) -> Callable[[], Run]:
        async def go() -> Run:
            mb = MicroBatcher(linear, s.sim_max_batch, s.mb_sim_timeout, inline=inline, coroutine=coroutine)
            out: list = []
            t0 = time.perf_counter()
            for _ in range(n // chunk):
                out += await asyncio.gather(*(mb.submit(x) for x in xs))
            t1 = time.perf_counter()
            await mb.close()
            return Run(t1 - t0, n, mean_batch=mb.items / mb.batches, outputs=out)

        return lambda: loop.run_until_complete(go())

    def accelrt_gather() -> Run:
        async def go() -> Run:
            rt.reset_stats()
            out: list = []
            t0 = time.perf_counter()
            for _ in range(n // chunk):
                out += await asyncio.gather(*(rt.run(x) for x in xs))
            t1 = time.perf_counter()
            return Run(t1 - t0, n, mean_batch=rt.stats().mean_batch, outputs=out)

        return loop.run_until_complete(go())

    def accelrt_threads() -> Run:
        rt.reset_stats()
        t0 = time.perf_counter()
        out = list(user_pool.map(lambda x: rt.run(x).wait(), every))
        t1 = time.perf_counter()
        return Run(t1 - t0, n, mean_batch=rt.stats().mean_batch, outputs=out)

    def accelrt_wait_loop() -> Run:
        rt.reset_stats()
        out, lat = [], []
        run, clock = rt.run, time.perf_counter
        t0 = clock()
        for x in every:
            a = clock()
            out.append(run(x).wait())
            lat.append(clock() - a)
        t1 = clock()
        return Run(t1 - t0, n, lat, rt.stats().mean_batch, out)

    def accelrt_imap() -> Run:
        rt.reset_stats()
        t0 = time.perf_counter()
        out = list(rt.imap(every))
        t1 = time.perf_counter()
        return Run(t1 - t0, n, mean_batch=rt.stats().mean_batch, outputs=out)

    def asyncio_floor() -> Run:
        # What any path that gives each request its own future and gathers them costs at the
        # least: a future per input, resolved at once (no model, nothing to check), then gather.
        async def go() -> Run:
            t0 = time.perf_counter()
            for _ in range(n // chunk):
                futures = []
                for x in xs:
                    f = loop.create_future()
                    f.set_result(x)
                    futures.append(f)
                await asyncio.gather(*futures)
            t1 = time.perf_counter()
            return Run(t1 - t0, n)

        return loop.run_until_complete(go())

    def pool_floor() -> Run:
        t0 = time.perf_counter()
        out = list(user_pool.map(linear, every))
        t1 = time.perf_counter()
        return Run(t1 - t0, n, outputs=out)

    rust_args = [
        "--backend", "sim", "--sim-stages", "0,0,0,0", "--input-shape", "1x4",
        "--parallel", str(s.sim_parallel), "--depth", str(s.sim_depth),
        "--max-batch", str(s.sim_max_batch), "--batch-timeout", f"{s.sim_batch_timeout * 1e3:g}ms",
    ]  # fmt: skip

    def rust(concurrency: int, requests: int) -> Callable[[], Run]:
        def go() -> Run:
            r = run_cli(cli, [*rust_args, "--concurrency", str(concurrency), "--requests", str(requests)])
            return Run(requests / r.throughput, requests, mean_batch=r.mean_batch, p50=r.p50, p99=r.p99)

        return go

    modes = [
        Mode("asyncio micro-batcher, submit returns the future", "peer", micro_batcher(True, False)),
        Mode("asyncio micro-batcher, async def submit (SDK style)", "peer", micro_batcher(True, True)),
        Mode("asyncio micro-batcher, batch in run_in_executor", "peer", micro_batcher(False, False)),
        Mode("accelrt from asyncio (gather)", "accelrt", accelrt_gather),
        Mode(f"accelrt from {s.threads} threads (run(x).wait())", "accelrt", accelrt_threads),
        Mode("accelrt sync loop (run(x).wait(), one at a time)", "accelrt", accelrt_wait_loop),
        Mode("accelrt imap (window 128)", "accelrt", accelrt_imap),
    ]  # fmt: skip
    modes += [
        Mode("context: asyncio.gather floor (a resolved future per input, no model)", "context", asyncio_floor),
        Mode(f"context: {s.threads}-thread pool.map of numpy 2x + 1", "context", pool_floor),
    ]
    if cli is not None:
        modes += [
            Mode(f"context: accelrt from Rust (accelrt bench, {chunk} in flight)", "rust", rust(chunk, n)),
            Mode("context: accelrt from Rust (accelrt bench, 1 in flight)", "rust", rust(1, n // 4)),
        ]
    for m in modes:
        if m.kind != "rust":
            m.warm = m.run

    def check(m: Mode, r: Run) -> None:
        if r.outputs is None:
            return
        for i, y in enumerate(r.outputs):
            x = xs[i % chunk]
            if not (y.shape == x.shape and y.dtype == x.dtype and np.array_equal(y, 2.0 * x + 1.0)):
                m.wrong = f"WRONG: output {i} is {y!r} for input {x!r}, want 2x + 1"
                return

    print(
        f"\n# zero-delay simulator, {n} requests per mode ({n // chunk} bursts of {chunk}), {args.rounds} rounds", file=sys.stderr
    )
    rounds(modes, args.rounds, load, check)
    rt.close()
    user_pool.shutdown()

    peers = [m for m in modes if m.kind == "peer"]
    columns: Dict[str, Callable[[Mode], str]] = {
        "vs best micro-batcher": lambda m: f"{median_ratio(m, peers):.2f}x",
        "per request": lambda m: fmt_time(1 / statistics.median(r.throughput for r in m.runs)),
    }
    title = (
        f"zero-delay simulator (y = 2x + 1, float32 [1, 4]), one Python caller: {n} requests per mode "
        f"in bursts of {chunk}, {args.rounds} interleaved rounds"
    )
    print(report(title, modes, columns))
    print(
        f"settings: accelrt parallel {s.sim_parallel}, depth {s.sim_depth}, max_batch {s.sim_max_batch}, "
        f"batch_timeout {s.sim_batch_timeout * 1e3:g} ms (the Rust rows: the same); "
        f"micro-batcher max_batch {s.sim_max_batch}, timeout {s.mb_sim_timeout * 1e3:g} ms, numpy y = 2x + 1"
    )
    print("p50/p99 (median over rounds): the sync loop's run-to-result round trip; Rust: the engine's run-to-result latency")
    gather = modes[3]
    ok = all(m.wrong is None for m in modes)
    ratio = median_ratio(gather, peers)
    sdk = median_ratio(gather, [modes[1]])
    print(
        f"target: accelrt from asyncio >= 5x the asyncio micro-batcher: {ratio:.3f}x the best variant -> "
        f"{'met' if ratio >= 5 else 'MISSED'} ({sdk:.2f}x the SDK-style async def variant)"
    )
    return ok


# -- main ------------------------------------------------------------------------------------


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (each runs every mode once)")
    p.add_argument("--requests", type=int, default=512, help="requests per burst (asyncio.gather over this many)")
    p.add_argument("--size", type=int, default=320, help="detector input side (float32 1x3xSIZExSIZE)")
    p.add_argument("--sim-requests", type=int, default=51200, help="requests per mode and round on the simulator")
    p.add_argument("--quick", action="store_true", help="a smoke run: 1 round, small bursts, small inputs")
    p.add_argument("--skip-rust", action="store_true", help="leave out the Rust rows (no cargo build)")
    p.add_argument("--only", choices=["det", "sim"], help="run one table")
    p.add_argument("--threads", type=int, default=8, help="threads of the thread-pool modes calling run(x).wait()")
    p.add_argument("--distinct", type=int, default=32, help="distinct detector inputs (cycled over the burst)")
    p.add_argument("--tolerance", type=float, default=1e-4, help="largest |accelrt - onnxruntime| accepted")
    g = p.add_argument_group("the detector (the Rust row uses the same engine settings)")
    g.add_argument("--instances", type=int, default=CORES, help="accelrt sessions")
    g.add_argument("--intra", type=int, default=1, help="intra_threads per instance")
    g.add_argument("--parallel", type=int, default=1)
    g.add_argument("--depth", type=int, default=2)
    g.add_argument("--max-batch", type=int, default=1)
    g.add_argument("--batch-timeout", type=float, default=0.0, help="seconds")
    g.add_argument("--mb-max-batch", type=int, default=2, help="the micro-batcher's max_batch on the detector")
    g.add_argument("--mb-timeout", type=float, default=0.002, help="the micro-batcher's timeout on the detector (s)")
    g = p.add_argument_group("the simulator")
    g.add_argument("--sim-parallel", type=int, default=1)
    g.add_argument("--sim-depth", type=int, default=2)
    g.add_argument("--sim-max-batch", type=int, default=64, help="also the micro-batcher's")
    g.add_argument("--sim-batch-timeout", type=float, default=0.0, help="seconds")
    g.add_argument("--mb-sim-timeout", type=float, default=0.0, help="the micro-batcher's timeout on the simulator (s)")
    args = p.parse_args()
    if args.quick:
        args.rounds, args.requests, args.size, args.sim_requests = 1, 32, 160, 4096
    return args


def main() -> int:
    args = parse()
    os.environ.setdefault("ACCELRT_CACHE", str(Path(__file__).resolve().parents[2] / ".cache"))
    cli = None if args.skip_rust else build_cli()
    head = subprocess.run(
        ["git", "-C", str(Path(__file__).resolve().parent), "log", "-1", "--format=%h"], capture_output=True, text=True
    )
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(
        f"accelrt {accelrt.__version__} ({Path(accelrt.__file__).parent}; checkout {head.stdout.strip() or '?'}) | Python {platform.python_version()} | numpy {np.__version__} | "
        f"{CORES} cores ({cpu}) | load average at start {os.getloadavg()[0]:.2f}"
    )
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ok = True
    if args.only in (None, "det"):
        load = OtherLoad()
        ok &= detector(args, loop, load, cli)
        print(load.summary())
    if args.only in (None, "sim"):
        load = OtherLoad()
        ok &= simulator(args, loop, load, cli)
        print(load.summary())
    loop.close()
    if not ok:
        print("some outputs were WRONG (see the check column)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
