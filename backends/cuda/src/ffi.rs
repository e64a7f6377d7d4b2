//! Every call into CUDA that Rust cannot check: loading the shared libraries, switching off
//! cudarc's per-buffer event tracking, launching our kernels and calling cuBLAS.
//!
//! Each function here is safe to call: it checks the sizes its `unsafe` block relies on and
//! says, at the block, which invariant makes the call sound.
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::cublas::sys::cublasOperation_t;
use cudarc::driver::{CudaContext, CudaFunction, CudaStream, DevicePtr, DevicePtrMut, LaunchConfig, PushKernelArg};

use crate::error::{CudaError, CudaResult};
use crate::libraries::{binding_major, find_in, wanted_majors, CudaLibrary, Found, Search, LIB_DIRS_ENV};
use crate::memory::DeviceBuffer;

/// Hint printed when the driver library is missing.
const DRIVER_HINT: &str = "no NVIDIA driver on this machine: install it, or run where a GPU is visible";

/// Libraries loaded by [`load_library`] and by the search below. They stay loaded for the life
/// of the process: cudarc keeps `'static` function pointers into them.
static PRELOADED: Mutex<Vec<libloading::Library>> = Mutex::new(Vec::new());

/// How NVRTC and cuBLAS were resolved, decided once per process (see [`resolve`]).
static RESOLVED: [OnceLock<LibrarySource>; 2] = [OnceLock::new(), OnceLock::new()];

/// Where a CUDA library came from (see [`library_source`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LibrarySource {
    /// Loaded from these files, dependencies first, found in a searched directory.
    Files {
        /// The library's CUDA major version.
        major: u32,
        /// The files, the library itself last.
        files: Vec<PathBuf>,
    },
    /// Found by the system loader (`LD_LIBRARY_PATH`, the `ldconfig` cache) under this soname.
    System {
        /// E.g. `libnvrtc.so.13`.
        soname: String,
    },
    /// Nothing usable was found for these majors; cudarc's own lookup is all that is left.
    NotFound {
        /// The majors looked for, best first (see [`wanted_majors`]).
        majors: Vec<u32>,
    },
    /// A file was found but could not be loaded.
    LoadFailed {
        /// The file.
        file: PathBuf,
        /// The loader's message.
        error: String,
    },
}

impl std::fmt::Display for LibrarySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LibrarySource::Files { files, .. } => {
                let last = files.last().map(|p| p.display().to_string()).unwrap_or_default();
                write!(f, "{last}")
            }
            LibrarySource::System { soname } => write!(f, "{soname} (system loader path)"),
            LibrarySource::NotFound { majors } => write!(f, "not found (looked for majors {majors:?})"),
            LibrarySource::LoadFailed { file, error } => write!(f, "{} failed to load: {error}", file.display()),
        }
    }
}

/// Loads a CUDA shared library from an explicit path (e.g. a pip wheel's
/// `nvidia/cu13/lib/libnvrtc.so.13`) so that the backend finds it later by its soname,
/// without `LD_LIBRARY_PATH`.
///
/// Load a library's own dependencies first (`libnvrtc-builtins` before `libnvrtc`,
/// `libcublasLt` before `libcublas`). The library stays loaded until the process exits.
/// Usually unnecessary: the backend searches toolkits, wheels and `ACCELRT_CUDA_LIB_DIRS`
/// itself (see [`library_source`]).
pub fn load_library(path: impl AsRef<Path>) -> accelrt::Result<()> {
    let path = path.as_ref();
    load(path.as_os_str())
        .map_err(|e| accelrt::Error::DeviceUnavailable(format!("cuda: cannot load {}: {e}", path.display())))
}

/// dlopen-s `name` (a path, or a soname for the system loader) and keeps it loaded.
fn load(name: &std::ffi::OsStr) -> Result<(), libloading::Error> {
    // SAFETY: loading a library runs its initialisers. The invariant is that `name` is one of
    // NVIDIA's CUDA libraries, which are built to be dlopen-ed at any time (this is how cudarc
    // itself loads them); `load_library`'s docs and the search in `libraries.rs` (which only
    // returns files named like them) restrict it to those.
    let lib = unsafe { libloading::Library::new(name) }?;
    PRELOADED.lock().unwrap_or_else(|p| p.into_inner()).push(lib);
    Ok(())
}

/// The driver's CUDA version as `(major, minor)`, e.g. `(13, 0)` for driver 580; `None`
/// without a driver.
pub fn driver_version() -> Option<(u32, u32)> {
    require_driver().ok()?;
    let mut version: std::ffi::c_int = 0;
    // SAFETY: `require_driver` proved libcuda loads, so cudarc can resolve the symbol;
    // cuDriverGetVersion only writes one int through the pointer, which points at a live local,
    // and needs no cuInit.
    let status = unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut version) };
    let ok = status == cudarc::driver::sys::cudaError_enum::CUDA_SUCCESS && version > 0;
    ok.then_some(((version / 1000) as u32, ((version % 1000) / 10) as u32))
}

