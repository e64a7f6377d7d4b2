//! The scheduler: the one owner of the queue, the instances' load and the deadlines.
//!
//! ```text
//! run ──enqueue──► [ State: requests by batch key × priority, line for room, deadlines, load ]
//!                        │ next (workers)        │ expire (deadline thread)
//!                        ▼                       ▼
//!                  a due batch + an instance     TimedOut / ShutDown
//! completion ──batch_done──► (slot free, instance maybe idle: a worker wakes)
//! task drop / cancel ──withdraw──► (request leaves, its place frees)
//! ```
//!
//! All of it sits behind one lock (`state.rs` holds the transitions as plain functions), and
//! every wake-up is sent after the state change it announces was made under that lock, which
//! the waiter checks under the same lock: a wake-up cannot be lost. `monitor.rs` abstracts
//! the lock so `loom` can check that claim under every interleaving (tests.rs).

mod deadlines;
mod monitor;
mod state;
#[cfg(test)]
mod tests;

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

pub(crate) use monitor::{Cv, Flow, Monitor, PlMonitor, Spin};
pub(crate) use state::{Batch, Deadline, Expiry, Next, Policy, Refused, Request, State};

use crossbeam_utils::CachePadded;

use crate::task::Withdraw;
use crate::Error;

/// The scheduler with its lock. `M` is the lock (parking_lot in production, loom in tests).
///
/// The lock, the id counter and (through the 128-byte alignment) the `Arc`'s reference counts
/// sit on cache lines of their own: every `run` touches all three from the callers' threads
/// while workers and completion threads take the lock, and sharing a line made each of those
/// touches a cache-line transfer.
pub(crate) struct Scheduler<I, O, M = PlMonitor<State<I, O>>> {
    monitor: CachePadded<M>,
    /// The next request's id in `hint`: a spinning worker watches it.
    next_id: CachePadded<Spin>,
    _types: std::marker::PhantomData<fn(I) -> O>,
}

impl<I: Send + 'static, O: Send + 'static, M: Monitor<State<I, O>>> Scheduler<I, O, M> {
    pub fn new(policy: Policy) -> Self {
        Scheduler {
            monitor: CachePadded::new(M::new(State::new(policy))),
            next_id: CachePadded::new(Spin::starting_at(1)),
            _types: std::marker::PhantomData,
        }
    }

    /// Runs `f` on the state under the lock (ids, stats, tests).
    pub fn with<R>(&self, f: impl FnOnce(&mut State<I, O>) -> R) -> R {
        self.monitor.with(f)
    }

    /// Queues a request built by `make` (given its id); `reject_when_full` rejects on a full
    /// queue whatever the policy (`try_run`). Returns the slab slot and id for the
    /// task's withdrawal, or the request and why it was refused.
    pub fn enqueue(
        &self,
        reject_when_full: bool,
        make: impl FnOnce(u64) -> Request<I, O>,
    ) -> Result<(usize, u64), Refused<I, O>> {
        // Built outside the lock (its span, its id): the lock is held for the insertion only.
        let id = self.next_id.hint.fetch_add(1, Relaxed);
        let req = make(id);
        let e = self.monitor.with(|s| s.enqueue(req, reject_when_full))?;
        if e.wake_worker {
            self.monitor.notify_one(Cv::Workers);
        }
        if e.earlier_deadline {
            self.monitor.notify_one(Cv::Timer);
        }
        Ok((e.slot, id))
    }

    /// Blocks until a batch is due for an instance with a free slot and takes it. `done`: a
    /// batch of that instance this worker completed itself, told here under the same lock
    /// (no second acquisition). Requests found expired on the way go to `rejects`; when there
    /// are some and no batch, it returns [`Work::Rejects`] so they are failed now rather than
    /// after a wait.
    pub fn next_batch(
        &self,
        mut done: Option<(usize, Instant)>,
        rejects: &mut Vec<(Request<I, O>, Error)>,
    ) -> Work<I, O> {
        let mut closed = false;
        let (work, more) = self.monitor.wait_on(Cv::Workers, Some(&self.next_id), |s| {
            if let Some((i, at)) = done.take() {
                s.batch_done(i, at);
                closed = s.is_closed();
            }
            match s.next(Instant::now(), rejects) {
                Next::Batch(b) => Flow::Done((Work::Batch(b), s.len() > 0 && s.has_free_slot())),
                Next::Exit => Flow::Done((Work::Exit, false)),
                Next::Wait(_) if !rejects.is_empty() => Flow::Done((Work::Rejects, false)),
                Next::Wait(t) => Flow::Wait(t),
            }
        });
        if more {
            // Another worker may take the rest.
            self.monitor.notify_one(Cv::Workers);
        }
        if closed {
            // As in `batch_done`.
            self.monitor.notify_all(Cv::Timer);
        }
        work
    }

    /// A batch of `instance` is done (its slot is back in the pool) at `now`.
    pub fn batch_done(&self, instance: usize, now: Instant) {
        let (wake, closed) = self.monitor.with(|s| (s.batch_done(instance, now), s.is_closed()));
        // A slot is free, and the instance may be idle: a worker waiting for either may go on.
        if wake {
            self.monitor.notify_one(Cv::Workers);
        }
        if closed {
            // A shutdown with a limit keeps the deadline thread until nothing is in flight.
            self.monitor.notify_all(Cv::Timer);
        }
    }

    /// Blocks until requests expire (or a shutdown's drain deadline passes) and takes them,
    /// with whether the shutdown gave up on batches in flight; `None` once closed and empty.
    #[allow(clippy::type_complexity)]
    pub fn next_expired(&self) -> Option<(Vec<(Request<I, O>, Error)>, bool)> {
        let out = self
            .monitor
            .wait_on(Cv::Timer, None, |s| match s.expire(Instant::now()) {
                Expiry::Expired { failed, gave_up } => Flow::Done(Some((failed, gave_up))),
                Expiry::Exit => Flow::Done(None),
                Expiry::Wait(t) => Flow::Wait(t),
            });
        // Places freed: requests waiting for room may have been admitted.
        self.monitor.notify_one(Cv::Workers);
        out
    }

    /// Stops accepting requests; see [`State::close`]. `drain` with a deadline fails what is
    /// still queued then.
    pub fn close(&self, drain: bool, deadline: Option<Instant>) -> Vec<Request<I, O>> {
        let left = self.monitor.with(|s| {
            if drain {
                s.close_by(deadline);
                Vec::new()
            } else {
                s.close(false)
            }
        });
        self.monitor.notify_all(Cv::Workers);
        self.monitor.notify_all(Cv::Timer);
        left
    }
}

impl<I: Send + 'static, O: Send + 'static, M: Monitor<State<I, O>>> Withdraw for Scheduler<I, O, M> {
    fn withdraw(&self, slot: usize, id: u64) {
        let Some((req, wake)) = self.monitor.with(|s| s.withdraw(slot, id)) else {
            return;
        };
        if wake {
            self.monitor.notify_one(Cv::Workers);
        }
        // Dropped outside the lock: the input may be large.
        drop(req);
    }
}

/// What a preparation worker got from [`Scheduler::next_batch`].
pub(crate) enum Work<I, O> {
    Batch(Batch<I, O>),
    /// Only expired requests, to fail; then ask again.
    Rejects,
    /// Closed and empty: stop.
    Exit,
}
