//! The Python peer: `rapidocr-onnxruntime==1.4.4` installed from PyPI into a virtual
//! environment in the cache, driven through `peer.py` (next to this file).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The package, pinned; the same PP-OCRv4 models as the Rust side.
const RAPIDOCR: &str = "rapidocr-onnxruntime==1.4.4";
/// The ONNX Runtime the Rust side loads, so both run the same library.
const ONNXRUNTIME: &str = "onnxruntime==1.31.1";

/// What the peer read and how long it took (its own clock, after one warm-up image).
pub struct PeerRun {
    pub took: Duration,
    pub texts: Vec<Vec<String>>,
}

fn run(cmd: &mut Command, what: &str) -> Result<std::process::Output, String> {
    let out = cmd.output().map_err(|e| format!("{what}: cannot start: {e}"))?;
    if !out.status.success() {
        // The last 15 lines of stderr, in their order.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = &lines[lines.len().saturating_sub(15)..];
        return Err(format!("{what}: {}\n{}", out.status, tail.join("\n")));
    }
    Ok(out)
}

/// The virtual environment's Python, creating the environment and installing the peer the
/// first time.
fn python() -> Result<PathBuf, String> {
    eprintln!("the Python peer: {RAPIDOCR} with {ONNXRUNTIME}, in a virtual environment in the cache (installed from PyPI on first use)");
    accelrt_onnx::python_env("rapidocr-1.4.4-venv", &[RAPIDOCR, ONNXRUNTIME]).map_err(|e| e.to_string())
}

/// Runs the peer over `paths`, one image at a time, with rapidocr's default settings.
pub fn run_peer(cache: &Path, paths: &[PathBuf]) -> Result<PeerRun, String> {
    let python = python()?;
    let list = cache.join(format!("peer-images.{}.txt", std::process::id()));
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    std::fs::write(&list, names.join("\n")).map_err(|e| format!("cannot write {}: {e}", list.display()))?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ocr/peer.py");
    let out = run(Command::new(&python).arg(script).arg(&list), "the rapidocr peer");
    let _ = std::fs::remove_file(&list);
    let out = out?;
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("the peer's output is not JSON: {e}"))?;
    let seconds = v["seconds"].as_f64().ok_or("the peer's output has no \"seconds\"")?;
    let texts = v["images"]
        .as_array()
        .ok_or("the peer's output has no \"images\"")?
        .iter()
        .map(|lines| {
            lines
                .as_array()
                .map(|l| l.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        })
        .collect::<Vec<Vec<String>>>();
    if texts.len() != paths.len() {
        return Err(format!(
            "the peer read {} images; expected {}",
            texts.len(),
            paths.len()
        ));
    }
    Ok(PeerRun {
        took: Duration::from_secs_f64(seconds),
        texts,
    })
}
