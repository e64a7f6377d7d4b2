//! The CUDA backend, through its public API.
//!
//! Without a GPU these check everything that needs no device: the no-driver error path, spec
//! and slot sizing, input validation, model construction, when GPU tests run or skip, and
//! (where NVRTC can be loaded) that the kernel sources compile. The GPU tests (`gpu::`) print a
//! `SKIPPED` line naming what is missing; `ACCELRT_REQUIRE_GPU=1` makes them fail instead.
//!
//! NVRTC and cuBLAS are found as the backend finds them: the system loader path, CUDA
//! toolkits, NVIDIA's Python wheels, or the directories in `ACCELRT_CUDA_LIB_DIRS`.

// Test-crate roots look for modules beside them, so the helpers' folder is named.
#[path = "cuda/gate.rs"]
mod gate;
#[path = "cuda/gpu.rs"]
mod gpu;
#[path = "cuda/reference.rs"]
mod reference;

use std::sync::Arc;

use accelrt::{DType, Dim, Error, ModelSpec, Tensor, TensorSpec};
use accelrt_cuda::cudarc::driver::CudaStream;
use accelrt_cuda::{
    kernels, validate_input, CudaBackend, CudaDevice, CudaError, CudaModel, Launch, Linear, Mlp, Preprocess, SlotLayout,
};
use gate::{decide, gpu_test, machine, required, Gate};

// ---------------------------------------------------------------- no device needed

#[test]
fn building_without_a_device_is_a_clear_error_not_a_panic() {
    let pre = CudaBackend::builder(Preprocess::new(8, 8)).build();
    let mlp = CudaBackend::builder(Mlp::random(&[4, 8, 2], 1).unwrap()).build();
    match &machine().devices {
        Ok(_) if machine().nvrtc.is_ok() && machine().cublas.is_ok() => {
            assert!(pre.is_ok(), "{:?}", pre.err());
            assert!(mlp.is_ok(), "{:?}", mlp.err());
        }
        Ok(_) => {} // a GPU without NVRTC or cuBLAS: covered by the kernel test
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
    if machine().devices.is_ok() {
        let msg = err.unwrap().to_string();
        assert!(msg.contains("ordinal 4096"), "{msg}");
    }
}

#[test]
fn the_no_driver_message_says_what_is_missing() {
    if machine().devices.is_ok() {
        return; // the error path this checks needs a machine without a GPU
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
    if machine().nvrtc.is_err() {
        // Without NVRTC, compiling is a clear DeviceUnavailable, not a panic.
        let err = kernels::compile("preprocess", kernels::PREPROCESS_SRC, None).unwrap_err();
        assert!(
            matches!(&err, Error::DeviceUnavailable(m) if m.contains("NVRTC")),
            "{err:?}"
        );
    }
    gpu_test!("kernel_sources_compile_with_nvrtc_where_it_is_present", Nvrtc);
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

#[test]
fn missing_parts_skip_unless_a_gpu_is_required() {
    assert_eq!(decide(None, false), Gate::Run);
    assert_eq!(decide(None, true), Gate::Run);
    assert_eq!(decide(Some("no GPU".into()), false), Gate::Skip("no GPU".into()));
    assert_eq!(decide(Some("no cuBLAS".into()), true), Gate::Fail("no cuBLAS".into()));
    for (value, require) in [
        (None, false),
        (Some(""), false),
        (Some("0"), false),
        (Some("false"), false),
        (Some("No"), false),
        (Some("1"), true),
        (Some("yes"), true),
        (Some("TRUE"), true),
    ] {
        assert_eq!(required(value), require, "{value:?}");
    }
}

#[test]
fn the_probe_explains_every_missing_part() {
    let probe = machine();
    let report = probe.to_string();
    for line in ["bindings: CUDA", "driver:", "devices:", "nvrtc:", "cublas:"] {
        assert!(report.contains(line), "{report}");
    }
    let needs = [
        accelrt_cuda::Requirement::Device,
        accelrt_cuda::Requirement::Nvrtc,
        accelrt_cuda::Requirement::Cublas,
    ];
    let all_present = probe.devices.is_ok() && probe.nvrtc.is_ok() && probe.cublas.is_ok();
    assert_eq!(probe.missing(&needs).is_none(), all_present, "{report}");
    if let Err(e) = &probe.devices {
        assert_eq!(probe.missing(&needs), Some(format!("no GPU: {e}")));
    }
    if let Err(e) = &probe.nvrtc {
        let why = probe.missing(&[accelrt_cuda::Requirement::Nvrtc]).unwrap();
        assert!(
            why.starts_with("no NVRTC") && e.contains("ACCELRT_CUDA_LIB_DIRS"),
            "{why}"
        );
    }
}
