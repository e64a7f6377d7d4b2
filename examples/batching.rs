//! Dynamic batching on the simulated device, two tables from one run:
//!
//! 1. Requests/s through a zero-delay device with 256 concurrent callers and max batch 64,
//!    next to the `batched-fn` crate (max_batch_size 64) doing the same `a·x + b` in the same
//!    run, and a bare channel round trip (one worker thread answering each request at once)
//!    as the floor both are measured against.
//! 2. A device whose batch costs 4 ms + 0.25 ms per item: throughput and p50/p99 latency for
//!    max batch ∈ {1, 8, 32} × batch timeout ∈ {0, 2 ms} at 64 concurrent callers.
//! 3. The scheduler's corners: the latency of a lone request sent right after a burst, on an
//!    idle zero-delay device with a 500 ms batch timeout (it must never wait for the timeout),
//!    for `parallel` 1 and 2; throughput with and without a 50 ms per-request timeout; and the
//!    process's resident memory across 1 M requests with a 1-hour timeout.
//!
//! Run: `cargo run --release --example batching` (`-- --scheduler-only`: tables 1 and 3;
//! `-- --accelrt-only` or `-- --batched-fn-only`: only that contender's rounds of table 1, to
//! profile).

use std::sync::Arc;
use std::time::{Duration, Instant};

use accelrt::{AsyncRuntime, RunOptions, Runtime, Tensor};
use accelrt_sim::{ComputeModel, SimBackend, SimConfig};
use batched_fn::batched_fn;

const LEN: usize = 4;

fn input(i: usize) -> Tensor {
    Tensor::new([1, LEN], vec![i as f32; LEN]).expect("shape matches")
}

fn tokio() -> tokio::runtime::Runtime {
    // No I/O or timer driver: all three contenders only need wake-ups.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Drives `callers` concurrent loops of `per_caller` requests; returns req/s and the latencies.
fn drive<F, Fut>(callers: usize, per_caller: usize, call: F) -> (f64, Vec<Duration>)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    tokio().block_on(async move {
        let start = Instant::now();
        let loops: Vec<_> = (0..callers)
            .map(|c| {
                let call = call.clone();
                tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(per_caller);
                    for i in 0..per_caller {
                        let t = Instant::now();
                        call(c * per_caller + i).await;
                        lat.push(t.elapsed());
                    }
                    lat
                })
            })
            .collect();
        let mut all = Vec::with_capacity(callers * per_caller);
        for l in loops {
            all.extend(l.await.expect("caller"));
        }
        ((callers * per_caller) as f64 / start.elapsed().as_secs_f64(), all)
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The zero-delay run, every request with `timeout` (the deadline path) if given: req/s and
/// the mean batch.
fn accelrt_zero_delay(per_caller: usize, timeout: Option<Duration>) -> (f64, f64) {
    let rt = Runtime::builder(SimBackend::new(SimConfig::default()))
        .parallel(2)
        .depth(4)
        .max_batch(64)
        .build()
        .expect("settings");
    let opts = RunOptions {
        timeout,
        ..RunOptions::default()
    };
    let probe = rt.clone();
    let r = drive(256, per_caller, move |i| {
        let task = rt.run_with(input(i), opts);
        async move {
            task.await.expect("request");
        }
    })
    .0;
    (r, probe.stats().mean_batch)
}

fn batched_fn_zero_delay(per_caller: usize) -> f64 {
    drive(256, per_caller, |i| async move {
        let f = batched_fn! {
            handler = |batch: Vec<Tensor>| -> Vec<Tensor> {
                batch
                    .into_iter()
                    .map(|x| {
                        let y: Vec<f32> = x.as_slice::<f32>().expect("f32").iter().map(|v| 2.0 * v + 1.0).collect();
                        Tensor::new([1, LEN], y).expect("shape matches")
                    })
                    .collect()
            };
            config = {
                max_batch_size: 64,
                max_delay: 0,
            };
            context = {};
        };
        f(input(i)).await.expect("request");
    })
    .0
}

fn bare_channel(per_caller: usize) -> f64 {
    type Job = (Tensor, tokio::sync::oneshot::Sender<Tensor>);
    let (tx, rx) = crossbeam_channel::unbounded::<Job>();
    let worker = std::thread::spawn(move || {
        for (x, reply) in rx {
            let _ = reply.send(x);
        }
    });
    let r = drive(256, per_caller, move |i| {
        let tx = tx.clone();
        async move {
            let (reply, answer) = tokio::sync::oneshot::channel();
            tx.send((input(i), reply)).expect("worker alive");
            answer.await.expect("answer");
        }
    })
    .0;
    worker.join().expect("worker");
    r
}

fn costed(max_batch: usize, timeout: Duration, requests: usize) -> (f64, Duration, Duration, f64) {
    let config = SimConfig {
        compute: ComputeModel {
            fixed: Duration::from_millis(4),
            per_item: Duration::from_micros(250),
        },
        ..SimConfig::default()
    };
    let rt = Runtime::builder(SimBackend::new(config))
        .parallel(2)
        .depth(2)
        .max_batch(max_batch)
        .batch_timeout(timeout)
        .build()
        .expect("settings");
    let probe = rt.clone();
    let (rps, mut lat) = drive(64, requests / 64, move |i| {
        let task = rt.run(input(i));
        async move {
            task.await.expect("request");
        }
    });
    lat.sort();
    (
        rps,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        probe.stats().mean_batch,
    )
}

/// Lone-request latency after bursts: each round sends a burst of 16 requests, waits for
/// them, then sends one request alone and times it.
fn lone_after_burst(parallel: usize, rounds: usize) -> Vec<Duration> {
    let rt = Runtime::builder(SimBackend::new(SimConfig::default()))
        .parallel(parallel)
        .max_batch(8)
        .batch_timeout(Duration::from_millis(500))
        .build()
        .expect("settings");
    let mut lat = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let burst: Vec<_> = (0..16).map(|i| rt.run(input(r * 16 + i))).collect();
        for t in burst {
            t.wait().expect("request");
        }
        let t = Instant::now();
        rt.run(input(r)).wait().expect("request");
        lat.push(t.elapsed());
    }
    lat.sort();
    lat
}

