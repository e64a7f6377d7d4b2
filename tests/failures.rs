//! Bad input, device faults and panics fail only their own requests.

mod common;

use accelrt::{AsyncRuntime, DType, Error, Runtime, Tensor};
use accelrt_sim::{Faults, SimBackend, SimConfig};
use common::{check, item};

fn runtime(faults: Faults, max_batch: usize) -> Runtime<SimBackend> {
    Runtime::builder(SimBackend::new(SimConfig::default().with_faults(faults)))
        .parallel(2)
        .depth(2)
        .max_batch(max_batch)
        .build()
        .unwrap()
}

#[test]
fn invalid_inputs_get_a_clear_error_and_others_succeed() {
    let rt = runtime(
        Faults {
            invalid_value: Some(-1.0),
            ..Faults::default()
        },
        8,
    );
    let bad: Vec<(Tensor, &str)> = vec![
        (
            Tensor::new([1, 4], vec![1u8, 2, 3, 4]).unwrap(),
            "expected f32 [N, 4], got u8 [1, 4]",
        ),
        (
            Tensor::new([1, 5], vec![0.0f32; 5]).unwrap(),
            "expected f32 [N, 4], got f32 [1, 5]",
        ),
        (
            Tensor::new([4], vec![0.0f32; 4]).unwrap(),
            "expected f32 [N, 4], got f32 [4]",
        ),
        (Tensor::new([2, 4], vec![0.0f32; 8]).unwrap(), "one item per request"),
        (Tensor::zeros(DType::F32, [1, 4]).unwrap().reshape([1, 4]).unwrap(), ""),
        (item(-1.0, 4), "refused"),
    ];
    let mut tasks = Vec::new();
    for (i, (t, msg)) in bad.into_iter().enumerate() {
        tasks.push((rt.run(item(i as f32, 4)), Ok(i as f32)));
        tasks.push((rt.run(t), Err(msg)));
    }
    for (task, want) in tasks {
        match (task.wait(), want) {
            (Ok(y), Ok(v)) => check(&y, v, 4, 2.0, 1.0),
            (Ok(y), Err("")) => assert_eq!(y.as_slice::<f32>().unwrap(), &[1.0; 4]),
            (Err(Error::InvalidInput(m)), Err(msg)) => {
                assert!(m.to_string().contains(msg), "{m:?} lacks {msg:?}")
            }
            (got, want) => panic!("got {got:?}, wanted {want:?}"),
        }
    }
}

#[test]
fn a_failing_batch_fails_its_members_only_and_the_runtime_keeps_serving() {
    let rt = runtime(
        Faults {
            fail_value: Some(1000.0),
            fail_every_nth_batch: Some(7),
            ..Faults::default()
        },
        1,
    );
    let tasks: Vec<_> = (0..200)
        .map(|i| rt.run(item(if i == 50 { 1000.0 } else { i as f32 }, 4)))
        .collect();
    let mut failed = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.wait() {
            Ok(y) => check(&y, i as f32, 4, 2.0, 1.0),
            Err(Error::Backend(e)) => {
                assert!(e.to_string().contains("injected device fault"));
                failed += 1;
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    // Batches of one: the poisoned input plus every 7th batch fail, nothing else.
    assert!((28..=30).contains(&failed), "{failed} failed");
    assert_eq!(rt.stats().failed, failed);
    check(&rt.run(item(1.0, 4)).wait().unwrap(), 1.0, 4, 2.0, 1.0);
}

#[test]
fn a_panic_in_the_backend_becomes_an_error_for_that_batch() {
    let rt = runtime(
        Faults {
            panic_value: Some(13.0),
            ..Faults::default()
        },
        1,
    );
    let tasks: Vec<_> = (0..40).map(|i| rt.run(item(i as f32, 4))).collect();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.wait() {
            Err(Error::BackendPanic(msg)) => {
                assert_eq!(i, 13);
                assert!(msg.contains("injected panic"));
            }
            Ok(y) => check(&y, i as f32, 4, 2.0, 1.0),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    // Every 3rd batch panicking: still serving.
    let rt = runtime(
        Faults {
            panic_every_nth_batch: Some(3),
            ..Faults::default()
        },
        1,
    );
    let results: Vec<_> = (0..30).map(|i| rt.run(item(i as f32, 4)).wait()).collect();
    assert_eq!(
        results
            .iter()
            .filter(|r| matches!(r, Err(Error::BackendPanic(_))))
            .count(),
        10
    );
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 20);
}

#[test]
fn bad_settings_fail_at_build_time() {
    let sim = || {
        SimBackend::new(SimConfig {
            max_batch: 8,
            ..SimConfig::default()
        })
    };
    for (b, msg) in [
        (Runtime::builder(sim()).parallel(0), "parallel"),
        (Runtime::builder(sim()).depth(0), "depth"),
        (Runtime::builder(sim()).instances(0), "instances"),
        (Runtime::builder(sim()).queue_capacity(0), "queue_capacity"),
        (Runtime::builder(sim()).max_batch(9), "exceeds the model's max batch 8"),
        (
            Runtime::builder(sim()).max_batch(4).preferred_batch_sizes([8]),
            "preferred batch size 8",
        ),
    ] {
        match b.build() {
            Err(Error::Config(m)) => assert!(m.contains(msg), "{m}"),
            other => panic!("expected a config error about {msg}, got {other:?}"),
        }
    }
}
