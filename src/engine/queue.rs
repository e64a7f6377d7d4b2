//! Where a request waits: the bounded, prioritised queue and how batches are taken from it.
//!
//! Admission (the bound) is a semaphore whose permit each queued request carries; this file is
//! the waiting room itself: one FIFO per priority level, the batching policy, and expiry.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

// parking_lot: nothing is awaited under these locks, and its Condvar has `wait_until`.
use parking_lot::{Condvar, Mutex};
use tokio::sync::OwnedSemaphorePermit;

use crate::task::Responder;

/// One queued request.
pub(crate) struct Request<I, O> {
    pub id: u64,
    pub input: I,
    pub responder: Responder<O>,
    pub enqueued: Instant,
    /// When it must have started by, and the timeout that set it (for the error).
    pub deadline: Option<(Instant, Duration)>,
    pub priority: usize,
    /// Holds a place in the bounded queue until the request leaves it.
    pub _permit: OwnedSemaphorePermit,
    /// `queued` span: open while the request waits.
    pub _span: tracing::Span,
}

/// How batches are formed.
#[derive(Debug, Clone)]
pub(crate) struct BatchPolicy {
    pub max_batch: usize,
    /// How long a batch may wait to grow, counted from its oldest request, while the device is
    /// busy. Zero: never wait.
    pub timeout: Duration,
    /// Batch sizes the backend runs best, ascending; empty: any size.
    pub preferred: Vec<usize>,
}

pub(crate) struct Queue<I, O> {
    state: Mutex<State<I, O>>,
    /// Preparation workers wait here for requests (and for a batch to grow).
    ready: Condvar,
    /// The deadline thread waits here for the next deadline.
    deadline_changed: Condvar,
}

struct State<I, O> {
    /// One FIFO per priority level; the highest level is served first.
    levels: Vec<VecDeque<Request<I, O>>>,
    len: usize,
    closed: bool,
    /// Deadlines of queued requests (may hold some of requests that left already).
    deadlines: BinaryHeap<Reverse<Instant>>,
}

/// Requests taken out of the queue without running; resolve them after the lock is released.
pub(crate) type Rejects<I, O> = Vec<(Request<I, O>, crate::Error)>;

impl<I, O> Queue<I, O> {
    pub fn new(levels: usize) -> Self {
        Queue {
            state: Mutex::new(State {
                levels: (0..levels.max(1)).map(|_| VecDeque::new()).collect(),
                len: 0,
                closed: false,
                deadlines: BinaryHeap::new(),
            }),
            ready: Condvar::new(),
            deadline_changed: Condvar::new(),
        }
    }

    /// Queues a request; gives it back (boxed: a rare path) if the queue is closed.
    pub fn push(&self, req: Request<I, O>) -> Result<(), Box<Request<I, O>>> {
        let mut st = self.state.lock();
        if st.closed {
            return Err(Box::new(req));
        }
        if let Some((at, _)) = req.deadline {
            let earliest = st.deadlines.peek().map(|r| r.0);
            st.deadlines.push(Reverse(at));
            if earliest.is_none_or(|e| at < e) {
                self.deadline_changed.notify_one();
            }
        }
        let level = req.priority.min(st.levels.len() - 1);
        st.levels[level].push_back(req);
        st.len += 1;
        drop(st);
        self.ready.notify_one();
        Ok(())
    }

