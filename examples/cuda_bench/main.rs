//! GPU benchmark of the CUDA backend: pinned vs pageable H2D bandwidth, then a copy-heavy MLP
//! (4 MB in, 4 MB out per batch, ~1 ms of GEMMs) at depth 1, 2, 3 as a fraction of the bound
//! 1 / max(H2D, compute, D2H), and a timeline of one depth-3 run from CUDA events.
//!
//! Run on a machine with an NVIDIA GPU (with the PyTorch comparison: `bash
//! benches/cuda_bench.sh`; from a prebuilt bundle: see backends/cuda/README.md):
//!
//! ```text
//! cargo run --release --example cuda_bench -- [--batch 256] [--dim 4096] [--batches 64]
//!     [--layers N] [--parallel 1] [--pool N] [--json PATH] [--svg PATH] [--trace PATH] [--probe]
//! ```
//!
//! Every request is one row of `--dim` f32s taken round-robin from a pool of `--pool` distinct
//! random rows (default: one per request), prepared by `--parallel` host threads; the PyTorch
//! baseline reads the same settings from the JSON and does the same. `--probe` prints what the
//! machine offers (driver, devices, NVRTC, cuBLAS) and exits. Without a GPU it prints why and
//! exits with status 2; with a GPU but without NVRTC or cuBLAS, with status 4.

mod svg;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use accelrt::trace::{overlapping, Interval, Phase};
use accelrt::{AsyncRuntime, DType, Runtime, Tensor, Timeline};
use accelrt_cuda::{
    copy_h2d, copy_h2d_pageable, Burst, CudaBackend, CudaDevice, DeviceBuffer, HostAccess, Mlp, PinnedBuffer,
    Requirement,
};

const USAGE: &str = "usage: cuda_bench [--batch N] [--dim N] [--batches N] [--layers N] [--parallel N] \
                     [--pool N] [--json PATH] [--svg PATH] [--trace PATH] [--probe]";

