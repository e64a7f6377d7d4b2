//! `tritonclient[http,grpc]==2.73.0` from PyPI, unchanged, against the live server: health,
//! metadata, and inference over HTTP (JSON and binary) and gRPC, compared with a direct ONNX
//! Runtime run. The client is installed into a virtual environment in the cache (reused once
//! it is complete). Without PyPI the test fails, saying so; `ACCELRT_SKIP_TRITONCLIENT=1` skips
//! it instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{det_case, live};

const TRITONCLIENT: &str = "tritonclient[http,grpc]==2.73.0";

/// The virtual environment's python, creating the environment the first time.
fn venv_python() -> PathBuf {
    accelrt_onnx::python_env("venv-tritonclient-2.73.0", &[TRITONCLIENT, "numpy"])
        .unwrap_or_else(|e| panic!("{e}\nthis test needs PyPI; set ACCELRT_SKIP_TRITONCLIENT=1 to skip it"))
}

#[test]
fn tritonclient_talks_to_the_server_unchanged() {
    if std::env::var_os("ACCELRT_SKIP_TRITONCLIENT").is_some_and(|v| v == "1") {
        eprintln!("skipped: ACCELRT_SKIP_TRITONCLIENT=1");
        return;
    }
    let python = venv_python();
    let live = live();
    // The detector's input and ONNX Runtime's own output, for the script to compare with.
    let (x, expected) = det_case(2, 7);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tritonclient");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("x.f32"), x.bytes()).unwrap();
    std::fs::write(dir.join("expected.f32"), expected.bytes()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/test_tritonclient.py");
    let out = Command::new(&python)
        .arg(&script)
        .args(["--http", &live.http.to_string(), "--grpc", &live.grpc.to_string()])
        .arg("--data")
        .arg(&dir)
        .args([
            "--det-shape",
            &format!("{:?}", x.shape()),
            "--out-shape",
            &format!("{:?}", expected.shape()),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("all checks passed"), "{stdout}\n{stderr}");
}
