//! Counters the engine keeps while it runs, and the [`Stats`] snapshot users read.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Lock-free counters, bumped once per request or batch on the engine threads.
pub(crate) struct Counters {
    started: Instant,
    pub submitted: AtomicU64,
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    pub batches: AtomicU64,
    pub batched_requests: AtomicU64,
    pub queue_ns: AtomicU64,
    pub prepare_ns: AtomicU64,
    /// Per instance: time with at least one batch between prepare and completion.
    pub busy_ns: Vec<AtomicU64>,
}

impl Counters {
    pub fn new(instances: usize) -> Self {
        Counters {
            started: Instant::now(),
            submitted: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            batched_requests: AtomicU64::new(0),
            queue_ns: AtomicU64::new(0),
            prepare_ns: AtomicU64::new(0),
            busy_ns: (0..instances).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn add(counter: &AtomicU64, d: Duration) {
        counter.fetch_add(d.as_nanos() as u64, Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        let batches = self.batches.load(Relaxed);
        let batched = self.batched_requests.load(Relaxed);
        let per = |total: u64, n: u64| Duration::from_nanos(total.checked_div(n).unwrap_or(0));
        Stats {
            uptime: self.started.elapsed(),
            submitted: self.submitted.load(Relaxed),
            completed: self.completed.load(Relaxed),
            failed: self.failed.load(Relaxed),
            batches,
            mean_batch: if batches == 0 {
                0.0
            } else {
                batched as f64 / batches as f64
            },
            mean_queue: per(self.queue_ns.load(Relaxed), batched),
            mean_prepare: per(self.prepare_ns.load(Relaxed), batches),
            instance_busy: self
                .busy_ns
                .iter()
                .map(|b| Duration::from_nanos(b.load(Relaxed)))
                .collect(),
        }
    }
}

/// What a runtime has done so far.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Time since the runtime was built.
    pub uptime: Duration,
    /// Requests accepted into the queue.
    pub submitted: u64,
    /// Requests resolved with an output.
    pub completed: u64,
    /// Requests resolved with an error (after they were accepted).
    pub failed: u64,
    /// Batches handed to the backend.
    pub batches: u64,
    /// Mean requests per batch.
    pub mean_batch: f64,
    /// Mean time a request waited in the queue.
    pub mean_queue: Duration,
    /// Mean time of one batch's `prepare`.
    pub mean_prepare: Duration,
    /// Per instance, the time it had at least one batch in flight (prepare to completion).
    pub instance_busy: Vec<Duration>,
}

impl Stats {
    /// Completed requests per second of uptime.
    pub fn throughput(&self) -> f64 {
        self.completed as f64 / self.uptime.as_secs_f64().max(1e-9)
    }
}
