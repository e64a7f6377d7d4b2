//! A recorded timeline of which engine or thread was busy when.
//!
//! Tests prove overlap on it (the H2D of one batch inside another's compute), and tools export
//! it. Recording is off unless a [`Timeline`] is handed to the runtime builder (or a backend);
//! the runtime and a simulated device can share one, so host and device phases line up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

mod chrome;

/// What was going on during an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// A request waited in the queue.
    Queued,
    /// A preparation worker ran `prepare` for a batch.
    Prepare,
    /// A preparation worker ran `submit` on an instance.
    Submit,
    /// A host-to-device copy.
    H2D,
    /// Kernels.
    Compute,
    /// A device-to-host copy.
    D2H,
    /// A completion thread waited for and read a batch's outputs.
    Complete,
}

impl Phase {
    /// Lower-case name, as in traces.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Prepare => "prepare",
            Phase::Submit => "submit",
            Phase::H2D => "h2d",
            Phase::Compute => "compute",
            Phase::D2H => "d2h",
            Phase::Complete => "complete",
        }
    }
}

/// Who was busy: a thread of the runtime or an engine of the device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Track {
    /// Requests waiting (one interval per request).
    Queue,
    /// Preparation worker `k`.
    Worker(usize),
    /// Instance `i`: its submits (made by the preparation workers).
    Instance(usize),
    /// Instance `i`'s completion thread.
    Completion(usize),
    /// A device engine, e.g. `"h2d"`, `"compute"`, `"d2h"`, `"dma"`.
    Engine(String),
}

/// One busy interval, in time since the timeline's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    /// Who was busy.
    pub track: Track,
    /// Doing what.
    pub phase: Phase,
    /// The batch it was for (for a [`Phase::Queued`] interval: the batch the request joined).
    pub batch: u64,
    /// The request, for per-request phases such as [`Phase::Queued`].
    pub request: Option<u64>,
    /// Start, since the timeline began.
    pub start: Duration,
    /// End, since the timeline began.
    pub end: Duration,
}

impl Interval {
    /// True when the two intervals share some time (touching ends do not count).
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// A shared, thread-safe recorder of [`Interval`]s. Clones record into the same timeline.
#[derive(Clone)]
pub struct Timeline {
    inner: Arc<Inner>,
}

struct Inner {
    epoch: Instant,
    // A plain mutex: recording pushes one element and never waits under the lock.
    intervals: Mutex<Vec<Interval>>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// An empty timeline starting now.
    pub fn new() -> Self {
        Timeline {
            inner: Arc::new(Inner {
                epoch: Instant::now(),
                intervals: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Records that `track` did `phase` for `batch` from `start` to `end`.
    pub fn record(&self, track: Track, phase: Phase, batch: u64, start: Instant, end: Instant) {
        self.push(track, phase, batch, None, start, end);
    }

    /// Records a per-request interval; `batch` is the batch the request joined.
    pub fn record_request(&self, phase: Phase, batch: u64, request: u64, start: Instant, end: Instant) {
        self.push(Track::Queue, phase, batch, Some(request), start, end);
    }

    /// Requests per batch, from the [`Phase::Queued`] intervals: `(batch, requests)` by batch id.
    pub fn batch_sizes(&self) -> Vec<(u64, usize)> {
        let mut sizes = std::collections::BTreeMap::new();
        for i in self.inner.intervals.lock().iter().filter(|i| i.phase == Phase::Queued) {
            *sizes.entry(i.batch).or_insert(0) += 1;
        }
        sizes.into_iter().collect()
    }

    fn push(&self, track: Track, phase: Phase, batch: u64, request: Option<u64>, start: Instant, end: Instant) {
        let epoch = self.inner.epoch;
        let interval = Interval {
            track,
            phase,
            batch,
            request,
            start: start.saturating_duration_since(epoch),
            end: end.saturating_duration_since(epoch),
        };
        self.inner.intervals.lock().push(interval);
    }

    /// A copy of everything recorded so far, sorted by start.
    pub fn intervals(&self) -> Vec<Interval> {
        let mut all = self.inner.intervals.lock().clone();
        all.sort_by_key(|i| (i.start, i.end));
        all
    }

    /// The intervals of one phase, sorted by start.
    pub fn phase(&self, phase: Phase) -> Vec<Interval> {
        self.intervals().into_iter().filter(|i| i.phase == phase).collect()
    }

    /// Forgets everything recorded so far.
    pub fn clear(&self) {
        self.inner.intervals.lock().clear();
    }

    /// The instant the timeline's durations count from.
    pub fn epoch(&self) -> Instant {
        self.inner.epoch
    }
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("intervals", &self.inner.intervals.lock().len())
            .finish()
    }
}

/// Pairs of intervals `(a, b)` with `a` in phase `pa`, `b` in phase `pb`, for different batches,
/// that overlap in time.
pub fn overlapping(intervals: &[Interval], pa: Phase, pb: Phase) -> Vec<(Interval, Interval)> {
    let a: Vec<&Interval> = intervals.iter().filter(|i| i.phase == pa).collect();
    let b: Vec<&Interval> = intervals.iter().filter(|i| i.phase == pb).collect();
    let mut out = Vec::new();
    for x in &a {
        for y in &b {
            if x.batch != y.batch && x.overlaps(y) {
                out.push(((*x).clone(), (*y).clone()));
            }
        }
    }
    out
}
