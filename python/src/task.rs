//! `accelrt.Task`: one request's result, for asyncio and for plain threads.
//!
//! Two halves:
//! - [`Core`] (no Python inside): the Rust task, the result once it arrived, and who to tell.
//!   It is the Rust task's waker: when the engine resolves a request (on an engine thread), the
//!   waker moves the result into the core, wakes the threads blocked in `wait()` (a condvar)
//!   and pushes the task to the event loops that await it ([`Bridge`]). It never takes the
//!   GIL, so engine threads never wait for Python.
//! - [`PyTask`], the Python object: converts the result to numpy (once, on a Python thread),
//!   and implements asyncio's Future protocol (`_asyncio_future_blocking`, `add_done_callback`,
//!   `get_loop`, `result`, `cancel`...), so `await task`, `asyncio.gather(*tasks)` and
//!   `asyncio.wait_for(task, t)` work on it directly, with no wrapper coroutine or
//!   `asyncio.Task` per request.
//!
//! Lock rule: no Python code runs while a [`Core`] or [`PyTask`] lock is held (Python code can
//! switch threads, and the other thread could then block on the lock while holding the GIL).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use accelrt::{Error, Tensor};
use futures::future::BoxFuture;
use parking_lot::{Condvar, Mutex};
use pyo3::exceptions::{PyRuntimeError, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};
use smallvec::SmallVec;

use crate::bridge::Bridge;
use crate::convert::{array_from, outputs_to_py, OutputNames};
use crate::errors::to_py;
use crate::ocr::page_to_py;
use crate::pipeline::Item;

/// How long a blocked `wait()` sleeps before it looks for signals (Ctrl-C). A result wakes it
/// at once; this only bounds how late a `KeyboardInterrupt` can be.
pub(crate) const SIGNAL_TICK: Duration = Duration::from_millis(50);

/// What a finished request gives, before it becomes Python.
pub(crate) enum Out {
    /// An ONNX model's outputs, in model order.
    Tensors(Vec<Tensor>),
    /// The simulator's output.
    Tensor(Tensor),
    /// What a pipeline's last stage gave.
    Item(Item),
    /// One OCR page.
    Page(accelrt_ocr::OcrOutput),
    /// `True` / `False` (a shutdown that finished or gave up).
    Flag(bool),
}

impl From<Vec<Tensor>> for Out {
    fn from(v: Vec<Tensor>) -> Self {
        Out::Tensors(v)
    }
}
impl From<Tensor> for Out {
    fn from(t: Tensor) -> Self {
        Out::Tensor(t)
    }
}
impl From<Item> for Out {
    fn from(i: Item) -> Self {
        Out::Item(i)
    }
}
impl From<accelrt_ocr::OcrOutput> for Out {
    fn from(p: accelrt_ocr::OcrOutput) -> Self {
        Out::Page(p)
    }
}

impl Out {
    fn into_py(self, py: Python<'_>, names: Option<&OutputNames>) -> PyResult<Py<PyAny>> {
        match self {
            Out::Tensors(ts) => outputs_to_py(py, &ts, names.map_or(&[][..], |n| &n[..])),
            Out::Tensor(t) => Ok(array_from(py, &t)?.unbind()),
            Out::Item(item) => item.into_py(py),
            Out::Page(page) => page_to_py(py, page),
            Out::Flag(b) => Ok(pyo3::types::PyBool::new(py, b).to_owned().into_any().unbind()),
        }
    }
}

/// The Rust side of a request in flight: an accelrt task, or any other Rust future.
pub(crate) trait Pending: Send {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<accelrt::Result<Out>>;
    /// Withdraws the request if it has not started (dropping does too).
    fn cancel(&mut self);
}

impl<T: Into<Out> + Send + 'static> Pending for accelrt::Task<T> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<accelrt::Result<Out>> {
        Pin::new(self).poll(cx).map(|r| r.map(Into::into))
    }
    fn cancel(&mut self) {
        accelrt::Task::cancel(self);
    }
}

