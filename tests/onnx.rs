//! The ONNX Runtime backend end to end, through the public API: real models fetched from PyPI
//! into the workspace's `.cache` (the first run needs network access to PyPI).

use std::path::PathBuf;
use std::sync::OnceLock;

use accelrt::{AsyncRuntime, DType, Error, RunOptions, Runtime, Tensor};
use accelrt_ocr::detect::{det_input, load_image, text_boxes, Fit};
use accelrt_ocr::samples::{sample_set, Sample};
use accelrt_onnx::{inputs_by_name, models, MixedShapes, OnnxBackend, OnnxSession};

/// Points the process at the workspace cache before anything is fetched.
fn setup() {
    accelrt_onnx::set_cache_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.cache"));
}

fn det_model() -> PathBuf {
    setup();
    models::ocr().expect("fetching the PP-OCR models").det
}

/// A rendered sample, its detector input, and the scale from detector to image pixels.
type Prepared = (Sample, Tensor, (f32, f32));

/// Rendered samples and their detector inputs, made once for all tests.
fn samples() -> &'static [Prepared] {
    static SAMPLES: OnceLock<Vec<Prepared>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        setup();
        sample_set(8)
            .expect("rendering samples")
            .into_iter()
            .map(|s| {
                let x = det_input(&load_image(&s.path).expect("decoding a sample"), Fit::Within(640))
                    .expect("preparing a sample");
                (s, x.tensor, (x.scale_x, x.scale_y))
            })
            .collect()
    })
}

/// Every drawn line is found once, roughly where it was drawn, and nothing else is found.
fn assert_finds_lines(sample: &Sample, prob: &Tensor, scale: (f32, f32)) {
    let boxes = text_boxes(prob, 0.3, 10, scale).unwrap();
    assert_eq!(
        boxes.len(),
        sample.lines.len(),
        "{}: boxes {boxes:?}",
        sample.path.display()
    );
    for (line, found) in sample.lines.iter().zip(&boxes) {
        let (cx, cy) = found.rect.center();
        assert!(
            line.ink.contains(cx, cy),
            "{:?}: found {:?}, drawn {:?}",
            line.spec.text,
            found.rect,
            line.ink
        );
        let (lx, ly) = line.ink.center();
        assert!(
            found.rect.contains(lx, ly),
            "{:?}: found {:?}, drawn {:?}",
            line.spec.text,
            found.rect,
            line.ink
        );
    }
}

#[test]
fn tiny_models_give_known_values() {
    setup();
    let m = models::datasets().unwrap();

    // mul_1: Y = X * [[1, 2], [3, 4], [5, 6]] element-wise.
    let runtime = OnnxBackend::open(&m.mul_1).unwrap().runtime_builder().build().unwrap();
    let x = Tensor::new([3, 2], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let y = runtime.run(vec![x]).wait().unwrap();
    assert_eq!(y.len(), 1);
    assert_eq!(y[0].shape(), &[3, 2]);
    assert_eq!(y[0].as_slice::<f32>().unwrap(), &[1.0, 4.0, 9.0, 16.0, 25.0, 36.0]);

    // sigmoid over [3, 4, 5]: compared with the formula.
    let backend = OnnxBackend::open(&m.sigmoid).unwrap();
    assert_eq!(accelrt::Backend::spec(&backend).inputs[0].to_string(), "f32 [3, 4, 5]");
    let runtime = backend.runtime_builder().build().unwrap();
    let xs: Vec<f32> = (0..60).map(|i| (i as f32 - 30.0) / 5.0).collect();
    let y = runtime
        .run(vec![Tensor::from_slice([3, 4, 5], &xs).unwrap()])
        .wait()
        .unwrap();
    for (x, y) in xs.iter().zip(y[0].as_slice::<f32>().unwrap()) {
        assert!((y - 1.0 / (1.0 + (-x).exp())).abs() < 1e-6, "sigmoid({x}) = {y}");
    }
}

#[test]
fn spec_comes_from_the_session() {
    let backend = OnnxBackend::open(det_model()).unwrap();
    let spec = accelrt::Backend::spec(&backend);
    assert_eq!(spec.inputs.len(), 1);
    assert_eq!(spec.inputs[0].name, "x");
    assert_eq!(spec.inputs[0].dtype, DType::F32);
    assert!(spec.inputs[0].batch_is_dynamic());
    assert_eq!(spec.inputs[0].shape[1], accelrt::Dim::Fixed(3));
    assert_eq!(spec.outputs[0].shape.len(), 4);
    assert!(backend.concatenates_batches());
}

#[test]
fn model_with_non_tensor_outputs_is_refused_clearly() {
    setup();
    let err = OnnxBackend::open(models::datasets().unwrap().logreg_iris).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("logreg_iris.onnx") && msg.contains("\"probabilities\""),
        "{msg}"
    );
}

