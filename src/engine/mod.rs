//! The engine: [`Runtime`], the handle users hold, and the threads behind it.
//!
//! ```text
//! run(input) ─► scheduler (one lock: requests by batch key × priority, line for room,
//!               deadlines, per-instance load)
//!            ─► preparation workers ×parallel: take a due batch + a free slot, validate,
//!               prepare, submit (enqueue the device work) under the instance's lock
//!            ─► completion thread ×instances: complete, resolve each Task, slot back
//!            ─► deadline thread: fails requests whose timeout passed
//! ```
//!
//! One thread topology for every backend. Files: `builder.rs` (settings, validation, thread
//! start), `scheduler/` (where requests wait and how batches form), `worker.rs`
//! (preparation and submit), `completion.rs` (completion), `lifecycle.rs` (shutdown),
//! `stats.rs` (counters).

mod builder;
mod completion;
pub(crate) mod lifecycle;
pub(crate) mod scheduler;
pub(crate) mod stats;
mod worker;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub use builder::{Overflow, RuntimeBuilder};
pub use stats::{Latency, PhaseTimes, Stats};

use crate::task::Withdraw;
use crate::{AsyncRuntime, Backend, Error, ModelSpec, Task, Timeline};
use lifecycle::Lifecycle;
use scheduler::{Deadline, Request, Scheduler};
use stats::Counters;

/// Options for one request, for [`Runtime::run_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Priority level: higher runs first, FIFO within a level. Clamped to the runtime's
    /// highest level (see [`RuntimeBuilder::priority_levels`]).
    pub priority: usize,
    /// Fail with [`Error::TimedOut`] if the request has not started this long after `run`.
    /// Overrides the runtime's default timeout. Any duration: one too long to represent
    /// means no timeout.
    pub timeout: Option<Duration>,
    /// Batch only with requests of this key, instead of the backend's
    /// [`batch_key`](Backend::batch_key) for the input.
    pub batch_key: Option<u64>,
}

/// One model on one backend, with the engine that keeps its device busy.
///
/// Cheap to clone (`Arc` inside), `Send + Sync`: call [`run`](AsyncRuntime::run) from any
/// thread. Dropping the last clone never blocks: queued requests fail with
/// [`Error::ShutDown`] at once, batches already in flight finish in the background, and the
/// engine's threads stop by themselves. [`shutdown`](Runtime::shutdown) (async) and
/// [`shutdown_blocking`](Runtime::shutdown_blocking) run everything queued first and wait.
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

/// Dropping it (the last `Runtime` clone) closes the engine; it joins nothing.
struct Handle<B: Backend> {
    shared: Arc<Shared<B>>,
    lifecycle: Arc<Lifecycle>,
}

/// What the engine threads share with the handle. Fields drop in order: slots before the
/// instances they belong to, both before the backend.
pub(crate) struct Shared<B: Backend> {
    pub scheduler: Arc<Scheduler<B::Input, B::Output>>,
    /// Per instance: its free slots. The scheduler counts them, so a worker holding a batch
    /// for instance `i` always finds one here.
    pub slots: Vec<Mutex<Vec<B::Slot>>>,
    /// Per instance: its execution context. Locked by the worker that submits to it (submits
    /// are short: they only enqueue device work).
    pub instances: Vec<Mutex<B::Instance>>,
    pub backend: B,
    pub default_timeout: Option<Duration>,
    pub counters: Counters,
    pub timeline: Option<Timeline>,
}

impl<B: Backend> Shared<B> {
    /// Resolves a request that left the engine without running.
    pub fn reject(&self, req: Request<B::Input, B::Output>, err: Error) {
        self.counters.failed.fetch_add(1, Relaxed);
        req.responder.send(Err(err));
    }

    /// A batch of instance `i` is done and its slot is back in the pool.
    pub fn batch_done(&self, i: usize) {
        self.scheduler.batch_done(i, Instant::now());
    }

