//! Host references in f64, fresh random inputs, and a model wrapper that poisons outputs.

use std::sync::Arc;

use accelrt::{ModelSpec, Tensor};
use accelrt_cuda::cudarc::driver::CudaStream;
use accelrt_cuda::{Activation, CudaDevice, CudaModel, Launch, Mlp};

/// splitmix64: a seeded stream of random numbers, so a failure can be replayed from its seed.
pub struct Rng(u64);

impl Rng {
    /// A generator with a fresh seed each run (printed by the caller on failure).
    pub fn fresh() -> (Rng, u64) {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let seed = nanos ^ (u64::from(std::process::id()) << 32);
        (Rng(seed), seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    pub fn image(&mut self, h: usize, w: usize) -> Tensor {
        let data: Vec<u8> = (0..h * w * 3).map(|_| self.next_u64() as u8).collect();
        Tensor::new([1, h, w, 3], data).unwrap()
    }

    pub fn row(&mut self, n: usize) -> Tensor {
        let data: Vec<f32> = (0..n).map(|_| self.unit()).collect();
        Tensor::new([1, n], data).unwrap()
    }
}

/// `Preprocess`'s formula in f64, in CHW order, for one HWC image.
pub fn preprocess_f64(h: usize, w: usize, mean: [f64; 3], std: [f64; 3], hwc: &[u8]) -> Vec<f64> {
    let mut out = vec![0.0; 3 * h * w];
    for p in 0..h * w {
        for c in 0..3 {
            out[c * h * w + p] = (f64::from(hwc[p * 3 + c]) / 255.0 - mean[c]) / std[c];
        }
    }
    out
}

/// The MLP's forward pass in f64, and beside it the same pass over absolute values
/// (`|W|·|x| + |b|`, no activation), the scale a float32 result's rounding error is bounded by.
pub fn mlp_f64(mlp: &Mlp, x: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let mut cur: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let mut abs: Vec<f64> = cur.iter().map(|v| v.abs()).collect();
    for l in mlp.layers() {
        let (mut next, mut next_abs) = (Vec::with_capacity(l.out_features), Vec::with_capacity(l.out_features));
        for o in 0..l.out_features {
            let row = &l.weight[o * l.in_features..(o + 1) * l.in_features];
            let b = f64::from(l.bias[o]);
            let v: f64 = row.iter().zip(&cur).map(|(&w, &x)| f64::from(w) * x).sum::<f64>() + b;
            let a: f64 = row.iter().zip(&abs).map(|(&w, &x)| f64::from(w).abs() * x).sum::<f64>() + b.abs();
            next.push(match l.activation {
                Activation::Relu => v.max(0.0),
                Activation::Identity => v,
            });
            next_abs.push(a);
        }
        cur = next;
        abs = next_abs;
    }
    (cur, abs)
}

/// A model that fills its output with `0xFF` bytes (NaN as f32) before the real kernels run,
/// so an element the kernels never write fails the comparison instead of passing with a value
/// left over from an earlier batch.
pub struct Poisoned<M>(pub M);

impl<M: CudaModel> CudaModel for Poisoned<M> {
    type Instance = M::Instance;
    type Scratch = M::Scratch;
    fn spec(&self) -> &ModelSpec {
        self.0.spec()
    }
    fn load(&self, device: &CudaDevice, stream: &Arc<CudaStream>) -> accelrt::Result<M::Instance> {
        self.0.load(device, stream)
    }
    fn new_scratch(
        &self,
        instance: &mut M::Instance,
        stream: &Arc<CudaStream>,
        max_batch: usize,
    ) -> accelrt::Result<M::Scratch> {
        self.0.new_scratch(instance, stream, max_batch)
    }
    fn enqueue(&self, instance: &M::Instance, scratch: &mut M::Scratch, launch: Launch<'_>) -> accelrt::Result<()> {
        launch.output.fill_bytes(launch.stream, 0xFF)?;
        self.0.enqueue(instance, scratch, launch)
    }
}
