//! `accelrt.Runtime`: one model on one backend (ONNX Runtime or the simulator), the engine
//! behind it, and the calls Python makes on it. Every setting is the Rust builder's, under the
//! same name; every decision (batching, admission, deadlines) is the Rust engine's.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use accelrt::{
    AsyncRuntime, Backend, Error, ModelSpec, Overflow, RunOptions, Runtime, RuntimeBuilder, Tensor, Timeline,
};
use accelrt_onnx::{ExecutionProvider, OnnxBackend};
use accelrt_sim::{ComputeModel, CopyModel, Faults, SimBackend, SimConfig};
use futures::FutureExt;
use parking_lot::Mutex;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyType};

use crate::convert::{numpy_name, InputNames, OutputNames};
use crate::errors::py_result;
use crate::stats::{spec_to_py, stats_to_py};
use crate::task::{block_until_settled, FuturePending, Out, Pending, PyTask};

/// The two backends a Python runtime can sit on.
pub(crate) enum Engine {
    Onnx(Runtime<OnnxBackend>),
    Sim(Runtime<SimBackend>),
}

/// Calls every engine answers the same way.
macro_rules! on_engine {
    ($engine:expr, $rt:ident => $body:expr) => {
        match $engine {
            Engine::Onnx($rt) => $body,
            Engine::Sim($rt) => $body,
        }
    };
}

impl Engine {
    /// Queues one request; `reject_when_full` is `try_run` (a full queue fails the task at
    /// once whatever the overflow policy; it takes no per-request options).
    pub fn submit(&self, inputs: Vec<Tensor>, opts: RunOptions, reject_when_full: bool) -> Box<dyn Pending> {
        match self {
            Engine::Onnx(rt) => Box::new(queue(rt, inputs, opts, reject_when_full)),
            Engine::Sim(rt) => match <[Tensor; 1]>::try_from(inputs) {
                Ok([t]) => Box::new(queue(rt, t, opts, reject_when_full)),
                Err(v) => Box::new(accelrt::Task::<Tensor>::ready(Err(Error::invalid_input(
                    "one array",
                    format!("{} inputs", v.len()),
                )))),
            },
        }
    }

    fn spec(&self) -> &ModelSpec {
        on_engine!(self, rt => rt.spec())
    }
}

fn queue<B: Backend>(
    rt: &Runtime<B>,
    input: B::Input,
    opts: RunOptions,
    reject_when_full: bool,
) -> accelrt::Task<B::Output> {
    if reject_when_full {
        rt.try_run(input)
    } else {
        rt.run_with(input, opts)
    }
}

/// The settings every runtime takes, named as in `accelrt::RuntimeBuilder`.
pub(crate) struct Settings {
    pub parallel: usize,
    pub depth: usize,
    pub instances: usize,
    pub max_batch: usize,
    pub batch_timeout: f64,
    pub queue_capacity: usize,
    pub overflow: String,
    pub preferred_batch_sizes: Option<Vec<usize>>,
    pub timeout: Option<f64>,
    pub priority_levels: usize,
    pub pin_cores: Option<Vec<usize>>,
    pub timeline: bool,
}

pub(crate) fn seconds(name: &str, s: f64) -> PyResult<Duration> {
    if s.is_nan() || s < 0.0 {
        return Err(PyValueError::new_err(format!("{name} must be seconds >= 0, got {s}")));
    }
    Ok(Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX))
}

impl Settings {
    fn new_timeline(&self) -> Option<Timeline> {
        self.timeline.then(Timeline::new)
    }

    fn apply<B: Backend>(&self, mut b: RuntimeBuilder<B>, timeline: &Option<Timeline>) -> PyResult<RuntimeBuilder<B>> {
        b = b
            .parallel(self.parallel)
            .depth(self.depth)
            .instances(self.instances)
            .max_batch(self.max_batch)
            .batch_timeout(seconds("batch_timeout", self.batch_timeout)?)
            .queue_capacity(self.queue_capacity)
            .priority_levels(self.priority_levels)
            .overflow(match self.overflow.as_str() {
                "wait" => Overflow::Wait,
                "reject" => Overflow::Reject,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "overflow must be \"wait\" or \"reject\", got {other:?}"
                    )))
                }
            });
        if let Some(p) = &self.preferred_batch_sizes {
            b = b.preferred_batch_sizes(p.clone());
        }
        if let Some(t) = self.timeout {
            b = b.timeout(seconds("timeout", t)?);
        }
        if let Some(c) = &self.pin_cores {
            b = b.pin_cores(c.clone());
        }
        if let Some(t) = timeline {
            b = b.timeline(t.clone());
        }
        Ok(b)
    }
}

