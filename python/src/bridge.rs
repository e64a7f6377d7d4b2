//! Where finished tasks go to be picked up by Python: an event loop's [`Bridge`], or a
//! [`Completions`] set that a thread waits on.
//!
//! An engine thread that resolves an awaited task pushes it onto its loop's bridge and, if the
//! bridge was empty, writes one byte to a socket the loop watches (`loop.add_reader`). The
//! loop then runs [`Drain`] on its own thread, which schedules every finished task's done
//! callbacks with `call_soon`, as an asyncio Future would. One wake-up serves every task that
//! finished meanwhile; no thread polls, and the engine thread never takes the GIL.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use pyo3::exceptions::PyTimeoutError;
use pyo3::prelude::*;

use crate::task::{deadline_in, PyTask, Watcher, SIGNAL_TICK};

/// How a bridge tells its reader that tasks are waiting.
enum Signal {
    /// An event loop reads the other end of this socket pair.
    Socket { tx: UnixStream, rx: UnixStream },
    /// A thread waits in [`Completions::get`].
    Cond(Condvar),
}

/// Finished tasks waiting to be picked up.
pub(crate) struct Bridge {
    ready: Mutex<VecDeque<Py<PyTask>>>,
    signal: Signal,
}

impl Bridge {
    /// Queues a finished task; wakes the reader when the queue was empty (a non-empty queue
    /// already has a wake-up on its way).
    pub fn push(&self, task: Py<PyTask>) {
        let first = {
            let mut ready = self.ready.lock();
            ready.push_back(task);
            ready.len() == 1
        };
        match &self.signal {
            Signal::Socket { tx, .. } if first => {
                // Non-blocking: a full socket already holds a wake-up.
                let _ = (&*tx).write(&[1]);
            }
            Signal::Socket { .. } => {}
            Signal::Cond(c) => {
                c.notify_one();
            }
        }
    }

    fn socket_pair() -> std::io::Result<(UnixStream, UnixStream)> {
        let (tx, rx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        Ok((tx, rx))
    }

    /// The event loop running on this thread and its bridge (made the first time).
    ///
    /// `asyncio.get_running_loop()` checks the process id on every call, a `getpid` system
    /// call (about 0.6 µs on a VM), and every task asks once. So each thread remembers the loop
    /// it found last (by address: the registry below keeps it alive) and asyncio's ident of
    /// this thread; while that loop's `_thread_id` still equals it, the loop is running here.
    pub fn for_running_loop(py: Python<'_>) -> PyResult<(Py<PyAny>, Arc<Bridge>)> {
        let (ptr, ident) = LAST_LOOP.with(|c| c.get());
        if ptr != 0 {
            if let Some((event_loop, bridge)) = LOOPS.find_ptr(py, ptr) {
                let here = event_loop
                    .bind(py)
                    .getattr(pyo3::intern!(py, "_thread_id"))
                    .and_then(|t| t.extract::<u64>());
                if matches!(here, Ok(t) if t == ident) {
                    return Ok((event_loop, bridge));
                }
            }
        }
        let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
        let bridge = Self::for_loop(py, &event_loop)?;
        // Only loops that record their thread (asyncio's own do) are remembered.
        let recorded = event_loop
            .getattr(pyo3::intern!(py, "_thread_id"))
            .and_then(|t| t.extract::<u64>());
        let ident = py.import("threading")?.call_method0("get_ident")?.extract::<u64>()?;
        LAST_LOOP.with(|c| {
            c.set(if matches!(recorded, Ok(t) if t == ident) {
                (event_loop.as_ptr() as usize, ident)
            } else {
                (0, 0)
            })
        });
        Ok((event_loop.unbind(), bridge))
    }

    /// The bridge of `event_loop`, made (and registered with `loop.add_reader`) the first time.
    pub fn for_loop(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Bridge>> {
        if let Some(b) = LOOPS.find(event_loop) {
            return Ok(b);
        }
        LOOPS.prune_closed(py);
        let (tx, rx) = Self::socket_pair()?;
        let fd = rx.as_raw_fd();
        let bridge = Arc::new(Bridge {
            ready: Mutex::new(VecDeque::new()),
            signal: Signal::Socket { tx, rx },
        });
        let drain = Py::new(py, Drain { bridge: bridge.clone() })?;
        event_loop.call_method1("add_reader", (fd, drain)).map_err(|e| {
            pyo3::exceptions::PyRuntimeError::new_err(format!(
                "accelrt needs an event loop that supports add_reader (the default loop on Linux and macOS, \
                 uvloop): {}",
                e.value(py)
            ))
        })?;
        LOOPS.add(event_loop, bridge.clone());
        Ok(bridge)
    }

    /// The oldest finished task, waiting for one until `until` (a condvar bridge only; an
    /// event loop's bridge is drained by the loop).
    fn next(&self, until: std::time::Instant) -> Option<Py<PyTask>> {
        let mut ready = self.ready.lock();
        if ready.is_empty() {
            if let Signal::Cond(cond) = &self.signal {
                cond.wait_until(&mut ready, until);
            }
        }
        ready.pop_front()
    }

    /// Runs the done callbacks of every task queued so far (on the loop's thread).
    fn drain(&self, py: Python<'_>) {
        if let Signal::Socket { rx, .. } = &self.signal {
            // Empty the socket first, then the queue: a push after this read finds the queue
            // non-empty (no byte, and we take it below) or empty (a new byte, a new drain).
            let mut buf = [0u8; 256];
            while matches!((&*rx).read(&mut buf), Ok(n) if n > 0) {}
        }
        let tasks = std::mem::take(&mut *self.ready.lock());
        let mut scheduler = None;
        for t in tasks {
            let bound = t.bind(py);
            bound.get().fire(py, bound, &mut scheduler);
        }
    }
}

/// Every loop's bridge. A bridge holds its loop (so a loop's address is never reused while it
/// is listed); bridges of closed loops are dropped when a new loop registers.
struct Loops(Mutex<Vec<(Py<PyAny>, Arc<Bridge>)>>);

static LOOPS: Loops = Loops(Mutex::new(Vec::new()));

thread_local! {
    /// The address of the loop this thread found running last, and asyncio's ident of the
    /// thread (see `Bridge::for_running_loop`). Plain numbers: nothing to drop at thread exit.
    static LAST_LOOP: std::cell::Cell<(usize, u64)> = const { std::cell::Cell::new((0, 0)) };
}

impl Loops {
    fn find(&self, event_loop: &Bound<'_, PyAny>) -> Option<Arc<Bridge>> {
        let ptr = event_loop.as_ptr();
        self.0
            .lock()
            .iter()
            .find(|(l, _)| l.as_ptr() == ptr)
            .map(|(_, b)| b.clone())
    }

    /// The listed loop at `ptr`, if it is still listed (a listed loop is alive, so the
    /// address cannot belong to another object).
    fn find_ptr(&self, py: Python<'_>, ptr: usize) -> Option<(Py<PyAny>, Arc<Bridge>)> {
        self.0
            .lock()
            .iter()
            .find(|(l, _)| l.as_ptr() as usize == ptr)
            .map(|(l, b)| (l.clone_ref(py), b.clone()))
    }

    fn add(&self, event_loop: &Bound<'_, PyAny>, bridge: Arc<Bridge>) {
        self.0.lock().push((event_loop.clone().unbind(), bridge));
    }

    fn prune_closed(&self, py: Python<'_>) {
        // Python is called with the list unlocked (see the lock rule in task.rs).
        let listed: Vec<Py<PyAny>> = self.0.lock().iter().map(|(l, _)| l.clone_ref(py)).collect();
        let closed: Vec<*mut pyo3::ffi::PyObject> = listed
            .iter()
            .filter(|l| {
                l.call_method0(py, "is_closed")
                    .and_then(|c| c.extract::<bool>(py))
                    .unwrap_or(true)
            })
            .map(|l| l.as_ptr())
            .collect();
        if closed.is_empty() {
            return;
        }
        let dropped: Vec<_> = {
            let mut loops = self.0.lock();
            let (gone, kept) = std::mem::take(&mut *loops)
                .into_iter()
                .partition(|(l, _)| closed.contains(&l.as_ptr()));
            *loops = kept;
            gone
        };
        drop(dropped);
    }
}

/// What `loop.add_reader` calls when a bridge has tasks.
#[pyclass(module = "accelrt._native", frozen)]
pub struct Drain {
    bridge: Arc<Bridge>,
}

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) {
        self.bridge.drain(py);
    }
}

