//! Counters the engine keeps while it runs, and the [`Stats`] snapshot users read.
//!
//! Cost: a few relaxed atomic adds per batch and per request, plus one histogram record per
//! request under a mutex that only completion threads take (uncontended with one instance).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;
use parking_lot::Mutex;

use crate::DeviceTimes;

/// Lock-free counters, bumped on the engine threads; latencies go to a histogram.
pub(crate) struct Counters {
    // A mutex: read and reset rarely, never held across a wait.
    started: Mutex<Instant>,
    /// On a cache line of its own: every `run` adds to it from the callers' threads, while the
    /// workers and completion threads write the counters around it.
    pub submitted: CachePadded<AtomicU64>,
    /// Batch ids (not reset with the stats).
    pub next_batch: AtomicU64,
    /// Requests taken for a batch whose task was gone by then (they are skipped, not run).
    pub cancelled_late: AtomicU64,
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    pub batches: AtomicU64,
    pub batched_requests: AtomicU64,
    pub queue_ns: AtomicU64,
    pub prepare_ns: AtomicU64,
    pub submit_ns: AtomicU64,
    pub complete_ns: AtomicU64,
    pub h2d_ns: AtomicU64,
    pub compute_ns: AtomicU64,
    pub d2h_ns: AtomicU64,
    /// Batches whose device times the backend reported.
    pub device_batches: AtomicU64,
    /// From `run` to the result, of requests that completed.
    pub latency: LatencyRecorder,
}

/// A latency histogram in microseconds (shared by runtimes and pipelines).
pub(crate) struct LatencyRecorder {
    // A mutex: recording is a few nanoseconds and nothing waits under it.
    us: Mutex<Histogram<u64>>,
}

impl LatencyRecorder {
    pub fn new() -> Self {
        // 1 µs .. 1 hour at 3 significant digits; `saturating_record` clamps outliers.
        let h = Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant bounds are valid");
        LatencyRecorder { us: Mutex::new(h) }
    }

    /// Records the latencies of requests that started at `since`, ending at `now`.
    pub fn record(&self, now: Instant, since: impl Iterator<Item = Instant>) {
        let mut h = self.us.lock();
        for t in since {
            h.saturating_record((now - t).as_micros() as u64);
        }
    }

    pub fn reset(&self) {
        self.us.lock().reset();
    }

    pub fn snapshot(&self) -> Latency {
        let h = self.us.lock();
        let q = |p: f64| Duration::from_micros(h.value_at_quantile(p));
        Latency {
            count: h.len(),
            mean: Duration::from_micros(h.mean() as u64),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            max: Duration::from_micros(h.max()),
        }
    }
}

impl Counters {
    pub fn new() -> Self {
        let zero = || AtomicU64::new(0);
        Counters {
            started: Mutex::new(Instant::now()),
            submitted: CachePadded::new(zero()),
            next_batch: zero(),
            cancelled_late: zero(),
            completed: zero(),
            failed: zero(),
            batches: zero(),
            batched_requests: zero(),
            queue_ns: zero(),
            prepare_ns: zero(),
            submit_ns: zero(),
            complete_ns: zero(),
            h2d_ns: zero(),
            compute_ns: zero(),
            d2h_ns: zero(),
            device_batches: zero(),
            latency: LatencyRecorder::new(),
        }
    }

    pub fn add(counter: &AtomicU64, d: Duration) {
        counter.fetch_add(d.as_nanos() as u64, Relaxed);
    }

    pub fn add_device(&self, t: DeviceTimes) {
        Self::add(&self.h2d_ns, t.h2d);
        Self::add(&self.compute_ns, t.compute);
        Self::add(&self.d2h_ns, t.d2h);
        self.device_batches.fetch_add(1, Relaxed);
    }

    pub fn reset(&self) {
        for c in [
            &*self.submitted,
            &self.cancelled_late,
            &self.completed,
            &self.failed,
            &self.batches,
            &self.batched_requests,
            &self.queue_ns,
            &self.prepare_ns,
            &self.submit_ns,
            &self.complete_ns,
            &self.h2d_ns,
            &self.compute_ns,
            &self.d2h_ns,
            &self.device_batches,
        ] {
            c.store(0, Relaxed);
        }
        self.latency.reset();
        *self.started.lock() = Instant::now();
    }