#[test]
fn recogniser_character_list_comes_from_metadata() {
    setup();
    let rec = OnnxSession::open(models::ocr().unwrap().rec).unwrap();
    let chars = models::rec_characters(&rec).unwrap();
    // The recogniser's classes are the blank, the characters, and a space.
    let classes = match rec.spec().outputs[0].shape.last() {
        Some(accelrt::Dim::Fixed(n)) => *n,
        other => panic!("expected a fixed class dimension, got {other:?}"),
    };
    assert_eq!(chars.len() + 2, classes);
    for c in ["a", "Z", "0", "9"] {
        assert!(chars.iter().any(|x| x == c), "{c} missing");
    }
    // The detector has no character list: a clear error, not an empty list.
    let det = OnnxSession::open(models::ocr().unwrap().det).unwrap();
    let err = models::rec_characters(&det).unwrap_err().to_string();
    assert!(err.contains("\"character\""), "{err}");
}

#[test]
fn detector_finds_rendered_lines_with_wait() {
    let runtime = OnnxBackend::open(det_model())
        .unwrap()
        .runtime_builder()
        .build()
        .unwrap();
    for (sample, x, scale) in samples() {
        let out = runtime.run(vec![x.clone()]).wait().unwrap();
        assert_finds_lines(sample, &out[0], *scale);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detector_finds_rendered_lines_with_await_and_join_all() {
    let runtime = OnnxBackend::builder(det_model())
        .instances(2)
        .build()
        .unwrap()
        .runtime_builder()
        .parallel(2)
        .max_batch(4)
        .build()
        .unwrap();
    let (sample, x, scale) = &samples()[3];
    let out = runtime.run(vec![x.clone()]).await.unwrap();
    assert_finds_lines(sample, &out[0], *scale);

    let outs = futures::future::join_all(samples().iter().map(|(_, x, _)| runtime.run(vec![x.clone()]))).await;
    for ((sample, _, scale), out) in samples().iter().zip(outs) {
        assert_finds_lines(sample, &out.unwrap()[0], *scale);
    }
}

#[test]
fn bad_inputs_fail_alone_with_clear_messages() {
    let backend = OnnxBackend::open(det_model()).unwrap();
    let spec = accelrt::Backend::spec(&backend).clone();
    let runtime = backend.runtime_builder().parallel(2).max_batch(4).build().unwrap();
    let good = &samples()[1];

    let wrong_name = inputs_by_name(&spec, [("image", good.1.clone())]).unwrap_err();
    assert!(
        wrong_name
            .to_string()
            .contains("input \"image\": expected one of the inputs [\"x\"]"),
        "{wrong_name}"
    );

    let bad: Vec<(Vec<Tensor>, &str)> = vec![
        (
            vec![Tensor::zeros(DType::U8, [1, 64, 64, 3]).unwrap()],
            "input \"x\": expected f32 [p2o.DynamicDimension.0, 3, p2o.DynamicDimension.1, p2o.DynamicDimension.2], got u8 [1, 64, 64, 3]",
        ),
        (vec![Tensor::zeros(DType::F32, [3, 64, 64]).unwrap()], "got f32 [3, 64, 64]"),
        (vec![Tensor::zeros(DType::F32, [1, 4, 64, 64]).unwrap()], "got f32 [1, 4, 64, 64]"),
        (vec![good.1.clone(), good.1.clone()], "expected 1 input(s) [\"x\"], got 2"),
    ];
    // Good and bad requests interleaved, so they share batches.
    let mut tasks = Vec::new();
    for (input, msg) in bad {
        tasks.push((runtime.run(input), Some(msg)));
        tasks.push((runtime.run(vec![good.1.clone()]), None));
    }
    for (task, msg) in tasks {
        match (task.wait(), msg) {
            (Err(Error::InvalidInput(got)), Some(want)) => assert!(got.to_string().contains(want), "{got}"),
            (Ok(out), None) => assert_finds_lines(&good.0, &out[0], good.2),
            (got, want) => panic!("expected {want:?}, got {got:?}"),
        }
    }
    // Still serving.
    assert!(runtime.run(vec![good.1.clone()]).wait().is_ok());
}

#[test]
fn spatial_sizes_in_one_batch_run_separately_or_are_refused() {
    let (sample, x, scale) = &samples()[2];
    let small = det_input(&load_image(&sample.path).unwrap(), Fit::Within(320)).unwrap();

    let runtime = OnnxBackend::open(det_model())
        .unwrap()
        .runtime_builder()
        .max_batch(4)
        .build()
        .unwrap();
    let tasks = [runtime.run(vec![x.clone()]), runtime.run(vec![small.tensor.clone()])];
    let [a, b] = tasks.map(|t| t.wait().unwrap());
    assert_finds_lines(sample, &a[0], *scale);
    assert_eq!(b[0].shape(), &[1, 1, 256, 320]);

    let refusing = OnnxBackend::builder(det_model())
        .mixed_shapes(MixedShapes::Refuse)
        .build()
        .unwrap()
        .runtime_builder()
        .max_batch(4)
        .batch_timeout(std::time::Duration::from_millis(200))
        .build()
        .unwrap();
    // Alternating sizes queued faster than one instance runs them. By default the runtime
    // batches by shape, so no batch is mixed and all succeed.
    let inputs = [x, &small.tensor];
    let tasks: Vec<_> = (0..8).map(|i| refusing.run(vec![inputs[i % 2].clone()])).collect();
    for t in tasks {
        assert_eq!(t.wait().unwrap()[0].shape()[0], 1);
    }
    // A caller who forces one batch key mixes shapes: every batch of two or more is mixed,
    // and is refused as a whole; requests that ran alone succeed.
    let one_key = RunOptions {
        batch_key: Some(7),
        ..RunOptions::default()
    };
    let tasks: Vec<_> = (0..8)
        .map(|i| refusing.run_with(vec![inputs[i % 2].clone()], one_key))
        .collect();
    let mut refused = 0;
    for t in tasks {
        match t.wait() {
            Ok(out) => assert_eq!(out[0].shape()[0], 1),
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("[[1, 3, 480, 640]]") && msg.contains("[[1, 3, 256, 320]]"),
                    "{msg}"
                );
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "no mixed batch formed: {:?}", refusing.stats());
    // Still serving.
    assert!(refusing.run(vec![x.clone()]).wait().is_ok());
}

#[test]
fn missing_or_corrupt_model_is_a_clear_error() {
    setup();
    let dir = accelrt_onnx::cache_dir().unwrap().join("test-models");
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("does-not-exist.onnx");
    let err = OnnxBackend::open(&missing).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert!(err.to_string().contains("does-not-exist.onnx: no such file"), "{err}");

    let corrupt = dir.join("corrupt.onnx");
    std::fs::write(&corrupt, b"this is not a protobuf model").unwrap();
    let err = OnnxBackend::open(&corrupt).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert!(
        err.to_string().contains("corrupt.onnx: ONNX Runtime cannot load it"),
        "{err}"
    );
}

#[test]
fn missing_library_is_a_clear_error() {
    setup();
    let model = models::datasets().unwrap().mul_1;
    let err = OnnxBackend::builder(&model)
        .library_path("no/such/dir/libonnxruntime.so")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::DeviceUnavailable(_)), "{err}");
    assert!(
        err.to_string().contains("no/such/dir/libonnxruntime.so, is not a file"),
        "{err}"
    );
    // The failure leaves the default search intact.
    assert!(OnnxBackend::open(&model).is_ok());
}