struct Args {
    batch: usize,
    dim: usize,
    batches: usize,
    layers: Option<usize>,
    parallel: usize,
    pool: Option<usize>,
    json: Option<String>,
    svg: Option<String>,
    trace: Option<String>,
    probe: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        batch: 256,
        dim: 4096,
        batches: 64,
        layers: None,
        parallel: 1,
        pool: None,
        json: None,
        svg: None,
        trace: None,
        probe: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        let mut number = || -> Result<usize, String> {
            let v = value()?;
            match v.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("{flag}: expected a positive integer, got {v:?}")),
            }
        };
        match flag.as_str() {
            "--batch" => a.batch = number()?,
            "--dim" => a.dim = number()?,
            "--batches" => a.batches = number()?,
            "--layers" => a.layers = Some(number()?),
            "--parallel" => a.parallel = number()?,
            "--pool" => a.pool = Some(number()?),
            "--json" => a.json = Some(value()?),
            "--svg" => a.svg = Some(value()?),
            "--trace" => a.trace = Some(value()?),
            "--probe" => a.probe = true,
            "--bench" => {} // passed by `cargo bench`
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

fn main() -> accelrt::Result<()> {
    let args = args().unwrap_or_else(|e| {
        eprintln!("cuda_bench: {e}\n{USAGE}");
        std::process::exit(2);
    });
    let probe = accelrt_cuda::probe();
    println!("{probe}");
    if let Some(why) = probe.missing(&[Requirement::Device]) {
        eprintln!("cuda_bench: no device to benchmark: {why}");
        std::process::exit(2);
    }
    if let Some(why) = probe.missing(&[Requirement::Nvrtc, Requirement::Cublas]) {
        eprintln!("cuda_bench: a device but no libraries to run the benchmark with: {why}");
        std::process::exit(4);
    }
    if args.probe {
        return Ok(());
    }
    let device = CudaDevice::open(0)?;
    println!(
        "\ndevice 0: {} (sm_{}{})",
        device.name(),
        device.compute_capability().0,
        device.compute_capability().1
    );

    // ---------------------------------------------------------------- bandwidth
    let (pinned, pageable) = h2d_bandwidth(&device, 64 << 20)?;
    println!("\nH2D bandwidth, 64 MiB copies");
    println!("  pinned   {pinned:>7.2} GB/s");
    println!(
        "  pageable {pageable:>7.2} GB/s   (pinned is {:.2}x)",
        pinned / pageable
    );

    // ---------------------------------------------------------------- workload
    let (b, k) = (args.batch, args.dim);
    let burst = Burst::new(b, args.batches)?;
    let layers = match args.layers {
        Some(l) => l,
        None => calibrate_layers(b, k)?,
    };
    let dims = vec![k; layers + 1];
    let mlp = Mlp::random(&dims, 42)?.max_batch(b);
    let gflop = (mlp.flops_per_row() * b) as f64 / 1e9;
    let mb = (b * k * 4) as f64 / 1e6;
    let pool_size = args.pool.unwrap_or(burst.requests()).min(burst.requests());
    let pool = random_rows(pool_size, k)?;
    println!(
        "\nworkload: MLP {layers} x Linear({k}, {k}) + ReLU, batch {b}: {mb:.1} MB in, {mb:.1} MB out, \
         {gflop:.1} GFLOP per batch; {} batches; {pool_size} distinct inputs; {} preparation thread(s)",
        burst.batches(),
        args.parallel
    );

    let mut rows = BTreeMap::new();
    for depth in [1usize, 2, 3] {
        let timeline = Timeline::new();
        let backend = CudaBackend::builder(mlp.clone()).timeline(timeline.clone()).build()?;
        let rt = Runtime::builder(backend)
            .parallel(args.parallel)
            .depth(depth)
            .max_batch(b)
            .queue_capacity(burst.queue_capacity())
            .build()?;
        run_burst(&rt, &pool, Burst::new(b, 4)?)?; // warm-up: clocks, allocator, JIT
        timeline.clear();
        rt.reset_stats();
        let start = Instant::now();
        run_burst(&rt, &pool, burst)?;
        let wall = start.elapsed();
        let items_s = burst.requests() as f64 / wall.as_secs_f64();
        let stats = PhaseStats::from(&timeline.intervals(), None);
        rows.insert(depth, (items_s, stats, timeline, rt.stats().phases));
    }
    // The bound comes from depth 1, where no batch competes with another for an engine.
    let bound_phases = rows[&1].1.clone();
    let slowest = bound_phases.h2d.max(bound_phases.compute).max(bound_phases.d2h);
    let bound = b as f64 / slowest.as_secs_f64();
    println!(
        "\nper batch at depth 1 (CUDA events, median): H2D {:.3} ms, compute {:.3} ms, D2H {:.3} ms -> bound {:.0} items/s",
        ms(bound_phases.h2d),
        ms(bound_phases.compute),
        ms(bound_phases.d2h),
        bound
    );
    println!("\n depth   items/s   batches/s   fraction of bound   copy/kernel overlaps   stats h2d/compute/d2h (ms)");
    for (depth, (items_s, _, timeline, phases)) in &rows {
        let all = timeline.intervals();
        let overlaps =
            overlapping(&all, Phase::H2D, Phase::Compute).len() + overlapping(&all, Phase::D2H, Phase::Compute).len();
        println!(
            " {depth:>5} {items_s:>9.0} {:>11.1} {:>19.3} {overlaps:>22}   {:.3}/{:.3}/{:.3}",
            items_s / b as f64,
            items_s / bound,
            ms(phases.h2d),
            ms(phases.compute),
            ms(phases.d2h)
        );
    }
    let depth3 = rows[&3].2.intervals();
    print_timeline(&depth3);
    if let Some(path) = &args.svg {
        let title = format!("{}: 8 batches at depth 3 (CUDA events)", device.name());
        write(path, &svg::render(&svg::first_batches(&depth3, 8), &title))?;
        println!("timeline picture written to {path}");
    }
    if let Some(path) = &args.trace {
        rows[&3]
            .2
            .write_chrome_trace(path)
            .map_err(|e| accelrt::Error::Config(format!("write {path}: {e}")))?;
        println!("Chrome trace of the depth-3 run written to {path}");
    }

    if let Some(path) = &args.json {
        let tput: Vec<String> = rows.iter().map(|(d, (t, ..))| format!("\"{d}\": {t:.1}")).collect();
        let json = format!(
            "{{\"device\": \"{}\", \"batch\": {b}, \"batches\": {}, \"pool\": {pool_size}, \"parallel\": {}, \
             \"dims\": {dims:?}, \"bound_items_s\": {bound:.1}, \
             \"h2d_ms\": {:.4}, \"compute_ms\": {:.4}, \"d2h_ms\": {:.4}, \
             \"pinned_gbs\": {pinned:.2}, \"pageable_gbs\": {pageable:.2}, \"items_s\": {{{}}}}}\n",
            device.name().replace('"', "'"),
            burst.batches(),
            args.parallel,
            ms(bound_phases.h2d),
            ms(bound_phases.compute),
            ms(bound_phases.d2h),
            tput.join(", ")
        );
        write(path, &json)?;
        println!("\nresults written to {path}");
    }
    Ok(())
}

fn write(path: &str, text: &str) -> accelrt::Result<()> {
    std::fs::write(path, text).map_err(|e| accelrt::Error::Config(format!("write {path}: {e}")))
}

/// `n` distinct rows of `k` random f32s in [0, 1) (xorshift: no dependency for benchmark data).
fn random_rows(n: usize, k: usize) -> accelrt::Result<Vec<Tensor>> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            let row: Vec<f32> = (0..k)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 40) as f32 / (1u64 << 24) as f32
                })
                .collect();
            Tensor::new([1, k], row)
        })
        .collect()
}

