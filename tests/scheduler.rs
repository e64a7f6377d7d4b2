//! The scheduler through the public API: wake-ups, deadlines that leave with their requests,
//! shutdown that never blocks an executor, durations at their limits, the task API, admission
//! order, batch keys, and both submit styles of a backend.
//!
//! Deterministic: the simulated device is paused so requests pile up, and outcomes are read
//! from the device's input log and the stats, never from a wall-clock threshold. `PATIENCE`
//! only turns a hang into a failure.

mod common;

use std::time::Duration;

use accelrt::{AsyncRuntime, Error, Overflow, Pipeline, RunOptions, Runtime, Tensor};
use accelrt_sim::{Faults, SimBackend, SimConfig, SimControl};
use common::{check, eventually, item, PATIENCE};
use futures::future::FusedFuture;

fn sim(config: SimConfig) -> (SimBackend, SimControl) {
    let backend = SimBackend::new(config.with_input_log());
    let control = backend.control();
    (backend, control)
}

/// The first elements of the inputs of each batch that reached the device, in order.
fn device_batches(rt: &Runtime<SimBackend>) -> Vec<Vec<f32>> {
    rt.backend().device_log().into_iter().map(|(_, xs)| xs).collect()
}

/// The lost wake-up: a request queued behind a batch in flight waits for its batch to grow
/// (500 ms here, an hour in the worst case); when the instance falls idle it must go at once.
/// Both submit styles, `parallel` 1 and 2.
#[test]
fn a_request_behind_a_busy_instance_goes_when_the_instance_falls_idle() {
    for synchronous in [false, true] {
        for parallel in [1, 2] {
            let (backend, control) = sim(SimConfig {
                synchronous,
                ..SimConfig::default()
            });
            let rt = Runtime::builder(backend)
                .parallel(parallel)
                .max_batch(8)
                .batch_timeout(Duration::from_secs(3600))
                .build()
                .unwrap();
            for round in 0..50 {
                control.pause();
                let a = rt.run(item(round as f32, 4));
                eventually("a on the device", || rt.stats().queued == 0);
                let mut b = rt.run(item(-(round as f32), 4));
                control.resume();
                check(&a.wait().unwrap(), round as f32, 4, 2.0, 1.0);
                // Were the wake-up lost, b would wait out the hour.
                let y = b
                    .wait_timeout(PATIENCE)
                    .expect("b waited for the batch timeout")
                    .unwrap();
                check(&y, -(round as f32), 4, 2.0, 1.0);
            }
        }
    }
}

/// A million requests with an hour-long timeout: once they have left, the scheduler holds no
/// deadline for any of them.
#[test]
fn a_million_requests_with_a_long_timeout_leave_no_deadlines_behind() {
    let rt = Runtime::builder(SimBackend::new(SimConfig::default()))
        .max_batch(64)
        .depth(3)
        .timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let x = item(1.0, 4);
    let mut peak = 0;
    for _ in 0..(1_000_000 / 10_000) {
        let tasks: Vec<_> = (0..10_000).map(|_| rt.run(x.clone())).collect();
        peak = peak.max(rt.stats().pending_deadlines);
        for t in tasks {
            t.wait().unwrap();
        }
    }
    let stats = rt.stats();
    assert_eq!(stats.completed, 1_000_000);
    assert!(peak > 0, "the deadlines were tracked while requests waited");
    assert_eq!(stats.pending_deadlines, 0);
    assert_eq!(stats.queued, 0);
}