#[test]
fn several_instances_serve_concurrently_with_single_instance_results() {
    let model = det_model();
    let single = OnnxBackend::builder(&model)
        .intra_threads(1)
        .build()
        .unwrap()
        .runtime_builder()
        .build()
        .unwrap();
    let multi = OnnxBackend::builder(&model)
        .instances(2)
        .intra_threads(1)
        .build()
        .unwrap()
        .runtime_builder()
        .parallel(2)
        .build()
        .unwrap();
    let inputs: Vec<Tensor> = samples().iter().map(|(_, x, _)| x.clone()).collect();
    let expected: Vec<Vec<Tensor>> = inputs
        .iter()
        .map(|x| single.run(vec![x.clone()]).wait().unwrap())
        .collect();
    // All queued at once, so both instances have work.
    let tasks: Vec<_> = inputs.iter().map(|x| multi.run(vec![x.clone()])).collect();
    for (task, want) in tasks.into_iter().zip(&expected) {
        assert_eq!(&task.wait().unwrap(), want);
    }
    let stats = multi.stats();
    assert_eq!(stats.instance_busy.len(), 2);
    assert!(stats.instance_busy.iter().all(|b| !b.is_zero()), "{stats:?}");
}

#[test]
fn concatenated_batches_match_single_runs() {
    let model = det_model();
    let mut session = OnnxSession::open_with_threads(&model, Some(1)).unwrap();
    let runtime: Runtime<OnnxBackend> = OnnxBackend::builder(&model)
        .intra_threads(1)
        .build()
        .unwrap()
        .runtime_builder()
        .max_batch(4)
        .batch_timeout(std::time::Duration::from_millis(100))
        .build()
        .unwrap();
    let tasks: Vec<_> = samples().iter().map(|(_, x, _)| runtime.run(vec![x.clone()])).collect();
    for ((sample, x, scale), task) in samples().iter().zip(tasks) {
        let batched = task.wait().unwrap();
        let alone = session.run(std::slice::from_ref(x)).unwrap();
        assert_eq!(batched[0].shape(), alone[0].shape());
        let (a, b) = (
            batched[0].as_slice::<f32>().unwrap(),
            alone[0].as_slice::<f32>().unwrap(),
        );
        let worst = a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "largest difference {worst}");
        assert_finds_lines(sample, &batched[0], *scale);
    }
    assert!(runtime.stats().mean_batch > 1.0, "{:?}", runtime.stats());
}

