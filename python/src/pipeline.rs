//! `accelrt.Pipeline`: Python functions and runtimes as the stages of an
//! [`accelrt::Pipeline`]. The Rust pipeline does all the work (stage threads, bounded queues,
//! per-item errors, shutdown); this file only says how items cross between Python and Rust.
//!
//! An item is a Python object, or the output of a runtime stage kept as Rust tensors until a
//! Python stage (or the caller) needs it, so two runtime stages in a row never touch Python.
//! A Python stage's function runs on the stage's own threads, attached to the interpreter
//! only while it runs; an exception it raises fails that item alone, as `StageError` with the
//! original exception as its cause.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use accelrt::{AsyncRuntime, Error, Pipeline, PipelineBuilder, Tensor};
use futures::FutureExt;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{outputs_to_py, OutputNames};
use crate::errors::{from_py, py_result};
use crate::ocr::{page_to_py, PyOcr};
use crate::runtime::PyRuntime;
use crate::stats::pipeline_stats_to_py;
use crate::task::{block_until_settled, FuturePending, Out, Pending, PyTask};

/// What travels between stages.
pub(crate) enum Item {
    Py(Py<PyAny>),
    /// A model runtime's outputs and their names.
    Tensors(Vec<Tensor>, OutputNames),
    /// An OCR reader's page.
    Page(Box<accelrt_ocr::OcrOutput>),
}

impl Item {
    pub fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Item::Py(obj) => Ok(obj),
            Item::Tensors(ts, names) => outputs_to_py(py, &ts, &names),
            Item::Page(page) => page_to_py(py, *page),
        }
    }

    fn from_out(out: Out, names: &OutputNames) -> accelrt::Result<Item> {
        Ok(match out {
            Out::Tensors(ts) => Item::Tensors(ts, names.clone()),
            Out::Tensor(t) => Item::Tensors(vec![t], names.clone()),
            Out::Item(item) => item,
            Out::Page(page) => Item::Page(Box::new(page)),
            Out::Flag(_) => return Err(Error::Internal("a shutdown result reached a pipeline stage".into())),
        })
    }
}

/// A pending result as a future (dropping it withdraws a queued request).
struct PendingFuture(Box<dyn Pending>);

impl Future for PendingFuture {
    type Output = accelrt::Result<Out>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll(cx)
    }
}

/// A runtime-like Python object a stage runs its items on.
enum StageRuntime {
    Model(Py<PyRuntime>),
    Pipeline(Py<PyPipeline>),
    Ocr(Py<PyOcr>),
}

impl StageRuntime {
    fn of(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(r) = obj.cast::<PyRuntime>() {
            return Ok(StageRuntime::Model(r.clone().unbind()));
        }
        if let Ok(p) = obj.cast::<PyPipeline>() {
            return Ok(StageRuntime::Pipeline(p.clone().unbind()));
        }
        if let Ok(o) = obj.cast::<PyOcr>() {
            return Ok(StageRuntime::Ocr(o.clone().unbind()));
        }
        Err(PyValueError::new_err(format!(
            "a runtime stage takes an accelrt.Runtime, Pipeline or ocr.Reader, got {}",
            obj.get_type().name()?
        )))
    }

    /// Queues an item (attaching to the interpreter only to convert a Python item).
    fn submit(&self, item: Item) -> (Box<dyn Pending>, Option<OutputNames>) {
        match self {
            StageRuntime::Model(rt) => {
                let rt = rt.get();
                let inputs = match item {
                    Item::Tensors(ts, _) => Ok(ts),
                    Item::Py(obj) => Python::attach(|py| rt.input_names().tensors(obj.bind(py))),
                    Item::Page(_) => Err(Error::invalid_input("arrays for a model", "an OCR page")),
                };
                let pending = match inputs {
                    Ok(inputs) => rt.engine().submit(inputs, Default::default(), false),
                    Err(e) => Box::new(accelrt::Task::<Vec<Tensor>>::ready(Err(e))),
                };
                (pending, Some(rt.output_names().clone()))
            }
            StageRuntime::Pipeline(p) => (Box::new(p.get().pipeline.run(item)), None),
            StageRuntime::Ocr(o) => {
                let o = o.get();
                let source = match item {
                    Item::Py(obj) => Python::attach(|py| crate::ocr::source_from(obj.bind(py))),
                    _ => Err(Error::invalid_input("an image path, bytes or array", "model outputs")),
                };
                match source {
                    Ok(s) => (Box::new(o.pipeline().run(s)), None),
                    Err(e) => (Box::new(accelrt::Task::<Item>::ready(Err(e))), None),
                }
            }
        }
    }
}

