//! Every call into CUDA that Rust cannot check, in one fenced room: loading the shared
//! libraries ([`loader`]), switching off cudarc's per-buffer event tracking and launching our
//! kernels ([`launch`]), and calling cuBLAS ([`blas`]).
//!
//! Each function here is safe to call: it checks the sizes its `unsafe` block relies on and
//! says, at the block, which invariant makes the call sound.
#![allow(unsafe_code)]

mod blas;
mod launch;
mod loader;

pub(crate) use blas::{linear, BlasHandle};
pub(crate) use launch::{disable_event_tracking, launch_bias_act, launch_preprocess};
pub use loader::{driver_version, library_source, load_library, LibrarySource};
pub(crate) use loader::{require_cublas, require_driver, require_nvrtc};
