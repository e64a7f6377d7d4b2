//! The CUDA backend, through its public API.
//!
//! Without a GPU these check everything that needs no device: the no-driver error path, spec
//! and slot sizing, input validation, model construction, and (where NVRTC can be loaded) that
//! the kernel sources compile. The GPU tests print why they skip when no device is visible.
//!
//! NVRTC is found on the library path, or in the directory named by `ACCELRT_NVRTC_DIR`, or in
//! an installed `nvidia-cuda-nvrtc-cu12` wheel (`python3 -m pip install nvidia-cuda-nvrtc-cu12`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use accelrt::trace::{overlapping, Phase};
use accelrt::{AsyncRuntime, DType, Dim, Error, ModelSpec, Runtime, Tensor, TensorSpec, Timeline};
use accelrt_cuda::cudarc::driver::CudaStream;
use accelrt_cuda::{
    kernels, validate_input, CudaBackend, CudaDevice, CudaError, CudaModel, DeviceBuffer, Launch, Linear, Mlp,
    Preprocess, SlotLayout,
};

/// The number of visible GPUs, or why there are none.
fn gpus() -> Result<usize, String> {
    match CudaDevice::count() {
        Ok(0) => Err("the driver sees no GPU".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs a GPU test body, or prints why it is skipped.
macro_rules! gpu_test {
    ($name:literal) => {
        match gpus() {
            Ok(_) => {}
            Err(why) => {
                eprintln!("skipping {} (no GPU): {why}", $name);
                return;
            }
        }
    };
}

/// Makes NVRTC loadable if it is installed somewhere we know; true when it is.
fn nvrtc() -> bool {
    if kernels::compile("probe", "extern \"C\" __global__ void probe() {}", None).is_ok() {
        return true;
    }
    let dirs: Vec<PathBuf> = std::env::var_os("ACCELRT_NVRTC_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain(python_wheel_dir("cuda_nvrtc"))
        .collect();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut libs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with("libnvrtc") && name.contains(".so") && !name.contains(".alt.")
            })
            .collect();
        // The builtins library first: libnvrtc loads it by name when compiling.
        libs.sort_by_key(|p| !p.to_string_lossy().contains("builtins"));
        if libs.iter().all(|lib| accelrt_cuda::load_library(lib).is_ok()) && !libs.is_empty() {
            return true;
        }
    }
    false
}

/// `<site-packages>/nvidia/<package>/lib` of an installed NVIDIA wheel.
fn python_wheel_dir(package: &str) -> Option<PathBuf> {
    let code = format!("import nvidia.{package} as m; print(list(m.__path__)[0])");
    let out = std::process::Command::new("python3")
        .args(["-c", &code])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("lib"))
}

// ---------------------------------------------------------------- no device needed

#[test]
fn building_without_a_device_is_a_clear_error_not_a_panic() {
    let pre = CudaBackend::builder(Preprocess::new(8, 8)).build();
    let mlp = CudaBackend::builder(Mlp::random(&[4, 8, 2], 1).unwrap()).build();
    match gpus() {
        Ok(_) => {
            assert!(pre.is_ok(), "{:?}", pre.err());
            assert!(mlp.is_ok(), "{:?}", mlp.err());
        }
        Err(why) => {
            for result in [pre.map(|_| ()), mlp.map(|_| ())] {
                match result {
                    Err(Error::DeviceUnavailable(msg)) => assert!(msg.starts_with("cuda: "), "{msg}"),
                    other => panic!("expected DeviceUnavailable ({why}), got {other:?}"),
                }
            }
        }
    }
}

#[test]
fn a_missing_ordinal_is_device_unavailable() {
    let err = CudaBackend::builder(Preprocess::new(8, 8)).device(4096).build().err();
    assert!(matches!(err, Some(Error::DeviceUnavailable(_))), "{err:?}");
    if gpus().is_ok() {
        let msg = err.unwrap().to_string();
        assert!(msg.contains("ordinal 4096"), "{msg}");
    }
}

#[test]
fn the_no_driver_message_says_what_is_missing() {
    if gpus().is_ok() {
        eprintln!("skipping: a driver is present");
        return;
    }
    let msg = CudaDevice::open(0).unwrap_err().to_string();
    // No driver library, or a driver without a GPU: either way the message names the cause.
    assert!(
        msg.contains("libcuda") || msg.contains("CUDA_ERROR_NO_DEVICE") || msg.contains("device(s) visible"),
        "{msg}"
    );
}

