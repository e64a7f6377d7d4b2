//! Cancellation, back-pressure and shutdown: every task resolves, nothing hangs.
//!
//! The simulated device is paused ([`SimControl`]) so requests pile up deterministically.

mod common;

use std::time::Duration;

use accelrt::trace::Phase;
use accelrt::{AsyncRuntime, Error, Overflow, Runtime, Timeline};
use accelrt_sim::{SimBackend, SimConfig, SimControl};
use common::{check, item};

fn paused_runtime(depth: usize, capacity: usize, overflow: Overflow) -> (Runtime<SimBackend>, SimControl, Timeline) {
    let timeline = Timeline::new();
    let backend = SimBackend::new(SimConfig::default().with_timeline(timeline.clone()));
    let control = backend.control();
    control.pause();
    let rt = Runtime::builder(backend)
        .depth(depth)
        .queue_capacity(capacity)
        .overflow(overflow)
        .build()
        .unwrap();
    (rt, control, timeline)
}

#[test]
fn dropped_tasks_never_reach_the_device() {
    let (rt, control, timeline) = paused_runtime(1, 64, Overflow::Wait);
    // The first request takes the only slot and waits on the paused device; the rest queue.
    let first = rt.run(item(0.0, 4));
    let queued: Vec<_> = (1..=10).map(|i| rt.run(item(i as f32, 4))).collect();
    let mut kept = Vec::new();
    for (i, t) in queued.into_iter().enumerate() {
        if i % 2 == 0 {
            drop(t); // cancel
        } else {
            kept.push((i + 1, t));
        }
    }
    control.resume();
    check(&first.wait().unwrap(), 0.0, 4, 2.0, 1.0);
    for (v, t) in kept {
        check(&t.wait().unwrap(), v as f32, 4, 2.0, 1.0);
    }
    rt.shutdown_blocking();
    // 1 + 5 batches of one reached the device; the 5 dropped requests never did.
    assert_eq!(timeline.phase(Phase::H2D).len(), 6);
    assert_eq!(timeline.phase(Phase::Compute).len(), 6);
}

#[test]
fn try_run_reports_queue_full_and_memory_stays_bounded() {
    let capacity = 8;
    let (rt, control, _) = paused_runtime(1, capacity, Overflow::Wait);
    let tasks: Vec<_> = (0..100).map(|i| rt.try_run(item(i as f32, 4))).collect();
    control.resume();
    let mut accepted = 0;
    let mut full = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.wait() {
            Ok(y) => {
                check(&y, i as f32, 4, 2.0, 1.0);
                accepted += 1;
            }
            Err(Error::QueueFull { capacity: c }) => {
                assert_eq!(c, capacity);
                full += 1;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    // At most the queue plus what the one slot holds was ever accepted while paused.
    assert!(accepted <= capacity + 1, "{accepted} accepted");
    assert_eq!(accepted + full, 100);
}

#[test]
fn reject_policy_makes_run_fail_fast_too() {
    let (rt, control, _) = paused_runtime(1, 2, Overflow::Reject);
    let tasks: Vec<_> = (0..10).map(|i| rt.run(item(i as f32, 4))).collect();
    control.resume();
    let full = tasks
        .into_iter()
        .map(|t| t.wait())
        .filter(|r| matches!(r, Err(Error::QueueFull { .. })))
        .count();
    assert!(full >= 7, "{full}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_policy_back_pressures_and_every_task_completes() {
    let (rt, control, _) = paused_runtime(2, 4, Overflow::Wait);
    // Far more than the queue holds: the extra tasks wait for room while awaited.
    let tasks: Vec<_> = (0..500).map(|i| rt.run(item(i as f32, 4))).collect();
    control.resume();
    for (i, y) in futures::future::join_all(tasks).await.into_iter().enumerate() {
        check(&y.unwrap(), i as f32, 4, 2.0, 1.0);
    }
    assert_eq!(rt.stats().completed, 500);
}

#[test]
fn shutdown_drains_queued_work_and_later_runs_fail() {
    let (rt, control, _) = paused_runtime(2, 64, Overflow::Wait);
    let tasks: Vec<_> = (0..40).map(|i| rt.run(item(i as f32, 4))).collect();
    let resumer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        control.resume();
    });
    rt.shutdown_blocking(); // blocks until the queue is drained
    resumer.join().unwrap();
    for (i, t) in tasks.into_iter().enumerate() {
        check(&t.wait().unwrap(), i as f32, 4, 2.0, 1.0);
    }
    assert!(matches!(rt.run(item(0.0, 4)).wait(), Err(Error::ShutDown)));
    assert!(matches!(rt.try_run(item(0.0, 4)).wait(), Err(Error::ShutDown)));
}

#[test]
fn dropping_the_runtime_with_work_in_flight_resolves_every_task() {
    let (rt, control, _) = paused_runtime(2, 8, Overflow::Wait);
    // Some in slots, some queued, some still waiting for room in the queue.
    let tasks: Vec<_> = (0..30).map(|i| rt.run(item(i as f32, 4))).collect();
    let resumer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        control.resume();
    });
    drop(rt);
    resumer.join().unwrap();
    let (mut ok, mut shut) = (0, 0);
    for (i, t) in tasks.into_iter().enumerate() {
        match t.wait() {
            Ok(y) => {
                check(&y, i as f32, 4, 2.0, 1.0);
                ok += 1;
            }
            Err(Error::ShutDown) => shut += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok + shut, 30);
    assert!(shut >= 20, "queued requests fail with ShutDown ({shut})");
}
