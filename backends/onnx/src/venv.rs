//! Python virtual environments in the cache, with pinned packages from PyPI: how the tests and
//! benchmarks run Python peers and clients (rapidocr, tritonclient) without touching the
//! system's Python.

use std::path::PathBuf;
use std::process::Command;

use crate::{cache_dir, OnnxError};

/// The Python of the virtual environment `name` in the cache, holding `packages` (pip
/// requirement strings, pinned). Created with `python3 -m venv` and `pip install` the first
/// time; reused while its marker, written last, lists the same packages, so an interrupted
/// install or a changed list builds it anew.
pub fn python_env(name: &str, packages: &[&str]) -> Result<PathBuf, OnnxError> {
    let fail = |reason: String| OnnxError::Fetch {
        what: packages.join(" "),
        reason,
    };
    let venv = cache_dir().map_err(|e| fail(e.to_string()))?.join(name);
    let python = venv.join("bin").join("python");
    let marker = venv.join(".installed");
    let wanted = packages.join("\n");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        return Ok(python);
    }
    let run = |cmd: &mut Command, what: &str| -> Result<(), OnnxError> {
        let out = cmd.output().map_err(|e| fail(format!("{what}: cannot start: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        Err(fail(format!(
            "{what} failed ({}); it needs PyPI:\n{}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )))
    };
    tracing::info!(packages = %packages.join(" "), venv = %venv.display(), "installing from PyPI");
    run(
        Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv),
        "python3 -m venv (on Debian: apt-get install python3-venv)",
    )?;
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(packages),
        "pip install",
    )?;
    std::fs::write(&marker, wanted).map_err(|e| fail(format!("cannot write {}: {e}", marker.display())))?;
    Ok(python)
}