/// A built runtime on its way into `Runtime.__new__` (so that the Python subclass is what
/// the constructors return).
#[pyclass(module = "accelrt._native", frozen)]
pub struct Built {
    parts: Mutex<Option<Parts>>,
}

struct Parts {
    engine: Engine,
    timeline: Option<Timeline>,
}

/// One model on one backend, with the engine that keeps its device busy.
///
/// Build it with ``Runtime.onnx(...)`` or ``Runtime.sim(...)``. ``run(x)`` returns a
/// :class:`Task` at once; the request is already queued. Close it with ``close()`` /
/// ``await aclose()`` (drain), a ``with`` / ``async with`` block, or let it be garbage
/// collected (queued requests then fail with ``ShutDownError``; nothing blocks).
#[pyclass(module = "accelrt._native", name = "Runtime", subclass, frozen, weakref)]
pub struct PyRuntime {
    engine: Engine,
    inputs: InputNames,
    outputs: OutputNames,
    timeline: Option<Timeline>,
}

impl PyRuntime {
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn input_names(&self) -> &InputNames {
        &self.inputs
    }

    pub(crate) fn output_names(&self) -> &OutputNames {
        &self.outputs
    }

    fn task(
        &self,
        x: &Bound<'_, PyAny>,
        priority: usize,
        timeout: Option<f64>,
        batch_key: Option<u64>,
        reject: bool,
    ) -> PyResult<PyTask> {
        let opts = RunOptions {
            priority,
            timeout: timeout.map(|t| seconds("timeout", t)).transpose()?,
            batch_key,
        };
        let names = Some(self.outputs.clone());
        Ok(match self.inputs.tensors(x) {
            Ok(inputs) => PyTask::new(self.engine.submit(inputs, opts, reject), names),
            Err(e) => PyTask::failed(e),
        })
    }
}

fn providers(names: Option<Vec<String>>) -> PyResult<Vec<ExecutionProvider>> {
    let Some(names) = names else {
        return Ok(vec![ExecutionProvider::Cpu]);
    };
    names
        .iter()
        .map(|n| match n.to_ascii_lowercase().as_str() {
            "cpu" | "cpuexecutionprovider" => Ok(ExecutionProvider::Cpu),
            "cuda" | "cudaexecutionprovider" => Ok(ExecutionProvider::Cuda { device_id: 0 }),
            other => match other.strip_prefix("cuda:").and_then(|d| d.parse().ok()) {
                Some(device_id) => Ok(ExecutionProvider::Cuda { device_id }),
                None => Err(PyValueError::new_err(format!(
                    "unknown provider {n:?}; expected \"cpu\", \"cuda\" or \"cuda:N\""
                ))),
            },
        })
        .collect()
}

#[pymethods]
impl PyRuntime {
    #[new]
    fn new(built: &Bound<'_, Built>) -> PyResult<Self> {
        let Parts { engine, timeline } =
            built.get().parts.lock().take().ok_or_else(|| {
                PyValueError::new_err("this runtime was already built; use Runtime.onnx or Runtime.sim")
            })?;
        let spec = engine.spec();
        let inputs = InputNames::of(spec);
        let outputs: OutputNames = spec.outputs.iter().map(|t| t.name.clone()).collect();
        Ok(PyRuntime {
            engine,
            inputs,
            outputs,
            timeline,
        })
    }

