//! Finding and loading the ONNX Runtime shared library, once per process.
//!
//! `ort` is built with `load-dynamic`: nothing links against ONNX Runtime at build time, and
//! the library is opened here at run time. `ort` panics when its API is used before a library
//! is loaded, so every path into `ort` in this crate goes through [`ensure_loaded`] first, which
//! returns the process-wide [`OrtLibrary`] or an error that says what to do.
//!
//! Search order: an explicit path (builder), `ORT_DYLIB_PATH`, the `onnxruntime` package of the
//! system's Python, this project's cache, and finally the `onnxruntime==1.31.1` wheel fetched
//! from PyPI into the cache.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use parking_lot::Mutex;

use crate::cache::cache_dir;
use crate::wheel::{Format, Package};
use crate::OnnxError;

/// The ONNX Runtime version fetched from PyPI when none is installed.
pub const ORT_VERSION: &str = "1.31.1";
/// The oldest ONNX Runtime minor version `ort` 2.0.0-rc.15 (api-31) works with.
const MIN_MINOR: u32 = 31;

/// The `onnxruntime` wheel: the library, the helper that loads execution providers, and the
/// tiny test models.
pub(crate) const ORT_WHEEL: Package = Package {
    name: "onnxruntime",
    version: ORT_VERSION,
    format: Format::Wheel,
    members: &[
        "onnxruntime/capi/libonnxruntime.so.1.31.1",
        "onnxruntime/capi/libonnxruntime_providers_shared.so",
        "onnxruntime/datasets/mul_1.onnx",
        "onnxruntime/datasets/sigmoid.onnx",
        "onnxruntime/datasets/logreg_iris.onnx",
    ],
};

/// The loaded library and the process's one `ort` environment.
pub struct OrtLibrary {
    path: PathBuf,
    env: ort::environment::Environment,
}

impl OrtLibrary {
    /// The library file in use.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn env(&self) -> &ort::environment::Environment {
        &self.env
    }
}

impl std::fmt::Debug for OrtLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtLibrary")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Set once, by the first successful load; never holds a failure, so a bad explicit path in one
/// builder does not poison later builders with a good one.
static LOADED: OnceLock<OrtLibrary> = OnceLock::new();
/// Serialises load attempts (searching may start Python or a download); readers of `LOADED`
/// never take it.
static LOADING: Mutex<()> = Mutex::new(());

/// Loads ONNX Runtime (see the module docs for the search order) unless it is loaded already,
/// and returns it.
///
/// With `explicit`, that file must exist and, if a library is already loaded in this process,
/// be the same file.
pub fn ensure_loaded(explicit: Option<&Path>) -> Result<&'static OrtLibrary, accelrt::Error> {
    if let Some(path) = explicit {
        if !path.is_file() {
            return Err(OnnxError::LibraryNotFound(format!(
                "the path given to the backend builder, {}, is not a file; point it at libonnxruntime.so \
                 (ONNX Runtime >= 1.{MIN_MINOR}) or drop it to let accelrt find or fetch one",
                path.display()
            ))
            .into());
        }
    }
    let _guard = LOADING.lock();
    if let Some(lib) = LOADED.get() {
        if let Some(path) = explicit {
            if !same_file(path, &lib.path) {
                return Err(OnnxError::LibraryConflict {
                    loaded: lib.path.clone(),
                    requested: path.to_path_buf(),
                }
                .into());
            }
        }
        return Ok(lib);
    }
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => find()?,
    };
    let lib = load(&path)?;
    Ok(LOADED.get_or_init(|| lib))
}

/// The library loaded in this process, if any.
pub fn loaded() -> Option<&'static OrtLibrary> {
    LOADED.get()
}

