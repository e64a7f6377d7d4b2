//! Errors raised inside this crate, and how they become [`accelrt::Error`].
//!
//! Each variant carries a message that says what was expected, what was found and what to do.
//! They reach users as `accelrt::Error` (the conversion below picks the matching variant), so
//! code that drives a runtime only ever matches on one error type.

use std::path::PathBuf;

/// Why something in the ONNX backend failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnnxError {
    /// No ONNX Runtime library was found and none could be fetched.
    #[error("ONNX Runtime library not found: {0}")]
    LibraryNotFound(String),
    /// A library file was found but could not be loaded (wrong file, too old, missing symbols).
    #[error("cannot load ONNX Runtime from {path}: {reason}")]
    LibraryLoad {
        /// The file that was tried.
        path: PathBuf,
        /// What went wrong and what to do.
        reason: String,
    },
    /// A second, different library was requested after one was loaded in this process.
    #[error(
        "ONNX Runtime is already loaded from {loaded} in this process; it cannot also be loaded from \
         {requested} (one library per process: use the same path everywhere or drop the explicit path)"
    )]
    LibraryConflict {
        /// The library in use.
        loaded: PathBuf,
        /// The one asked for.
        requested: PathBuf,
    },
    /// Downloading or unpacking a wheel from PyPI failed.
    #[error("cannot fetch {what}: {reason}")]
    Fetch {
        /// The package (or file) that was wanted.
        what: String,
        /// What went wrong and what to do.
        reason: String,
    },
    /// The model file is missing, unreadable, corrupt, or uses types accelrt cannot hold.
    #[error("model {path}: {reason}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A setting of the backend builder was rejected.
    #[error("{0}")]
    Config(String),
    /// ONNX Runtime failed while running a batch.
    #[error("ONNX Runtime: {0}")]
    Run(String),
}

impl From<OnnxError> for accelrt::Error {
    fn from(e: OnnxError) -> Self {
        match e {
            OnnxError::LibraryNotFound(_) | OnnxError::LibraryLoad { .. } => {
                accelrt::Error::DeviceUnavailable(e.to_string())
            }
            OnnxError::LibraryConflict { .. } | OnnxError::Model { .. } | OnnxError::Config(_) => {
                accelrt::Error::Config(e.to_string())
            }
            OnnxError::Fetch { .. } | OnnxError::Run(_) => accelrt::Error::backend(e),
        }
    }
}

/// Turns an `ort` error into a batch failure.
pub(crate) fn run_error(e: ort::Error) -> accelrt::Error {
    OnnxError::Run(e.to_string()).into()
}