/// Builds the Rust pipeline from the Python builder's stage list.
fn build(stages: Vec<(String, String, Py<PyAny>, usize)>, queue_capacity: usize) -> PyResult<Pipeline<Item, Item>> {
    let mut builder: PipelineBuilder<Item, Item> = Pipeline::builder::<Item>().queue_capacity(queue_capacity);
    let empty: OutputNames = Vec::<String>::new().into();
    for (kind, name, obj, n) in stages {
        builder = match kind.as_str() {
            "fn" => builder.stage(&name, n, move |item: Item| {
                Python::attach(|py| {
                    let arg = item.into_py(py).map_err(|e| from_py(py, e))?;
                    obj.call1(py, (arg,)).map(Item::Py).map_err(|e| from_py(py, e))
                })
            }),
            "runtime" => {
                let runtime = Python::attach(|py| StageRuntime::of(obj.bind(py)))?;
                let empty = empty.clone();
                builder.async_stage(&name, n, move |item: Item| {
                    let (pending, names) = runtime.submit(item);
                    let names = names.unwrap_or_else(|| empty.clone());
                    PendingFuture(pending).map(move |r| r.and_then(|out| Item::from_out(out, &names)))
                })
            }
            other => return Err(PyValueError::new_err(format!("unknown stage kind {other:?}"))),
        };
    }
    Python::attach(|py| py_result(py, builder.build()))
}

/// A pipeline of Python functions and runtimes; build it with ``Pipeline.builder()``.
///
/// ``run(x)`` returns a :class:`Task` for the last stage's output. Items go through the
/// stages in parallel (each stage has its own threads, joined by bounded queues); results come
/// back per item, and an error in one item (an exception in a stage's function, a bad input
/// for a runtime stage) fails that item alone with ``StageError``.
#[pyclass(module = "accelrt._native", name = "Pipeline", subclass, frozen, weakref)]
pub struct PyPipeline {
    pipeline: Pipeline<Item, Item>,
    names: Vec<String>,
}

#[pymethods]
impl PyPipeline {
    /// ``stages``: ``(kind, name, fn_or_runtime, n)`` with kind ``"fn"`` (n worker threads) or
    /// ``"runtime"`` (n items in flight). Use ``Pipeline.builder()`` rather than this.
    #[new]
    #[pyo3(signature = (stages, *, queue_capacity=64))]
    fn new(py: Python<'_>, stages: Vec<(String, String, Py<PyAny>, usize)>, queue_capacity: usize) -> PyResult<Self> {
        let names = stages.iter().map(|s| s.1.clone()).collect();
        let pipeline = py.detach(|| build(stages, queue_capacity))?;
        Ok(PyPipeline { pipeline, names })
    }

    /// Queues one item and returns its :class:`Task` at once.
    #[pyo3(signature = (x,))]
    fn run(&self, py: Python<'_>, x: Py<PyAny>) -> PyResult<Py<PyTask>> {
        Py::new(py, PyTask::new(Box::new(self.pipeline.run(Item::Py(x))), None))
    }

    /// Like ``run``, but fails the task with ``QueueFullError`` when the first stage's queue is
    /// full.
    #[pyo3(signature = (x,))]
    fn try_run(&self, py: Python<'_>, x: Py<PyAny>) -> PyResult<Py<PyTask>> {
        Py::new(py, PyTask::new(Box::new(self.pipeline.try_run(Item::Py(x))), None))
    }

    /// Counters so far, as a dict.
    fn _stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        pipeline_stats_to_py(py, &self.pipeline.stats())
    }

    /// The stages' names, in order.
    #[getter]
    fn stages(&self) -> Vec<String> {
        self.names.clone()
    }

    /// Stops taking items, runs everything accepted through every stage, and returns True
    /// when done (GIL released; Ctrl-C interrupts the wait).
    fn close(&self, py: Python<'_>) -> PyResult<bool> {
        close(py, &self.pipeline)
    }

    /// ``close`` for asyncio.
    fn aclose(&self, py: Python<'_>) -> PyResult<Py<PyTask>> {
        Py::new(py, PyTask::new(shutdown(&self.pipeline), None))
    }

    fn __repr__(&self) -> String {
        format!("<accelrt.Pipeline {}>", self.names.join(" → "))
    }
}

/// Drains `pipeline` (everything accepted runs through every stage), as a pending result.
pub(crate) fn shutdown<I: Send + 'static, O: Send + 'static>(pipeline: &Pipeline<I, O>) -> Box<dyn Pending> {
    let p = pipeline.clone();
    Box::new(FuturePending(
        async move {
            p.shutdown().await;
            Ok(Out::Flag(true))
        }
        .boxed(),
    ))
}

/// Drains `pipeline` and blocks until it stopped (detached; Ctrl-C interrupts the wait).
pub(crate) fn close<I: Send + 'static, O: Send + 'static>(py: Python<'_>, pipeline: &Pipeline<I, O>) -> PyResult<bool> {
    let task = PyTask::new(shutdown(pipeline), None);
    block_until_settled(py, task.core(), None)?;
    Ok(true)
}
