//! Criterion: the simulated device (prepare 3 ms, H2D 2 ms, compute 4 ms, D2H 1 ms) driven by a
//! sequential loop versus the engine with parallel 2 and depth 3, and the per-request cost
//! through a zero-delay device. The full grid is printed by `cargo run --release --example overlap`.
//!
//! Run: `cargo bench --bench overlap`

use std::time::Duration;

use accelrt::{AsyncRuntime, Backend, BatchInfo, Runtime, Tensor};
use accelrt_sim::{SimBackend, SimConfig};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const MS: Duration = Duration::from_millis(1);
const N: usize = 40;

fn input(i: usize) -> Tensor {
    Tensor::new([1, 4], vec![i as f32; 4]).expect("shape matches")
}

fn staged(c: &mut Criterion) {
    let config = || SimConfig::stages(3 * MS, 2 * MS, 4 * MS, MS);
    let mut g = c.benchmark_group("sim_stages");
    g.sample_size(10).throughput(Throughput::Elements(N as u64));

    let backend = SimBackend::new(config());
    let mut instance = backend.new_instance(0).expect("instance");
    let mut slot = backend.new_slot(&mut instance, 1).expect("slot");
    g.bench_function("sequential", |b| {
        b.iter(|| {
            for i in 0..N {
                let info = BatchInfo {
                    id: i as u64 + 1,
                    requests: vec![i as u64],
                };
                backend.prepare(&mut slot, &info, vec![input(i)]).expect("prepare");
                backend.submit(&mut instance, &mut slot).expect("submit");
                backend.complete(&mut slot).expect("complete");
            }
        })
    });

    let rt = Runtime::builder(SimBackend::new(config()))
        .parallel(2)
        .depth(3)
        .build()
        .expect("settings");
    g.bench_function("parallel2_depth3", |b| {
        b.iter(|| {
            let tasks: Vec<_> = (0..N).map(|i| rt.run(input(i))).collect();
            for t in tasks {
                t.wait().expect("request");
            }
        })
    });
    g.finish();
}

fn zero_delay(c: &mut Criterion) {
    let mut g = c.benchmark_group("zero_delay_256_callers");
    g.throughput(Throughput::Elements(256 * 16));
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio");
    for max_batch in [1, 64] {
        let rt = Runtime::builder(SimBackend::new(SimConfig::default()))
            .parallel(2)
            .depth(4)
            .max_batch(max_batch)
            .build()
            .expect("settings");
        g.bench_function(format!("max_batch_{max_batch}"), |b| {
            b.iter(|| {
                tokio.block_on(async {
                    let callers: Vec<_> = (0..256)
                        .map(|c| {
                            let rt = rt.clone();
                            tokio::spawn(async move {
                                for i in 0..16 {
                                    rt.run(input(c * 16 + i)).await.expect("request");
                                }
                            })
                        })
                        .collect();
                    for c in callers {
                        c.await.expect("caller");
                    }
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, staged, zero_delay);
criterion_main!(benches);
