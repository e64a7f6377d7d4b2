//! Which Python interpreter the backend runs: to find an installed `onnxruntime` package, and
//! to fetch wheels from PyPI (`-m pip download`).

use std::path::PathBuf;

use parking_lot::RwLock;

/// The environment variable that names the interpreter (default `python3` on the `PATH`).
pub const PYTHON_ENV: &str = "ACCELRT_PYTHON";

/// Set by [`set_python`]; takes precedence over the environment (a lock rather than setting
/// the variable, for the reason given at [`set_cache_dir`](crate::set_cache_dir)).
static OVERRIDE: RwLock<Option<PathBuf>> = RwLock::new(None);

/// Makes this process use `interpreter` whenever the backend runs Python. The Python package
/// `accelrt` sets its own interpreter, so that a virtual environment's `onnxruntime` and pip
/// are the ones used.
pub fn set_python(interpreter: impl Into<PathBuf>) {
    *OVERRIDE.write() = Some(interpreter.into());
}

/// The interpreter: the one given to [`set_python`], else `$ACCELRT_PYTHON`, else `python3`.
pub fn python() -> PathBuf {
    OVERRIDE
        .read()
        .clone()
        .or_else(|| {
            std::env::var_os(PYTHON_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from("python3"))
}
