//! [`RuntimeBuilder`]: every setting, validated once in `build`.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Semaphore;

use super::instance::{self, Route, SlotBox};
use super::queue::{BatchPolicy, Queue};
use super::stats::Counters;
use super::{worker, Handle, Load, Runtime, Shared};
use crate::{Backend, Error, Result, Timeline};

/// What `run` does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// The task waits for room (back-pressure on whoever awaits it).
    #[default]
    Wait,
    /// The task resolves with [`Error::QueueFull`] at once.
    Reject,
}

/// Settings of a [`Runtime`]; `build` checks them all, so nothing later fails for a setting.
///
/// ```
/// # use accelrt::Runtime;
/// # use accelrt_sim::{SimBackend, SimConfig};
/// let rt = Runtime::builder(SimBackend::new(SimConfig::default()))
///     .parallel(2)      // two preparation workers
///     .depth(3)         // three batches in flight per instance
///     .max_batch(8)
///     .build()?;
/// # Ok::<(), accelrt::Error>(())
/// ```
#[must_use]
pub struct RuntimeBuilder<B: Backend> {
    backend: B,
    parallel: usize,
    depth: usize,
    instances: usize,
    queue_capacity: usize,
    overflow: Overflow,
    max_batch: usize,
    batch_timeout: Duration,
    preferred: Vec<usize>,
    timeout: Option<Duration>,
    priority_levels: usize,
    timeline: Option<Timeline>,
}

impl<B: Backend> RuntimeBuilder<B> {
    pub(crate) fn new(backend: B) -> Self {
        RuntimeBuilder {
            backend,
            parallel: 1,
            depth: 2,
            instances: 1,
            queue_capacity: 1024,
            overflow: Overflow::Wait,
            max_batch: 1,
            batch_timeout: Duration::ZERO,
            preferred: Vec::new(),
            timeout: None,
            priority_levels: 1,
            timeline: None,
        }
    }

    /// Input-preparation workers (default 1; 2 = double buffering).
    pub fn parallel(mut self, n: usize) -> Self {
        self.parallel = n;
        self
    }

    /// Slots per instance: batches that may be in flight at once, from preparation to
    /// completion (default 2). A batch holds its slot from `prepare` to `complete`, so
    /// `depth` ≥ 2 is what overlaps preparation and copies with compute.
    pub fn depth(mut self, n: usize) -> Self {
        self.depth = n;
        self
    }

    /// Model instances, each with its own execution context and threads (default 1).
    pub fn instances(mut self, n: usize) -> Self {
        self.instances = n;
        self
    }

