//! Requests in, outputs out: correctness, the three ways to wait, and tensors.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use accelrt::{AsyncRuntime, DType, Error, Runtime, Tensor};
use accelrt_sim::{SimBackend, SimConfig};
use common::{check, item};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_requests_each_get_their_own_output() {
    let len = 8;
    let config = SimConfig {
        len,
        a: 3.0,
        b: -2.0,
        ..SimConfig::default()
    };
    let rt = Runtime::builder(SimBackend::new(config))
        .parallel(2)
        .depth(3)
        .max_batch(16)
        .build()
        .unwrap();
    let n = 10_000;
    let tasks = (0..n).map(|i| rt.run(item(i as f32 * 10.0, len)));
    let outputs = futures::future::join_all(tasks).await;
    assert_eq!(outputs.len(), n);
    let mut seen = HashSet::new();
    for (i, out) in outputs.into_iter().enumerate() {
        let y = out.unwrap();
        check(&y, i as f32 * 10.0, len, 3.0, -2.0);
        // Distinct inputs give distinct outputs: none lost, none duplicated.
        assert!(seen.insert(y.as_slice::<f32>().unwrap()[0].to_bits()));
    }
    let stats = rt.stats();
    assert_eq!(stats.completed, n as u64);
    assert_eq!(stats.failed, 0);
    assert!(stats.batches > 0 && stats.batches <= n as u64);
}

#[test]
fn wait_from_a_plain_thread_without_an_async_runtime() {
    let rt = Runtime::builder(SimBackend::new(SimConfig::default())).build().unwrap();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let rt = rt.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let v = (t * 100 + i) as f32;
                    let y = rt.run(item(v, 4)).wait().unwrap();
                    check(&y, v, 4, 2.0, 1.0);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn task_works_under_futures_block_on() {
    let rt = Runtime::builder(SimBackend::new(SimConfig::default())).build().unwrap();
    let y = futures::executor::block_on(rt.run(item(5.0, 4))).unwrap();
    check(&y, 5.0, 4, 2.0, 1.0);
    let all = futures::executor::block_on(futures::future::join_all((0..100).map(|i| rt.run(item(i as f32, 4)))));
    for (i, y) in all.into_iter().enumerate() {
        check(&y.unwrap(), i as f32, 4, 2.0, 1.0);
    }
}

#[tokio::test]
async fn wait_inside_an_async_runtime_does_not_panic() {
    let rt = Runtime::builder(SimBackend::new(SimConfig::default())).build().unwrap();
    // Blocking a runtime thread is discouraged, but it must work and not panic.
    let y = rt.run(item(1.0, 4)).wait().unwrap();
    check(&y, 1.0, 4, 2.0, 1.0);
    let y = rt.run(item(2.0, 4)).await.unwrap();
    check(&y, 2.0, 4, 2.0, 1.0);
}

#[test]
fn try_wait_and_wait_timeout_keep_the_task_usable() {
    let config = SimConfig::stages(
        Duration::ZERO,
        Duration::ZERO,
        Duration::from_millis(20),
        Duration::ZERO,
    );
    let backend = SimBackend::new(config);
    let control = backend.control();
    let rt = Runtime::builder(backend).build().unwrap();
    control.pause();
    let mut task = rt.run(item(7.0, 4));
    assert!(task.try_wait().is_none());
    assert!(task.wait_timeout(Duration::from_millis(5)).is_none());
    control.resume();
    let y = task
        .wait_timeout(Duration::from_secs(60))
        .expect("resolves once resumed")
        .unwrap();
    check(&y, 7.0, 4, 2.0, 1.0);
    assert!(task.is_done());
}

#[test]
fn tensors_concat_split_and_typed_access() {
    let a = Tensor::new([1, 3], vec![1.0f32, 2.0, 3.0]).unwrap();
    let b = Tensor::new([2, 3], vec![4.0f32, 5.0, 6.0, 7.0, 8.0, 9.0]).unwrap();
    let ab = Tensor::concat(&[a.clone(), b.clone()]).unwrap();
    assert_eq!(ab.shape(), &[3, 3]);
    assert_eq!(
        ab.as_slice::<f32>().unwrap(),
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    );
    let parts = ab.split(&[1, 2]).unwrap();
    assert_eq!(parts, vec![a, b]);
    // Typed access checks the dtype.
    assert!(matches!(ab.as_slice::<i64>(), Err(Error::InvalidInput(_))));
    // Every listed dtype round-trips.
    let h = Tensor::new([2], vec![accelrt::f16::from_f32(1.5), accelrt::f16::from_f32(-2.0)]).unwrap();
    assert_eq!(h.dtype(), DType::F16);
    assert_eq!(h.to_vec::<accelrt::f16>().unwrap()[0].to_f32(), 1.5);
    assert_eq!(
        Tensor::new([2], vec![1i64, 2]).unwrap().to_vec::<i64>().unwrap(),
        vec![1, 2]
    );
    assert_eq!(Tensor::new([1], vec![3i32]).unwrap().dtype(), DType::I32);
    assert_eq!(Tensor::new([1], vec![3u8]).unwrap().dtype(), DType::U8);
    assert_eq!(
        Tensor::from_bools([2], &[true, false]).unwrap().to_bools().unwrap(),
        vec![true, false]
    );
    // Wrong lengths and mismatched parts are errors, not panics.
    assert!(Tensor::new([2, 2], vec![1.0f32; 3]).is_err());
    assert!(Tensor::concat(&[
        Tensor::new([1, 2], vec![0u8; 2]).unwrap(),
        Tensor::new([1, 3], vec![0u8; 3]).unwrap()
    ])
    .is_err());
    assert!(ab.split(&[1, 1]).is_err());
}

#[test]
fn spec_mismatch_messages_say_what_was_expected_and_what_came() {
    use accelrt::{Dim, TensorSpec};
    let spec = TensorSpec::new(
        "x",
        DType::F32,
        [Dim::dynamic("N"), Dim::Fixed(3), Dim::dynamic("H"), Dim::dynamic("W")],
    );
    let t = Tensor::new([1, 224, 224, 3], vec![0u8; 224 * 224 * 3]).unwrap();
    let err = spec.check("input", &t).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: input \"x\": expected f32 [N, 3, H, W], got u8 [1, 224, 224, 3]"
    );
    assert!(spec
        .check("input", &Tensor::zeros(DType::F32, [2, 3, 8, 8]).unwrap())
        .is_ok());
}
