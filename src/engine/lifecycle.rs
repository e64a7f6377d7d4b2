//! When the engine has stopped: a count of live engine threads and a signal when it reaches
//! zero (or when a shutdown's limit passed with batches still on the device).
//!
//! `tokio::sync::watch` carries the signal: it works on any executor (no tokio runtime is
//! needed to await it) and a late waiter still sees the last value.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    /// A shutdown's limit passed while batches were still in flight.
    GaveUp,
    /// Every engine thread has returned.
    Stopped,
}

pub(crate) struct Lifecycle {
    live: AtomicUsize,
    phase: watch::Sender<Phase>,
}

impl Lifecycle {
    pub fn new() -> Arc<Self> {
        Arc::new(Lifecycle {
            live: AtomicUsize::new(0),
            phase: watch::Sender::new(Phase::Running),
        })
    }

    /// Counts a thread about to start; the guard, moved into it, counts it out when the
    /// thread returns or unwinds.
    pub fn enter(self: &Arc<Self>) -> ThreadGuard {
        self.live.fetch_add(1, Ordering::AcqRel);
        ThreadGuard(self.clone())
    }

    pub fn give_up(&self) {
        self.phase.send_if_modified(|p| {
            let running = *p == Phase::Running;
            if running {
                *p = Phase::GaveUp;
            }
            running
        });
    }

    /// Resolves when the engine stopped, or (with `limit`) also when it gave up. True when
    /// it stopped.
    pub async fn stopped(&self, limit: Option<()>) -> bool {
        let mut rx = self.phase.subscribe();
        let accept = |p: &Phase| *p == Phase::Stopped || (limit.is_some() && *p == Phase::GaveUp);
        let stopped = match rx.wait_for(accept).await {
            Ok(p) => *p == Phase::Stopped,
            Err(_) => true, // the sender lives in `self`: cannot happen while we hold it
        };
        stopped
    }

    /// Blocking [`stopped`](Lifecycle::stopped).
    pub fn wait_stopped(&self, limit: bool) -> bool {
        let mut fut = Box::pin(self.stopped(limit.then_some(())));
        crate::task::block_on(&mut fut, None).unwrap_or(false)
    }
}

pub(crate) struct ThreadGuard(Arc<Lifecycle>);

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.phase.send_replace(Phase::Stopped);
        }
    }
}