/// Dropping the last handle inside a current-thread tokio runtime, while the device is held
/// by a task on that same executor, returns at once: the queued requests fail with ShutDown,
/// and the batch on the device finishes once the device goes on.
#[test]
fn dropping_a_runtime_never_blocks_the_executor() {
    let (backend, control) = sim(SimConfig::default());
    let rt = Runtime::builder(backend).depth(1).max_batch(1).build().unwrap();
    let exec = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    exec.block_on(async move {
        let pause = control.clone();
        tokio::spawn(async move { pause.pause() }).await.unwrap();
        let first = rt.run(item(1.0, 4));
        let stats = rt.clone();
        eventually("the first on the device", || stats.stats().queued == 0);
        drop(stats);
        let queued: Vec<_> = (0..20).map(|i| rt.run(item(i as f32, 4))).collect();
        drop(rt); // must return although the device is paused
        for t in queued {
            assert!(matches!(t.await, Err(Error::ShutDown)));
        }
        control.resume();
        check(&first.await.unwrap(), 1.0, 4, 2.0, 1.0);
    });
}

/// Async and blocking shutdowns drain; the limited one fails what is left at its limit and
/// gives up on a batch stuck on the device.
#[test]
fn shutdown_drains_and_the_limited_one_gives_up_on_time() {
    let (backend, control) = sim(SimConfig::default());
    let rt = Runtime::builder(backend).max_batch(4).build().unwrap();
    control.pause();
    let tasks: Vec<_> = (0..10).map(|i| rt.run(item(i as f32, 4))).collect();
    // The shutdown starts when its future is first polled: poll it once here, then let a
    // thread wait on it.
    let mut shutdown = {
        let rt = rt.clone();
        Box::pin(async move { rt.shutdown().await })
    };
    assert!(
        futures::FutureExt::now_or_never(&mut shutdown).is_none(),
        "the device is paused"
    );
    let waiter = std::thread::spawn(move || futures::executor::block_on(shutdown));
    assert!(matches!(rt.run(item(0.0, 4)).wait(), Err(Error::ShutDown)));
    control.resume();
    waiter.join().unwrap();
    for (i, t) in tasks.into_iter().enumerate() {
        check(&t.wait().unwrap(), i as f32, 4, 2.0, 1.0);
    }

    let (backend, control) = sim(SimConfig::default());
    let rt = Runtime::builder(backend).depth(1).max_batch(1).build().unwrap();
    control.pause();
    let stuck = rt.run(item(1.0, 4));
    eventually("on the device", || rt.stats().queued == 0);
    let left: Vec<_> = (0..5).map(|i| rt.run(item(i as f32, 4))).collect();
    assert!(
        !rt.shutdown_blocking_timeout(Duration::from_millis(50)),
        "the device is paused"
    );
    for t in left {
        assert!(matches!(t.wait(), Err(Error::ShutDown)));
    }
    control.resume();
    check(&stuck.wait().unwrap(), 1.0, 4, 2.0, 1.0);
    rt.shutdown_blocking();
    assert!(rt.shutdown_blocking_timeout(Duration::MAX));
}

/// Dropping a pipeline fails its backlog, the items its runtime stage waits on included,
/// while the device is still paused: nothing runs the backlog first.
#[test]
fn dropping_a_pipeline_fails_its_backlog_at_once() {
    let (backend, control) = sim(SimConfig::default());
    let model = Runtime::builder(backend).max_batch(2).build().unwrap();
    let stats = model.clone();
    let pipeline = Pipeline::builder()
        .stage("double", 1, |x: Tensor| Ok(x))
        .runtime("model", model, 8)
        .build()
        .unwrap();
    control.pause();
    let tasks: Vec<_> = (0..100).map(|i| pipeline.run(item(i as f32, 4))).collect();
    eventually("the runtime stage holds requests", || stats.stats().submitted >= 8);
    drop(pipeline);
    for mut t in tasks {
        let r = t
            .wait_timeout(PATIENCE)
            .expect("a pipeline task hung on a paused device");
        assert!(matches!(r, Err(Error::ShutDown)), "{r:?}");
    }
    // The runtime stage's queued requests were withdrawn when the pipeline stopped waiting.
    eventually("withdrawn", || stats.stats().queued == 0);
    assert!(stats.stats().cancelled > 0);
    control.resume();
}

