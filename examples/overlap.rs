//! Overlap on the simulated device: throughput of a sequential loop versus the accelrt engine
//! for `parallel` ∈ {1, 2, 4} × `depth` ∈ {1, 2, 3}, each as a fraction of the bound
//! 1 / (slowest stage), and the per-request overhead through a zero-delay device with 256
//! concurrent callers.
//!
//! Stage times: prepare 3 ms, H2D 2 ms, compute 4 ms, D2H 1 ms (bound: 250 requests/s). A batch
//! holds its slot from preparation to completion, so `depth` is what overlaps; `parallel` pays
//! off when preparation is the slowest step, shown by a second table with an 8 ms prepare.
//!
//! Run: `cargo run --release --example overlap` (add `-- --requests N` to change the count).

use std::time::{Duration, Instant};

use accelrt::{AsyncRuntime, Backend, BatchInfo, Runtime, Tensor};
use accelrt_sim::{SimBackend, SimConfig};

const MS: Duration = Duration::from_millis(1);

fn config() -> SimConfig {
    SimConfig::stages(3 * MS, 2 * MS, 4 * MS, MS)
}

/// Preparation slower than the device: only several workers keep it busy.
fn heavy_prepare() -> SimConfig {
    SimConfig::stages(8 * MS, 2 * MS, 4 * MS, MS)
}

fn input(i: usize) -> Tensor {
    Tensor::new([1, 4], vec![i as f32; 4]).expect("shape matches")
}

/// prepare → copy → compute → copy, one request at a time, straight on the backend.
fn sequential(n: usize) -> f64 {
    let backend = SimBackend::new(config());
    let mut instance = backend.new_instance(0).expect("instance");
    let mut slot = backend.new_slot(&mut instance, 1).expect("slot");
    let start = Instant::now();
    for i in 0..n {
        let info = BatchInfo {
            id: i as u64 + 1,
            requests: vec![i as u64],
        };
        backend.prepare(&mut slot, &info, vec![input(i)]).expect("prepare");
        backend.submit(&mut instance, &mut slot).expect("submit");
        backend.complete(&mut slot).expect("complete");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn engine(config: SimConfig, parallel: usize, depth: usize, n: usize) -> f64 {
    let rt = Runtime::builder(SimBackend::new(config))
        .parallel(parallel)
        .depth(depth)
        .build()
        .expect("valid settings");
    // Warm the threads up, then time n requests in flight together.
    rt.run(input(0)).wait().expect("warm-up");
    let start = Instant::now();
    let tasks: Vec<_> = (0..n).map(|i| rt.run(input(i))).collect();
    for t in tasks {
        t.wait().expect("request");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn overhead(callers: usize, per_caller: usize, max_batch: usize) -> f64 {
    let rt = Runtime::builder(SimBackend::new(SimConfig::default()))
        .parallel(2)
        .depth(4)
        .max_batch(max_batch)
        .build()
        .expect("valid settings");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio");
    tokio.block_on(async {
        let start = Instant::now();
        let callers: Vec<_> = (0..callers)
            .map(|c| {
                let rt = rt.clone();
                tokio::spawn(async move {
                    for i in 0..per_caller {
                        rt.run(input(c * per_caller + i)).await.expect("request");
                    }
                })
            })
            .collect();
        let n = callers.len() * per_caller;
        for c in callers {
            c.await.expect("caller");
        }
        n as f64 / start.elapsed().as_secs_f64()
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = args
        .iter()
        .position(|a| a == "--requests")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let bound = 1.0 / 0.004;
    println!("sim stages: prepare 3 ms, H2D 2 ms, compute 4 ms, D2H 1 ms; bound {bound:.0} req/s; {n} requests each");
    println!("{:<24} {:>10} {:>10}", "configuration", "req/s", "of bound");
    let seq = sequential(n);
    println!("{:<24} {:>10.1} {:>10.2}", "sequential loop", seq, seq / bound);
    for parallel in [1, 2, 4] {
        for depth in [1, 2, 3] {
            let r = engine(config(), parallel, depth, n);
            println!(
                "{:<24} {:>10.1} {:>10.2}",
                format!("parallel {parallel}, depth {depth}"),
                r,
                r / bound
            );
        }
    }
    println!();
    println!("preparation slower than the device (prepare 8 ms, others as above), depth 4:");
    for parallel in [1, 2, 4] {
        let r = engine(heavy_prepare(), parallel, 4, n);
        println!(
            "{:<24} {:>10.1} {:>10.2}",
            format!("parallel {parallel}, depth 4"),
            r,
            r / bound
        );
    }
    println!();
    println!("zero-delay device, 256 concurrent callers (tokio, 2 worker threads):");
    for max_batch in [1, 64] {
        let r = overhead(256, 200, max_batch);
        println!(
            "  max_batch {max_batch:>2}: {r:>10.0} req/s ({:.2} µs/request)",
            1e6 / r
        );
    }
}
