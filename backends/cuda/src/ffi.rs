//! Every call into CUDA that Rust cannot check: loading the shared libraries, switching off
//! cudarc's per-buffer event tracking, launching our kernels and calling cuBLAS.
//!
//! Each function here is safe to call: it checks the sizes its `unsafe` block relies on and
//! says, at the block, which invariant makes the call sound.
#![allow(unsafe_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use cudarc::cublas::{sys::cublasOperation_t, CudaBlas, Gemm, GemmConfig};
use cudarc::driver::{CudaContext, CudaFunction, CudaStream, LaunchConfig, PushKernelArg};

use crate::error::{CudaError, CudaResult};
use crate::memory::DeviceBuffer;

/// Hint printed when the driver library is missing.
const DRIVER_HINT: &str = "no NVIDIA driver on this machine: install it, or run where a GPU is visible";
/// Hint printed when NVRTC is missing.
const NVRTC_HINT: &str = "install the CUDA toolkit or the `nvidia-cuda-nvrtc-cu12` wheel and put its lib \
    directory on LD_LIBRARY_PATH, or call accelrt_cuda::load_library";
/// Hint printed when cuBLAS is missing.
const CUBLAS_HINT: &str = "install the CUDA toolkit or the `nvidia-cublas-cu12` wheel and put its lib \
    directory on LD_LIBRARY_PATH, or call accelrt_cuda::load_library";

/// Libraries loaded by [`load_library`]. They stay loaded for the life of the process: cudarc
/// keeps `'static` function pointers into them.
static PRELOADED: Mutex<Vec<libloading::Library>> = Mutex::new(Vec::new());

/// Loads a CUDA shared library from an explicit path (e.g. a pip wheel's
/// `nvidia/cuda_nvrtc/lib/libnvrtc.so.12`) so that the backend finds it later by its
/// soname, without `LD_LIBRARY_PATH`.
///
/// Load a library's own dependencies first (`libnvrtc-builtins` before `libnvrtc`,
/// `libcublasLt` before `libcublas`). The library stays loaded until the process exits.
pub fn load_library(path: impl AsRef<Path>) -> accelrt::Result<()> {
    let path = path.as_ref();
    // SAFETY: loading a library runs its initialisers. The invariant is that `path` names one
    // of NVIDIA's CUDA libraries, which are built to be dlopen-ed at any time (this is how
    // cudarc itself loads them); the doc comment restricts the function to those.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| accelrt::Error::DeviceUnavailable(format!("cuda: cannot load {}: {e}", path.display())))?;
    PRELOADED.lock().unwrap_or_else(|p| p.into_inner()).push(lib);
    Ok(())
}

/// Checks that the CUDA driver library can be loaded. cudarc panics on first use when it
/// cannot, so every entry point calls this before touching the driver.
pub(crate) fn require_driver() -> CudaResult<()> {
    // SAFETY: `is_culib_present` dlopens candidate names of libcuda and closes them again;
    // the invariant is the same as for `load_library` (NVIDIA's libraries tolerate dlopen).
    if unsafe { cudarc::driver::sys::is_culib_present() } {
        Ok(())
    } else {
        Err(CudaError::LibraryMissing {
            library: "the CUDA driver (libcuda.so)",
            hint: DRIVER_HINT,
        })
    }
}

/// Checks that NVRTC can be loaded (see [`require_driver`] for why).
pub(crate) fn require_nvrtc() -> CudaResult<()> {
    // SAFETY: as in `require_driver`, for libnvrtc.
    if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        Ok(())
    } else {
        Err(CudaError::LibraryMissing {
            library: "NVRTC (libnvrtc.so)",
            hint: NVRTC_HINT,
        })
    }
}

/// Checks that cuBLAS can be loaded (see [`require_driver`] for why).
pub(crate) fn require_cublas() -> CudaResult<()> {
    // SAFETY: as in `require_driver`, for libcublas.
    if unsafe { cudarc::cublas::sys::is_culib_present() } {
        Ok(())
    } else {
        Err(CudaError::LibraryMissing {
            library: "cuBLAS (libcublas.so)",
            hint: CUBLAS_HINT,
        })
    }
}

/// Turns off cudarc's automatic cross-stream tracking for buffers allocated from `ctx` from
/// now on. It records two events per buffer use, which costs microseconds per copy and
/// kernel; the backend orders work itself (see the invariant below).
pub(crate) fn disable_event_tracking(ctx: &Arc<CudaContext>) {
    // SAFETY: called right after the context is created, before any buffer exists. The
    // invariant the backend keeps instead: every slot buffer is used only on its slot's stream
    // (so stream order is enough), weights are written on the instance stream, which is
    // synchronized before any slot reads them, and host staging is guarded by its own event
    // (`memory::PinnedBuffer`). `CudaModel` implementations are told the same in its docs.
    unsafe { ctx.disable_event_tracking() }
}

fn grid_1d(n: usize) -> CudaResult<LaunchConfig> {
    let n = u32::try_from(n).map_err(|_| CudaError::Config(format!("{n} threads exceed a 1-D grid")))?;
    Ok(LaunchConfig::for_num_elems(n.max(1)))
}