/// A Rust future (a shutdown, say) as a pending result; cancelling it only stops the waiting.
pub(crate) struct FuturePending(pub BoxFuture<'static, accelrt::Result<Out>>);

impl Pending for FuturePending {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<accelrt::Result<Out>> {
        self.0.as_mut().poll(cx)
    }
    fn cancel(&mut self) {}
}

/// Someone to tell when the request settles: an event loop's or a `Completions`' bridge.
pub(crate) struct Watcher {
    pub bridge: Arc<Bridge>,
    pub task: Py<PyTask>,
}

/// The Python-free half of a task (see the module docs). It is the Rust task's waker.
pub(crate) struct Core {
    state: Mutex<CoreState>,
    /// `SETTLED` / `CANCELLED`, written under `state`'s lock with what they announce, read
    /// without it (`done()` and `cancelled()` are called for every task by asyncio.gather).
    flags: AtomicU8,
    /// Signalled when the request settles; `wait()` sleeps on it (with `state`).
    settled: Condvar,
}

const SETTLED: u8 = 1;
const CANCELLED: u8 = 2;

struct CoreState {
    pending: Option<Box<dyn Pending>>,
    /// The result, until the Python half takes it to convert.
    result: Option<accelrt::Result<Out>>,
    settled: bool,
    watchers: SmallVec<[Watcher; 1]>,
}

/// How a blocking wait ended.
pub(crate) enum Waited {
    Settled,
    /// A signal tick passed (look for Ctrl-C, then wait again).
    Tick,
    TimedOut,
}

impl Core {
    /// A core for `pending`, polled once (which registers it as the waker, or settles it).
    pub fn new(pending: Box<dyn Pending>) -> Arc<Core> {
        let core = Arc::new(Core {
            state: Mutex::new(CoreState {
                pending: Some(pending),
                result: None,
                settled: false,
                watchers: SmallVec::new(),
            }),
            flags: AtomicU8::new(0),
            settled: Condvar::new(),
        });
        core.poll_now();
        core
    }

    /// A core that is settled already.
    pub fn ready(result: accelrt::Result<Out>) -> Arc<Core> {
        Arc::new(Core {
            state: Mutex::new(CoreState {
                pending: None,
                result: Some(result),
                settled: true,
                watchers: SmallVec::new(),
            }),
            flags: AtomicU8::new(SETTLED),
            settled: Condvar::new(),
        })
    }

    /// Polls the Rust task; on a result, settles and tells everyone.
    fn poll_now(self: &Arc<Self>) {
        let watchers = {
            let mut s = self.state.lock();
            let Some(pending) = s.pending.as_mut() else { return };
            let waker = Waker::from(self.clone());
            let Poll::Ready(result) = pending.poll(&mut Context::from_waker(&waker)) else {
                return;
            };
            s.pending = None;
            s.result = Some(result);
            s.settled = true;
            self.flags.store(SETTLED, Ordering::Release);
            std::mem::take(&mut s.watchers)
        };
        self.notify(watchers);
    }

    fn notify(&self, watchers: SmallVec<[Watcher; 1]>) {
        self.settled.notify_all();
        for w in watchers {
            w.bridge.push(w.task);
        }
    }

    pub fn is_settled(&self) -> bool {
        self.flags.load(Ordering::Acquire) & SETTLED != 0
    }

    pub fn is_cancelled(&self) -> bool {
        self.flags.load(Ordering::Acquire) & CANCELLED != 0
    }

    /// Cancels a request that has not settled: it leaves the queue if it has not started.
    /// False when it had settled already.
    pub fn cancel(&self) -> bool {
        let (pending, watchers) = {
            let mut s = self.state.lock();
            if s.settled {
                return false;
            }
            s.settled = true;
            self.flags.store(SETTLED | CANCELLED, Ordering::Release);
            (s.pending.take(), std::mem::take(&mut s.watchers))
        };
        // Outside the lock: withdrawing takes the engine's scheduler lock, and the engine may
        // be waking this core meanwhile.
        if let Some(mut p) = pending {
            p.cancel();
        }
        self.notify(watchers);
        true
    }

    /// Drops the Rust task if it has not settled (dropping withdraws a queued request).
    fn abandon(&self) {
        let pending = self.state.lock().pending.take();
        drop(pending);
    }

    /// Adds a watcher, or pushes it at once when the request has settled.
    pub fn watch(&self, w: Watcher) {
        let mut s = self.state.lock();
        if s.settled {
            drop(s);
            w.bridge.push(w.task);
        } else {
            s.watchers.push(w);
        }
    }

    /// The result (once: the Python half converts it), or `None` for a cancelled request.
    fn take_result(&self) -> Option<accelrt::Result<Out>> {
        self.state.lock().result.take()
    }

    /// Spins briefly (crossbeam's `Backoff`: a few µs of spinning, then yields) while the
    /// request is about to settle, so that a caller waiting on a fast request does not pay a
    /// futex sleep and wake-up (tens of µs on a VM). One thread spins at a time, so threads
    /// waiting together never take every core from the engine. Call it detached.
    pub fn spin(&self) {
        static SPINNING: AtomicBool = AtomicBool::new(false);
        if self.is_settled() || SPINNING.swap(true, Ordering::Acquire) {
            return;
        }
        let backoff = crossbeam_utils::Backoff::new();
        while !self.is_settled() && !backoff.is_completed() {
            backoff.snooze();
        }
        SPINNING.store(false, Ordering::Release);
    }

    /// Blocks until the request settles, `deadline` passes, or a signal tick: call it detached
    /// from the interpreter.
    pub fn wait(&self, deadline: Option<Instant>) -> Waited {
        let mut s = self.state.lock();
        let tick = Instant::now() + SIGNAL_TICK;
        loop {
            if s.settled {
                return Waited::Settled;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Waited::TimedOut;
            }
            if now >= tick {
                return Waited::Tick;
            }
            let until = deadline.map_or(tick, |d| d.min(tick));
            self.settled.wait_until(&mut s, until);
        }
    }
}

impl Wake for Core {
    fn wake(self: Arc<Self>) {
        self.poll_now();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.poll_now();
    }
}

/// The converted result.
enum Outcome {
    Value(Py<PyAny>),
    Error(PyErr),
    Cancelled,
}

/// What only Python threads touch (under the GIL), beside the core.
#[derive(Default)]
struct PyState {
    /// The event loop this task belongs to and its bridge, bound at the first
    /// `get_loop`/`add_done_callback`.
    event_loop: Option<(Py<PyAny>, Arc<Bridge>)>,
    /// `(fn, context)` to call on the loop when the task settles.
    callbacks: Vec<(Py<PyAny>, Py<PyAny>)>,
    /// Registered with the loop's bridge.
    watching: bool,
}

/// The result of one request: await it, `wait()` for it, or look with `done()`.
///
/// It is an asyncio Future-like object: `await task`, `asyncio.gather(*tasks)`,
/// `asyncio.wait_for(task, timeout)` and `asyncio.as_completed` take it as it is. Cancelling
/// it (or the coroutine awaiting it) takes a queued request out of the runtime's queue; a
/// request that already started runs to its end and its result is dropped. Dropping the last
/// reference to an unfinished task cancels it the same way.
#[pyclass(module = "accelrt._native", name = "Task", frozen, weakref)]
pub struct PyTask {
    core: Arc<Core>,
    names: Option<OutputNames>,
    outcome: PyOnceLock<Outcome>,
    state: Mutex<PyState>,
    blocking: AtomicBool,
}

impl PyTask {
    pub(crate) fn new(pending: Box<dyn Pending>, names: Option<OutputNames>) -> PyTask {
        Self::with_core(Core::new(pending), names)
    }

    /// A task that failed before it was queued (bad input, say).
    pub(crate) fn failed(err: Error) -> PyTask {
        Self::with_core(Core::ready(Err(err)), None)
    }

    fn with_core(core: Arc<Core>, names: Option<OutputNames>) -> PyTask {
        PyTask {
            core,
            names,
            outcome: PyOnceLock::new(),
            state: Mutex::new(PyState::default()),
            blocking: AtomicBool::new(false),
        }
    }

    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// The converted result, when settled.
    fn outcome(&self, py: Python<'_>) -> Option<&Outcome> {
        if let Some(o) = self.outcome.get(py) {
            return Some(o);
        }
        if !self.core.is_settled() {
            return None;
        }
        Some(self.outcome.get_or_init(py, || match self.core.take_result() {
            None => Outcome::Cancelled,
            Some(Ok(out)) => match out.into_py(py, self.names.as_ref()) {
                Ok(v) => Outcome::Value(v),
                Err(e) => Outcome::Error(e),
            },
            Some(Err(e)) => Outcome::Error(to_py(py, &e)),
        }))
    }

    /// The result as Python sees it. `asyncio_flavour`: a cancelled task raises
    /// `asyncio.CancelledError` (the Future protocol), else `accelrt.CancelledError`.
    fn settled_result(&self, py: Python<'_>, asyncio_flavour: bool) -> PyResult<Py<PyAny>> {
        match self.outcome(py) {
            Some(Outcome::Value(v)) => Ok(v.clone_ref(py)),
            Some(Outcome::Error(e)) => Err(e.clone_ref(py)),
            Some(Outcome::Cancelled) if asyncio_flavour => Err(asyncio_error(py, "CancelledError", "")),
            Some(Outcome::Cancelled) => Err(to_py(py, &Error::Cancelled)),
            None => Err(asyncio_error(py, "InvalidStateError", "Result is not set.")),
        }
    }

    /// The task's loop, bound now to the running one if it has none.
    fn bound_loop(&self, py: Python<'_>) -> PyResult<(Py<PyAny>, Arc<Bridge>)> {
        if let Some((l, b)) = &self.state.lock().event_loop {
            return Ok((l.clone_ref(py), b.clone()));
        }
        let running = Bridge::for_running_loop(py)?;
        let mut s = self.state.lock();
        let (l, b) = s.event_loop.get_or_insert(running);
        Ok((l.clone_ref(py), b.clone()))
    }

    /// Schedules the done callbacks on the task's loop (on the loop's thread: from a drain, or
    /// a call made there). `scheduler` carries the loop's `call_soon` and a kwargs dict from one
    /// task of a drain to the next (`call_soon` keeps neither).
    pub(crate) fn fire<'py>(
        &self,
        py: Python<'py>,
        slf: &Bound<'py, PyTask>,
        scheduler: &mut Option<(Bound<'py, PyAny>, Bound<'py, PyDict>)>,
    ) {
        let (callbacks, event_loop) = {
            let mut s = self.state.lock();
            (
                std::mem::take(&mut s.callbacks),
                s.event_loop.as_ref().map(|(l, _)| l.clone_ref(py)),
            )
        };
        let Some(event_loop) = event_loop else { return };
        if callbacks.is_empty() {
            return;
        }
        if scheduler.is_none() {
            let Ok(call_soon) = event_loop.bind(py).getattr(pyo3::intern!(py, "call_soon")) else {
                return;
            };
            *scheduler = Some((call_soon, PyDict::new(py)));
        }
        let Some((call_soon, kwargs)) = scheduler.as_ref() else {
            return;
        };
        for (cb, ctx) in callbacks {
            // A loop that closed meanwhile refuses: nothing is waiting on it any more.
            let _ = kwargs
                .set_item(pyo3::intern!(py, "context"), ctx)
                .and_then(|_| call_soon.call((cb, slf), Some(kwargs)));
        }
    }
}

