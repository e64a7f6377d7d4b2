//! Execution providers: which ONNX Runtime engine runs the model.

use crate::OnnxError;

/// Where ONNX Runtime runs the model. The CPU is the default.
///
/// A provider that cannot be registered fails the backend's construction with an error that
/// names it: a model asked to run on a GPU never silently runs on the CPU instead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecutionProvider {
    /// ONNX Runtime's own CPU kernels.
    Cpu,
    /// NVIDIA CUDA on device `device_id`; needs this crate's `cuda` feature, an ONNX Runtime
    /// build with CUDA support (the `onnxruntime-gpu` wheel) and the CUDA libraries.
    Cuda {
        /// The CUDA device ordinal.
        device_id: i32,
    },
}

impl ExecutionProvider {
    /// The `ort` dispatch for this provider, set to fail session creation (rather than fall back
    /// to the CPU) when it cannot be registered.
    pub(crate) fn dispatch(&self) -> Result<ort::ep::ExecutionProviderDispatch, OnnxError> {
        match self {
            ExecutionProvider::Cpu => Ok(ort::ep::CPU::default().build().error_on_failure()),
            ExecutionProvider::Cuda { device_id } => cuda(*device_id),
        }
    }
}

#[cfg(feature = "cuda")]
fn cuda(device_id: i32) -> Result<ort::ep::ExecutionProviderDispatch, OnnxError> {
    Ok(ort::ep::CUDA::default()
        .with_device_id(device_id)
        .build()
        .error_on_failure())
}

#[cfg(not(feature = "cuda"))]
fn cuda(device_id: i32) -> Result<ort::ep::ExecutionProviderDispatch, OnnxError> {
    Err(OnnxError::Config(format!(
        "execution provider CUDA (device {device_id}) requested, but accelrt-onnx was built without its \
         `cuda` feature; enable it (`accelrt-onnx = {{ features = [\"cuda\"] }}`) or use ExecutionProvider::Cpu"
    )))
}
