//! Overlap, proven on the simulated device's recorded timeline (no wall-clock thresholds).

mod common;

use std::time::Duration;

use accelrt::trace::{overlapping, Interval, Phase};
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
        .all(|i| i.phase == Phase::Compute || i.track == accelrt::trace::Track::Engine("dma".into())));
}