    /// An ONNX model on ONNX Runtime.
    ///
    /// ``model``: path of the ``.onnx`` file. Engine settings (as in the Rust builder):
    /// ``parallel`` preparation workers, ``depth`` batches in flight per instance,
    /// ``instances`` sessions, ``max_batch`` requests per batch, ``batch_timeout`` seconds a
    /// batch may wait to grow while the device is busy, ``queue_capacity`` requests that may
    /// wait, ``overflow`` (``"wait"``: ``run`` queues beyond it in order; ``"reject"``: the
    /// task fails with ``QueueFullError``), ``preferred_batch_sizes``, ``timeout`` (default
    /// per-request seconds), ``priority_levels``, ``pin_cores``, ``timeline`` (record a trace
    /// for ``write_trace``). ONNX Runtime: ``providers`` (``["cpu"]``, ``["cuda"]``,
    /// ``["cuda:1"]``), ``intra_threads`` per session (default: cores ÷ instances),
    /// ``library_path`` of ``libonnxruntime`` (default: the ``onnxruntime`` package of this
    /// interpreter if it is 1.31 or newer, else one fetched from PyPI into the cache).
    #[classmethod]
    #[pyo3(signature = (model, *, parallel=1, depth=2, instances=1, max_batch=1, batch_timeout=0.0,
        queue_capacity=1024, overflow="wait", preferred_batch_sizes=None, timeout=None,
        priority_levels=1, pin_cores=None, timeline=false, providers=None, intra_threads=None, library_path=None))]
    #[allow(clippy::too_many_arguments)]
    fn onnx<'py>(
        cls: &Bound<'py, PyType>,
        py: Python<'py>,
        model: PathBuf,
        parallel: usize,
        depth: usize,
        instances: usize,
        max_batch: usize,
        batch_timeout: f64,
        queue_capacity: usize,
        overflow: &str,
        preferred_batch_sizes: Option<Vec<usize>>,
        timeout: Option<f64>,
        priority_levels: usize,
        pin_cores: Option<Vec<usize>>,
        timeline: bool,
        providers: Option<Vec<String>>,
        intra_threads: Option<usize>,
        library_path: Option<PathBuf>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let settings = Settings {
            parallel,
            depth,
            instances,
            max_batch,
            batch_timeout,
            queue_capacity,
            overflow: overflow.to_string(),
            preferred_batch_sizes,
            timeout,
            priority_levels,
            pin_cores,
            timeline,
        };
        let providers = self::providers(providers)?;
        // Loading the model can take a while: without the GIL.
        let backend = py.detach(|| {
            let mut b = OnnxBackend::builder(&model)
                .instances(instances)
                .execution_providers(providers);
            if let Some(n) = intra_threads {
                b = b.intra_threads(n);
            }
            if let Some(p) = library_path {
                b = b.library_path(p);
            }
            b.build()
        });
        let backend = py_result(py, backend)?;
        let timeline = settings.new_timeline();
        let builder = settings.apply(Runtime::builder(backend), &timeline)?;
        let runtime = py_result(py, py.detach(|| builder.build()))?;
        construct(cls, Engine::Onnx(runtime), timeline)
    }

    /// The simulated accelerator: ``y = a·x + b`` on float32 ``[1, len]`` arrays, with
    /// separate H2D, compute and D2H engines whose times (seconds) you set: ``prepare`` per
    /// batch on the host, ``h2d``, ``compute`` (+ ``compute_per_item`` per request), ``d2h``.
    /// All zero by default (the zero-delay device: what is left is accelrt's own cost).
    /// ``synchronous``: run the device work in the completion step, like ONNX Runtime on a
    /// CPU. ``model_max_batch``: the largest batch the simulated model takes. ``faults``
    /// injects failures keyed on an input's first element, for testing error handling:
    /// ``invalid_value`` (that input is refused alone), ``fail_value`` (its whole batch
    /// fails), ``fail_item_value`` (it fails alone inside its batch), ``panic_value`` (the
    /// backend panics on its batch), ``fail_every_nth_batch``, ``panic_every_nth_batch``.
    /// The engine settings are ``Runtime.onnx``'s.
    #[classmethod]
    #[pyo3(signature = (*, len=4, a=2.0, b=1.0, model_max_batch=64, prepare=0.0, h2d=0.0, compute=0.0,
        compute_per_item=0.0, d2h=0.0, synchronous=false, faults=None, parallel=1, depth=2, instances=1, max_batch=1,
        batch_timeout=0.0, queue_capacity=1024, overflow="wait", preferred_batch_sizes=None,
        timeout=None, priority_levels=1, pin_cores=None, timeline=false))]
    #[allow(clippy::too_many_arguments)]
    fn sim<'py>(
        cls: &Bound<'py, PyType>,
        py: Python<'py>,
        len: usize,
        a: f32,
        b: f32,
        model_max_batch: usize,
        prepare: f64,
        h2d: f64,
        compute: f64,
        compute_per_item: f64,
        d2h: f64,
        synchronous: bool,
        faults: Option<HashMap<String, f64>>,
        parallel: usize,
        depth: usize,
        instances: usize,
        max_batch: usize,
        batch_timeout: f64,
        queue_capacity: usize,
        overflow: &str,
        preferred_batch_sizes: Option<Vec<usize>>,
        timeout: Option<f64>,
        priority_levels: usize,
        pin_cores: Option<Vec<usize>>,
        timeline: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let settings = Settings {
            parallel,
            depth,
            instances,
            max_batch,
            batch_timeout,
            queue_capacity,
            overflow: overflow.to_string(),
            preferred_batch_sizes,
            timeout,
            priority_levels,
            pin_cores,
            timeline,
        };
        let timeline = settings.new_timeline();
        let config = SimConfig {
            len,
            a,
            b,
            max_batch: model_max_batch,
            prepare: seconds("prepare", prepare)?,
            h2d: CopyModel::fixed(seconds("h2d", h2d)?),
            compute: ComputeModel {
                fixed: seconds("compute", compute)?,
                per_item: seconds("compute_per_item", compute_per_item)?,
            },
            d2h: CopyModel::fixed(seconds("d2h", d2h)?),
            synchronous,
            faults: sim_faults(faults)?,
            // The device's engines record on the runtime's timeline.
            timeline: timeline.clone(),
            ..SimConfig::default()
        };
        let builder = settings.apply(Runtime::builder(py_result(py, SimBackend::try_new(config))?), &timeline)?;
        let runtime = py_result(py, py.detach(|| builder.build()))?;
        construct(cls, Engine::Sim(runtime), timeline)
    }

    /// Queues one request and returns its :class:`Task` at once.
    ///
    /// ``x``: one array (a one-input model), a dict of input name → array, or a list of
    /// arrays in the model's input order. Arrays whose dtype and layout allow it are not
    /// copied (don't write to them until the task is done). ``priority`` (higher first,
    /// up to ``priority_levels - 1``), ``timeout`` (seconds to start, else
    /// ``TimedOutError``), ``batch_key`` (batch only with requests of this key). A bad input
    /// fails its own task with ``InvalidInputError``; it never raises here.
    #[pyo3(signature = (x, *, priority=0, timeout=None, batch_key=None))]
    fn run(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        priority: usize,
        timeout: Option<f64>,
        batch_key: Option<u64>,
    ) -> PyResult<Py<PyTask>> {
        Py::new(py, self.task(x, priority, timeout, batch_key, false)?)
    }

    /// Like ``run``, but a full queue fails the task with ``QueueFullError`` at once, whatever
    /// the overflow policy.
    #[pyo3(signature = (x,))]
    fn try_run(&self, py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<Py<PyTask>> {
        Py::new(py, self.task(x, 0, None, None, true)?)
    }

    /// Counters so far, as a dict (``accelrt.Runtime.stats`` wraps it in :class:`Stats`).
    fn _stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        on_engine!(&self.engine, rt => stats_to_py(py, &rt.stats()))
    }

    /// Starts the counters afresh (after a warm-up, say).
    fn reset_stats(&self) {
        on_engine!(&self.engine, rt => rt.reset_stats())
    }

    /// The model's inputs: a list of ``{"name", "dtype", "shape"}`` (a dynamic dimension is
    /// its name, a string).
    #[getter]
    fn inputs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        spec_to_py(py, &self.engine.spec().inputs)
    }

    /// The model's outputs, like ``inputs``.
    #[getter]
    fn outputs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        spec_to_py(py, &self.engine.spec().outputs)
    }

    /// Stops taking requests (later ``run`` calls fail with ``ShutDownError``), runs
    /// everything already queued, and returns when every request has resolved — True — or,
    /// with ``timeout`` seconds, fails what is still queued then and returns False if
    /// batches were still running. Blocks with the GIL released; Ctrl-C interrupts the wait
    /// (the drain goes on).
    #[pyo3(signature = (timeout=None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let task = PyTask::new(self.shutdown(timeout)?, None);
        block_until_settled(py, task.core(), None)?;
        task.wait(py, None)?.extract(py)
    }

    /// ``close`` for asyncio: an awaitable that resolves to True when everything drained.
    #[pyo3(signature = (timeout=None))]
    fn aclose(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyTask>> {
        Py::new(py, PyTask::new(self.shutdown(timeout)?, None))
    }

    /// The recorded timeline as a Chrome trace (JSON text; open it in https://ui.perfetto.dev).
    /// Needs ``timeline=True`` at build.
    fn trace(&self) -> PyResult<String> {
        self.timeline
            .as_ref()
            .map(Timeline::to_chrome_trace)
            .ok_or_else(|| PyValueError::new_err("no timeline: build the runtime with timeline=True"))
    }

    /// Writes the timeline as a Chrome trace to ``path``.
    fn write_trace(&self, path: PathBuf) -> PyResult<()> {
        let trace = self.trace()?;
        std::fs::write(&path, trace)
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("cannot write {}: {e}", path.display())))
    }

    fn __repr__(&self) -> String {
        let kind = match &self.engine {
            Engine::Onnx(_) => "onnx",
            Engine::Sim(_) => "sim",
        };
        let inputs: Vec<String> = self
            .engine
            .spec()
            .inputs
            .iter()
            .map(|t| format!("{}: {}", t.name, numpy_name(t.dtype)))
            .collect();
        format!("<accelrt.Runtime {kind} ({})>", inputs.join(", "))
    }
}

