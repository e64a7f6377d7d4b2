//! [`CudaModel`]: the work a model enqueues on a slot's stream.

use std::sync::Arc;

use accelrt::{ModelSpec, Tensor};
use cudarc::driver::CudaStream;

use crate::device::CudaDevice;
use crate::memory::DeviceBuffer;

/// What one batch's kernels get: the slot's stream, and its device input and output.
pub struct Launch<'a> {
    /// The slot's stream. Enqueue everything here (kernels, cuBLAS calls bound to it); the H2D
    /// copy before and the D2H copy after are on it too, so stream order is all the
    /// synchronization needed.
    pub stream: &'a Arc<CudaStream>,
    /// Requests in the batch (rows of `input` and `output` to process).
    pub batch: usize,
    /// The batch's input, `batch` items of the spec's input, already on the device.
    pub input: &'a DeviceBuffer,
    /// Where the batch's output goes: `batch` items of the spec's output.
    pub output: &'a mut DeviceBuffer,
}

/// A model whose work runs on CUDA streams: user kernels (PTX/NVRTC), cuBLAS, or both.
///
/// The backend owns the copies: it stages each batch's inputs in pinned memory, copies them
/// to [`Launch::input`], calls [`enqueue`](CudaModel::enqueue), and copies
/// [`Launch::output`] back, all on the slot's stream.
///
/// # Contract
/// - The spec has one input and one output; the first dimension of each is the (dynamic) batch
///   dimension and every other dimension is fixed, so buffers can be sized at build time.
/// - [`load`](CudaModel::load) runs once per instance at build time, on the builder's thread;
///   [`new_scratch`](CudaModel::new_scratch) once per slot. Allocate everything there.
/// - [`enqueue`](CudaModel::enqueue) runs on the instance's thread, one batch at a time per
///   instance, and must only *enqueue* work on `launch.stream`: no synchronization, no
///   allocation. An `Err` fails that batch only.
/// - cudarc's automatic event tracking is off in the backend's context: memory must be used
///   only on the slot's stream, or ordered explicitly (weights written in `load` are safe: the
///   instance stream is synchronized before any batch runs).
pub trait CudaModel: Send + Sync + 'static {
    /// Per-instance device state: modules, functions, weights.
    type Instance: Send + 'static;
    /// Per-slot device work space: intermediate buffers, a cuBLAS handle bound to the slot's
    /// stream.
    type Scratch: Send + 'static;

    /// What the model takes and gives (see the contract for the shape rules).
    fn spec(&self) -> &ModelSpec;

    /// Checks beyond the spec (value ranges, ...) for one request's input; default none.
    fn check(&self, _input: &Tensor) -> accelrt::Result<()> {
        Ok(())
    }

    /// Compiles or loads kernels and uploads weights for one instance. `stream` is the
    /// instance's own; the backend synchronizes it afterwards.
    fn load(&self, device: &CudaDevice, stream: &Arc<CudaStream>) -> accelrt::Result<Self::Instance>;

    /// Allocates one slot's work space for batches of up to `max_batch`.
    fn new_scratch(
        &self,
        instance: &mut Self::Instance,
        stream: &Arc<CudaStream>,
        max_batch: usize,
    ) -> accelrt::Result<Self::Scratch>;

    /// Enqueues one batch's kernels on `launch.stream`.
    fn enqueue(
        &self,
        instance: &Self::Instance,
        scratch: &mut Self::Scratch,
        launch: Launch<'_>,
    ) -> accelrt::Result<()>;
}