    /// A snapshot; `busy` is each instance's busy time (the scheduler keeps it).
    pub fn snapshot(&self, busy: &[Duration]) -> Stats {
        let batches = self.batches.load(Relaxed);
        let batched = self.batched_requests.load(Relaxed);
        let device_batches = self.device_batches.load(Relaxed);
        let per = |c: &AtomicU64, n: u64| Duration::from_nanos(c.load(Relaxed).checked_div(n).unwrap_or(0));
        let uptime = self.started.lock().elapsed();
        let latency = self.latency.snapshot();
        let fraction = |d: Duration| d.as_secs_f64() / uptime.as_secs_f64().max(1e-9);
        let total = |c: &AtomicU64| Duration::from_nanos(c.load(Relaxed));
        let instance_busy = busy.to_vec();
        Stats {
            uptime,
            submitted: self.submitted.load(Relaxed),
            cancelled: 0,
            queued: 0,
            pending_deadlines: 0,
            completed: self.completed.load(Relaxed),
            failed: self.failed.load(Relaxed),
            batches,
            mean_batch: if batches == 0 {
                0.0
            } else {
                batched as f64 / batches as f64
            },
            latency,
            phases: PhaseTimes {
                queue: per(&self.queue_ns, batched),
                prepare: per(&self.prepare_ns, batches),
                submit: per(&self.submit_ns, batches),
                h2d: per(&self.h2d_ns, device_batches),
                compute: per(&self.compute_ns, device_batches),
                d2h: per(&self.d2h_ns, device_batches),
                complete: per(&self.complete_ns, batches),
            },
            instance_busy_fraction: instance_busy.iter().map(|&d| fraction(d)).collect(),
            instance_busy,
            engine_busy_fraction: if device_batches == 0 {
                None
            } else {
                Some([
                    fraction(total(&self.h2d_ns)),
                    fraction(total(&self.compute_ns)),
                    fraction(total(&self.d2h_ns)),
                ])
            },
        }
    }
}

/// Latency from `run` to the result, over completed requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    /// Requests measured.
    pub count: u64,
    /// Mean.
    pub mean: Duration,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Slowest.
    pub max: Duration,
}

/// Where the time goes: mean time per phase. `queue` is per request; the others per batch.
/// Device phases are zero unless the backend reports [`DeviceTimes`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhaseTimes {
    /// Waiting in the queue (per request).
    pub queue: Duration,
    /// `prepare` on a preparation worker.
    pub prepare: Duration,
    /// `submit` (enqueueing the device work), on a preparation worker.
    pub submit: Duration,
    /// Host-to-device copies on the device.
    pub h2d: Duration,
    /// Kernels on the device.
    pub compute: Duration,
    /// Device-to-host copies on the device.
    pub d2h: Duration,
    /// `complete` (waiting for the device and reading outputs).
    pub complete: Duration,
}

/// What a runtime has done since it was built (or since [`Runtime::reset_stats`](crate::Runtime::reset_stats)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Time covered.
    pub uptime: Duration,
    /// Requests accepted into the queue.
    pub submitted: u64,
    /// Requests resolved with an output.
    pub completed: u64,
    /// Requests resolved with an error after they were accepted.
    pub failed: u64,
    /// Requests whose task was dropped or cancelled before they started: they left the
    /// queue without reaching the device.
    pub cancelled: u64,
    /// Requests queued or waiting for room right now.
    pub queued: usize,
    /// Deadlines the scheduler tracks right now: one per queued request that has a timeout
    /// (a request's deadline leaves with it).
    pub pending_deadlines: usize,
    /// Batches handed to the backend.
    pub batches: u64,
    /// Mean requests per batch.
    pub mean_batch: f64,
    /// Latency percentiles of completed requests.
    pub latency: Latency,
    /// Mean time per phase.
    pub phases: PhaseTimes,
    /// Per instance: time with at least one batch in flight (prepare to completion).
    pub instance_busy: Vec<Duration>,
    /// Per instance: `instance_busy` as a fraction of `uptime`.
    pub instance_busy_fraction: Vec<f64>,
    /// H2D, compute and D2H engine time as fractions of `uptime`, when the backend reports
    /// device times (with several instances on one engine this can exceed 1).
    pub engine_busy_fraction: Option<[f64; 3]>,
}

impl Stats {
    /// Completed requests per second.
    pub fn throughput(&self) -> f64 {
        self.completed as f64 / self.uptime.as_secs_f64().max(1e-9)
    }
}