impl Drop for PyTask {
    fn drop(&mut self) {
        // Nobody can see this task's result any more: a queued request leaves the queue.
        self.core.abandon();
    }
}

/// `asyncio`, imported once.
fn asyncio(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static ASYNCIO: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    ASYNCIO
        .get_or_try_init(py, || Ok(py.import("asyncio")?.unbind()))
        .map(|m| m.bind(py))
}

/// `contextvars.copy_context`, looked up once (asyncio captures the caller's context for each
/// done callback, and so do we).
fn copy_context(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static COPY_CONTEXT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    COPY_CONTEXT
        .get_or_try_init(py, || Ok(py.import("contextvars")?.getattr("copy_context")?.unbind()))
        .map(|f| f.bind(py))
}

fn asyncio_error(py: Python<'_>, class: &str, msg: &str) -> PyErr {
    match asyncio(py).and_then(|m| m.getattr(class)).and_then(|c| c.call1((msg,))) {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

/// Seconds from Python as a deadline: `None` or infinity is no limit.
pub(crate) fn deadline_in(timeout: Option<f64>) -> PyResult<Option<Instant>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_nan() || t < 0.0 => Err(PyValueError::new_err(format!(
            "timeout must be a number of seconds >= 0 or None, got {t}"
        ))),
        Some(t) if !t.is_finite() => Ok(None),
        Some(t) => Ok(Duration::try_from_secs_f64(t)
            .ok()
            .and_then(|d| Instant::now().checked_add(d))),
    }
}