/// A detector input the model cannot run (sides not multiples of 32) or refuses outright (a
/// side of 0) fails alone, even when a caller forces it into the batch of good requests.
#[test]
fn a_request_the_model_refuses_fails_alone_in_its_batch() {
    let (sample, x, scale) = &samples()[1];
    let runtime = OnnxBackend::open(det_model())
        .unwrap()
        .runtime_builder()
        .max_batch(8)
        .batch_timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let odd = Tensor::zeros(DType::F32, [1, 3, 33, 47]).unwrap();
    let empty = Tensor::zeros(DType::F32, [1, 3, 0, 0]).unwrap();
    for key in [None, Some(3)] {
        let opts = RunOptions {
            batch_key: key,
            ..RunOptions::default()
        };
        let mut tasks = Vec::new();
        for i in 0..8 {
            let input = match i {
                2 => odd.clone(),
                5 => empty.clone(),
                _ => x.clone(),
            };
            tasks.push((i, runtime.run_with(vec![input], opts)));
        }
        for (i, t) in tasks {
            match (i, t.wait()) {
                (2, Err(e)) => assert!(matches!(e, Error::Backend(_)), "{e}"),
                (5, Err(Error::InvalidInput(e))) => assert!(e.got.contains("a dimension is 0"), "{e}"),
                (2 | 5, other) => panic!("request {i}: expected an error, got {other:?}"),
                (_, out) => assert_finds_lines(sample, &out.unwrap()[0], *scale),
            }
        }
    }
}
