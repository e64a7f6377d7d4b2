//! # accelrt-cuda
//!
//! The CUDA backend of [accelrt], on [`cudarc`]: every slot has its own
//! non-blocking stream, pinned host staging (write-combined for inputs, cached for outputs),
//! device buffers and a completion event, all allocated when the runtime is built. A batch's
//! H2D copy, kernels and D2H copy are enqueued on its slot's stream, so with `depth` ≥ 2 the
//! copies of one batch overlap another's kernels.
//!
//! ```no_run
//! use accelrt::{AsyncRuntime, Runtime, Tensor};
//! use accelrt_cuda::{CudaBackend, Mlp};
//!
//! let mlp = Mlp::random(&[512, 1024, 10], 7)?;
//! let backend = CudaBackend::builder(mlp).device(0).build()?; // DeviceUnavailable without a GPU
//! let runtime = Runtime::builder(backend).parallel(2).depth(3).max_batch(64).build()?;
//! let y = runtime.run(Tensor::new([1, 512], vec![0.5f32; 512])?).wait()?; // f32 [1, 10]
//! # Ok::<(), accelrt::Error>(())
//! ```
//!
//! ## Pieces
//! - [`CudaBackend`]: the [`accelrt::Backend`]; [`CudaBackend::builder`] picks the device by
//!   ordinal and optionally records a [`Timeline`](accelrt::Timeline) from CUDA events.
//! - [`CudaModel`]: what a model enqueues on a slot's stream; [`Preprocess`] (an NVRTC
//!   kernel) and [`Mlp`] (cuBLAS + an NVRTC kernel) are built in.
//! - [`PinnedBuffer`], [`DeviceBuffer`], [`copy_h2d`], [`copy_d2h`]: the buffers and copies,
//!   for models and benchmarks.
//! - [`kernels`]: the kernel sources and [`kernels::compile`] (NVRTC, no GPU needed).
//! - [`Burst`]: how benchmarks and tests size a runtime's queue for a burst of requests.
//!
//! ## Without a GPU
//! The crate builds with no CUDA toolkit: the driver, NVRTC and cuBLAS are loaded at run
//! time. When one is missing, building a backend returns
//! [`accelrt::Error::DeviceUnavailable`] with what to install; it never panics. [`probe`]
//! reports what the machine offers.
//!
//! ## Finding NVRTC and cuBLAS
//! Before cudarc loads them, the backend looks for the versions the driver supports
//! ([`driver_version`], [`wanted_majors`]) in `ACCELRT_CUDA_LIB_DIRS`, on the system loader's
//! path, in CUDA toolkits and in NVIDIA's Python wheels (`nvidia/cu13/lib`), and loads what it
//! finds by path ([`library_source`] says from where).
//!
//! ## CUDA versions
//! The default feature `cuda-12` uses CUDA 12.8 bindings (drivers for CUDA 12 or later);
//! `--no-default-features --features cuda-13` uses CUDA 13.0's. The two are exclusive.

#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[cfg(not(any(feature = "cuda-12", feature = "cuda-13")))]
compile_error!("accelrt-cuda needs one CUDA version feature: `cuda-12` (default) or `cuda-13`");

mod backend;
mod burst;
mod device;
mod error;
mod ffi;
mod layout;
mod libraries;
mod memory;
mod model;
mod models;
mod probe;
mod slot;

pub mod kernels;

pub use backend::{validate_input, CudaBackend, CudaBackendBuilder, CudaInstance};
pub use burst::Burst;
pub use device::CudaDevice;
pub use error::{CudaError, CudaResult};
pub use ffi::{driver_version, library_source, load_library, LibrarySource};
pub use layout::{ItemLayout, SlotLayout};
pub use libraries::{binding_major, wanted_majors, CudaLibrary, Found, Search, LIB_DIRS_ENV};
pub use memory::{copy_d2h, copy_h2d, copy_h2d_pageable, DeviceBuffer, HostAccess, PinnedBuffer};
pub use model::{CudaModel, Launch};
pub use models::{Activation, Linear, Mlp, Preprocess};
pub use probe::{probe, Probe, Requirement};
pub use slot::CudaSlot;

/// The cudarc version this crate is built against, re-exported so models use the same types.
pub use cudarc;