/// Blocks, detached from the interpreter, until `core` settles; raises `KeyboardInterrupt`
/// (or whatever a signal handler raises) within a tick of the signal, and `TimeoutError` at
/// the deadline.
pub(crate) fn block_until_settled(py: Python<'_>, core: &Core, deadline: Option<Instant>) -> PyResult<()> {
    let mut first = true;
    loop {
        let waited = py.detach(|| {
            if std::mem::take(&mut first) {
                core.spin();
            }
            core.wait(deadline)
        });
        match waited {
            Waited::Settled => return Ok(()),
            Waited::Tick => py.check_signals()?,
            Waited::TimedOut => return Err(PyTimeoutError::new_err("the task did not finish within the timeout")),
        }
    }
}

#[pymethods]
impl PyTask {
    /// Blocks until the result is there and returns it (raising the request's error), with
    /// the GIL released. ``timeout`` in seconds: ``TimeoutError`` if the task is not done by
    /// then (the request stays queued). Ctrl-C raises ``KeyboardInterrupt`` promptly.
    #[pyo3(signature = (timeout=None))]
    pub(crate) fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let deadline = deadline_in(timeout)?;
        if !self.core.is_settled() {
            block_until_settled(py, &self.core, deadline)?;
        }
        self.settled_result(py, false)
    }

    /// True when the task has a result, an error, or was cancelled.
    fn done(&self) -> bool {
        self.core.is_settled()
    }

    /// True when the task was cancelled.
    fn cancelled(&self) -> bool {
        self.core.is_cancelled()
    }

    /// Cancels the request: a queued request leaves the queue at once (``Runtime.stats()``
    /// counts it as cancelled); one already running finishes and its result is dropped.
    /// Returns False if the task was already done.
    #[pyo3(signature = (msg=None))]
    fn cancel(&self, msg: Option<Py<PyAny>>) -> bool {
        let _ = msg;
        self.core.cancel()
    }

    /// The result of a done task (asyncio's ``Future.result``): raises the request's error,
    /// ``asyncio.CancelledError`` if it was cancelled, ``asyncio.InvalidStateError`` if it is
    /// not done. To block for it, use ``wait()``.
    fn result(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.settled_result(py, true)
    }

    /// The exception of a done task, or None (asyncio's ``Future.exception``).
    fn exception(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match self.outcome(py) {
            Some(Outcome::Value(_)) => Ok(None),
            Some(Outcome::Error(e)) => Ok(Some(e.clone_ref(py).into_value(py).into_any())),
            Some(Outcome::Cancelled) => Err(asyncio_error(py, "CancelledError", "")),
            None => Err(asyncio_error(py, "InvalidStateError", "Exception is not set.")),
        }
    }

    /// Calls ``fn(task)`` on the task's event loop once it is done (asyncio's
    /// ``Future.add_done_callback``; needs a running event loop).
    #[pyo3(signature = (r#fn, *, context=None))]
    fn add_done_callback(
        slf: &Bound<'_, Self>,
        py: Python<'_>,
        r#fn: Py<PyAny>,
        context: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let this = slf.get();
        let (event_loop, bridge) = this.bound_loop(py)?;
        let context = match context {
            Some(c) => c,
            None => copy_context(py)?.call0()?.unbind(),
        };
        if this.core.is_settled() {
            let kwargs = PyDict::new(py);
            kwargs.set_item("context", context)?;
            event_loop.call_method(py, "call_soon", (r#fn, slf), Some(&kwargs))?;
            return Ok(());
        }
        let register = {
            let mut s = this.state.lock();
            s.callbacks.push((r#fn, context));
            !std::mem::replace(&mut s.watching, true)
        };
        if register {
            this.core.watch(Watcher {
                bridge,
                task: slf.clone().unbind(),
            });
        }
        Ok(())
    }

    /// Removes every registration of ``fn``; returns how many there were.
    #[pyo3(signature = (r#fn,))]
    fn remove_done_callback(&self, py: Python<'_>, r#fn: Py<PyAny>) -> PyResult<usize> {
        let callbacks = std::mem::take(&mut self.state.lock().callbacks);
        let mut kept = Vec::with_capacity(callbacks.len());
        let mut removed = 0;
        for (cb, ctx) in callbacks {
            if cb.bind(py).eq(r#fn.bind(py))? {
                removed += 1;
            } else {
                kept.push((cb, ctx));
            }
        }
        let mut s = self.state.lock();
        kept.append(&mut s.callbacks);
        s.callbacks = kept;
        Ok(removed)
    }

    /// The event loop the task belongs to (the running one, if not bound yet).
    fn get_loop(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.bound_loop(py)?.0)
    }

    /// Part of asyncio's Future protocol (set by asyncio while a coroutine awaits the task).
    #[getter(_asyncio_future_blocking)]
    fn asyncio_future_blocking(&self) -> bool {
        self.blocking.load(Ordering::Relaxed)
    }

    #[setter(_asyncio_future_blocking)]
    fn set_asyncio_future_blocking(&self, value: bool) {
        self.blocking.store(value, Ordering::Relaxed);
    }

    fn __await__(slf: &Bound<'_, Self>) -> Awaiting {
        Awaiting {
            task: slf.clone().unbind(),
            yielded: AtomicBool::new(false),
        }
    }

    fn __iter__(slf: &Bound<'_, Self>) -> Awaiting {
        Self::__await__(slf)
    }

    /// ``Task[T]`` in annotations.
    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, PyType>, item: Py<PyAny>) -> Py<PyType> {
        drop(item);
        cls.clone().unbind()
    }

    fn __repr__(&self) -> String {
        let state = if self.core.is_cancelled() {
            "cancelled"
        } else if self.core.is_settled() {
            "done"
        } else {
            "pending"
        };
        format!("<accelrt.Task {state}>")
    }
}

/// The iterator `await task` drives (asyncio's `Future.__await__`): yields the task once for
/// the asyncio Task to wait on, then returns its result.
#[pyclass(module = "accelrt._native", frozen)]
pub struct Awaiting {
    task: Py<PyTask>,
    yielded: AtomicBool,
}

#[pymethods]
impl Awaiting {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let task = self.task.bind(py);
        let this = task.get();
        if this.core.is_settled() {
            let value = this.settled_result(py, true)?;
            return Err(pyo3::exceptions::PyStopIteration::new_err((value,)));
        }
        if self.yielded.swap(true, Ordering::Relaxed) {
            return Err(PyRuntimeError::new_err("await wasn't used with future"));
        }
        this.blocking.store(true, Ordering::Relaxed);
        Ok(task.clone().into_any().unbind())
    }

    #[pyo3(signature = (value,))]
    fn send(&self, py: Python<'_>, value: Py<PyAny>) -> PyResult<Py<PyAny>> {
        drop(value);
        self.__next__(py)
    }
}
