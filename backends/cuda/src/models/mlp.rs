//! [`Mlp`]: a multi-layer perceptron from f32 weights: a cuBLAS GEMM per layer, then a bias +
//! activation kernel.

use std::sync::Arc;

use accelrt::{DType, Dim, Error, ModelSpec, Result, TensorSpec};
use cudarc::driver::{CudaFunction, CudaStream};

use crate::device::CudaDevice;
use crate::ffi;
use crate::kernels::{self, BIAS_ACT_SRC};
use crate::memory::DeviceBuffer;
use crate::model::{CudaModel, Launch};

/// What follows a layer's affine map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// Nothing (the usual last layer).
    Identity,
}

/// One fully connected layer, laid out as PyTorch's `nn.Linear`: `y = x · weightᵀ + bias`.
#[derive(Debug, Clone)]
pub struct Linear {
    /// `[out, in]`, row-major (`nn.Linear.weight`).
    pub weight: Vec<f32>,
    /// `[out]`.
    pub bias: Vec<f32>,
    /// Input features.
    pub in_features: usize,
    /// Output features.
    pub out_features: usize,
    /// Applied after the bias.
    pub activation: Activation,
}

/// Layers applied in order to `f32 [N, in]`, giving `f32 [N, out]`.
#[derive(Debug, Clone)]
pub struct Mlp {
    layers: Vec<Linear>,
    spec: ModelSpec,
}

impl Mlp {
    /// An MLP from its layers, batches up to 256. Fails ([`Error::Config`]) when there are no
    /// layers, a size is 0, a weight or bias has the wrong length, or layer sizes do not chain.
    pub fn new(layers: Vec<Linear>) -> Result<Self> {
        let first = layers
            .first()
            .ok_or_else(|| Error::Config("mlp: at least one layer is needed".into()))?;
        let mut features = first.in_features;
        for (i, l) in layers.iter().enumerate() {
            if l.in_features != features {
                return Err(Error::Config(format!(
                    "mlp: layer {i} takes {} features, the previous layer gives {features}",
                    l.in_features
                )));
            }
            if l.in_features == 0 || l.out_features == 0 {
                return Err(Error::Config(format!("mlp: layer {i} has a zero size")));
            }
            if l.weight.len() != l.in_features * l.out_features || l.bias.len() != l.out_features {
                return Err(Error::Config(format!(
                    "mlp: layer {i} expects weight [{}, {}] and bias [{}], got {} and {} values",
                    l.out_features,
                    l.in_features,
                    l.out_features,
                    l.weight.len(),
                    l.bias.len()
                )));
            }
            features = l.out_features;
        }
        let spec = Self::make_spec(first.in_features, features, 256);
        Ok(Mlp { layers, spec })
    }

    /// An MLP with sizes `dims` (`[in, hidden..., out]`), ReLU between layers, and weights
    /// drawn from a fixed-seed generator (uniform, ±1/√in like `nn.Linear`'s init), for
    /// benchmarks and tests.
    pub fn random(dims: &[usize], seed: u64) -> Result<Self> {
        if dims.len() < 2 {
            return Err(Error::Config("mlp: dims needs at least [in, out]".into()));
        }
        let mut state = seed | 1;
        let mut next = move || {
            // xorshift64*: deterministic, dependency-free, good enough for weights.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
            (bits as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let n = dims.len() - 1;
        let layers = dims
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let scale = 1.0 / (w[0] as f32).sqrt();
                Linear {
                    weight: (0..w[0] * w[1]).map(|_| next() * scale).collect(),
                    bias: (0..w[1]).map(|_| next() * scale).collect(),
                    in_features: w[0],
                    out_features: w[1],
                    activation: if i + 1 < n {
                        Activation::Relu
                    } else {
                        Activation::Identity
                    },
                }
            })
            .collect();
        Self::new(layers)
    }

    /// The largest batch the model accepts (default 256).
    pub fn max_batch(mut self, n: usize) -> Self {
        self.spec.max_batch = Some(n);
        self
    }

    /// The layers.
    pub fn layers(&self) -> &[Linear] {
        &self.layers
    }

