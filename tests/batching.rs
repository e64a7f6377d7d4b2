//! Dynamic batching, instances, admission and deadlines.
//!
//! Timing is made deterministic by pausing the simulated device (requests pile up while it is
//! held) and checked on the recorded timeline and the device's input log, never against a
//! wall-clock threshold.

mod common;

use std::time::Duration;

use accelrt::trace::{overlapping, Phase, Track};
use accelrt::{AsyncRuntime, Error, RunOptions, Runtime, RuntimeBuilder, Timeline};
use accelrt_sim::{Faults, SimBackend, SimConfig, SimControl};
use common::{check, eventually, item, PATIENCE};

fn sim(config: SimConfig) -> (RuntimeBuilder<SimBackend>, SimControl, Timeline) {
    let timeline = Timeline::new();
    let backend = SimBackend::new(config.with_timeline(timeline.clone()).with_input_log());
    let control = backend.control();
    (Runtime::builder(backend).timeline(timeline.clone()), control, timeline)
}

#[test]
fn a_lone_request_on_an_idle_device_is_not_delayed_by_the_batch_timeout() {
    let (b, _, _) = sim(SimConfig::default());
    let rt = b
        .max_batch(32)
        .batch_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    for i in 0..3 {
        // Were the hour-long timeout applied, this would not resolve.
        let y = rt
            .run(item(i as f32, 4))
            .wait_timeout(PATIENCE)
            .expect("not delayed")
            .unwrap();
        check(&y, i as f32, 4, 2.0, 1.0);
    }
}

#[test]
fn a_burst_forms_full_batches_while_the_device_is_busy() {
    let (b, control, timeline) = sim(SimConfig::default());
    let rt = b.depth(1).max_batch(16).build().unwrap();
    control.pause();
    let first = rt.run(item(-1.0, 4));
    eventually("the first request is on the device", || {
        timeline.phase(Phase::Prepare).len() == 1
    });
    let burst: Vec<_> = (0..64).map(|i| rt.run(item(i as f32, 4))).collect();
    control.resume();
    first.wait().unwrap();
    for (i, t) in burst.into_iter().enumerate() {
        check(&t.wait().unwrap(), i as f32, 4, 2.0, 1.0);
    }
    let sizes: Vec<usize> = timeline.batch_sizes().into_iter().map(|(_, n)| n).collect();
    assert_eq!(sizes, vec![1, 16, 16, 16, 16]);
    assert_eq!(rt.stats().batches, 5);
    assert!((rt.stats().mean_batch - 13.0).abs() < 1e-9);
}

#[test]
fn the_timeout_releases_a_partial_batch_counted_from_the_oldest_request() {
    let timeout = Duration::from_millis(30);
    let (b, control, timeline) = sim(SimConfig::default());
    let rt = b.depth(2).max_batch(16).batch_timeout(timeout).build().unwrap();
    control.pause();
    let first = rt.run(item(-1.0, 4));
    eventually("the first batch is prepared", || {
        timeline.phase(Phase::Prepare).len() == 1
    });
    // The device is busy (paused with a batch in flight): these three wait for the batch to grow.
    let rest: Vec<_> = (0..3).map(|i| rt.run(item(i as f32, 4))).collect();
    // A second batch forms although only 3 of 16 came and the device is still busy.
    eventually("the timeout releases the partial batch", || {
        timeline.phase(Phase::Prepare).len() == 2
    });
    let queued: Vec<_> = timeline
        .phase(Phase::Queued)
        .into_iter()
        .filter(|i| i.batch == 2)
        .collect();
    assert_eq!(queued.len(), 3);
    let oldest = queued.iter().map(|i| i.start).min().unwrap();
    let released = queued[0].end;
    assert!(
        released - oldest >= timeout,
        "released after {:?}, before the timeout",
        released - oldest
    );
    control.resume();
    first.wait().unwrap();
    for (i, t) in rest.into_iter().enumerate() {
        check(&t.wait().unwrap(), i as f32, 4, 2.0, 1.0);
    }
}

#[test]
fn preferred_batch_sizes_cut_batches() {
    let (b, control, timeline) = sim(SimConfig::default());
    let rt = b.depth(1).max_batch(16).preferred_batch_sizes([4, 8]).build().unwrap();
    control.pause();
    let first = rt.run(item(-1.0, 4));
    eventually("first on device", || timeline.phase(Phase::Prepare).len() == 1);
    let burst: Vec<_> = (0..15).map(|i| rt.run(item(i as f32, 4))).collect();
    control.resume();
    first.wait().unwrap();
    for t in burst {
        t.wait().unwrap();
    }
    let sizes: Vec<usize> = timeline.batch_sizes().into_iter().map(|(_, n)| n).collect();
    // 15 queued: 8, then 4 of the 7 left, then the 3 left (no preferred size fits).
    assert_eq!(sizes, vec![1, 8, 4, 3]);
}

#[test]
fn priorities_order_execution_fifo_within_a_level() {
    let (b, control, timeline) = sim(SimConfig::default());
    let rt = b.depth(1).priority_levels(3).build().unwrap();
    control.pause();
    let first = rt.run(item(-1.0, 4));
    eventually("first on device", || timeline.phase(Phase::Prepare).len() == 1);
    let mut tasks = Vec::new();
    for (value, priority) in [
        (10.0, 0),
        (20.0, 2),
        (11.0, 0),
        (30.0, 1),
        (21.0, 2),
        (31.0, 1),
        (99.0, 7),
    ] {
        tasks.push(rt.run_with(
            item(value, 4),
            RunOptions {
                priority,
                timeout: None,
                ..RunOptions::default()
            },
        ));
    }
    control.resume();
    first.wait().unwrap();
    for t in tasks {
        t.wait().unwrap();
    }
    let order: Vec<f32> = rt
        .backend()
        .device_log()
        .into_iter()
        .flat_map(|(_, firsts)| firsts)
        .collect();
    // Priority 7 is clamped to the highest level (2) and queued after 20 and 21 there.
    assert_eq!(order, vec![-1.0, 20.0, 21.0, 99.0, 30.0, 31.0, 10.0, 11.0]);
}