#[test]
fn slot_sizes_follow_the_spec_and_batch() {
    let pre = SlotLayout::from_spec(Preprocess::new(224, 160).spec()).unwrap();
    assert_eq!(pre.input.dtype, DType::U8);
    assert_eq!(pre.input.item_shape, vec![224, 160, 3]);
    assert_eq!(pre.output.item_shape, vec![3, 224, 160]);
    assert_eq!(pre.input_bytes(8).unwrap(), 8 * 224 * 160 * 3);
    assert_eq!(pre.output_bytes(8).unwrap(), 8 * 3 * 224 * 160 * 4);

    let mlp = SlotLayout::from_spec(Mlp::random(&[100, 30, 7], 3).unwrap().spec()).unwrap();
    assert_eq!(mlp.input_bytes(5).unwrap(), 5 * 100 * 4);
    assert_eq!(mlp.output_bytes(5).unwrap(), 5 * 7 * 4);
    assert!(matches!(mlp.input_bytes(usize::MAX), Err(Error::Config(_))));
}

/// A model whose spec the backend cannot size: its height is dynamic.
struct Unsizable(ModelSpec);

impl CudaModel for Unsizable {
    type Instance = ();
    type Scratch = ();
    fn spec(&self) -> &ModelSpec {
        &self.0
    }
    fn load(&self, _: &CudaDevice, _: &Arc<CudaStream>) -> accelrt::Result<()> {
        Ok(())
    }
    fn new_scratch(&self, _: &mut (), _: &Arc<CudaStream>, _: usize) -> accelrt::Result<()> {
        Ok(())
    }
    fn enqueue(&self, _: &(), _: &mut (), _: Launch<'_>) -> accelrt::Result<()> {
        Ok(())
    }
}

#[test]
fn specs_that_cannot_be_sized_are_config_errors_before_any_device_is_touched() {
    let dynamic_h = ModelSpec {
        inputs: vec![TensorSpec::new("x", DType::F32, [Dim::dynamic("N"), Dim::dynamic("H")])],
        outputs: vec![TensorSpec::new("y", DType::F32, [Dim::dynamic("N"), 4.into()])],
        max_batch: Some(4),
    };
    let fixed_batch = ModelSpec {
        inputs: vec![TensorSpec::new("x", DType::F32, [Dim::Fixed(1), 4.into()])],
        ..dynamic_h.clone()
    };
    let two_inputs = ModelSpec {
        inputs: vec![dynamic_h.outputs[0].clone(), dynamic_h.outputs[0].clone()],
        ..dynamic_h.clone()
    };
    for (spec, needle) in [
        (dynamic_h, "dimension H must be fixed"),
        (fixed_batch, "dynamic batch"),
        (two_inputs, "exactly one input"),
    ] {
        match CudaBackend::builder(Unsizable(spec)).build() {
            Err(Error::Config(msg)) => assert!(msg.contains(needle), "{msg}"),
            other => panic!("expected Config containing {needle:?}, got {:?}", other.err()),
        }
    }
}