/// Launches `hwc_u8_to_chw_f32` (see `kernels.rs`) on `stream` for `n` images of `h`×`w`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn launch_preprocess(
    stream: &Arc<CudaStream>,
    func: &CudaFunction,
    src: &DeviceBuffer,
    dst: &mut DeviceBuffer,
    n: usize,
    (h, w): (usize, usize),
    mean: [f32; 3],
    inv_std: [f32; 3],
) -> CudaResult<()> {
    let pixels = n * h * w;
    let src_view = src.view::<u8>(pixels * 3)?;
    let mut dst_view = dst.view_mut::<f32>(pixels * 3)?;
    let cfg = grid_1d(pixels)?;
    let (n32, h32, w32) = (n as u32, h as u32, w as u32);
    let mut args = stream.launch_builder(func);
    args.arg(&src_view).arg(&mut dst_view).arg(&n32).arg(&h32).arg(&w32);
    for v in mean.iter().chain(inv_std.iter()) {
        args.arg(v);
    }
    // SAFETY: the kernel's signature is `(const u8*, float*, u32 n, u32 h, u32 w, 6 × float)`,
    // matching the arguments pushed above in order and type. It reads `n*h*w*3` bytes of `src`
    // and writes `n*h*w*3` floats of `dst`; the two views were checked to hold that many
    // elements (`view` fails otherwise), and the grid covers exactly `n*h*w` threads with a
    // bounds check in the kernel. Both buffers belong to the slot and are used only on
    // `stream`, so no other work touches them meanwhile.
    unsafe { args.launch(cfg) }.map_err(|source| CudaError::Launch {
        kernel: "hwc_u8_to_chw_f32",
        source,
    })?;
    Ok(())
}

/// Launches `bias_act` (see `kernels.rs`): `y[r][c] = act(y[r][c] + bias[c])` in place.
pub(crate) fn launch_bias_act(
    stream: &Arc<CudaStream>,
    func: &CudaFunction,
    y: &mut DeviceBuffer,
    bias: &DeviceBuffer,
    (rows, cols): (usize, usize),
    relu: bool,
) -> CudaResult<()> {
    let mut y_view = y.view_mut::<f32>(rows * cols)?;
    let bias_view = bias.view::<f32>(cols)?;
    let cfg = grid_1d(rows * cols)?;
    let (rows32, cols32, relu32) = (rows as u32, cols as u32, relu as i32);
    let mut args = stream.launch_builder(func);
    args.arg(&mut y_view)
        .arg(&bias_view)
        .arg(&rows32)
        .arg(&cols32)
        .arg(&relu32);
    // SAFETY: the kernel's signature is `(float* y, const float* bias, u32 rows, u32 cols,
    // int relu)`, matching the arguments above. It touches `rows*cols` floats of `y` and
    // `cols` floats of `bias`, which the checked views hold; `bias` is read-only weight memory
    // written before the instance was published, `y` belongs to the slot and is used only on
    // `stream`.
    unsafe { args.launch(cfg) }.map_err(|source| CudaError::Launch {
        kernel: "bias_act",
        source,
    })?;
    Ok(())
}

/// `y[N, M] = x[N, K] · wᵀ` with row-major `x`, `y` and a PyTorch-layout weight `w[M, K]`, on
/// the stream `blas` is bound to.
pub(crate) fn linear(
    blas: &CudaBlas,
    x: &DeviceBuffer,
    w: &DeviceBuffer,
    y: &mut DeviceBuffer,
    (n, k, m): (usize, usize, usize),
) -> CudaResult<()> {
    let to_i32 = |v: usize| i32::try_from(v).map_err(|_| CudaError::Config(format!("GEMM size {v} exceeds i32")));
    let (ni, ki, mi) = (to_i32(n)?, to_i32(k)?, to_i32(m)?);
    let x_view = x.view::<f32>(n * k)?;
    let w_view = w.view::<f32>(m * k)?;
    let mut y_view = y.view_mut::<f32>(n * m)?;
    // Row-major Y = X·Wᵀ is column-major Yᵀ (M×N) = W (as K×M, transposed) · Xᵀ (K×N):
    // the same TN call PyTorch's `F.linear` makes.
    let cfg = GemmConfig {
        transa: cublasOperation_t::CUBLAS_OP_T,
        transb: cublasOperation_t::CUBLAS_OP_N,
        m: mi,
        n: ni,
        k: ki,
        alpha: 1.0f32,
        lda: ki,
        ldb: ki,
        beta: 0.0f32,
        ldc: mi,
    };
    // SAFETY: with the dimensions and leading dimensions above cuBLAS reads `m*k` floats of
    // `w`, `k*n` of `x` and writes `m*n` of `y`; the views were checked to hold exactly that
    // many. `blas` is bound to the slot's stream, the only stream that uses `x` and `y`; `w`
    // is read-only weight memory.
    unsafe { blas.gemm(cfg, &w_view, &x_view, &mut y_view) }.map_err(|source| CudaError::Blas { what: "sgemm", source })
}