    /// Blocks until a batch is due under `policy`, and takes it. `idle()` tells whether the
    /// device the batch would go to has nothing in flight: then a request goes at once.
    /// Returns `None` once the queue is closed and empty. Cancelled requests are dropped and
    /// expired ones returned in `rejects`.
    pub fn next_batch(
        &self,
        policy: &BatchPolicy,
        idle: &dyn Fn() -> bool,
        rejects: &mut Rejects<I, O>,
    ) -> Option<Vec<Request<I, O>>> {
        let mut st = self.state.lock();
        loop {
            if st.len == 0 {
                if st.closed {
                    return None;
                }
                self.ready.wait(&mut st);
                continue;
            }
            let now = Instant::now();
            let grow_until = st.oldest().map(|t| t + policy.timeout);
            let due = policy.timeout.is_zero()
                || st.closed
                || st.len >= policy.max_batch
                || grow_until.is_none_or(|t| now >= t)
                || idle();
            if due {
                let batch = st.take(policy, now, rejects);
                if batch.is_empty() {
                    continue;
                }
                // Others may be waiting for the rest.
                if st.len > 0 {
                    self.ready.notify_one();
                }
                return Some(batch);
            }
            if let Some(t) = grow_until {
                self.ready.wait_until(&mut st, t);
            }
        }
    }

    /// Wakes workers waiting for a batch to grow: a device became idle.
    pub fn notify_idle(&self) {
        self.ready.notify_all();
    }

    /// Stops accepting requests. Returns what was queued when `drain` is false (to be failed);
    /// with `drain` the workers run it first.
    pub fn close(&self, drain: bool) -> Vec<Request<I, O>> {
        let mut st = self.state.lock();
        st.closed = true;
        let left = if drain {
            Vec::new()
        } else {
            st.len = 0;
            st.levels.iter_mut().flat_map(|l| l.drain(..)).collect()
        };
        drop(st);
        self.ready.notify_all();
        self.deadline_changed.notify_all();
        left
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// Waits for the next deadline and takes the requests that expired, until the queue is
    /// closed (then `None`).
    pub fn next_expired(&self) -> Option<Rejects<I, O>> {
        let mut st = self.state.lock();
        loop {
            if st.closed {
                return None;
            }
            let now = Instant::now();
            let mut passed = false;
            while st.deadlines.peek().is_some_and(|r| r.0 <= now) {
                st.deadlines.pop();
                passed = true;
            }
            if passed {
                let expired = st.remove_expired(now);
                if !expired.is_empty() {
                    return Some(expired);
                }
                continue;
            }
            match st.deadlines.peek().map(|r| r.0) {
                Some(at) => {
                    self.deadline_changed.wait_until(&mut st, at);
                }
                None => self.deadline_changed.wait(&mut st),
            }
        }
    }
}

impl<I, O> State<I, O> {
    fn oldest(&self) -> Option<Instant> {
        self.levels.iter().filter_map(|l| l.front().map(|r| r.enqueued)).min()
    }

    /// Takes up to one batch, highest priority first, FIFO within a level.
    fn take(&mut self, policy: &BatchPolicy, now: Instant, rejects: &mut Rejects<I, O>) -> Vec<Request<I, O>> {
        let available = self.len.min(policy.max_batch);
        let want = policy
            .preferred
            .iter()
            .rev()
            .find(|&&p| p <= available)
            .copied()
            .unwrap_or(available);
        let mut batch = Vec::with_capacity(want);
        for level in self.levels.iter_mut().rev() {
            while batch.len() < want {
                let Some(req) = level.pop_front() else { break };
                self.len -= 1;
                if req.responder.is_cancelled() {
                    continue; // its task is gone: skip it, input never reaches the device
                }
                match req.deadline {
                    Some((at, timeout)) if at <= now => rejects.push((req, crate::Error::TimedOut(timeout))),
                    _ => batch.push(req),
                }
            }
        }
        batch
    }

    fn remove_expired(&mut self, now: Instant) -> Rejects<I, O> {
        let mut out = Vec::new();
        for level in &mut self.levels {
            let mut kept = VecDeque::with_capacity(level.len());
            for req in level.drain(..) {
                match req.deadline {
                    Some((at, timeout)) if at <= now => out.push((req, crate::Error::TimedOut(timeout))),
                    _ if req.responder.is_cancelled() => {}
                    _ => kept.push_back(req),
                }
            }
            *level = kept;
        }
        self.len = self.levels.iter().map(VecDeque::len).sum();
        out
    }
}