/// How `lib` was made loadable in this process. The first call (or the first backend that
/// needs the library) decides and loads: for each wanted major ([`wanted_majors`] of the
/// build's and the driver's versions), best first, the directories in `ACCELRT_CUDA_LIB_DIRS`,
/// then the system loader's path, then CUDA toolkits and Python wheels.
pub fn library_source(lib: CudaLibrary) -> LibrarySource {
    let cell = match lib {
        CudaLibrary::Nvrtc => &RESOLVED[0],
        CudaLibrary::Cublas => &RESOLVED[1],
    };
    cell.get_or_init(|| resolve(lib)).clone()
}

/// For each wanted major, best first: the directories in `ACCELRT_CUDA_LIB_DIRS`, then the
/// system loader (`LD_LIBRARY_PATH`, `ldconfig`), then toolkits and Python wheels. What is
/// found in a directory is loaded by path, so cudarc's later lookup by soname gets it.
fn resolve(lib: CudaLibrary) -> LibrarySource {
    let majors = wanted_majors(binding_major(), driver_version().map(|v| v.0));
    let search = Search::from_env();
    let load_found = |found: Found| {
        for file in &found.files {
            if let Err(e) = load(file.as_os_str()) {
                return LibrarySource::LoadFailed {
                    file: file.clone(),
                    error: e.to_string(),
                };
            }
        }
        tracing::debug!(library = lib.name(), files = ?found.files, "loaded CUDA library");
        LibrarySource::Files {
            major: found.major,
            files: found.files,
        }
    };
    for &major in &majors {
        if let Some(found) = find_in(lib, major, &search.explicit) {
            return load_found(found);
        }
        let soname = lib.soname(major);
        if load(soname.as_ref()).is_ok() {
            return LibrarySource::System { soname };
        }
        if let Some(found) = find_in(lib, major, &search.standard_dirs(major)) {
            return load_found(found);
        }
    }
    LibrarySource::NotFound { majors }
}

/// What to say when `lib` cannot be loaded.
fn missing_hint(lib: CudaLibrary) -> String {
    let package = match lib {
        CudaLibrary::Nvrtc => "nvidia-cuda-nvrtc",
        CudaLibrary::Cublas => "nvidia-cublas",
    };
    let b = binding_major();
    let driver = driver_version().map_or("no driver".to_string(), |(m, n)| format!("driver CUDA {m}.{n}"));
    format!(
        "{}; {driver}, built for CUDA {b}: install the CUDA toolkit or the `{package}` wheel for \
         CUDA {b} (PyTorch brings it), or name its lib directory in {LIB_DIRS_ENV}{}",
        library_source(lib),
        if b == 12 {
            "; CUDA 13 libraries need a build with the `cuda-13` feature"
        } else {
            ""
        }
    )
}

/// Checks that the CUDA driver library can be loaded. cudarc panics on first use when it
/// cannot, so every entry point calls this before touching the driver.
pub(crate) fn require_driver() -> CudaResult<()> {
    // SAFETY: `is_culib_present` dlopens candidate names of libcuda and closes them again;
    // the invariant is the same as for `load` (NVIDIA's libraries tolerate dlopen).
    if unsafe { cudarc::driver::sys::is_culib_present() } {
        Ok(())
    } else {
        Err(CudaError::LibraryMissing {
            library: "the CUDA driver (libcuda.so)",
            hint: DRIVER_HINT.to_string(),
        })
    }
}

/// Makes NVRTC loadable (the search above) and checks that it is (see [`require_driver`] for
/// why).
pub(crate) fn require_nvrtc() -> CudaResult<()> {
    library_source(CudaLibrary::Nvrtc);
    // SAFETY: as in `require_driver`, for libnvrtc.
    if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        Ok(())
    } else {
        Err(CudaError::LibraryMissing {
            library: "NVRTC (libnvrtc.so)",
            hint: missing_hint(CudaLibrary::Nvrtc),
        })
    }
}

/// Makes cuBLAS loadable and checks that it is (see [`require_nvrtc`]).
pub(crate) fn require_cublas() -> CudaResult<()> {
    library_source(CudaLibrary::Cublas);
    // SAFETY: as in `require_driver`, for libcublas.
    if unsafe { cudarc::cublas::sys::is_culib_present() } {
        Ok(())
    } else {
        Err(CudaError::LibraryMissing {
            library: "cuBLAS (libcublas.so)",
            hint: missing_hint(CudaLibrary::Cublas),
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