    /// Requests that may wait in the queue (default 1024).
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n;
        self
    }

    /// What `run` does when the queue is full (default [`Overflow::Wait`]).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// The most requests in one batch (default 1). At most the model's own `max_batch`.
    pub fn max_batch(mut self, n: usize) -> Self {
        self.max_batch = n;
        self
    }

    /// How long a batch may wait to grow while the device is busy, counted from its oldest
    /// request (default zero). A request never waits when its instance is idle.
    pub fn batch_timeout(mut self, t: Duration) -> Self {
        self.batch_timeout = t;
        self
    }

    /// Batch sizes the backend runs best: a batch is cut to the largest of them that is
    /// available (default: any size).
    pub fn preferred_batch_sizes(mut self, sizes: impl Into<Vec<usize>>) -> Self {
        self.preferred = sizes.into();
        self
    }

    /// Default per-request timeout: a request that has not started this long after `run`
    /// fails with [`Error::TimedOut`] (default none).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// Number of priority levels, `0..n` (default 1).
    pub fn priority_levels(mut self, n: usize) -> Self {
        self.priority_levels = n;
        self
    }

    /// Records host phases (queued, prepare, submit, complete) into `timeline`.
    pub fn timeline(mut self, timeline: Timeline) -> Self {
        self.timeline = Some(timeline);
        self
    }

    fn check(&self) -> Result<()> {
        let positive = [
            ("parallel", self.parallel),
            ("depth", self.depth),
            ("instances", self.instances),
            ("queue_capacity", self.queue_capacity),
            ("max_batch", self.max_batch),
            ("priority_levels", self.priority_levels),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(Error::Config(format!("{name} must be at least 1")));
            }
        }
        if let Some(model_max) = self.backend.spec().max_batch {
            if self.max_batch > model_max {
                return Err(Error::Config(format!(
                    "max_batch {} exceeds the model's max batch {model_max}",
                    self.max_batch
                )));
            }
        }
        if self.queue_capacity > Semaphore::MAX_PERMITS {
            return Err(Error::Config(format!(
                "queue_capacity {} is too large",
                self.queue_capacity
            )));
        }
        for &p in &self.preferred {
            if p == 0 || p > self.max_batch {
                return Err(Error::Config(format!(
                    "preferred batch size {p} is outside 1..={}",
                    self.max_batch
                )));
            }
        }
        Ok(())
    }

    /// Validates the settings, creates the instances and their slots, and starts the threads.
    pub fn build(mut self) -> Result<Runtime<B>> {
        self.check()?;
        self.preferred.sort_unstable();
        self.preferred.dedup();
        let mut instances = Vec::with_capacity(self.instances);
        // Slots are interleaved across instances, so the first batches spread over all of them.
        let mut slots: Vec<Vec<SlotBox<B>>> = Vec::with_capacity(self.instances);
        for i in 0..self.instances {
            let mut instance = self.backend.new_instance(i)?;
            let mut own = Vec::with_capacity(self.depth);
            for _ in 0..self.depth {
                own.push(SlotBox {
                    instance: i,
                    slot: self.backend.new_slot(&mut instance, self.max_batch)?,
                });
            }
            instances.push(instance);
            slots.push(own);
        }
        let (free_tx, free_rx) = crossbeam_channel::unbounded();
        for _ in 0..self.depth {
            for slot in slots.iter_mut().filter_map(Vec::pop) {
                let _ = free_tx.send(slot);
            }
        }
        let shared = Arc::new(Shared {
            backend: self.backend,
            policy: BatchPolicy {
                max_batch: self.max_batch,
                timeout: self.batch_timeout,
                preferred: self.preferred,
            },
            overflow: self.overflow,
            capacity: self.queue_capacity,
            default_timeout: self.timeout,
            queue: Queue::new(self.priority_levels),
            admission: Arc::new(Semaphore::new(self.queue_capacity)),
            next_request: AtomicU64::new(1),
            next_batch: AtomicU64::new(0),
            load: (0..self.instances).map(|_| Mutex::new(Load::default())).collect(),
            counters: Counters::new(self.instances),
            timeline: self.timeline,
        });
        let handle = Arc::new(Handle {
            shared: shared.clone(),
            threads: Mutex::new(Vec::new()),
        });
        // From here on, dropping `handle` on an error closes and joins what was started.
        let spawn = |name: String, f: Box<dyn FnOnce() + Send>| -> Result<()> {
            let t = std::thread::Builder::new()
                .name(name)
                .spawn(f)
                .map_err(|e| Error::Internal(format!("cannot start an engine thread: {e}")))?;
            handle.threads.lock().push(t);
            Ok(())
        };
        // Every queue between threads is bounded by depth: only `depth` slots of an instance
        // exist, so no send ever waits.
        let route = if B::SUBMIT_ON_WORKER {
            let instances = Arc::new(instances.into_iter().map(Mutex::new).collect::<Vec<_>>());
            let mut done = Vec::with_capacity(instances.len());
            for i in 0..instances.len() {
                let (tx, rx) = crossbeam_channel::bounded(self.depth);
                done.push(tx);
                let (shared, free_tx, keep) = (shared.clone(), free_tx.clone(), instances.clone());
                spawn(
                    format!("accelrt-complete-{i}"),
                    Box::new(move || {
                        instance::complete_loop(i, shared, rx, free_tx);
                        // The last completion thread out drops the instances, after every
                        // slot's work completed.
                        drop(keep);
                    }),
                )?;
            }
            Route::Inline { instances, done }
        } else {
            let mut to_instance = Vec::with_capacity(instances.len());
            for (i, instance) in instances.into_iter().enumerate() {
                let (tx, rx) = crossbeam_channel::bounded(self.depth);
                to_instance.push(tx);
                let (shared, free_tx, depth) = (shared.clone(), free_tx.clone(), self.depth);
                spawn(
                    format!("accelrt-instance-{i}"),
                    Box::new(move || instance::run(i, shared, instance, rx, free_tx, depth)),
                )?;
            }
            Route::Thread(to_instance)
        };
        for k in 0..self.parallel {
            let (shared, free_rx, free_tx, route) = (shared.clone(), free_rx.clone(), free_tx.clone(), route.clone());
            spawn(
                format!("accelrt-prep-{k}"),
                Box::new(move || worker::run(k, shared, free_rx, free_tx, route)),
            )?;
        }
        // Only the workers hold the routes now: when they stop, the threads behind them stop.
        drop(route);
        {
            let shared = shared.clone();
            spawn(
                "accelrt-deadlines".into(),
                Box::new(move || {
                    while let Some(expired) = shared.queue.next_expired() {
                        for (req, err) in expired {
                            shared.reject(req, err);
                        }
                    }
                }),
            )?;
        }
        drop(shared);
        Ok(Runtime { handle })
    }
}