/// Tasks handed back as they finish, for threads: ``add`` tasks, then ``get`` blocks (GIL
/// released) until one of them is done and returns it.
#[pyclass(module = "accelrt._native", frozen)]
pub struct Completions {
    bridge: Arc<Bridge>,
    /// Added and not yet handed back.
    outstanding: Mutex<usize>,
}

#[pymethods]
impl Completions {
    #[new]
    fn new() -> Self {
        Completions {
            bridge: Arc::new(Bridge {
                ready: Mutex::new(VecDeque::new()),
                signal: Signal::Cond(Condvar::new()),
            }),
            outstanding: Mutex::new(0),
        }
    }

    /// Watches ``task``: ``get`` returns it once it is done (at once if it is already).
    fn add(&self, task: &Bound<'_, PyTask>) {
        *self.outstanding.lock() += 1;
        task.get().core().watch(Watcher {
            bridge: self.bridge.clone(),
            task: task.clone().unbind(),
        });
    }

    /// The next task that finished, blocking up to ``timeout`` seconds (``None``: no limit);
    /// ``TimeoutError`` when none finished by then. ``LookupError`` when nothing is
    /// outstanding.
    #[pyo3(signature = (timeout=None))]
    fn get(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyTask>> {
        if *self.outstanding.lock() == 0 {
            return Err(pyo3::exceptions::PyLookupError::new_err("no task is outstanding"));
        }
        let deadline = deadline_in(timeout)?;
        loop {
            let got = py.detach(|| {
                let tick = std::time::Instant::now() + SIGNAL_TICK;
                self.bridge.next(deadline.map_or(tick, |d| d.min(tick)))
            });
            if let Some(task) = got {
                *self.outstanding.lock() -= 1;
                return Ok(task);
            }
            if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                return Err(PyTimeoutError::new_err("no task finished within the timeout"));
            }
            py.check_signals()?;
        }
    }

    /// Tasks added and not yet handed back by ``get``.
    fn __len__(&self) -> usize {
        *self.outstanding.lock()
    }
}
