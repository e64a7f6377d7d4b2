//! What the `accelrt serve` process tests share: the cache, and a replica on ephemeral ports.

#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn cache() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(".cache")
}

/// Kills a child process when the test ends, passing or not (a child outlives a panicking test).
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `accelrt serve` on `repo`, listening on 127.0.0.1 with ephemeral ports; its start-up log
/// (which names the addresses) is on the child's piped stderr.
pub fn serve(repo: &Path) -> Reaped {
    Reaped(
        Command::new(env!("CARGO_BIN_EXE_accelrt"))
            .args(["serve", "--model-repository"])
            .arg(repo)
            .args([
                "--address",
                "127.0.0.1",
                "--http-port",
                "0",
                "--grpc-port",
                "0",
                "--metrics-port",
                "0",
            ])
            .env(accelrt_onnx::CACHE_ENV, cache())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}
