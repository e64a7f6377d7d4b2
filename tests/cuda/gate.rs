//! Whether a GPU test runs, is skipped, or fails for want of a GPU.
//!
//! A skipped test still reports `ok` (libtest has no run-time skip), so a skip writes a
//! `SKIPPED` line straight to stderr, which `cargo test` shows even without `--nocapture`,
//! and `ACCELRT_REQUIRE_GPU=1` (the GPU machine's run) turns every skip into a failure.

use std::io::Write;
use std::sync::OnceLock;

use accelrt_cuda::{probe, Probe, Requirement};

/// Set to `1` to make every GPU test fail instead of skipping.
pub const REQUIRE_ENV: &str = "ACCELRT_REQUIRE_GPU";

/// What a GPU test does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Everything it needs is here.
    Run,
    /// Something is missing and nobody asked for a GPU: skip, saying why.
    Skip(String),
    /// Something is missing but a GPU was required.
    Fail(String),
}

/// The decision for a test whose needs are unmet for `missing` (`None`: all met).
pub fn decide(missing: Option<String>, require: bool) -> Gate {
    match missing {
        None => Gate::Run,
        Some(why) if require => Gate::Fail(why),
        Some(why) => Gate::Skip(why),
    }
}

/// Whether the value of [`REQUIRE_ENV`] asks for a GPU: anything but unset, empty, `0`,
/// `false` or `no`.
pub fn required(value: Option<&str>) -> bool {
    value.is_some_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false" | "no"))
}

/// The machine, probed once per test process.
pub fn machine() -> &'static Probe {
    static PROBE: OnceLock<Probe> = OnceLock::new();
    PROBE.get_or_init(probe)
}

/// True when `test` should run; prints why it is skipped, or panics when a GPU is required.
pub fn gate(test: &str, needs: &[Requirement]) -> bool {
    let require = required(std::env::var(REQUIRE_ENV).ok().as_deref());
    match decide(machine().missing(needs), require) {
        Gate::Run => true,
        Gate::Skip(why) => {
            // Straight to the stderr handle, past libtest's capture of `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: {why} (set {REQUIRE_ENV}=1 to fail instead)"
            );
            false
        }
        Gate::Fail(why) => panic!("{test}: {REQUIRE_ENV} is set but {why}"),
    }
}

/// Runs the rest of a GPU test only when `gate` says so.
macro_rules! gpu_test {
    ($name:literal, $($need:ident),+) => {
        if !gate::gate($name, &[$(accelrt_cuda::Requirement::$need),+]) {
            return;
        }
    };
}
pub(crate) use gpu_test;