#[test]
fn inputs_are_validated_against_the_spec_one_item_each() {
    let pre = Preprocess::new(4, 6);
    let good = Tensor::new([1, 4, 6, 3], vec![0u8; 72]).unwrap();
    validate_input(&pre, &good).unwrap();

    let wrong_dtype = Tensor::new([1, 4, 6, 3], vec![0f32; 72]).unwrap();
    let msg = validate_input(&pre, &wrong_dtype).unwrap_err().to_string();
    assert!(msg.contains("expected u8 [N, 4, 6, 3], got f32 [1, 4, 6, 3]"), "{msg}");

    let chw = Tensor::new([1, 3, 4, 6], vec![0u8; 72]).unwrap();
    assert!(matches!(validate_input(&pre, &chw), Err(Error::InvalidInput(_))));

    let two = Tensor::new([2, 4, 6, 3], vec![0u8; 144]).unwrap();
    let msg = validate_input(&pre, &two).unwrap_err().to_string();
    assert!(msg.contains("one item per request, got a batch of 2"), "{msg}");

    let mlp = Mlp::random(&[3, 2], 0).unwrap();
    validate_input(&mlp, &Tensor::new([1, 3], vec![0f32; 3]).unwrap()).unwrap();
    assert!(matches!(
        validate_input(&mlp, &Tensor::new([1, 4], vec![0f32; 4]).unwrap()),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn model_settings_are_checked_when_made() {
    let bad_std = Preprocess::new(2, 2).normalize([0.5; 3], [0.2, 0.0, 0.2]);
    assert!(matches!(bad_std, Err(Error::Config(_))));

    let chain = Mlp::new(vec![
        Linear {
            weight: vec![0.0; 6],
            bias: vec![0.0; 3],
            in_features: 2,
            out_features: 3,
            activation: accelrt_cuda::Activation::Relu,
        },
        Linear {
            weight: vec![0.0; 8],
            bias: vec![0.0; 2],
            in_features: 4,
            out_features: 2,
            activation: accelrt_cuda::Activation::Identity,
        },
    ]);
    let msg = chain.unwrap_err().to_string();
    assert!(
        msg.contains("layer 1 takes 4 features, the previous layer gives 3"),
        "{msg}"
    );
    assert!(matches!(Mlp::new(vec![]), Err(Error::Config(_))));
}

#[test]
fn the_host_reference_of_the_mlp_is_x_times_w_transposed_plus_b() {
    let mlp = Mlp::new(vec![Linear {
        weight: vec![1.0, 2.0, 3.0, -1.0, -1.0, -1.0], // [out 2, in 3], nn.Linear layout
        bias: vec![0.5, 0.0],
        in_features: 3,
        out_features: 2,
        activation: accelrt_cuda::Activation::Relu,
    }])
    .unwrap();
    assert_eq!(mlp.forward_host(&[1.0, 1.0, 1.0]), vec![6.5, 0.0]);
    assert_eq!(mlp.flops_per_row(), 12);
}

#[test]
fn cuda_errors_map_onto_accelrt_errors() {
    let missing = CudaError::LibraryMissing {
        library: "NVRTC (libnvrtc.so)",
        hint: "install it".into(),
    };
    assert!(matches!(Error::from(missing), Error::DeviceUnavailable(m) if m.contains("libnvrtc")));
    let oom = Error::from(CudaError::OutOfMemory {
        what: "slot input".into(),
        bytes: 1 << 40,
    });
    match &oom {
        Error::Backend(inner) => {
            let cuda = inner.downcast_ref::<CudaError>().expect("a CudaError inside");
            assert!(matches!(cuda, CudaError::OutOfMemory { bytes, .. } if *bytes == 1 << 40));
        }
        other => panic!("expected Backend, got {other:?}"),
    }
    assert!(oom.to_string().contains("lower max_batch, depth or instances"));
}

#[test]
fn kernel_sources_compile_with_nvrtc_where_it_is_present() {
    if !nvrtc() {
        // Without NVRTC, compiling is a clear DeviceUnavailable, not a panic.
        let err = kernels::compile("preprocess", kernels::PREPROCESS_SRC, None).unwrap_err();
        assert!(
            matches!(&err, Error::DeviceUnavailable(m) if m.contains("NVRTC")),
            "{err:?}"
        );
        eprintln!(
            "skipping the NVRTC compile check: libnvrtc not found (set ACCELRT_NVRTC_DIR or \
             pip install nvidia-cuda-nvrtc-cu12)"
        );
        return;
    }
    for (name, src, entry) in [
        ("preprocess", kernels::PREPROCESS_SRC, "hwc_u8_to_chw_f32"),
        ("bias_act", kernels::BIAS_ACT_SRC, "bias_act"),
    ] {
        for arch in [None, Some((8, 0)), Some((9, 0))] {
            let ptx = kernels::compile(name, src, arch).unwrap_or_else(|e| panic!("{name} {arch:?}: {e}"));
            let text = ptx.to_src();
            assert!(
                text.contains(&format!(".entry {entry}")),
                "{name}: no entry {entry} in PTX"
            );
        }
    }
    // A broken source is a typed compile error carrying the compiler's log.
    let err = kernels::compile("broken", "extern \"C\" __global__ void k() { undeclared(); }", None).unwrap_err();
    match err {
        Error::Backend(inner) => {
            let msg = inner.to_string();
            assert!(
                matches!(inner.downcast_ref::<CudaError>(), Some(CudaError::Compile { .. })),
                "{msg}"
            );
            assert!(msg.contains("undeclared"), "{msg}");
        }
        other => panic!("expected a Backend compile error, got {other:?}"),
    }
}

// ---------------------------------------------------------------- GPU

fn image(h: usize, w: usize, seed: u8) -> Tensor {
    let data: Vec<u8> = (0..h * w * 3)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    Tensor::new([1, h, w, 3], data).unwrap()
}

#[test]
fn gpu_preprocess_matches_the_host_formula() {
    gpu_test!("gpu_preprocess_matches_the_host_formula");
    let (h, w) = (17, 23); // odd sizes: partial blocks
    let model = Preprocess::new(h, w);
    let reference = model.clone();
    let rt = Runtime::builder(CudaBackend::builder(model).build().unwrap())
        .parallel(2)
        .depth(3)
        .max_batch(4)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..24u8).map(|s| (s, rt.run(image(h, w, s)))).collect();
    for (seed, task) in tasks {
        let y = task.wait().unwrap();
        assert_eq!(y.shape(), &[1, 3, h, w]);
        let y = y.as_slice::<f32>().unwrap();
        let x = image(h, w, seed);
        let x = x.as_slice::<u8>().unwrap();
        for p in 0..h * w {
            for c in 0..3 {
                let want = reference.expected(x[p * 3 + c], c);
                let got = y[c * h * w + p];
                assert!(
                    (got - want).abs() < 1e-5,
                    "seed {seed} pixel {p} channel {c}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn gpu_mlp_matches_the_host_forward_pass_on_several_instances() {
    gpu_test!("gpu_mlp_matches_the_host_forward_pass_on_several_instances");
    let mlp = Mlp::random(&[33, 64, 48, 5], 11).unwrap();
    let reference = mlp.clone();
    let rt = Runtime::builder(CudaBackend::builder(mlp).build().unwrap())
        .instances(2)
        .parallel(2)
        .depth(2)
        .max_batch(8)
        .build()
        .unwrap();
    let inputs: Vec<Vec<f32>> = (0..64)
        .map(|i| (0..33).map(|k| ((i * 7 + k) % 13) as f32 / 13.0 - 0.5).collect())
        .collect();
    let tasks: Vec<_> = inputs
        .iter()
        .map(|x| rt.run(Tensor::from_slice([1, 33], x).unwrap()))
        .collect();
    for (x, task) in inputs.iter().zip(tasks) {
        let y = task.wait().unwrap();
        assert_eq!(y.shape(), &[1, 5]);
        let want = reference.forward_host(x);
        for (g, w) in y.as_slice::<f32>().unwrap().iter().zip(&want) {
            assert!((g - w).abs() < 1e-3 * (1.0 + w.abs()), "{g} vs {w}");
        }
    }
}

#[test]
fn gpu_invalid_inputs_fail_alone() {
    gpu_test!("gpu_invalid_inputs_fail_alone");
    let rt = Runtime::builder(CudaBackend::builder(Preprocess::new(4, 4)).build().unwrap())
        .max_batch(4)
        .build()
        .unwrap();
    let bad = rt.run(Tensor::new([1, 4, 4, 3], vec![0f32; 48]).unwrap());
    let good = rt.run(image(4, 4, 1));
    assert!(matches!(bad.wait(), Err(Error::InvalidInput(_))));
    assert_eq!(good.wait().unwrap().shape(), &[1, 3, 4, 4]);
}

/// `Preprocess`, except that `enqueue` refuses batches of exactly three requests.
struct RefusesThrees {
    spec: ModelSpec,
    inner: Preprocess,
}

impl CudaModel for RefusesThrees {
    type Instance = <Preprocess as CudaModel>::Instance;
    type Scratch = ();
    fn spec(&self) -> &ModelSpec {
        &self.spec
    }
    fn load(&self, device: &CudaDevice, stream: &Arc<CudaStream>) -> accelrt::Result<Self::Instance> {
        self.inner.load(device, stream)
    }
    fn new_scratch(&self, _: &mut Self::Instance, _: &Arc<CudaStream>, _: usize) -> accelrt::Result<()> {
        Ok(())
    }
    fn enqueue(&self, kernel: &Self::Instance, _: &mut (), launch: Launch<'_>) -> accelrt::Result<()> {
        // The batch size is all the model sees on the host: fail batches of exactly 3.
        if launch.batch == 3 {
            return Err(Error::backend_msg("refusing a batch of 3"));
        }
        self.inner.enqueue(kernel, &mut (), launch)
    }
}

#[test]
fn gpu_a_failed_batch_fails_only_its_members() {
    gpu_test!("gpu_a_failed_batch_fails_only_its_members");
    let inner = Preprocess::new(2, 2);
    let model = RefusesThrees {
        spec: inner.spec().clone(),
        inner,
    };
    let rt = Runtime::builder(CudaBackend::builder(model).build().unwrap())
        .max_batch(3)
        .batch_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    // A lone request runs alone (idle device: no waiting for a batch) and succeeds.
    assert!(rt.run(image(2, 2, 0)).wait().is_ok());
    // Then a burst: whatever batches of 3 form fail, all others succeed.
    let tasks: Vec<_> = (0..31u8).map(|s| rt.run(image(2, 2, s))).collect(); // all queued first
    let results: Vec<_> = tasks.into_iter().map(|t| t.wait()).collect();
    for r in &results {
        match r {
            Ok(y) => assert_eq!(y.shape(), &[1, 3, 2, 2]),
            Err(e) => assert!(e.to_string().contains("refusing a batch of 3"), "{e}"),
        }
    }
    // 31 requests queued at once with a 200 ms batch timeout: batches of 3 form and fail, and
    // since 31 is no multiple of 3 at least one other batch succeeds.
    assert!(results.iter().any(|r| r.is_err()), "no batch of 3 formed");
    assert!(results.iter().any(|r| r.is_ok()), "every batch failed");
    assert!(rt.run(image(2, 2, 0)).wait().is_ok(), "the runtime keeps serving");
}

#[test]
fn gpu_timeline_shows_copies_overlapping_kernels() {
    gpu_test!("gpu_timeline_shows_copies_overlapping_kernels");
    let timeline = Timeline::new();
    // 1 MB in, 1 MB out per request, a few GEMMs: long enough for copies and kernels to meet.
    let mlp = Mlp::random(&[1024, 1024, 1024, 1024, 1024], 5).unwrap();
    let backend = CudaBackend::builder(mlp).timeline(timeline.clone()).build().unwrap();
    let rt = Runtime::builder(backend)
        .parallel(2)
        .depth(3)
        .max_batch(256)
        .build()
        .unwrap();
    let x = Tensor::new([1, 1024], vec![0.25f32; 1024]).unwrap();
    let tasks: Vec<_> = (0..256 * 24).map(|_| rt.run(x.clone())).collect();
    for t in tasks {
        t.wait().unwrap();
    }
    let all = timeline.intervals();
    assert!(!timeline.phase(Phase::Compute).is_empty());
    let h2d = overlapping(&all, Phase::H2D, Phase::Compute);
    let d2h = overlapping(&all, Phase::D2H, Phase::Compute);
    assert!(
        !h2d.is_empty() || !d2h.is_empty(),
        "no copy overlapped another batch's kernels: {:?}",
        &all[..all.len().min(12)]
    );
}

#[test]
fn gpu_out_of_memory_at_build_time_is_a_typed_error() {
    gpu_test!("gpu_out_of_memory_at_build_time_is_a_typed_error");
    // 4096 × 4096 × 3 bytes × 40 000 images ≈ 2 TB of device input per slot: no GPU has it.
    let model = Preprocess::new(4096, 4096).max_batch(40_000);
    let backend = CudaBackend::builder(model).build().unwrap();
    let Err(err) = Runtime::builder(backend).max_batch(40_000).build() else {
        panic!("a runtime needing 2 TB of device memory per slot must not build");
    };
    match &err {
        Error::Backend(inner) => match inner.downcast_ref::<CudaError>() {
            Some(CudaError::OutOfMemory { bytes, .. }) => assert!(*bytes >= 2_000_000_000_000, "{err}"),
            other => panic!("expected OutOfMemory, got {other:?}"),
        },
        other => panic!("expected a Backend error, got {other:?}"),
    }
    // The device is still usable afterwards.
    let rt = Runtime::builder(CudaBackend::builder(Preprocess::new(2, 2)).build().unwrap())
        .build()
        .unwrap();
    assert!(rt.run(image(2, 2, 3)).wait().is_ok());
}

#[test]
fn gpu_buffers_round_trip_through_pinned_memory() {
    gpu_test!("gpu_buffers_round_trip_through_pinned_memory");
    use accelrt_cuda::{copy_d2h, copy_h2d, HostAccess, PinnedBuffer};
    let dev = CudaDevice::open(0).unwrap();
    let stream = dev.new_stream().unwrap();
    let mut src = PinnedBuffer::new(dev.context(), 4096, HostAccess::WriteCombined, "test in").unwrap();
    let mut dst = PinnedBuffer::new(dev.context(), 4096, HostAccess::Cached, "test out").unwrap();
    let mut d = DeviceBuffer::new(&stream, DType::U8, 4096, "test device").unwrap();
    for (i, b) in src.as_mut_slice().unwrap().iter_mut().enumerate() {
        *b = i as u8;
    }
    copy_h2d(&stream, &src, &mut d, 3000).unwrap();
    copy_d2h(&stream, &d, &mut dst, 3000).unwrap();
    let out = dst.as_slice().unwrap(); // waits for the copy
    assert!(out[..3000].iter().enumerate().all(|(i, &b)| b == i as u8));
    assert!(out[3000..].iter().all(|&b| b == 0), "only the requested bytes move");
    assert!(
        copy_h2d(&stream, &src, &mut d, 5000).is_err(),
        "oversized copies are refused"
    );
}
