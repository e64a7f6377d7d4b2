//! The engine: [`Runtime`], the handle users hold, and the threads behind it.
//!
//! ```text
//! run(input) ─► admission (semaphore: wait or QueueFull) ─► queue (priority FIFOs)
//!            ─► preparation workers ×parallel: take a free slot, form a batch, validate, prepare
//!            ─► instance thread ×instances: submit, in order
//!            ─► completion thread ×instances: complete, split, resolve each Task
//!            ─► the slot goes back to the free pool
//! ```
//!
//! Files: `builder.rs` (settings, validation, thread start), `queue.rs` (where requests wait),
//! `worker.rs` (preparation), `instance.rs` (submit and completion), `stats.rs` (counters).

mod builder;
mod instance;
mod queue;
pub(crate) mod stats;
mod worker;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{Semaphore, TryAcquireError};

pub use builder::{Overflow, RuntimeBuilder};
pub use stats::{Latency, PhaseTimes, Stats};

use crate::task::Responder;
use crate::{AsyncRuntime, Backend, Error, ModelSpec, Task, Timeline};
use queue::{BatchPolicy, Queue, Request};
use stats::Counters;

/// Options for one request, for [`Runtime::run_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Priority level: higher runs first, FIFO within a level. Clamped to the runtime's
    /// highest level (see [`RuntimeBuilder::priority_levels`]).
    pub priority: usize,
    /// Fail with [`Error::TimedOut`] if the request has not started this long after `run`.
    /// Overrides the runtime's default timeout.
    pub timeout: Option<Duration>,
}

/// One model on one backend, with the engine that keeps its device busy.
///
/// Cheap to clone (`Arc` inside), `Send + Sync`: call [`run`](AsyncRuntime::run) from any
/// thread. When the last clone is dropped, queued requests fail with [`Error::ShutDown`],
/// requests already in flight finish, and the threads are joined;
/// [`shutdown`](Runtime::shutdown) drains the queue first instead.
pub struct Runtime<B: Backend> {
    handle: Arc<Handle<B>>,
}

impl<B: Backend> Clone for Runtime<B> {
    fn clone(&self) -> Self {
        Runtime {
            handle: self.handle.clone(),
        }
    }
}

/// Owns the threads; dropping it (the last `Runtime` clone) shuts the engine down.
struct Handle<B: Backend> {
    shared: Arc<Shared<B>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// What the engine threads share with the handle.
pub(crate) struct Shared<B: Backend> {
    pub backend: B,
    pub policy: BatchPolicy,
    pub overflow: Overflow,
    pub capacity: usize,
    pub default_timeout: Option<Duration>,
    pub queue: Queue<B::Input, B::Output>,
    /// The queue's bound: a queued request holds one permit.
    pub admission: Arc<Semaphore>,
    pub next_request: AtomicU64,
    pub next_batch: AtomicU64,
    /// Per instance: batches between prepare and completion, and since when it is busy.
    pub load: Vec<Mutex<Load>>,
    pub counters: Counters,
    pub timeline: Option<Timeline>,
}

#[derive(Default)]
pub(crate) struct Load {
    pub in_flight: usize,
    pub since: Option<Instant>,
}

impl<B: Backend> Shared<B> {
    /// A batch starts on instance `i`.
    pub fn enter(&self, i: usize) {
        let mut load = self.load[i].lock();
        if load.in_flight == 0 {
            load.since = Some(Instant::now());
        }
        load.in_flight += 1;
    }

    /// A batch of instance `i` is done; wakes batch formation when the instance fell idle.
    pub fn leave(&self, i: usize) {
        let mut load = self.load[i].lock();
        load.in_flight = load.in_flight.saturating_sub(1);
        if load.in_flight == 0 {
            if let Some(since) = load.since.take() {
                Counters::add(&self.counters.busy_ns[i], since.elapsed());
            }
            drop(load);
            if !self.policy.timeout.is_zero() {
                self.queue.notify_idle();
            }
        }
    }

    pub fn is_idle(&self, i: usize) -> bool {
        self.load[i].lock().in_flight == 0
    }

    /// Resolves a request that left the engine without running.
    pub fn reject(&self, req: Request<B::Input, B::Output>, err: Error) {
        self.counters.failed.fetch_add(1, Relaxed);
        req.responder.send(Err(err));
    }

