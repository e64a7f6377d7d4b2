//! [`CudaError`]: what can go wrong in the CUDA backend, and how it maps onto
//! [`accelrt::Error`].
//!
//! Errors are raised here, small and specific, and converted at the crate boundary: a missing
//! library or device becomes [`accelrt::Error::DeviceUnavailable`], everything else
//! [`accelrt::Error::Backend`] holding the `CudaError` (callers can `downcast_ref` it).

use cudarc::cublas::result::CublasError;
use cudarc::driver::{sys, DriverError};
use cudarc::nvrtc::CompileError;

/// `Result<T, CudaError>`.
pub type CudaResult<T> = std::result::Result<T, CudaError>;

/// Why a CUDA operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CudaError {
    /// A shared library (`libcuda`, `libnvrtc`, `libcublas`) could not be loaded.
    #[error("{library} could not be loaded ({hint})")]
    LibraryMissing {
        /// Which library, e.g. `"the CUDA driver (libcuda.so)"`.
        library: &'static str,
        /// Where it was looked for, and what to install or set.
        hint: String,
    },
    /// The driver loaded but there is no device with the requested ordinal.
    #[error("no CUDA device with ordinal {ordinal}: {count} device(s) visible")]
    NoDevice {
        /// The ordinal asked for.
        ordinal: usize,
        /// How many devices the driver reports.
        count: usize,
    },
    /// A driver call failed; `what` says which step.
    #[error("{what}: {}", code(source))]
    Driver {
        /// The step that failed, e.g. `"cuInit"` or `"record event"`.
        what: String,
        /// The driver's error code.
        #[source]
        source: DriverError,
    },
    /// A device or pinned-host allocation failed for lack of memory, at build time.
    #[error("out of memory allocating {bytes} bytes for {what}; lower max_batch, depth or instances")]
    OutOfMemory {
        /// The buffer being allocated.
        what: String,
        /// Its size.
        bytes: usize,
    },
    /// A kernel launch was rejected by the driver.
    #[error("launching kernel `{kernel}` failed: {}", code(source))]
    Launch {
        /// The kernel's name.
        kernel: &'static str,
        /// The driver's error code.
        #[source]
        source: DriverError,
    },
    /// NVRTC could not compile a kernel source.
    #[error("NVRTC could not compile `{program}`: {detail}")]
    Compile {
        /// The program's name.
        program: String,
        /// The compiler's log (or error code).
        detail: String,
    },
    /// A cuBLAS call failed.
    #[error("cuBLAS {what} failed: {source}")]
    Blas {
        /// The call, e.g. `"sgemm"`.
        what: &'static str,
        /// cuBLAS's status.
        #[source]
        source: CublasError,
    },
    /// A model or buffer was configured inconsistently.
    #[error("{0}")]
    Config(String),
}

/// The error code's name, e.g. `CUDA_ERROR_OUT_OF_MEMORY`. cudarc's own `Display` asks the
/// driver for a description, which panics when the driver library is missing: messages must
/// never depend on it.
fn code(err: &DriverError) -> String {
    format!("{:?}", err.0)
}

impl CudaError {
    /// Wraps a driver error, turning out-of-memory codes into [`CudaError::OutOfMemory`].
    pub(crate) fn driver(what: impl Into<String>, bytes: usize) -> impl FnOnce(DriverError) -> CudaError {
        let what = what.into();
        move |source| {
            if source.0 == sys::cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY {
                CudaError::OutOfMemory { what, bytes }
            } else {
                CudaError::Driver { what, source }
            }
        }
    }

    /// Wraps a driver error from a step that allocates nothing.
    pub(crate) fn call(what: impl Into<String>) -> impl FnOnce(DriverError) -> CudaError {
        Self::driver(what, 0)
    }

    pub(crate) fn compile(program: &str, err: CompileError) -> CudaError {
        let detail = match err {
            CompileError::CompileError { nvrtc, log, .. } => {
                format!("{nvrtc}: {}", log.to_string_lossy().trim())
            }
            other => other.to_string(),
        };
        CudaError::Compile {
            program: program.to_string(),
            detail,
        }
    }

    /// True for errors that mean "this machine cannot run CUDA work at all".
    pub fn is_unavailable(&self) -> bool {
        matches!(self, CudaError::LibraryMissing { .. } | CudaError::NoDevice { .. })
            || matches!(
                self,
                CudaError::Driver { source, .. }
                    if matches!(
                        source.0,
                        sys::cudaError_enum::CUDA_ERROR_NO_DEVICE
                            | sys::cudaError_enum::CUDA_ERROR_INVALID_DEVICE
                            | sys::cudaError_enum::CUDA_ERROR_STUB_LIBRARY
                            | sys::cudaError_enum::CUDA_ERROR_DEVICE_UNAVAILABLE
                            | sys::cudaError_enum::CUDA_ERROR_SYSTEM_DRIVER_MISMATCH
                            | sys::cudaError_enum::CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE
                    )
            )
    }
}

impl From<CudaError> for accelrt::Error {
    fn from(err: CudaError) -> Self {
        if err.is_unavailable() {
            accelrt::Error::DeviceUnavailable(format!("cuda: {err}"))
        } else {
            accelrt::Error::backend(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_codes_map_to_the_right_error() {
        let oom = CudaError::driver("slot input", 64)(DriverError(sys::cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY));
        assert!(matches!(oom, CudaError::OutOfMemory { bytes: 64, .. }), "{oom:?}");
        assert!(matches!(accelrt::Error::from(oom), accelrt::Error::Backend(_)));

        let no_device = CudaError::call("cuInit")(DriverError(sys::cudaError_enum::CUDA_ERROR_NO_DEVICE));
        assert!(matches!(
            accelrt::Error::from(no_device),
            accelrt::Error::DeviceUnavailable(_)
        ));

        let launch = CudaError::call("batch execution")(DriverError(sys::cudaError_enum::CUDA_ERROR_ILLEGAL_ADDRESS));
        assert!(!launch.is_unavailable());
        assert!(launch.to_string().starts_with("batch execution: "), "{launch}");
    }
}