/// No duration a user can give panics or hangs anything.
#[test]
fn durations_at_their_limits_neither_panic_nor_hang() {
    let rt = Runtime::builder(SimBackend::new(SimConfig::default()))
        .max_batch(4)
        .batch_timeout(Duration::MAX)
        .timeout(Duration::MAX)
        .build()
        .unwrap();
    let mut t = rt.run(item(1.0, 4));
    check(&t.wait_timeout(Duration::MAX).unwrap().unwrap(), 1.0, 4, 2.0, 1.0);
    let opts = RunOptions {
        timeout: Some(Duration::MAX),
        ..RunOptions::default()
    };
    check(&rt.run_with(item(2.0, 4), opts).wait().unwrap(), 2.0, 4, 2.0, 1.0);
    let tasks: Vec<_> = (0..100).map(|i| rt.run(item(i as f32, 4))).collect();
    for (i, t) in tasks.into_iter().enumerate() {
        check(&t.wait().unwrap(), i as f32, 4, 2.0, 1.0);
    }
    let mut pending = rt.run(item(3.0, 4));
    assert!(pending.wait_timeout(Duration::ZERO).is_none() || pending.is_done());
}

/// cancel() resolves with Cancelled and the request never reaches the device; dropped and
/// cancelled tasks are counted and free their places at once.
#[test]
fn cancelled_and_dropped_tasks_leave_the_queue_at_once() {
    let (backend, control) = sim(SimConfig::default());
    let rt = Runtime::builder(backend)
        .depth(1)
        .max_batch(1)
        .queue_capacity(4)
        .overflow(Overflow::Reject)
        .build()
        .unwrap();
    control.pause();
    let first = rt.run(item(100.0, 4));
    eventually("first on the device", || rt.stats().queued == 0);
    let mut tasks: Vec<_> = (0..4).map(|i| rt.run(item(i as f32, 4))).collect();
    assert!(matches!(
        rt.try_run(item(9.0, 4)).wait(),
        Err(Error::QueueFull { capacity: 4 })
    ));
    let mut cancelled = tasks.remove(0);
    assert!(!cancelled.is_finished());
    cancelled.cancel();
    assert!(cancelled.is_finished());
    drop(tasks.remove(0));
    assert_eq!(rt.stats().queued, 2);
    assert_eq!(rt.stats().cancelled, 2);
    // Two places are free again.
    let more: Vec<_> = (0..2).map(|i| rt.try_run(item(10.0 + i as f32, 4))).collect();
    assert!(futures::executor::block_on(async {
        matches!((&mut cancelled).await, Err(Error::Cancelled))
    }));
    assert!(cancelled.is_terminated());
    control.resume();
    check(&first.wait().unwrap(), 100.0, 4, 2.0, 1.0);
    for t in tasks.into_iter().chain(more) {
        t.wait().unwrap();
    }
    let reached: Vec<f32> = device_batches(&rt).concat();
    assert_eq!(reached, vec![100.0, 2.0, 3.0, 10.0, 11.0]);
    // The count starts again with the other counters.
    rt.reset_stats();
    assert_eq!(rt.stats().cancelled, 0);
}

