//! GPU benchmark of the CUDA backend: pinned vs pageable H2D bandwidth, then a copy-heavy MLP
//! (4 MB in, 4 MB out per batch, ~1 ms of GEMMs) at depth 1, 2, 3 as a fraction of the bound
//! 1 / max(H2D, compute, D2H), and a timeline of one depth-3 run from CUDA events.
//!
//! Run on a machine with an NVIDIA GPU (the full comparison with PyTorch: `bash
//! benches/cuda_bench.sh`):
//!
//! ```text
//! cargo run --release --example cuda_bench -- [--batch 256] [--dim 4096] [--batches 64] [--json PATH]
//! ```
//!
//! Without a GPU it prints why and exits with status 2.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use accelrt::trace::{overlapping, Interval, Phase};
use accelrt::{AsyncRuntime, DType, Runtime, Tensor, Timeline};
use accelrt_cuda::{copy_h2d, copy_h2d_pageable, CudaBackend, CudaDevice, DeviceBuffer, HostAccess, Mlp, PinnedBuffer};

struct Args {
    batch: usize,
    dim: usize,
    batches: usize,
    layers: Option<usize>,
    json: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        batch: 256,
        dim: 4096,
        batches: 64,
        layers: None,
        json: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--batch" => a.batch = value().parse().expect("--batch N"),
            "--dim" => a.dim = value().parse().expect("--dim N"),
            "--batches" => a.batches = value().parse().expect("--batches N"),
            "--layers" => a.layers = Some(value().parse().expect("--layers N")),
            "--json" => a.json = Some(value()),
            "--bench" => {} // passed by `cargo bench`
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn main() -> accelrt::Result<()> {
    let args = args();
    let device = match CudaDevice::open(0) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cuda_bench: no GPU to benchmark: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "device 0: {} (sm_{}{})",
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
    let layers = match args.layers {
        Some(l) => l,
        None => calibrate_layers(b, k)?,
    };
    let dims = vec![k; layers + 1];
    let mlp = Mlp::random(&dims, 42)?.max_batch(b);
    let gflop = (mlp.flops_per_row() * b) as f64 / 1e9;
    let mb = (b * k * 4) as f64 / 1e6;
    println!(
        "\nworkload: MLP {layers} x Linear({k}, {k}) + ReLU, batch {b}: {mb:.1} MB in, {mb:.1} MB out, {gflop:.1} GFLOP per batch"
    );

    let mut rows = BTreeMap::new();
    let mut phases = None;
    for depth in [1usize, 2, 3] {
        let timeline = Timeline::new();
        let backend = CudaBackend::builder(mlp.clone()).timeline(timeline.clone()).build()?;
        let rt = Runtime::builder(backend)
            .parallel(depth.max(2))
            .depth(depth)
            .max_batch(b)
            .queue_capacity(b * args.batches)
            .build()?;
        let x = Tensor::new([1, k], (0..k).map(|i| (i % 17) as f32 / 17.0).collect::<Vec<f32>>())?;
        run_batches(&rt, &x, b, 4)?; // warm-up: clocks, allocator, JIT
        timeline.clear();
        let start = Instant::now();
        run_batches(&rt, &x, b, args.batches)?;
        let wall = start.elapsed();
        let items_s = (b * args.batches) as f64 / wall.as_secs_f64();
        let stats = PhaseStats::from(&timeline.intervals());
        if depth == 1 {
            phases = Some(stats.clone());
        }
        rows.insert(depth, (items_s, stats, timeline));
    }
    // The bound comes from depth 1, where no batch competes with another for an engine.
    let bound_phases = phases.expect("depth 1 ran");
    let slowest = bound_phases.h2d.max(bound_phases.compute).max(bound_phases.d2h);
    let bound = b as f64 / slowest.as_secs_f64();
    println!(
        "\nper batch at depth 1 (CUDA events): H2D {:.3} ms, compute {:.3} ms, D2H {:.3} ms -> bound {:.0} items/s",
        ms(bound_phases.h2d),
        ms(bound_phases.compute),
        ms(bound_phases.d2h),
        bound
    );
    println!("\n depth   items/s   batches/s   fraction of bound   copy/kernel overlaps");
    for (depth, (items_s, _stats, timeline)) in &rows {
        let all = timeline.intervals();
        let overlaps =
            overlapping(&all, Phase::H2D, Phase::Compute).len() + overlapping(&all, Phase::D2H, Phase::Compute).len();
        println!(
            " {depth:>5} {items_s:>9.0} {:>11.1} {:>19.3} {overlaps:>22}",
            items_s / b as f64,
            items_s / bound
        );
    }
    print_timeline(&rows[&3].2.intervals());

    if let Some(path) = &args.json {
        let tput: Vec<String> = rows.iter().map(|(d, (t, _, _))| format!("\"{d}\": {t:.1}")).collect();
        let json = format!(
            "{{\"device\": \"{}\", \"batch\": {b}, \"dims\": {dims:?}, \"bound_items_s\": {bound:.1}, \
             \"h2d_ms\": {:.4}, \"compute_ms\": {:.4}, \"d2h_ms\": {:.4}, \
             \"pinned_gbs\": {pinned:.2}, \"pageable_gbs\": {pageable:.2}, \"items_s\": {{{}}}}}\n",
            device.name(),
            ms(bound_phases.h2d),
            ms(bound_phases.compute),
            ms(bound_phases.d2h),
            tput.join(", ")
        );
        std::fs::write(path, json).map_err(|e| accelrt::Error::Config(format!("write {path}: {e}")))?;
        println!("\nresults written to {path}");
    }
    Ok(())
}

/// Submits `batches × b` requests at once and waits for all of them.
fn run_batches<B>(rt: &Runtime<B>, x: &Tensor, b: usize, batches: usize) -> accelrt::Result<()>
where
    B: accelrt::Backend<Input = Tensor, Output = Tensor>,
{
    let tasks: Vec<_> = (0..b * batches).map(|_| rt.run(x.clone())).collect();
    for t in tasks {
        t.wait()?;
    }
    Ok(())
}

/// Picks the layer count that makes one batch's GEMMs take about 1 ms.
fn calibrate_layers(b: usize, k: usize) -> accelrt::Result<usize> {
    let timeline = Timeline::new();
    let backend = CudaBackend::builder(Mlp::random(&[k, k], 1)?.max_batch(b))
        .timeline(timeline.clone())
        .build()?;
    let rt = Runtime::builder(backend).depth(1).max_batch(b).build()?;
    let x = Tensor::new([1, k], vec![0.5f32; k])?;
    run_batches(&rt, &x, b, 3)?;
    timeline.clear();
    run_batches(&rt, &x, b, 8)?;
    let per_layer = PhaseStats::from(&timeline.intervals()).compute;
    Ok(((1.0e-3 / per_layer.as_secs_f64()).round() as usize).clamp(1, 64))
}

/// Median duration of each device phase.
#[derive(Clone)]
struct PhaseStats {
    h2d: Duration,
    compute: Duration,
    d2h: Duration,
}

impl PhaseStats {
    fn from(intervals: &[Interval]) -> Self {
        let median = |p: Phase| {
            let mut d: Vec<Duration> = intervals
                .iter()
                .filter(|i| i.phase == p)
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
            .map_err(|e| accelrt::Error::backend_msg(format!("synchronize: {e}")))
    })?;
    let pageable_gbs = time(&mut || copy_h2d_pageable(&stream, &pageable, &mut dst))?;
    Ok((pinned_gbs, pageable_gbs))
}

/// An ASCII chart of the first batches of a run: one row per engine, one letter per batch.
fn print_timeline(all: &[Interval]) {
    let Some(first) = all.iter().map(|i| i.batch).min() else {
        return;
    };
    let shown: Vec<&Interval> = all.iter().filter(|i| i.batch < first + 8).collect();
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