    /// The forward pass of one row on the host, for checking outputs.
    pub fn forward_host(&self, x: &[f32]) -> Vec<f32> {
        let mut cur = x.to_vec();
        for l in &self.layers {
            cur = (0..l.out_features)
                .map(|o| {
                    let row = &l.weight[o * l.in_features..(o + 1) * l.in_features];
                    let v = row.iter().zip(&cur).map(|(w, x)| w * x).sum::<f32>() + l.bias[o];
                    match l.activation {
                        Activation::Relu => v.max(0.0),
                        Activation::Identity => v,
                    }
                })
                .collect();
        }
        cur
    }

    /// Floating-point operations per row (2 per multiply-add).
    pub fn flops_per_row(&self) -> usize {
        self.layers.iter().map(|l| 2 * l.in_features * l.out_features).sum()
    }

    fn make_spec(input: usize, output: usize, max_batch: usize) -> ModelSpec {
        ModelSpec {
            inputs: vec![TensorSpec::new("x", DType::F32, [Dim::dynamic("N"), input.into()])],
            outputs: vec![TensorSpec::new("y", DType::F32, [Dim::dynamic("N"), output.into()])],
            max_batch: Some(max_batch),
        }
    }
}

/// An instance's weights and epilogue kernel.
pub struct MlpWeights {
    layers: Vec<(DeviceBuffer, DeviceBuffer)>,
    bias_act: CudaFunction,
}

/// A slot's cuBLAS handle (bound to the slot's stream: one handle per stream, so cuBLAS's
/// work space is never shared by concurrent kernels) and ping-pong buffers for hidden layers.
pub struct MlpScratch {
    blas: ffi::BlasHandle,
    hidden: [DeviceBuffer; 2],
}

impl CudaModel for Mlp {
    type Instance = MlpWeights;
    type Scratch = MlpScratch;

    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    fn load(&self, device: &CudaDevice, stream: &Arc<CudaStream>) -> Result<MlpWeights> {
        ffi::require_cublas()?;
        let ptx = kernels::compile_inner("bias_act", BIAS_ACT_SRC, Some(device.compute_capability()))?;
        let bias_act = kernels::load_inner(device, ptx, "bias_act")?;
        let layers = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                Ok((
                    DeviceBuffer::from_host(stream, &l.weight, &format!("mlp layer {i} weight"))?,
                    DeviceBuffer::from_host(stream, &l.bias, &format!("mlp layer {i} bias"))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MlpWeights { layers, bias_act })
    }

    fn new_scratch(&self, _: &mut MlpWeights, stream: &Arc<CudaStream>, max_batch: usize) -> Result<MlpScratch> {
        let blas = ffi::BlasHandle::new(stream)?;
        // Hidden activations: the widest hidden layer (none for a single layer).
        let n = self.layers.len();
        let widest = self.layers[..n - 1].iter().map(|l| l.out_features).max().unwrap_or(0);
        let elems = max_batch * widest;
        let hidden = [
            DeviceBuffer::alloc(stream, DType::F32, elems, "mlp hidden activations")?,
            DeviceBuffer::alloc(stream, DType::F32, elems, "mlp hidden activations")?,
        ];
        Ok(MlpScratch { blas, hidden })
    }

    fn enqueue(&self, weights: &MlpWeights, scratch: &mut MlpScratch, launch: Launch<'_>) -> Result<()> {
        let rows = launch.batch;
        let last = self.layers.len() - 1;
        let [h0, h1] = &mut scratch.hidden;
        for (i, (l, (w, b))) in self.layers.iter().zip(&weights.layers).enumerate() {
            // Layer i reads the input or a hidden buffer and writes the other hidden buffer,
            // or the output for the last layer.
            let (src, dst): (&DeviceBuffer, &mut DeviceBuffer) = match (i, i == last) {
                (0, true) => (launch.input, &mut *launch.output),
                (0, false) => (launch.input, &mut *h0),
                (_, true) if i % 2 == 1 => (&*h0, &mut *launch.output),
                (_, true) => (&*h1, &mut *launch.output),
                _ if i % 2 == 1 => (&*h0, &mut *h1),
                _ => (&*h1, &mut *h0),
            };
            ffi::linear(&mut scratch.blas, src, w, dst, (rows, l.in_features, l.out_features))?;
            ffi::launch_bias_act(
                launch.stream,
                &weights.bias_act,
                dst,
                b,
                (rows, l.out_features),
                l.activation == Activation::Relu,
            )?;
        }
        Ok(())
    }
}
