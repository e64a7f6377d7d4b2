//! Overlap, proven on the simulated device's recorded timeline (no wall-clock thresholds).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use accelrt::trace::{overlapping, Interval, Phase, Track};
use accelrt::{AsyncRuntime, Runtime, Timeline};
use accelrt_sim::{SimBackend, SimConfig};
use common::{check, item};

const MS: Duration = Duration::from_millis(1);

/// Runs 12 requests one item per batch and returns the timeline (host and device phases).
fn timeline_of(parallel: usize, depth: usize, prepare: Duration) -> Vec<Interval> {
    let timeline = Timeline::new();
    let config = SimConfig::stages(prepare, 2 * MS, 4 * MS, MS).with_timeline(timeline.clone());
    let rt = Runtime::builder(SimBackend::new(config))
        .parallel(parallel)
        .depth(depth)
        .timeline(timeline.clone())
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..12).map(|i| rt.run(item(i as f32, 4))).collect();
    for (i, t) in tasks.into_iter().enumerate() {
        check(&t.wait().unwrap(), i as f32, 4, 2.0, 1.0);
    }
    rt.shutdown_blocking();
    timeline
        .intervals()
        .into_iter()
        .filter(|i| i.phase != Phase::Queued)
        .collect()
}

#[test]
fn with_depth_two_a_later_h2d_runs_while_an_earlier_batch_computes() {
    let tl = timeline_of(1, 2, Duration::ZERO);
    let pairs = overlapping(&tl, Phase::H2D, Phase::Compute);
    assert!(!pairs.is_empty(), "no H2D overlapped another batch's compute: {tl:#?}");
    // The overlapping H2D belongs to a later batch than the compute it overlaps.
    assert!(pairs.iter().any(|(h2d, compute)| h2d.batch > compute.batch));
    // Compute itself never overlaps (one compute engine).
    assert!(overlapping(&tl, Phase::Compute, Phase::Compute).is_empty());
}

#[test]
fn with_depth_one_and_parallel_one_nothing_overlaps() {
    let tl = timeline_of(1, 1, MS);
    for a in &tl {
        for b in &tl {
            assert!(
                a.batch == b.batch || !a.overlaps(b),
                "batches {} and {} overlap: {a:?} / {b:?}",
                a.batch,
                b.batch
            );
        }
    }
    assert_eq!(tl.iter().filter(|i| i.phase == Phase::Compute).count(), 12);
}

#[test]
fn parallel_two_prepares_the_next_input_while_the_device_works() {
    let tl = timeline_of(2, 2, 3 * MS);
    let prep_during_compute = overlapping(&tl, Phase::Prepare, Phase::Compute);
    assert!(
        !prep_during_compute.is_empty(),
        "no prepare overlapped a compute: {tl:#?}"
    );
    let prep_during_h2d = overlapping(&tl, Phase::Prepare, Phase::H2D);
    assert!(!prep_during_h2d.is_empty(), "no prepare overlapped an H2D");
}

#[test]
fn parallel_workers_prepare_two_batches_at_once() {
    // Preparation slower than the device: two workers and enough slots run two prepares together.
    let tl = timeline_of(2, 3, 6 * MS);
    let both = overlapping(&tl, Phase::Prepare, Phase::Prepare);
    assert!(!both.is_empty(), "the two workers never prepared at the same time");
}

#[test]
fn a_shared_dma_engine_serialises_copies_in_both_directions() {
    let timeline = Timeline::new();
    let config = SimConfig {
        shared_dma: true,
        ..SimConfig::stages(Duration::ZERO, 2 * MS, 2 * MS, 2 * MS)
    }
    .with_timeline(timeline.clone());
    let rt = Runtime::builder(SimBackend::new(config)).depth(3).build().unwrap();
    let tasks: Vec<_> = (0..10).map(|i| rt.run(item(i as f32, 4))).collect();
    for t in tasks {
        t.wait().unwrap();
    }
    let tl = timeline.intervals();
    assert!(
        overlapping(&tl, Phase::H2D, Phase::D2H).is_empty(),
        "one DMA engine cannot copy both ways at once"
    );
    assert!(tl
        .iter()
        .all(|i| i.phase == Phase::Compute || i.track == Track::Engine("dma".into())));
}

