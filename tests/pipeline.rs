//! Pipelines and dataset helpers: stages, fan-out, errors naming their stage, order,
//! bounded windows, and shutdown mid-dataset.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use accelrt::{dataset, AsyncRuntime, Error, Pipeline, Runtime, Task, Tensor};
use accelrt_sim::{SimBackend, SimConfig};
use futures::StreamExt;

fn model(max_batch: usize) -> Runtime<SimBackend> {
    Runtime::builder(SimBackend::new(SimConfig::default()))
        .depth(2)
        .max_batch(max_batch)
        .batch_timeout(Duration::from_millis(1))
        .build()
        .unwrap()
}

fn parse(s: String) -> accelrt::Result<Tensor> {
    let v: f32 = s
        .parse()
        .map_err(|e| Error::invalid_input("a number", format!("{s:?} ({e})")))?;
    if v == 666.0 {
        panic!("the parse stage panicked on purpose");
    }
    Tensor::new([1, 4], vec![v; 4])
}

fn first(y: Tensor) -> accelrt::Result<f32> {
    Ok(y.as_slice::<f32>()?[0])
}

fn three_stages() -> Pipeline<String, f32> {
    Pipeline::builder()
        .stage("parse", 2, parse)
        .runtime("model", model(8), 64)
        .stage("first", 1, first)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_await_and_join_all_give_the_same_results() {
    let p = three_stages();
    let inputs: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    let awaited = futures::future::join_all(inputs.iter().map(|s| p.run(s.clone()))).await;
    let p2 = p.clone();
    let inputs2 = inputs.clone();
    let waited = tokio::task::spawn_blocking(move || inputs2.into_iter().map(|s| p2.run(s).wait()).collect::<Vec<_>>())
        .await
        .unwrap();
    let streamed: Vec<_> = dataset::ordered(&p, inputs.clone(), 32).collect().await;
    for (i, ((a, w), s)) in awaited.into_iter().zip(waited).zip(streamed).enumerate() {
        let want = 2.0 * i as f32 + 1.0;
        assert_eq!((a.unwrap(), w.unwrap(), s.unwrap()), (want, want, want));
    }
    let stats = p.stats();
    assert_eq!(stats.completed, 600);
    assert_eq!(
        stats.stages.iter().map(|s| s.items).collect::<Vec<_>>(),
        vec![600, 600, 600]
    );
    assert!(stats.stages.iter().all(|s| !s.busy.is_zero()));
    assert_eq!(stats.latency.count, 600);
}

#[test]
fn a_stage_error_or_panic_fails_only_that_input_and_names_the_stage() {
    let p = three_stages();
    let inputs = ["1", "oops", "2", "666", "3"];
    let results: Vec<_> = inputs.iter().map(|s| p.run(s.to_string())).map(Task::wait).collect();
    assert_eq!(results[0].as_ref().unwrap(), &3.0);
    assert_eq!(results[2].as_ref().unwrap(), &5.0);
    assert_eq!(results[4].as_ref().unwrap(), &7.0);
    match &results[1] {
        Err(Error::Stage { stage, source }) => {
            assert_eq!(stage, "parse");
            assert!(matches!(**source, Error::InvalidInput(_)));
        }
        other => panic!("{other:?}"),
    }
    match &results[3] {
        Err(e @ Error::Stage { stage, .. }) => {
            assert_eq!(stage, "parse");
            assert!(e.to_string().contains("panicked on purpose"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Model errors name the model stage.
    let bad = Pipeline::builder()
        .stage("make", 1, |n: usize| Tensor::new([1, n], vec![0.0f32; n]))
        .runtime("model", model(4), 8)
        .build()
        .unwrap();
    assert!(bad.run(4).wait().is_ok());
    assert!(matches!(bad.run(5).wait(), Err(Error::Stage { stage, .. }) if stage == "model"));
    assert_eq!(p.stats().failed, 2);
}

#[test]
fn an_async_stage_fans_out_and_the_runtime_batches_across_inputs() {
    let rt = model(16);
    let inner = rt.clone();
    // Each input fans out into n model requests whose outputs are summed.
    let p = Pipeline::builder()
        .async_stage("fan-out", 16, move |n: usize| {
            let tasks: Vec<_> = (0..n)
                .map(|k| inner.run(Tensor::new([1, 4], vec![k as f32; 4]).unwrap()))
                .collect();
            async move {
                let mut sum = 0.0;
                for y in futures::future::join_all(tasks).await {
                    sum += y?.as_slice::<f32>()?[0];
                }
                Ok(sum)
            }
        })
        .build()
        .unwrap();
    let results: Vec<f32> = dataset::ordered_blocking(&p, (1..=40).map(|i| i % 7 + 1), 16)
        .map(|r| r.unwrap())
        .collect();
    for (i, sum) in results.into_iter().enumerate() {
        let n = (i + 1) % 7 + 1;
        let want: f32 = (0..n).map(|k| 2.0 * k as f32 + 1.0).sum();
        assert_eq!(sum, want);
    }
    assert!(
        rt.stats().mean_batch > 1.0,
        "fan-out requests were batched: {:?}",
        rt.stats().mean_batch
    );
}

#[test]
fn pipelines_nest() {
    let inner = three_stages();
    let outer = Pipeline::builder()
        .stage("format", 1, |i: u32| Ok(i.to_string()))
        .runtime("inner", inner, 16)
        .stage("round", 1, |v: f32| Ok(v as i64))
        .build()
        .unwrap();
    assert_eq!(outer.run(20).wait().unwrap(), 41);
}

/// Counts requests started and finished, to watch the dataset window.
struct Counting<R> {
    inner: R,
    started: Arc<AtomicUsize>,
}

impl<R: AsyncRuntime> AsyncRuntime for Counting<R> {
    type Input = R::Input;
    type Output = R::Output;
    fn run(&self, input: R::Input) -> Task<R::Output> {
        self.started.fetch_add(1, Ordering::SeqCst);
        self.inner.run(input)
    }
}

#[test]
fn dataset_helpers_keep_order_and_a_bounded_window() {
    // A stage that finishes later inputs first, so order has to be restored.
    let p = Pipeline::builder()
        .stage("jitter", 4, |i: u64| {
            std::thread::sleep(Duration::from_micros(300 * (7 - i % 7)));
            Ok(i)
        })
        .build()
        .unwrap();
    let started = Arc::new(AtomicUsize::new(0));
    let counting = Counting {
        inner: p,
        started: started.clone(),
    };
    let window = 8;
    for (consumed, r) in dataset::ordered_blocking(&counting, 0..200u64, window).enumerate() {
        assert_eq!(r.unwrap(), consumed as u64);
        assert!(
            started.load(Ordering::SeqCst) <= consumed + window + 1,
            "more than the window in flight"
        );
    }
    let mut seen: Vec<usize> = dataset::unordered_blocking(&counting, 0..200u64, window)
        .map(|(i, r)| {
            assert_eq!(r.unwrap(), i as u64);
            i
        })
        .collect();
    seen.sort();
    assert_eq!(seen, (0..200).collect::<Vec<_>>());
}

#[test]
fn shutdown_mid_dataset_resolves_every_task() {
    let slow = || {
        Pipeline::builder()
            .queue_capacity(4)
            .stage("slow", 2, |i: u64| {
                std::thread::sleep(Duration::from_millis(2));
                Ok(i)
            })
            .stage("id", 1, Ok)
            .build()
            .unwrap()
    };
    // Drop: what has not run fails with ShutDown; nothing hangs.
    let p = slow();
    let tasks: Vec<_> = (0..100).map(|i| p.run(i)).collect();
    drop(p);
    let mut ok = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.wait() {
            Ok(v) => {
                assert_eq!(v, i as u64);
                ok += 1;
            }
            Err(Error::ShutDown) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert!(ok < 100);
    // shutdown(): everything accepted runs; later runs fail.
    let p = slow();
    let tasks: Vec<_> = (0..20).map(|i| p.run(i)).collect();
    let p2 = p.clone();
    let stopper = std::thread::spawn(move || p2.shutdown_blocking());
    for (i, t) in tasks.into_iter().enumerate() {
        match t.wait() {
            Ok(v) => assert_eq!(v, i as u64),
            // Tasks still waiting for room in the first queue when it closed.
            Err(Error::ShutDown) => {}
            Err(e) => panic!("{e}"),
        }
    }
    stopper.join().unwrap();
    assert!(matches!(p.run(1).wait(), Err(Error::ShutDown)));
}

#[test]
fn a_pipeline_needs_valid_stages() {
    assert!(matches!(Pipeline::builder::<u8>().build(), Err(Error::Config(_))));
    let r = Pipeline::builder().stage("a", 0, |x: u8| Ok(x)).build();
    assert!(matches!(r, Err(Error::Config(m)) if m.contains("at least 1 worker")));
    let r = Pipeline::builder()
        .stage("a", 1, |x: u8| Ok(x))
        .stage("a", 1, |x: u8| Ok(x))
        .build();
    assert!(matches!(r, Err(Error::Config(m)) if m.contains("unique")));
}
