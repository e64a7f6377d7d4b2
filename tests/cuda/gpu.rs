//! GPU tests: each runs only where [`gate`](super::gate) finds what it needs.
//!
//! Numerical checks compare against float64 host references on fresh random inputs (the seed
//! is printed on failure), with outputs poisoned to NaN before every batch's kernels run.

use std::sync::Arc;
use std::time::Duration;

use accelrt::trace::{overlapping, Phase};
use accelrt::{AsyncRuntime, DType, Error, ModelSpec, Runtime, Tensor, Timeline};
use accelrt_cuda::cudarc::driver::CudaStream;
use accelrt_cuda::{Burst, CudaBackend, CudaDevice, CudaError, CudaModel, DeviceBuffer, Launch, Mlp, Preprocess};

use super::gate::{self, gpu_test};
use super::reference::{mlp_f64, preprocess_f64, Poisoned, Rng};

fn image(h: usize, w: usize, seed: u8) -> Tensor {
    let data: Vec<u8> = (0..h * w * 3)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    Tensor::new([1, h, w, 3], data).unwrap()
}

/// Preprocessing in f32 on the GPU vs the same formula in f64: `(x / 255 - mean) / std` is a
/// few f32 roundings of values of order 1-10, so the error bound is 1e-5 relative to
/// `max(1, |expected|)`.
#[test]
fn preprocess_matches_a_float64_reference() {
    gpu_test!("gpu::preprocess_matches_a_float64_reference", Device, Nvrtc);
    const REL: f64 = 1e-5;
    let (mut rng, seed) = Rng::fresh();
    let (h, w) = (17, 23); // odd sizes: partial blocks
    let mean = [0.3 + 0.2 * rng.unit(), 0.5 + 0.2 * rng.unit(), 0.4 + 0.2 * rng.unit()];
    let std = [0.25 + 0.1 * rng.unit(), 0.2 + 0.1 * rng.unit(), 0.3 + 0.1 * rng.unit()];
    let model = Preprocess::new(h, w).normalize(mean, std).unwrap();
    let rt = Runtime::builder(CudaBackend::builder(Poisoned(model)).build().unwrap())
        .parallel(2)
        .depth(3)
        .max_batch(4)
        .build()
        .unwrap();
    let images: Vec<Tensor> = (0..24).map(|_| rng.image(h, w)).collect();
    let tasks: Vec<_> = images.iter().map(|x| rt.run(x.clone())).collect();
    let (mean64, std64) = (mean.map(f64::from), std.map(f64::from));
    for (n, (x, task)) in images.iter().zip(tasks).enumerate() {
        let y = task.wait().unwrap();
        assert_eq!(y.shape(), &[1, 3, h, w]);
        let want = preprocess_f64(h, w, mean64, std64, x.as_slice::<u8>().unwrap());
        for (i, (&got, &want)) in y.as_slice::<f32>().unwrap().iter().zip(&want).enumerate() {
            let err = (f64::from(got) - want).abs() / want.abs().max(1.0);
            // `err <= REL` is false for NaN, and `is_finite` says so plainly: an unwritten element fails.
            assert!(
                err <= REL && got.is_finite(),
                "seed {seed}: image {n} element {i}: {got} vs {want}"
            );
        }
    }
}