/// Resident memory of this process, from /proc (Linux); `None` elsewhere.
fn rss_mib() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0 / (1024.0 * 1024.0))
}

fn scheduler_corners(per_caller: usize, rounds: usize) {
    println!();
    println!("lone request right after a burst of 16, idle zero-delay device, max batch 8, batch timeout 500 ms");
    println!(
        "{:<10} {:>8} {:>10} {:>10} {:>10}",
        "parallel", "rounds", "p50", "p99", "max"
    );
    for parallel in [1, 2] {
        let lat = lone_after_burst(parallel, 10_000);
        println!(
            "{:<10} {:>8} {:>10.1?} {:>10.1?} {:>10.1?}",
            parallel,
            lat.len(),
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat[lat.len() - 1]
        );
    }
    println!();
    println!("per-request timeout: 256 callers x {per_caller}, max batch 64; median of {rounds} interleaved rounds");
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        // Which goes first alternates, so neither gains from the order.
        let timeout = Some(Duration::from_millis(50));
        if r % 2 == 0 {
            without.push(accelrt_zero_delay(per_caller, None).0);
            with.push(accelrt_zero_delay(per_caller, timeout).0);
        } else {
            with.push(accelrt_zero_delay(per_caller, timeout).0);
            without.push(accelrt_zero_delay(per_caller, None).0);
        }
    }
    let (without, with) = (median(without), median(with));
    println!("{:<34} {:>12.0}", "no timeout (req/s)", without);
    println!("{:<34} {:>12.0}", "50 ms timeout (req/s)", with);
    println!("with / without: {:.2}x", with / without);
    println!();
    let rt = Runtime::builder(SimBackend::new(SimConfig::default()))
        .parallel(2)
        .depth(4)
        .max_batch(64)
        .timeout(Duration::from_secs(3600))
        .build()
        .expect("settings");
    let x = input(1);
    let mut marks = Vec::new();
    for chunk in 0..100 {
        let tasks: Vec<_> = (0..10_000).map(|_| rt.run(x.clone())).collect();
        for t in tasks {
            t.wait().expect("request");
        }
        if chunk % 25 == 24 || chunk == 0 {
            marks.push(((chunk + 1) * 10_000, rss_mib()));
        }
    }
    println!(
        "1-hour per-request timeout, resident memory as requests complete (pending deadlines at the end: {})",
        rt.stats().pending_deadlines
    );
    for (n, rss) in marks {
        match rss {
            Some(mib) => println!("  after {n:>9} requests: {mib:.1} MiB"),
            None => println!("  after {n:>9} requests: (no /proc here)"),
        }
    }
}

fn main() {
    let per_caller = 1000;
    // Rounds are interleaved and the median taken: on a shared machine one round can run at
    // a third of another's speed.
    let rounds = 9;
    if std::env::args().any(|a| a == "--accelrt-only") {
        // For profilers: only accelrt's zero-delay rounds.
        for _ in 0..rounds {
            let (rps, mean) = accelrt_zero_delay(per_caller, None);
            println!("accelrt (sim, zero delay): {rps:.0} req/s, mean batch {mean:.1}");
        }
        return;
    }
    if std::env::args().any(|a| a == "--batched-fn-only") {
        for _ in 0..rounds {
            println!(
                "batched-fn (max_delay 0): {:.0} req/s",
                batched_fn_zero_delay(per_caller)
            );
        }
        return;
    }
    println!(
        "zero-delay work, 256 concurrent callers x {per_caller} requests, max batch 64 (tokio, 2 worker threads); \
         median of {rounds} interleaved rounds"
    );
    let (mut ours, mut theirs, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(accelrt_zero_delay(per_caller, None).0);
        theirs.push(batched_fn_zero_delay(per_caller));
        floor.push(bare_channel(per_caller));
    }
    let (ours, theirs, floor) = (median(ours), median(theirs), median(floor));
    println!("{:<34} {:>12} {:>14}", "", "req/s", "vs bare channel");
    println!("{:<34} {:>12.0} {:>14.2}", "bare channel round trip", floor, 1.0);
    println!(
        "{:<34} {:>12.0} {:>14.2}",
        "accelrt (sim, zero delay)",
        ours,
        ours / floor
    );
    println!(
        "{:<34} {:>12.0} {:>14.2}",
        "batched-fn (max_delay 0)",
        theirs,
        theirs / floor
    );
    println!("accelrt / batched-fn: {:.2}x", ours / theirs);
    if std::env::args().any(|a| a == "--scheduler-only") {
        scheduler_corners(per_caller, rounds);
        return;
    }
    println!();
    println!("batch cost 4 ms + 0.25 ms/item, 64 concurrent callers, 3200 requests per row");
    println!(
        "{:<10} {:>10} {:>12} {:>10} {:>10} {:>11}",
        "max batch", "timeout", "req/s", "p50", "p99", "mean batch"
    );
    for max_batch in [1, 8, 32] {
        for timeout_ms in [0u64, 2] {
            let (rps, p50, p99, mean) = costed(max_batch, Duration::from_millis(timeout_ms), 3200);
            println!(
                "{:<10} {:>8} ms {:>12.1} {:>10.1?} {:>10.1?} {:>11.1}",
                max_batch, timeout_ms, rps, p50, p99, mean
            );
        }
    }
    scheduler_corners(per_caller, rounds);
}
