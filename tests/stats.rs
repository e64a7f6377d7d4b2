//! Stats: counts, latency percentiles, phase split and busy fractions.

mod common;

use std::time::Duration;

use accelrt::{AsyncRuntime, Runtime};
use accelrt_sim::{SimBackend, SimConfig};
use common::item;

#[test]
fn stats_split_time_into_phases_and_percentiles() {
    let ms = Duration::from_millis(1);
    let config = SimConfig::stages(ms, ms, 2 * ms, ms);
    let rt = Runtime::builder(SimBackend::new(config))
        .depth(3)
        .max_batch(4)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..100).map(|i| rt.run(item(i as f32, 4))).collect();
    for t in tasks {
        t.wait().unwrap();
    }
    let s = rt.stats();
    assert_eq!((s.submitted, s.completed, s.failed), (100, 100, 0));
    assert_eq!(s.latency.count, 100);
    let l = s.latency;
    assert!(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max && !l.p50.is_zero());
    // The device reports its engine times; each modelled phase took at least its modelled time.
    assert!(
        s.phases.compute >= 2 * ms && s.phases.h2d >= ms && s.phases.d2h >= ms,
        "{:?}",
        s.phases
    );
    assert!(s.phases.prepare >= ms);
    let [h2d, compute, d2h] = s.engine_busy_fraction.expect("sim reports device times");
    assert!(compute > 0.0 && compute <= 1.0 + 1e-6 && h2d > 0.0 && d2h > 0.0);
    assert!(s.instance_busy_fraction[0] > 0.0 && s.instance_busy_fraction[0] <= 1.0 + 1e-6);
    assert!(s.throughput() > 0.0);
    rt.reset_stats();
    let s = rt.stats();
    assert_eq!((s.submitted, s.completed, s.batches, s.latency.count), (0, 0, 0, 0));
}

#[test]
fn an_instance_with_work_in_flight_counts_as_busy() {
    let timeline = accelrt::Timeline::new();
    let backend = SimBackend::new(SimConfig::default().with_timeline(timeline.clone()));
    let control = backend.control();
    let rt = Runtime::builder(backend).timeline(timeline.clone()).build().unwrap();
    control.pause();
    let task = rt.run(item(1.0, 4));
    while timeline.phase(accelrt::trace::Phase::Prepare).is_empty() {
        std::thread::sleep(Duration::from_millis(1));
    }
    // The batch has not finished: its open busy period still counts.
    assert!(!rt.stats().instance_busy[0].is_zero());
    control.resume();
    task.wait().unwrap();
}
