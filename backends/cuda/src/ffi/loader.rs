//! Loading the CUDA libraries: the driver check cudarc needs before its first call, the
//! driver's version, and NVRTC and cuBLAS from where [`libraries`](crate::libraries) finds them.
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::error::{CudaError, CudaResult};
use crate::libraries::{binding_major, find_in, wanted_majors, CudaLibrary, Found, Search, LIB_DIRS_ENV};

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