/// SGEMM + bias + ReLU in f32 vs f64. Each output's rounding error is at most about
/// `Σ K · 2⁻²⁴` (K the inner size of each layer) times the same pass over absolute values
/// (`|W|·|x| + |b|`): about 1.1e-4 for K = 1024, 512, 256 in the worst case, a few 1e-6
/// typically. The test allows 1e-3 of that scale: far below the O(1) error of a wrong
/// transpose, layout or stale element, and below what TF32 (10-bit mantissas) would give.
#[test]
fn mlp_matches_a_float64_reference_on_several_instances() {
    gpu_test!(
        "gpu::mlp_matches_a_float64_reference_on_several_instances",
        Device,
        Nvrtc,
        Cublas
    );
    const REL: f64 = 1e-3;
    let (mut rng, seed) = Rng::fresh();
    for (dims, batch) in [(vec![33usize, 64, 48, 5], 8usize), (vec![1024, 512, 256, 10], 64)] {
        let mlp = Mlp::random(&dims, rng.next_u64()).unwrap();
        let reference = mlp.clone();
        let rt = Runtime::builder(CudaBackend::builder(Poisoned(mlp)).build().unwrap())
            .instances(2)
            .parallel(2)
            .depth(2)
            .max_batch(batch)
            .queue_capacity(Burst::new(batch, 4).unwrap().queue_capacity())
            .build()
            .unwrap();
        let inputs: Vec<Tensor> = (0..batch * 4).map(|_| rng.row(dims[0])).collect();
        let tasks: Vec<_> = inputs.iter().map(|x| rt.run(x.clone())).collect();
        for (n, (x, task)) in inputs.iter().zip(tasks).enumerate() {
            let y = task.wait().unwrap();
            assert_eq!(y.shape(), &[1, *dims.last().unwrap()]);
            let (want, scale) = mlp_f64(&reference, x.as_slice::<f32>().unwrap());
            for (i, &got) in y.as_slice::<f32>().unwrap().iter().enumerate() {
                let err = (f64::from(got) - want[i]).abs() / scale[i].max(1e-30);
                assert!(
                    err <= REL && got.is_finite(),
                    "seed {seed}: dims {dims:?} request {n} output {i}: {got} vs {} (scale {})",
                    want[i],
                    scale[i]
                );
            }
        }
    }
}

#[test]
fn invalid_inputs_fail_alone() {
    gpu_test!("gpu::invalid_inputs_fail_alone", Device, Nvrtc);
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
fn a_failed_batch_fails_only_its_members() {
    gpu_test!("gpu::a_failed_batch_fails_only_its_members", Device, Nvrtc);
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
fn timeline_shows_copies_overlapping_kernels_and_stats_show_device_phases() {
    gpu_test!(
        "gpu::timeline_shows_copies_overlapping_kernels_and_stats_show_device_phases",
        Device,
        Nvrtc,
        Cublas
    );
    let timeline = Timeline::new();
    // 1 MB in, 1 MB out per batch of 256, a few GEMMs: long enough for copies and kernels to meet.
    let mlp = Mlp::random(&[1024, 1024, 1024, 1024, 1024], 5).unwrap();
    let backend = CudaBackend::builder(mlp).timeline(timeline.clone()).build().unwrap();
    let burst = Burst::new(256, 24).unwrap();
    let rt = Runtime::builder(backend)
        .parallel(2)
        .depth(3)
        .max_batch(burst.batch())
        .queue_capacity(burst.queue_capacity())
        .build()
        .unwrap();
    let x = Tensor::new([1, 1024], vec![0.25f32; 1024]).unwrap();
    let tasks: Vec<_> = (0..burst.requests()).map(|_| rt.run(x.clone())).collect();
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
    // The same CUDA events feed the runtime's stats.
    let stats = rt.stats();
    let p = stats.phases;
    assert!(
        p.h2d > Duration::ZERO && p.compute > Duration::ZERO && p.d2h > Duration::ZERO,
        "{p:?}"
    );
    assert!(stats.engine_busy_fraction.is_some(), "{stats:?}");
}

/// Device timing is on by default, without a timeline.
#[test]
fn stats_show_device_phases_without_a_timeline() {
    gpu_test!("gpu::stats_show_device_phases_without_a_timeline", Device, Nvrtc);
    let rt = Runtime::builder(CudaBackend::builder(Preprocess::new(64, 64)).build().unwrap())
        .max_batch(8)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..32u8).map(|s| rt.run(image(64, 64, s))).collect();
    for t in tasks {
        t.wait().unwrap();
    }
    let p = rt.stats().phases;
    assert!(
        p.h2d > Duration::ZERO && p.compute > Duration::ZERO && p.d2h > Duration::ZERO,
        "{p:?}"
    );
}

#[test]
fn out_of_memory_at_build_time_is_a_typed_error() {
    gpu_test!("gpu::out_of_memory_at_build_time_is_a_typed_error", Device, Nvrtc);
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
fn buffers_round_trip_through_pinned_memory() {
    gpu_test!("gpu::buffers_round_trip_through_pinned_memory", Device);
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
