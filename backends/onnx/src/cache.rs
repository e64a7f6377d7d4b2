//! Where fetched files (ONNX Runtime, models, rendered samples) are kept.

use std::path::{Path, PathBuf};

use parking_lot::RwLock;

use crate::OnnxError;

/// The environment variable that names the cache directory.
pub const CACHE_ENV: &str = "ACCELRT_CACHE";

/// Set by [`set_cache_dir`]; takes precedence over the environment. A lock rather than
/// setting `ACCELRT_CACHE` because changing the environment of a multi-threaded process races
/// with every thread that reads it.
static OVERRIDE: RwLock<Option<PathBuf>> = RwLock::new(None);

/// Makes this process use `dir` as its cache, whatever the environment says. Tests and examples
/// use it to keep fetched files inside their workspace.
pub fn set_cache_dir(dir: impl Into<PathBuf>) {
    *OVERRIDE.write() = Some(dir.into());
}

/// The cache directory: the one given to [`set_cache_dir`], else `$ACCELRT_CACHE`, else `$XDG_CACHE_HOME/accelrt`, else
/// `~/.cache/accelrt`. It is created when missing.
///
/// Nothing is derived from where this crate was built: a binary copied to another machine
/// looks in that machine's cache.
pub fn cache_dir() -> Result<PathBuf, accelrt::Error> {
    let dir = OVERRIDE
        .read()
        .clone()
        .or_else(|| non_empty_var(CACHE_ENV).map(PathBuf::from))
        .or_else(|| non_empty_var("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("accelrt")))
        .or_else(|| non_empty_var("HOME").map(|h| PathBuf::from(h).join(".cache").join("accelrt")))
        .ok_or_else(|| {
            OnnxError::Config(format!(
                "no cache directory: set {CACHE_ENV} (or XDG_CACHE_HOME or HOME) to a writable directory"
            ))
        })?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        OnnxError::Config(format!(
            "cannot create the cache directory {}: {e} (set {CACHE_ENV} to a writable directory)",
            dir.display()
        ))
    })?;
    Ok(dir)
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The first file in `dir` whose name satisfies `matches` (`None` if `dir` cannot be read).
pub(crate) fn find_in(dir: &Path, matches: impl Fn(&str) -> bool) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&matches))
}