impl PyRuntime {
    fn shutdown(&self, timeout: Option<f64>) -> PyResult<Box<dyn Pending>> {
        let limit = timeout.map(|t| seconds("timeout", t)).transpose()?;
        let fut = match &self.engine {
            Engine::Onnx(rt) => drain(rt.clone(), limit),
            Engine::Sim(rt) => drain(rt.clone(), limit),
        };
        Ok(Box::new(FuturePending(fut)))
    }
}

fn drain<B: Backend>(
    rt: Runtime<B>,
    limit: Option<Duration>,
) -> futures::future::BoxFuture<'static, accelrt::Result<Out>> {
    async move {
        let finished = match limit {
            Some(l) => rt.shutdown_timeout(l).await,
            None => {
                rt.shutdown().await;
                true
            }
        };
        Ok(Out::Flag(finished))
    }
    .boxed()
}

fn sim_faults(given: Option<HashMap<String, f64>>) -> PyResult<Faults> {
    let mut f = Faults::default();
    for (k, v) in given.unwrap_or_default() {
        let nth = || -> PyResult<Option<u64>> {
            if v >= 1.0 && v.fract() == 0.0 {
                Ok(Some(v as u64))
            } else {
                Err(PyValueError::new_err(format!(
                    "faults[{k:?}] must be a whole number >= 1, got {v}"
                )))
            }
        };
        match k.as_str() {
            "invalid_value" => f.invalid_value = Some(v as f32),
            "fail_value" => f.fail_value = Some(v as f32),
            "fail_item_value" => f.fail_item_value = Some(v as f32),
            "panic_value" => f.panic_value = Some(v as f32),
            "fail_every_nth_batch" => f.fail_every_nth_batch = nth()?,
            "panic_every_nth_batch" => f.panic_every_nth_batch = nth()?,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown fault {other:?}; expected invalid_value, fail_value, fail_item_value, panic_value, \
                     fail_every_nth_batch or panic_every_nth_batch"
                )))
            }
        }
    }
    Ok(f)
}

fn construct<'py>(cls: &Bound<'py, PyType>, engine: Engine, timeline: Option<Timeline>) -> PyResult<Bound<'py, PyAny>> {
    let built = Bound::new(
        cls.py(),
        Built {
            parts: Mutex::new(Some(Parts { engine, timeline })),
        },
    )?;
    cls.call1((built,))
}

impl std::fmt::Debug for PyRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.__repr__())
    }
}
