//! [`RuntimeBuilder`]: every setting, validated once in `build`.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::lifecycle::Lifecycle;
use super::scheduler::{Policy, Scheduler};
use super::stats::Counters;
use super::{completion, worker, Handle, Runtime, Shared};
use crate::{Backend, Error, Result, Timeline};

/// What `run` does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// The request waits in line for room, in order, inside the runtime (whether or not its
    /// task is polled meanwhile); its timeout counts from `run`.
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
    cores: Option<Vec<usize>>,
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
            cores: None,
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

    /// Requests that may wait in the queue for a batch (default 1024). Beyond it, `run`
    /// follows the [`overflow`](RuntimeBuilder::overflow) policy.
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
    /// request (default zero). A request never waits when its instance is idle. Any duration:
    /// one too long to represent means "until the batch is full or the instance idle".
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
    /// fails with [`Error::TimedOut`] (default none). Any duration: one too long to represent
    /// means no timeout.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// Number of priority levels, `0..n` (default 1).
    pub fn priority_levels(mut self, n: usize) -> Self {
        self.priority_levels = n;
        self
    }

    /// Pins the engine's threads (preparation workers, completion threads, the deadline
    /// thread) to these CPU cores, round-robin (default: not pinned). Like BigDL-Nano's
    /// `cores_per_worker`: keeps host preparation off the cores a CPU backend computes on.
    /// `build` fails if a core is not available to the process.
    pub fn pin_cores(mut self, cores: impl Into<Vec<usize>>) -> Self {
        self.cores = Some(cores.into());
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
        for &p in &self.preferred {
            if p == 0 || p > self.max_batch {
                return Err(Error::Config(format!(
                    "preferred batch size {p} is outside 1..={}",
                    self.max_batch
                )));
            }
        }
        if let Some(cores) = &self.cores {
            let ids = core_affinity::get_core_ids().unwrap_or_default();
            if let Some(bad) = cores.iter().find(|c| !ids.iter().any(|id| id.id == **c)) {
                return Err(Error::Config(format!(
                    "pin_cores: core {bad} is not available (this process may use {:?})",
                    ids.iter().map(|id| id.id).collect::<Vec<_>>()
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
        let mut slots = Vec::with_capacity(self.instances);
        for i in 0..self.instances {
            let mut instance = self.backend.new_instance(i)?;
            let mut own = Vec::with_capacity(self.depth);
            for _ in 0..self.depth {
                own.push(self.backend.new_slot(&mut instance, self.max_batch)?);
            }
            instances.push(Mutex::new(instance));
            slots.push(Mutex::new(own));
        }
        let policy = Policy {
            max_batch: self.max_batch,
            timeout: self.batch_timeout,
            preferred: self.preferred,
            capacity: self.queue_capacity,
            reject_when_full: self.overflow == Overflow::Reject,
            levels: self.priority_levels,
            depth: self.depth,
            instances: self.instances,
        };
        let shared = Arc::new(Shared {
            scheduler: Arc::new(Scheduler::new(policy)),
            slots,
            instances,
            backend: self.backend,
            default_timeout: self.timeout,
            counters: Counters::new(self.instances),
            timeline: self.timeline,
        });
        let lifecycle = Lifecycle::new();
        let handle = Arc::new(Handle {
            shared: shared.clone(),
            lifecycle: lifecycle.clone(),
        });
        // From here on, dropping `handle` on an error closes what was started; the threads
        // stop by themselves. Threads are detached: nothing ever joins them on a caller's
        // thread (see Handle's Drop).
        let cores = self
            .cores
            .map(|c| c.into_iter().map(|id| core_affinity::CoreId { id }).collect::<Vec<_>>());
        let mut spawned = 0usize;
        let mut spawn = |name: String, f: Box<dyn FnOnce() + Send>| -> Result<()> {
            let guard = lifecycle.enter();
            let core = cores.as_ref().filter(|c| !c.is_empty()).map(|c| c[spawned % c.len()]);
            spawned += 1;
            std::thread::Builder::new()
                .name(name)
                .spawn(move || {
                    let _guard = guard;
                    if let Some(core) = core {
                        core_affinity::set_for_current(core);
                    }
                    f()
                })
                .map(drop)
                .map_err(|e| Error::Internal(format!("cannot start an engine thread: {e}")))
        };
        let mut done = Vec::with_capacity(self.instances);
        for i in 0..self.instances {
            // Bounded by depth: at most `depth` slots of an instance exist, so no send waits.
            let (tx, rx) = crossbeam_channel::bounded(self.depth);
            done.push(tx);
            let shared = shared.clone();
            spawn(
                format!("accelrt-complete-{i}"),
                Box::new(move || completion::run(i, shared, rx)),
            )?;
        }
        for k in 0..self.parallel {
            let (shared, done) = (shared.clone(), done.clone());
            spawn(
                format!("accelrt-prep-{k}"),
                Box::new(move || worker::run(k, shared, done)),
            )?;
        }
        // Only the workers hold the completion channels now: when they stop, so do the
        // completion threads, after the last batch in flight.
        drop(done);
        {
            let (shared, lifecycle) = (shared.clone(), lifecycle.clone());
            spawn(
                "accelrt-deadlines".into(),
                Box::new(move || {
                    while let Some((expired, gave_up)) = shared.scheduler.next_expired() {
                        for (req, err) in expired {
                            shared.reject(req, err);
                        }
                        if gave_up {
                            lifecycle.give_up();
                        }
                    }
                }),
            )?;
        }
        drop(shared);
        Ok(Runtime { handle })
    }
}