fn load(path: &Path) -> Result<OrtLibrary, OnnxError> {
    if let Some(minor) = minor_from_file_name(path) {
        if minor < MIN_MINOR {
            return Err(too_old(path, &format!("1.{minor}")));
        }
    }
    let builder = ort::init_from(path).map_err(|e| match e {
        ort::LoadDynamicError::BadVersion { version_str, .. } => too_old(path, &version_str),
        other => OnnxError::LibraryLoad {
            path: path.to_path_buf(),
            reason: format!("{other}; is it a libonnxruntime.so for this platform?"),
        },
    })?;
    let env = builder
        .with_name("accelrt")
        .build()
        .map_err(|e| OnnxError::LibraryLoad {
            path: path.to_path_buf(),
            reason: format!("creating the environment failed: {e}"),
        })?;
    tracing::info!(path = %path.display(), "loaded ONNX Runtime");
    Ok(OrtLibrary {
        path: path.to_path_buf(),
        env,
    })
}

fn too_old(path: &Path, version: &str) -> OnnxError {
    OnnxError::LibraryLoad {
        path: path.to_path_buf(),
        reason: format!(
            "expected ONNX Runtime >= 1.{MIN_MINOR}, got {version}; install onnxruntime=={ORT_VERSION} \
             (`pip install onnxruntime=={ORT_VERSION}`), point ORT_DYLIB_PATH at a newer library, \
             or unset ORT_DYLIB_PATH to let accelrt fetch one"
        ),
    }
}

/// Walks the search order after the explicit path.
fn find() -> Result<PathBuf, OnnxError> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        return Err(OnnxError::LibraryNotFound(format!(
            "ORT_DYLIB_PATH is {}, which is not a file; point it at libonnxruntime.so or unset it",
            p.display()
        )));
    }
    if let Some(p) = from_python() {
        return Ok(p);
    }
    let cache = cache_dir().map_err(|e| OnnxError::LibraryNotFound(e.to_string()))?;
    let in_cache = ORT_WHEEL.dir(&cache).join(format!("libonnxruntime.so.{ORT_VERSION}"));
    if in_cache.is_file() {
        return Ok(in_cache);
    }
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        tracing::warn!("fetching ONNX Runtime from PyPI is only tested on x86_64 Linux");
    }
    let dir = ORT_WHEEL.ensure(&cache).map_err(|e| {
        OnnxError::LibraryNotFound(format!(
            "not in ORT_DYLIB_PATH, Python's onnxruntime package or {}, and fetching it failed: {e}",
            cache.display()
        ))
    })?;
    Ok(dir.join(format!("libonnxruntime.so.{ORT_VERSION}")))
}

/// The library inside Python's `onnxruntime` package, if Python has one new enough.
fn from_python() -> Option<PathBuf> {
    let out = Command::new(crate::python::python())
        .args([
            "-c",
            "import onnxruntime, os; print(os.path.dirname(onnxruntime.__file__))",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let capi = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("capi");
    let lib = crate::cache::find_in(&capi, |n| n.starts_with("libonnxruntime.so.1."))?;
    match minor_from_file_name(&lib) {
        Some(m) if m >= MIN_MINOR => Some(lib),
        _ => {
            // Not an error: the cache or a fetch still gives a usable library.
            tracing::warn!(lib = %lib.display(), "Python's onnxruntime is older than 1.{MIN_MINOR}; not using it");
            None
        }
    }
}

/// `libonnxruntime.so.1.31.1` -> 31.
fn minor_from_file_name(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_str()?;
    let version = name.strip_prefix("libonnxruntime.so.")?;
    version.split('.').nth(1)?.parse().ok()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_file_name() {
        assert_eq!(minor_from_file_name(Path::new("x/libonnxruntime.so.1.31.1")), Some(31));
        assert_eq!(minor_from_file_name(Path::new("libonnxruntime.so.1.20.0")), Some(20));
        assert_eq!(minor_from_file_name(Path::new("libonnxruntime.so")), None);
    }

    #[test]
    fn too_old_says_what_to_do() {
        let msg = too_old(Path::new("libonnxruntime.so.1.20.0"), "1.20").to_string();
        assert!(msg.contains("expected ONNX Runtime >= 1.31, got 1.20"), "{msg}");
        assert!(msg.contains("pip install onnxruntime==1.31.1"), "{msg}");
    }
}