/// Runs `n` requests through a device with these stage times and returns its timeline, after
/// checking every output.
fn run_recorded(config: SimConfig, parallel: usize, depth: usize, n: usize) -> Vec<Interval> {
    let timeline = Timeline::new();
    let rt = Runtime::builder(SimBackend::new(config.with_timeline(timeline.clone())))
        .parallel(parallel)
        .depth(depth)
        .max_batch(8)
        .timeline(timeline.clone())
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..n).map(|i| rt.run(item(i as f32, 4))).collect();
    for (i, t) in tasks.into_iter().enumerate() {
        check(&t.wait().unwrap(), i as f32, 4, 2.0, 1.0);
    }
    rt.shutdown_blocking();
    timeline.intervals()
}

/// Each engine ran one operation at a time, and each batch's H2D ended before its compute
/// began, which ended before its D2H began.
fn assert_engines_one_at_a_time_in_stream_order(tl: &[Interval]) {
    let engine = |i: &&Interval| matches!(i.track, Track::Engine(_));
    for a in tl.iter().filter(engine) {
        for b in tl.iter().filter(engine) {
            assert!(
                a == b || a.track != b.track || !a.overlaps(b),
                "two operations at once on one engine: {a:?} / {b:?}"
            );
        }
    }
    let batches: BTreeSet<u64> = tl.iter().filter(engine).map(|i| i.batch).collect();
    for batch in batches {
        let at = |phase| {
            let found: Vec<&Interval> = tl.iter().filter(|i| i.batch == batch && i.phase == phase).collect();
            assert_eq!(found.len(), 1, "batch {batch} has {} {phase:?} operations", found.len());
            found[0].clone()
        };
        let (h2d, compute, d2h) = (at(Phase::H2D), at(Phase::Compute), at(Phase::D2H));
        assert!(
            h2d.end <= compute.start && compute.end <= d2h.start,
            "batch {batch} out of stream order"
        );
    }
}

#[test]
fn a_zero_delay_device_runs_on_the_worker_and_the_worker_completes_the_batch() {
    // One worker, nothing queued on any engine: every operation takes no time and runs as the
    // worker submits, so the batch is finished by then and the worker completes it itself.
    let tl = run_recorded(SimConfig::default(), 1, 2, 200);
    assert_engines_one_at_a_time_in_stream_order(&tl);
    let completes: Vec<&Interval> = tl.iter().filter(|i| i.phase == Phase::Complete).collect();
    assert!(!completes.is_empty());
    assert!(
        completes.iter().all(|i| i.track == Track::Worker(0)),
        "a finished batch went to the completion thread: {completes:#?}"
    );
}

#[test]
fn zero_time_and_timed_operations_mixed_keep_each_engine_to_one_at_a_time() {
    // Copies take no time and run on whichever thread made them ready (a worker, the compute
    // engine's thread); the kernel takes time on its own engine. Two workers contend for the
    // engines, so both paths are taken.
    let config = SimConfig::stages(Duration::ZERO, Duration::ZERO, MS, Duration::ZERO);
    let tl = run_recorded(config, 2, 3, 120);
    assert_engines_one_at_a_time_in_stream_order(&tl);
    // The kernel takes time, so batches go to the completion thread.
    assert!(tl
        .iter()
        .any(|i| i.phase == Phase::Complete && i.track == Track::Completion(0)));
    // ...and a later batch's copy ran while an earlier batch's kernel did.
    assert!(!overlapping(&tl, Phase::H2D, Phase::Compute).is_empty());
}

#[test]
fn a_zero_delay_device_with_two_workers_keeps_each_engine_to_one_at_a_time() {
    let tl = run_recorded(SimConfig::default(), 2, 4, 2000);
    assert_engines_one_at_a_time_in_stream_order(&tl);
}