/// Submits the whole burst (request `i` is `pool[i % pool.len()]`), then waits for all of it.
fn run_burst<B>(rt: &Runtime<B>, pool: &[Tensor], burst: Burst) -> accelrt::Result<()>
where
    B: accelrt::Backend<Input = Tensor, Output = Tensor>,
{
    let tasks: Vec<_> = (0..burst.requests())
        .map(|i| rt.run(pool[i % pool.len()].clone()))
        .collect();
    for t in tasks {
        t.wait()?;
    }
    Ok(())
}

/// Picks the layer count that makes one full batch's GEMMs take about 1 ms, timing one layer
/// over 8 full batches (the queue holds the whole burst, so batches form full; partial ones,
/// such as a first batch started while the rest were still being submitted, are left out).
fn calibrate_layers(b: usize, k: usize) -> accelrt::Result<usize> {
    let timeline = Timeline::new();
    let backend = CudaBackend::builder(Mlp::random(&[k, k], 1)?.max_batch(b))
        .timeline(timeline.clone())
        .build()?;
    let burst = Burst::new(b, 8)?;
    let rt = Runtime::builder(backend)
        .depth(1)
        .max_batch(b)
        .queue_capacity(burst.queue_capacity())
        .timeline(timeline.clone())
        .build()?;
    let x = random_rows(1, k)?;
    run_burst(&rt, &x, Burst::new(b, 3)?)?;
    timeline.clear();
    run_burst(&rt, &x, burst)?;
    let full: Vec<u64> = timeline
        .batch_sizes()
        .into_iter()
        .filter(|&(_, n)| n == b)
        .map(|(id, _)| id)
        .collect();
    let per_layer = PhaseStats::from(&timeline.intervals(), Some(&full)).compute;
    if per_layer.is_zero() {
        return Err(accelrt::Error::Config(
            "calibration: no full batch was timed; pass --layers".into(),
        ));
    }
    Ok(((1.0e-3 / per_layer.as_secs_f64()).round() as usize).clamp(1, 64))
}

