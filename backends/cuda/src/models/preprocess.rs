//! [`Preprocess`]: decoded images to a normalised network input, on the GPU.

use std::sync::Arc;

use accelrt::{DType, Dim, Error, ModelSpec, Result, TensorSpec};
use cudarc::driver::{CudaFunction, CudaStream};

use crate::device::CudaDevice;
use crate::ffi;
use crate::kernels::{self, PREPROCESS_SRC};
use crate::model::{CudaModel, Launch};

/// `u8 [N, H, W, 3]` (HWC, as decoders give) → `f32 [N, 3, H, W]` (CHW), each channel
/// `(x / 255 - mean) / std`; ImageNet's mean and std by default.
#[derive(Debug, Clone)]
pub struct Preprocess {
    height: usize,
    width: usize,
    mean: [f32; 3],
    std: [f32; 3],
    spec: ModelSpec,
}

impl Preprocess {
    /// Images of `height` × `width` (both ≥ 1), ImageNet normalisation, batches up to 256.
    pub fn new(height: usize, width: usize) -> Self {
        let mut p = Preprocess {
            height,
            width,
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
            spec: ModelSpec::default(),
        };
        p.spec = p.make_spec(256);
        p
    }

    /// Per-channel mean and standard deviation, on the 0..1 scale. Every `std` must be > 0.
    pub fn normalize(mut self, mean: [f32; 3], std: [f32; 3]) -> Result<Self> {
        if std.iter().any(|s| !(s.is_finite() && *s > 0.0)) || mean.iter().any(|m| !m.is_finite()) {
            return Err(Error::Config(format!(
                "preprocess: mean {mean:?} must be finite and std {std:?} positive"
            )));
        }
        self.mean = mean;
        self.std = std;
        Ok(self)
    }

    /// The largest batch the model accepts (default 256).
    pub fn max_batch(mut self, n: usize) -> Self {
        self.spec = self.make_spec(n);
        self
    }

    /// What the kernel computes for one pixel's channel `c`, on the host, for checking outputs.
    pub fn expected(&self, value: u8, c: usize) -> f32 {
        (f32::from(value) * (1.0 / 255.0) - self.mean[c]) * (1.0 / self.std[c])
    }

    fn make_spec(&self, max_batch: usize) -> ModelSpec {
        let (h, w) = (self.height, self.width);
        ModelSpec {
            inputs: vec![TensorSpec::new(
                "image",
                DType::U8,
                [Dim::dynamic("N"), h.into(), w.into(), 3.into()],
            )],
            outputs: vec![TensorSpec::new(
                "tensor",
                DType::F32,
                [Dim::dynamic("N"), 3.into(), h.into(), w.into()],
            )],
            max_batch: Some(max_batch),
        }
    }
}

/// The loaded kernel.
pub struct PreprocessKernel {
    func: CudaFunction,
}

impl CudaModel for Preprocess {
    type Instance = PreprocessKernel;
    type Scratch = ();

    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    fn load(&self, device: &CudaDevice, _stream: &Arc<CudaStream>) -> Result<PreprocessKernel> {
        if self.height == 0 || self.width == 0 {
            return Err(Error::Config("preprocess: height and width must be ≥ 1".into()));
        }
        let ptx = kernels::compile_inner("preprocess", PREPROCESS_SRC, Some(device.compute_capability()))?;
        let func = kernels::load_inner(device, ptx, "hwc_u8_to_chw_f32")?;
        Ok(PreprocessKernel { func })
    }

    fn new_scratch(&self, _: &mut PreprocessKernel, _: &Arc<CudaStream>, _: usize) -> Result<()> {
        Ok(())
    }

    fn enqueue(&self, kernel: &PreprocessKernel, _: &mut (), launch: Launch<'_>) -> Result<()> {
        let inv_std = self.std.map(|s| 1.0 / s);
        ffi::launch_preprocess(
            launch.stream,
            &kernel.func,
            launch.input,
            launch.output,
            launch.batch,
            (self.height, self.width),
            self.mean,
            inv_std,
        )?;
        Ok(())
    }
}
