//! `accelrt._native`: the Rust half of the Python package `accelrt`.
//!
//! A thin translation of the Rust API: runtimes, pipelines and the OCR reader hand out
//! `task::PyTask`s (asyncio Future-like objects that also block with `wait()`), inputs and
//! outputs are numpy arrays (`convert`), errors are the exception classes of
//! `accelrt.errors` (`errors`). Every scheduling decision stays in the Rust engine; nothing
//! here queues, batches or retries. The pure-Python layer (`python/accelrt/`) adds context
//! managers, `map`/`imap` over datasets, the pipeline builder, `Stats` and the Ray integration.
//!
//! Threads: engine threads never take the GIL (a finished task is handed to Python through a
//! condvar or an event loop's socket, see `bridge`); every call that can wait runs detached
//! from the interpreter; Python pipeline stages attach only while their function runs.
//!
//! Files: `task.rs` (Task), `bridge.rs` (event loops, `Completions`), `runtime.rs`,
//! `pipeline.rs`, `ocr.rs`, `convert.rs` (numpy), `errors.rs`, `stats.rs`, and `memory.rs`,
//! the only file with `unsafe` (zero-copy numpy buffers).

#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

mod bridge;
mod convert;
mod errors;
#[allow(unsafe_code)]
mod memory;
mod ocr;
mod pipeline;
mod runtime;
mod stats;
mod task;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::py_result;

/// The PP-OCRv4 models (``det``, ``cls``, ``rec`` paths), fetched from PyPI
/// (``rapidocr-onnxruntime==1.4.4``) into the cache the first time.
#[pyfunction]
fn ocr_models(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let m = py_result(py, py.detach(accelrt_onnx::models::ocr))?;
    let d = PyDict::new(py);
    d.set_item("det", m.det)?;
    d.set_item("cls", m.cls)?;
    d.set_item("rec", m.rec)?;
    Ok(d)
}

/// The small test models of the ``onnxruntime`` wheel (``mul_1``, ``sigmoid``,
/// ``logreg_iris`` paths), fetched into the cache the first time.
#[pyfunction]
fn test_models(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let m = py_result(py, py.detach(accelrt_onnx::models::datasets))?;
    let d = PyDict::new(py);
    d.set_item("mul_1", m.mul_1)?;
    d.set_item("sigmoid", m.sigmoid)?;
    d.set_item("logreg_iris", m.logreg_iris)?;
    Ok(d)
}

/// Where models and ONNX Runtime are cached (``$ACCELRT_CACHE``, else
/// ``$XDG_CACHE_HOME/accelrt`` or ``~/.cache/accelrt``).
#[pyfunction]
fn cache_dir(py: Python<'_>) -> PyResult<std::path::PathBuf> {
    py_result(py, accelrt_onnx::cache_dir())
}

#[pymodule(gil_used = true)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // ONNX Runtime and wheels are looked up with this interpreter (its venv's onnxruntime and
    // pip), not whatever `python3` is on the PATH.
    let exe: String = m.py().import("sys")?.getattr("executable")?.extract()?;
    if !exe.is_empty() && std::env::var_os(accelrt_onnx::PYTHON_ENV).is_none() {
        accelrt_onnx::set_python(exe);
    }
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ORT_VERSION", accelrt_onnx::ORT_VERSION)?;
    m.add_class::<task::PyTask>()?;
    m.add_class::<task::Awaiting>()?;
    m.add_class::<bridge::Drain>()?;
    m.add_class::<bridge::Completions>()?;
    m.add_class::<runtime::PyRuntime>()?;
    m.add_class::<runtime::Built>()?;
    m.add_class::<pipeline::PyPipeline>()?;
    m.add_class::<ocr::PyOcr>()?;
    m.add_function(wrap_pyfunction!(ocr_models, m)?)?;
    m.add_function(wrap_pyfunction!(test_models, m)?)?;
    m.add_function(wrap_pyfunction!(cache_dir, m)?)?;
    Ok(())
}