    fn enqueue(self: &Arc<Self>, input: B::Input, opts: RunOptions, reject_when_full: bool) -> Task<B::Output> {
        let reject_when_full = reject_when_full || self.overflow == Overflow::Reject;
        match self.admission.clone().try_acquire_owned() {
            Ok(permit) => {
                let (responder, task) = Task::channel();
                self.push(input, opts, responder, Instant::now(), permit);
                task
            }
            Err(TryAcquireError::Closed) => Task::ready(Err(Error::ShutDown)),
            Err(TryAcquireError::NoPermits) if reject_when_full => Task::ready(Err(Error::QueueFull {
                capacity: self.capacity,
            })),
            Err(TryAcquireError::NoPermits) => {
                // Back-pressure: the task holds the input and joins the queue when there is
                // room, while it is awaited or waited on.
                let shared = self.clone();
                let called = Instant::now();
                Task::admitting(Box::pin(async move {
                    let permit = shared
                        .admission
                        .clone()
                        .acquire_owned()
                        .await
                        .map_err(|_| Error::ShutDown)?;
                    let (responder, task) = Task::channel();
                    shared.push(input, opts, responder, called, permit);
                    Ok(task)
                }))
            }
        }
    }

    fn push(
        &self,
        input: B::Input,
        opts: RunOptions,
        responder: Responder<B::Output>,
        called: Instant,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        let id = self.next_request.fetch_add(1, Relaxed);
        let deadline = opts.timeout.or(self.default_timeout).map(|t| (called + t, t));
        let req = Request {
            id,
            input,
            responder,
            // From the `run` call: time spent waiting for room counts as queueing.
            enqueued: called,
            deadline,
            priority: opts.priority,
            _permit: permit,
            _span: tracing::trace_span!("queued", request = id),
        };
        self.counters.submitted.fetch_add(1, Relaxed);
        if let Err(req) = self.queue.push(req) {
            self.reject(*req, Error::ShutDown);
        }
    }
}

impl<B: Backend> Runtime<B> {
    /// Starts configuring a runtime for `backend`; see [`RuntimeBuilder`].
    pub fn builder(backend: B) -> RuntimeBuilder<B> {
        RuntimeBuilder::new(backend)
    }

    /// [`run`](AsyncRuntime::run) with a priority and/or timeout for this request.
    pub fn run_with(&self, input: B::Input, opts: RunOptions) -> Task<B::Output> {
        self.handle.shared.enqueue(input, opts, false)
    }

    /// The model's description.
    pub fn spec(&self) -> &ModelSpec {
        self.handle.shared.backend.spec()
    }

    /// The backend (for its own settings and recordings).
    pub fn backend(&self) -> &B {
        &self.handle.shared.backend
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        let shared = &self.handle.shared;
        // Busy time is booked when an instance falls idle; add the period still open, or a
        // continuously busy instance would read as idle.
        let open: Vec<Duration> = shared
            .load
            .iter()
            .map(|l| l.lock().since.map_or(Duration::ZERO, |t| t.elapsed()))
            .collect();
        shared.counters.snapshot(&open)
    }

    /// Starts the counters afresh (after a warm-up, say).
    pub fn reset_stats(&self) {
        let shared = &self.handle.shared;
        shared.counters.reset();
        let now = Instant::now();
        for l in &shared.load {
            let mut l = l.lock();
            if l.since.is_some() {
                l.since = Some(now);
            }
        }
    }

    /// The timeline the runtime records into, if one was given to the builder.
    pub fn timeline(&self) -> Option<&Timeline> {
        self.handle.shared.timeline.as_ref()
    }

    /// Stops accepting requests, runs everything already queued, waits for it to finish and
    /// stops the threads. Later `run`s (on any clone) resolve with [`Error::ShutDown`], and so
    /// do tasks still waiting for room in the queue.
    pub fn shutdown(&self) {
        self.handle.close(true);
    }
}

impl<B: Backend> AsyncRuntime for Runtime<B> {
    type Input = B::Input;
    type Output = B::Output;

    fn run(&self, input: B::Input) -> Task<B::Output> {
        self.handle.shared.enqueue(input, RunOptions::default(), false)
    }

    fn try_run(&self, input: B::Input) -> Task<B::Output> {
        self.handle.shared.enqueue(input, RunOptions::default(), true)
    }
}

impl<B: Backend> Handle<B> {
    fn close(&self, drain: bool) {
        let shared = &self.shared;
        shared.admission.close();
        for req in shared.queue.close(drain) {
            shared.reject(req, Error::ShutDown);
        }
        let me = std::thread::current().id();
        let threads = std::mem::take(&mut *self.threads.lock());
        for t in threads {
            // A runtime dropped from its own engine thread (a backend holding a clone of it)
            // must not join itself.
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
    }
}

impl<B: Backend> Drop for Handle<B> {
    fn drop(&mut self) {
        self.close(false);
    }
}

impl<B: Backend> std::fmt::Debug for Runtime<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("max_batch", &self.handle.shared.policy.max_batch)
            .field("instances", &self.handle.shared.load.len())
            .field("closed", &self.handle.shared.queue.is_closed())
            .finish()
    }
}