#[test]
fn expired_requests_fail_with_timed_out_and_never_reach_the_device() {
    let (b, control, timeline) = sim(SimConfig::default());
    let rt = b.depth(1).timeout(Duration::from_millis(20)).build().unwrap();
    control.pause();
    let first = rt.run_with(
        item(-1.0, 4),
        RunOptions {
            priority: 0,
            timeout: Some(PATIENCE),
            ..RunOptions::default()
        },
    );
    eventually("first on device", || timeline.phase(Phase::Prepare).len() == 1);
    let mut doomed = rt.run(item(5.0, 4)); // the runtime's 20 ms default
    let mut own = rt.run_with(
        item(6.0, 4),
        RunOptions {
            priority: 0,
            timeout: Some(Duration::from_millis(5)),
            ..RunOptions::default()
        },
    );
    // The device is still paused: the deadlines fire on their own.
    assert!(matches!(own.wait_timeout(PATIENCE), Some(Err(Error::TimedOut(t))) if t == Duration::from_millis(5)));
    assert!(matches!(doomed.wait_timeout(PATIENCE), Some(Err(Error::TimedOut(t))) if t == Duration::from_millis(20)));
    control.resume();
    first.wait().unwrap();
    let patient = rt.run_with(
        item(7.0, 4),
        RunOptions {
            priority: 0,
            timeout: Some(PATIENCE),
            ..RunOptions::default()
        },
    );
    check(&patient.wait().unwrap(), 7.0, 4, 2.0, 1.0);
    let seen: Vec<f32> = rt.backend().device_log().into_iter().flat_map(|(_, f)| f).collect();
    assert_eq!(seen, vec![-1.0, 7.0]);
}

#[test]
fn dropped_tasks_are_skipped_when_a_batch_forms() {
    let (b, control, timeline) = sim(SimConfig::default());
    let rt = b.depth(1).max_batch(8).build().unwrap();
    control.pause();
    let first = rt.run(item(-1.0, 4));
    eventually("first on device", || timeline.phase(Phase::Prepare).len() == 1);
    let tasks: Vec<_> = (0..8).map(|i| rt.run(item(i as f32, 4))).collect();
    let kept: Vec<_> = tasks.into_iter().enumerate().filter(|(i, _)| i % 3 == 0).collect();
    control.resume();
    first.wait().unwrap();
    for (i, t) in kept {
        check(&t.wait().unwrap(), i as f32, 4, 2.0, 1.0);
    }
    let log = rt.backend().device_log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].1, vec![0.0, 3.0, 6.0]);
}

#[test]
fn instances_run_batches_concurrently() {
    let ms = Duration::from_millis(1);
    let (b, _, timeline) = sim(SimConfig {
        compute_units: 2,
        ..SimConfig::stages(Duration::ZERO, ms, 5 * ms, ms)
    });
    let rt = b.instances(2).depth(2).build().unwrap();
    let tasks: Vec<_> = (0..16).map(|i| rt.run(item(i as f32, 4))).collect();
    for (i, t) in tasks.into_iter().enumerate() {
        check(&t.wait().unwrap(), i as f32, 4, 2.0, 1.0);
    }
    let tl = timeline.intervals();
    let on = |unit: &str| tl.iter().filter(|i| i.track == Track::Engine(unit.into())).count();
    assert!(on("compute-0") > 0 && on("compute-1") > 0, "both instances ran batches");
    assert!(
        !overlapping(&tl, Phase::Compute, Phase::Compute).is_empty(),
        "no two batches computed at once"
    );
    let busy = rt.stats().instance_busy;
    assert!(busy.iter().all(|d| !d.is_zero()), "{busy:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_requests_with_mixed_failures_resolve_exactly_once() {
    let faults = Faults {
        invalid_value: Some(-7.0),
        fail_every_nth_batch: Some(13),
        panic_every_nth_batch: Some(29),
        ..Faults::default()
    };
    let backend = SimBackend::new(SimConfig::default().with_faults(faults));
    let rt = Runtime::builder(backend)
        .parallel(2)
        .depth(3)
        .instances(2)
        .max_batch(32)
        .batch_timeout(Duration::from_micros(200))
        .queue_capacity(4096)
        .build()
        .unwrap();
    let n = 100_000usize;
    let value = |i: usize| if i % 101 == 0 { -7.0 } else { i as f32 };
    let results = futures::future::join_all((0..n).map(|i| rt.run(item(value(i), 4)))).await;
    let (mut ok, mut invalid, mut failed) = (0u64, 0u64, 0u64);
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(y) => {
                check(&y, value(i), 4, 2.0, 1.0);
                ok += 1;
            }
            Err(Error::InvalidInput(_)) => {
                assert_eq!(value(i), -7.0);
                invalid += 1;
            }
            Err(Error::Backend(_)) | Err(Error::BackendPanic(_)) => failed += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok + invalid + failed, n as u64);
    assert_eq!(invalid, (0..n).filter(|i| i % 101 == 0).count() as u64);
    assert!(failed > 0);
    let stats = rt.stats();
    assert_eq!(stats.submitted, n as u64);
    assert_eq!(stats.completed, ok);
    assert_eq!(stats.failed, invalid + failed);
}
