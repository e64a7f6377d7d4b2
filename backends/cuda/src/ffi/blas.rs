//! cuBLAS: a handle per slot stream, and the SGEMM of a linear layer.
#![allow(unsafe_code)]

use std::sync::Arc;

use cudarc::cublas::sys::cublasOperation_t;
use cudarc::driver::{CudaStream, DevicePtr, DevicePtrMut};

use crate::error::{CudaError, CudaResult};
use crate::memory::DeviceBuffer;

/// A cuBLAS handle bound to one stream.
///
/// Used instead of cudarc's `CudaBlas`, whose `Drop` unwraps `cublasDestroy`: after a sticky
/// device fault (an illegal address in any kernel) that call fails, and dropping a slot would
/// panic (or abort, when already unwinding). Here the failure is logged and the handle given up.
pub(crate) struct BlasHandle {
    handle: cudarc::cublas::sys::cublasHandle_t,
    stream: Arc<CudaStream>,
}

// SAFETY: a cuBLAS handle may be used from any thread, one call at a time (cuBLAS's
// thread-safety rule); `BlasHandle` is only reachable through `&mut` of the slot that owns it
// (it is not `Sync`), so calls never overlap.
unsafe impl Send for BlasHandle {}

impl BlasHandle {
    /// A handle whose work goes on `stream`.
    pub(crate) fn new(stream: &Arc<CudaStream>) -> CudaResult<Self> {
        stream
            .context()
            .bind_to_thread()
            .map_err(CudaError::call("bind context"))?;
        let blas = |what| move |source| CudaError::Blas { what, source };
        let handle = cudarc::cublas::result::create_handle().map_err(blas("create handle"))?;
        let this = BlasHandle {
            handle,
            stream: stream.clone(),
        };
        // SAFETY: `handle` was just created and `stream` is a live stream of the same context,
        // kept alive by `this` for as long as the handle exists.
        unsafe { cudarc::cublas::result::set_stream(this.handle, this.stream.cu_stream() as _) }
            .map_err(blas("set stream"))?;
        Ok(this)
    }
}

impl Drop for BlasHandle {
    fn drop(&mut self) {
        // SAFETY: the handle is live (created in `new`, destroyed only here) and no call on it
        // is in flight: `&mut self` excludes other users, and work it enqueued is ordered on
        // its stream, which cuBLAS's destroy synchronizes with.
        if let Err(e) = unsafe { cudarc::cublas::result::destroy_handle(self.handle) } {
            tracing::warn!(error = %e, "cuBLAS handle could not be destroyed (the device has faulted?)");
        }
    }
}

/// `y[N, M] = x[N, K] · wᵀ` with row-major `x`, `y` and a PyTorch-layout weight `w[M, K]`, on
/// the stream `blas` is bound to.
pub(crate) fn linear(
    blas: &mut BlasHandle,
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
    let stream = &blas.stream;
    let (xp, _x_guard) = x_view.device_ptr(stream);
    let (wp, _w_guard) = w_view.device_ptr(stream);
    let (yp, _y_guard) = y_view.device_ptr_mut(stream);
    let (alpha, beta) = (1.0f32, 0.0f32);
    // Row-major Y = X·Wᵀ is column-major Yᵀ (M×N) = W (as K×M, transposed) · Xᵀ (K×N):
    // the same TN call PyTorch's `F.linear` makes.
    // SAFETY: with these dimensions and leading dimensions (lda = ldb = K, ldc = M) cuBLAS
    // reads `m*k` floats at `wp`, `k*n` at `xp` and writes `m*n` at `yp`; the views were
    // checked to hold exactly that many. The handle is bound to the slot's stream, the only
    // stream that uses `x` and `y`; `w` is read-only weight memory. `alpha` and `beta` are
    // host scalars (the default pointer mode) read before the call returns.
    unsafe {
        cudarc::cublas::result::sgemm(
            blas.handle,
            cublasOperation_t::CUBLAS_OP_T,
            cublasOperation_t::CUBLAS_OP_N,
            mi,
            ni,
            ki,
            &alpha,
            wp as *const f32,
            ki,
            xp as *const f32,
            ki,
            &beta,
            yp as *mut f32,
            mi,
        )
    }
    .map_err(|source| CudaError::Blas { what: "sgemm", source })
}