/// A task that waits for room is admitted in order by the runtime itself: looked at once and
/// then left alone, it does not hold up the requests behind it.
#[test]
fn waiting_for_room_keeps_order_without_polling() {
    let (backend, control) = sim(SimConfig::default());
    let rt = Runtime::builder(backend)
        .depth(1)
        .max_batch(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    control.pause();
    let a = rt.run(item(1.0, 4));
    eventually("a on the device", || rt.stats().queued == 0);
    let b = rt.run(item(2.0, 4)); // queued
    let mut c = rt.run(item(3.0, 4)); // waits for room
    assert!(c.try_wait().is_none());
    let mut d = rt.run(item(4.0, 4)); // waits behind c
    control.resume();
    // d resolves although c is not polled again.
    check(
        &d.wait_timeout(PATIENCE).expect("d stalled behind c").unwrap(),
        4.0,
        4,
        2.0,
        1.0,
    );
    for (t, v) in [(a, 1.0), (b, 2.0), (c, 3.0)] {
        check(&t.wait().unwrap(), v, 4, 2.0, 1.0);
    }
    assert_eq!(device_batches(&rt).concat(), vec![1.0, 2.0, 3.0, 4.0]);
}

/// Requests of different batch keys never share a batch; a rare key is served.
#[test]
fn batch_keys_never_share_a_batch() {
    let (backend, control) = sim(SimConfig::default());
    let rt = Runtime::builder(backend)
        .max_batch(8)
        .batch_timeout(Duration::from_millis(20))
        .build()
        .unwrap();
    control.pause();
    let blocker = rt.run(item(-1.0, 4));
    eventually("blocker on the device", || rt.stats().queued == 0);
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let key = if i % 10 == 0 { 1 } else { 2 };
            let opts = RunOptions {
                batch_key: Some(key),
                ..RunOptions::default()
            };
            (key, rt.run_with(item(i as f32 * 10.0 + key as f32, 4), opts))
        })
        .collect();
    control.resume();
    blocker.wait().unwrap();
    for (_, t) in tasks {
        t.wait().unwrap();
    }
    for batch in device_batches(&rt).into_iter().skip(1) {
        let keys: Vec<u32> = batch.iter().map(|x| (*x as u32) % 10).collect();
        assert!(keys.windows(2).all(|w| w[0] == w[1]), "mixed keys in {batch:?}");
        assert!(batch.len() <= 8);
    }
}

/// A request the device fails alone does not fail its batch; a panicking pipeline stage is
/// reported as a stage panic, not an internal error.
#[test]
fn per_request_failures_and_stage_panics_are_typed() {
    let faults = Faults {
        fail_item_value: Some(13.0),
        ..Faults::default()
    };
    let (backend, control) = sim(SimConfig::default().with_faults(faults));
    let rt = Runtime::builder(backend).max_batch(8).build().unwrap();
    control.pause();
    let blocker = rt.run(item(-1.0, 4));
    eventually("blocker on the device", || rt.stats().queued == 0);
    let tasks: Vec<_> = (10..16).map(|i| (i, rt.run(item(i as f32, 4)))).collect();
    control.resume();
    blocker.wait().unwrap();
    for (i, t) in tasks {
        match (i, t.wait()) {
            (13, Err(Error::Backend(e))) => assert!(e.to_string().contains("one request"), "{e}"),
            (13, other) => panic!("13 should fail alone: {other:?}"),
            (_, y) => check(&y.unwrap(), i as f32, 4, 2.0, 1.0),
        }
    }
    assert!(device_batches(&rt).iter().any(|b| b.len() > 1 && b.contains(&13.0)));

    let p = Pipeline::builder()
        .stage("boom", 1, |x: i32| if x == 0 { panic!("zero") } else { Ok(x) })
        .build()
        .unwrap();
    match p.run(0).wait() {
        Err(Error::Stage { stage, source }) => {
            assert_eq!(stage, "boom");
            assert!(matches!(*source, Error::StagePanic(ref m) if m == "zero"), "{source}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.run(5).wait().unwrap(), 5);
}

/// Threads pinned to cores: a core the process has works, one it lacks is refused at build.
#[test]
fn pinning_checks_its_cores_at_build_time() {
    let rt = Runtime::builder(SimBackend::new(SimConfig::default()))
        .parallel(2)
        .pin_cores([0])
        .build()
        .unwrap();
    check(&rt.run(item(1.0, 4)).wait().unwrap(), 1.0, 4, 2.0, 1.0);
    let err = Runtime::builder(SimBackend::new(SimConfig::default()))
        .pin_cores([usize::MAX])
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}