    fn enqueue(&self, input: B::Input, opts: RunOptions, reject_when_full: bool) -> Task<B::Output> {
        let called = Instant::now();
        let key = match opts.batch_key {
            Some(k) => k,
            None => match worker::guarded(|| Ok(self.backend.batch_key(&input))) {
                Ok(k) => k,
                Err(e) => return Task::ready(Err(e)),
            },
        };
        // A timeout too long to add to now is no timeout.
        let deadline = opts
            .timeout
            .or(self.default_timeout)
            .and_then(|t| called.checked_add(t).map(|at| Deadline { at, timeout: t }));
        let (responder, task) = Task::channel();
        let queued = self.scheduler.enqueue(reject_when_full, |id| Request {
            id,
            input,
            responder,
            enqueued: called,
            deadline,
            priority: opts.priority,
            key,
            _span: tracing::trace_span!("queued", request = id),
        });
        match queued {
            Ok((slot, id)) => {
                self.counters.submitted.fetch_add(1, Relaxed);
                let owner: Arc<dyn Withdraw> = self.scheduler.clone();
                task.withdrawn_by(owner, slot, id)
            }
            Err(refused) => {
                let (req, err) = *refused;
                req.responder.send(Err(err));
                task
            }
        }
    }
}

impl<B: Backend> Runtime<B> {
    /// Starts configuring a runtime for `backend`; see [`RuntimeBuilder`].
    pub fn builder(backend: B) -> RuntimeBuilder<B> {
        RuntimeBuilder::new(backend)
    }

    /// [`run`](AsyncRuntime::run) with a priority, timeout and/or batch key for this request.
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
        let now = Instant::now();
        // Busy periods, the open ones included (or a continuously busy instance would read
        // as idle), read under the scheduler's lock with the rest of its state.
        let (busy, departures, queued) = shared
            .scheduler
            .with(|s| (s.busy(now), s.departures, (s.len(), s.deadline_entries())));
        let mut stats = shared.counters.snapshot(&busy);
        stats.cancelled = departures.cancelled + shared.counters.cancelled_late.load(Relaxed);
        (stats.queued, stats.pending_deadlines) = queued;
        stats
    }

    /// Starts the counters afresh (after a warm-up, say).
    pub fn reset_stats(&self) {
        let shared = &self.handle.shared;
        shared.counters.reset();
        shared.scheduler.with(|s| {
            s.restart_busy(Instant::now());
            s.departures = Default::default();
        });
    }

    /// The timeline the runtime records into, if one was given to the builder.
    pub fn timeline(&self) -> Option<&Timeline> {
        self.handle.shared.timeline.as_ref()
    }

    /// Stops accepting requests (later `run`s on any clone resolve with
    /// [`Error::ShutDown`]), runs everything already accepted, and resolves once every
    /// request has resolved and the engine's threads have stopped. Runs on any executor.
    pub async fn shutdown(&self) {
        self.handle.close_draining(None);
        self.handle.lifecycle.stopped(None).await;
    }

    /// [`shutdown`](Runtime::shutdown) with a limit: what is still queued `limit` from now
    /// fails with [`Error::ShutDown`]. Resolves `true` when everything finished, `false` if
    /// batches were still on the device at the limit (they finish in the background).
    pub async fn shutdown_timeout(&self, limit: Duration) -> bool {
        let deadline = Instant::now().checked_add(limit);
        self.handle.close_draining(deadline);
        self.handle.lifecycle.stopped(deadline.map(|_| ())).await
    }

    /// [`shutdown`](Runtime::shutdown) for plain synchronous code: blocks until done.
    pub fn shutdown_blocking(&self) {
        self.handle.close_draining(None);
        self.handle.lifecycle.wait_stopped(false);
    }

    /// [`shutdown_timeout`](Runtime::shutdown_timeout) for plain synchronous code.
    pub fn shutdown_blocking_timeout(&self, limit: Duration) -> bool {
        let deadline = Instant::now().checked_add(limit);
        self.handle.close_draining(deadline);
        self.handle.lifecycle.wait_stopped(deadline.is_some())
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
    fn close_draining(&self, deadline: Option<Instant>) {
        self.shared.scheduler.close(true, deadline);
    }
}

impl<B: Backend> Drop for Handle<B> {
    /// Signals and returns: fails what is queued, joins nothing. Batches in flight finish on
    /// the engine's threads, which then stop and drop the backend.
    fn drop(&mut self) {
        for req in self.shared.scheduler.close(false, None) {
            self.shared.reject(req, Error::ShutDown);
        }
    }
}

impl<B: Backend> std::fmt::Debug for Runtime<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (max_batch, instances, closed) = self
            .handle
            .shared
            .scheduler
            .with(|s| (s.policy().max_batch, s.policy().instances, s.is_closed()));
        f.debug_struct("Runtime")
            .field("max_batch", &max_batch)
            .field("instances", &instances)
            .field("closed", &closed)
            .finish()
    }
}
