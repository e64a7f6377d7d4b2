//! CUDA C sources of the built-in kernels and their NVRTC compilation.
//!
//! Compiling needs NVRTC (`libnvrtc.so`) but no GPU, so the sources can be checked on any
//! machine that has the library (see the crate's tests).

use cudarc::driver::{sys, CudaFunction};
use cudarc::nvrtc::{CompileOptions, Ptx};

use crate::device::CudaDevice;

use crate::error::{CudaError, CudaResult};
use crate::ffi;

/// Image preprocessing: `u8 [N, H, W, 3]` (HWC, as decoded images come) to normalised
/// `f32 [N, 3, H, W]` (CHW, as convolutional models take), `(x / 255 - mean[c]) * inv_std[c]`.
///
/// One thread per pixel: it reads the three neighbouring bytes and writes three planes.
pub const PREPROCESS_SRC: &str = r#"
extern "C" __global__ void hwc_u8_to_chw_f32(
    const unsigned char* __restrict__ src, float* __restrict__ dst,
    unsigned int n, unsigned int h, unsigned int w,
    float m0, float m1, float m2, float s0, float s1, float s2)
{
    const size_t hw = (size_t)h * w;
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)n * hw) return;
    const size_t img = i / hw;
    const size_t p = i - img * hw;
    const unsigned char* s = src + i * 3;
    float* d = dst + img * 3 * hw + p;
    const float k = 1.0f / 255.0f;
    d[0]      = (s[0] * k - m0) * s0;
    d[hw]     = (s[1] * k - m1) * s1;
    d[2 * hw] = (s[2] * k - m2) * s2;
}
"#;

/// MLP epilogue after each GEMM: `y[r][c] = act(y[r][c] + bias[c])` in place, `act` = ReLU
/// when `relu != 0`, identity otherwise.
pub const BIAS_ACT_SRC: &str = r#"
extern "C" __global__ void bias_act(
    float* __restrict__ y, const float* __restrict__ bias,
    unsigned int rows, unsigned int cols, int relu)
{
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)rows * cols) return;
    float v = y[i] + bias[i % cols];
    y[i] = relu ? fmaxf(v, 0.0f) : v;
}
"#;

/// Compiles `src` to PTX with NVRTC. `arch` is the target compute capability, e.g. `(9, 0)`;
/// `None` lets NVRTC pick its default (the lowest it supports, which every newer GPU runs).
///
/// Fails with [`CudaError::LibraryMissing`] (so `DeviceUnavailable`) when NVRTC cannot be
/// loaded, and with [`CudaError::Compile`], carrying the compiler's log, on a bad source.
pub fn compile(name: &str, src: &str, arch: Option<(i32, i32)>) -> accelrt::Result<Ptx> {
    Ok(compile_inner(name, src, arch)?)
}

pub(crate) fn compile_inner(name: &str, src: &str, arch: Option<(i32, i32)>) -> CudaResult<Ptx> {
    ffi::require_nvrtc()?;
    // cudarc panics on an interior NUL (it builds a C string); refuse it here instead.
    if src.contains('\0') || name.contains('\0') {
        return Err(CudaError::Config(format!("kernel source `{name}` contains a NUL byte")));
    }
    let opts = |arch: Option<(i32, i32)>| CompileOptions {
        name: Some(format!("{name}.cu")),
        options: arch
            .map(|(major, minor)| vec![format!("--gpu-architecture=compute_{major}{minor}")])
            .unwrap_or_default(),
        ..Default::default()
    };
    match cudarc::nvrtc::compile_ptx_with_opts(src, opts(arch)) {
        Ok(ptx) => Ok(ptx),
        // An NVRTC older than the GPU does not know its architecture; its default target is
        // still valid PTX the driver can JIT for the device.
        Err(_) if arch.is_some() => {
            cudarc::nvrtc::compile_ptx_with_opts(src, opts(None)).map_err(|e| CudaError::compile(name, e))
        }
        Err(e) => Err(CudaError::compile(name, e)),
    }
}

/// Loads compiled PTX into the device's context and returns its kernel `function`.
///
/// PTX newer than the driver understands (an NVRTC newer than the driver's CUDA version) is a
/// [`CudaError::Config`] that says so, rather than the bare driver code.
pub fn load_function(device: &CudaDevice, ptx: Ptx, function: &str) -> accelrt::Result<CudaFunction> {
    Ok(load_inner(device, ptx, function)?)
}

pub(crate) fn load_inner(device: &CudaDevice, ptx: Ptx, function: &str) -> CudaResult<CudaFunction> {
    let module = device.context().load_module(ptx).map_err(|e| {
        if e.0 == sys::cudaError_enum::CUDA_ERROR_UNSUPPORTED_PTX_VERSION {
            CudaError::Config(format!(
                "the driver cannot load the PTX of `{function}`: NVRTC is newer than the driver's CUDA \
                 version; use an NVRTC (toolkit or nvidia-cuda-nvrtc wheel) no newer than the driver"
            ))
        } else {
            CudaError::call(format!("load module of `{function}`"))(e)
        }
    })?;
    module
        .load_function(function)
        .map_err(CudaError::call(format!("find kernel `{function}`")))
}