/// Median duration of each device phase, over the batches in `only` (all when `None`).
#[derive(Clone)]
struct PhaseStats {
    h2d: Duration,
    compute: Duration,
    d2h: Duration,
}

impl PhaseStats {
    fn from(intervals: &[Interval], only: Option<&[u64]>) -> Self {
        let median = |p: Phase| {
            let mut d: Vec<Duration> = intervals
                .iter()
                .filter(|i| i.phase == p && only.is_none_or(|ids| ids.contains(&i.batch)))
                .map(|i| i.end - i.start)
                .collect();
            d.sort();
            d.get(d.len() / 2).copied().unwrap_or_default()
        };
        PhaseStats {
            h2d: median(Phase::H2D),
            compute: median(Phase::Compute),
            d2h: median(Phase::D2H),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// GB/s of 64 MiB H2D copies from pinned and from pageable memory (median of 10 each).
fn h2d_bandwidth(device: &CudaDevice, bytes: usize) -> accelrt::Result<(f64, f64)> {
    let stream = device.new_stream()?;
    let mut dst = DeviceBuffer::new(&stream, DType::U8, bytes, "bandwidth target")?;
    let mut pinned = PinnedBuffer::new(device.context(), bytes, HostAccess::WriteCombined, "bandwidth source")?;
    pinned.as_mut_slice()?.fill(1);
    let pageable = vec![1u8; bytes];
    let time = |f: &mut dyn FnMut() -> accelrt::Result<()>| -> accelrt::Result<f64> {
        f()?; // warm-up
        let mut t: Vec<f64> = (0..10)
            .map(|_| {
                let start = Instant::now();
                f().map(|_| start.elapsed().as_secs_f64())
            })
            .collect::<accelrt::Result<_>>()?;
        t.sort_by(f64::total_cmp);
        Ok(bytes as f64 / t[t.len() / 2] / 1e9)
    };
    let pinned_gbs = time(&mut || {
        copy_h2d(&stream, &pinned, &mut dst, bytes)?;
        stream
            .synchronize()
            .map_err(|e| accelrt::Error::backend_msg(format!("synchronize: {e:?}")))
    })?;
    let pageable_gbs = time(&mut || copy_h2d_pageable(&stream, &pageable, &mut dst))?;
    Ok((pinned_gbs, pageable_gbs))
}

/// An ASCII chart of the first batches of a run: one row per engine, one letter per batch.
fn print_timeline(all: &[Interval]) {
    let shown = svg::first_batches(all, 8);
    let Some(first) = shown.iter().map(|i| i.batch).min() else {
        return;
    };
    let (Some(t0), Some(t1)) = (shown.iter().map(|i| i.start).min(), shown.iter().map(|i| i.end).max()) else {
        return;
    };
    let width = 100usize;
    let span = (t1 - t0).as_secs_f64().max(1e-9);
    println!(
        "\ntimeline of 8 batches at depth 3 ({:.2} ms, one column = {:.1} us; letters = batches):",
        span * 1e3,
        span * 1e6 / width as f64
    );
    for phase in [Phase::H2D, Phase::Compute, Phase::D2H] {
        let mut row = vec![b'.'; width];
        for i in shown.iter().filter(|i| i.phase == phase) {
            let col = |t: Duration| ((((t - t0).as_secs_f64() / span) * width as f64) as usize).min(width - 1);
            let letter = b'A' + ((i.batch - first) % 26) as u8;
            for c in row.iter_mut().take(col(i.end) + 1).skip(col(i.start)) {
                *c = if *c == b'.' { letter } else { b'#' };
            }
        }
        println!("  {:>8} |{}|", phase.name(), String::from_utf8_lossy(&row));
    }
    println!("  ('#' = two batches in the same engine row at once)");
}
