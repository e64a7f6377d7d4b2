//! Pipelines: named stages joined by bounded queues, themselves an [`AsyncRuntime`].
//!
//! A stage is a sync function on its own `workers` threads (CPU work such as decoding), an
//! async function with up to `concurrency` calls in flight (which may itself run many tasks on
//! runtimes and await them: fan-out and fan-in), or any [`AsyncRuntime`] — a model
//! [`Runtime`](crate::Runtime) or another pipeline.
//!
//! ```
//! use accelrt::{AsyncRuntime, Pipeline, Runtime, Tensor};
//! use accelrt_sim::{SimBackend, SimConfig};
//!
//! let model = Runtime::builder(SimBackend::new(SimConfig::default())).max_batch(8).build()?;
//! let pipeline = Pipeline::builder()
//!     .stage("parse", 2, |s: String| {
//!         let v: f32 = s.parse().map_err(|e| accelrt::Error::invalid_input("a number", format!("{s:?} ({e})")))?;
//!         Tensor::new([1, 4], vec![v; 4])
//!     })
//!     .runtime("model", model, 64)
//!     .stage("first", 1, |y: Tensor| Ok(y.as_slice::<f32>()?[0]))
//!     .build()?;
//! assert_eq!(pipeline.run("2.5".to_string()).wait()?, 6.0); // 2·2.5 + 1
//! let err = pipeline.run("x".to_string()).wait().unwrap_err();
//! assert!(err.to_string().starts_with("stage \"parse\""));
//! # Ok::<(), accelrt::Error>(())
//! ```
//!
//! Files: `builder.rs` (stages and their types), `stage.rs` (worker loops), `envelope.rs`
//! (what travels between stages).

mod builder;
mod envelope;
mod stage;

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_channel::{Sender, TrySendError};

pub use builder::PipelineBuilder;

use crate::engine::lifecycle::Lifecycle;
use crate::engine::stats::LatencyRecorder;
use crate::{AsyncRuntime, Error, Latency, Task};
use envelope::{Envelope, Meta, Typed};
use stage::StageCounters;

/// A chain of stages that turns an `In` into an `Out`; see the [module docs](self).
///
/// Cheap to clone. Dropping the last clone never blocks: items still waiting, and items an
/// async or runtime stage is waiting on, fail with [`Error::ShutDown`] at once (their tasks
/// on inner runtimes are dropped, which takes them out of those queues); a sync stage
/// finishes the item it is on. [`shutdown`](Pipeline::shutdown) runs everything already
/// accepted first.
pub struct Pipeline<In, Out> {
    handle: Arc<Handle>,
    _types: PhantomData<fn(In) -> Out>,
}

impl<In, Out> Clone for Pipeline<In, Out> {
    fn clone(&self) -> Self {
        Pipeline {
            handle: self.handle.clone(),
            _types: PhantomData,
        }
    }
}

struct Handle {
    /// The first stage's queue: unbounded, because a full pipeline lines new inputs up in
    /// order (`try_run` refuses beyond `capacity` instead); the queues between stages are
    /// bounded and push back.
    first: Sender<Envelope>,
    capacity: usize,
    shared: Arc<Shared>,
    /// Closed on drop: async stages stop waiting for their items and fail them.
    stop: Sender<()>,
    lifecycle: Arc<Lifecycle>,
}

pub(crate) struct Shared {
    pub stages: Vec<StageInfo>,
    /// Set when the pipeline is dropped: workers fail what is left instead of running it.
    pub failing: AtomicBool,
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    pub latency: LatencyRecorder,
    pub started: Instant,
}

pub(crate) struct StageInfo {
    pub name: String,
    pub workers: usize,
    pub counters: StageCounters,
}

/// One stage's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StageStats {
    /// The stage's name.
    pub name: String,
    /// Worker threads (sync stage) or calls in flight (async stage).
    pub workers: usize,
    /// Items it handled.
    pub items: u64,
    /// Items it failed.
    pub failed: u64,
    /// Time spent running the stage function, summed over items.
    pub busy: Duration,
    /// Time items waited in the stage's queue, summed.
    pub queue_wait: Duration,
}

/// What a pipeline has done.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PipelineStats {
    /// Time since it was built.
    pub uptime: Duration,
    /// Inputs resolved with an output.
    pub completed: u64,
    /// Inputs resolved with an error.
    pub failed: u64,
    /// Latency from `run` to the output.
    pub latency: Latency,
    /// Per stage, in order.
    pub stages: Vec<StageStats>,
}

impl PipelineStats {
    /// Completed inputs per second.
    pub fn throughput(&self) -> f64 {
        self.completed as f64 / self.uptime.as_secs_f64().max(1e-9)
    }
}

impl Pipeline<(), ()> {
    /// Starts a pipeline whose input is `In`; add stages, then `build`.
    pub fn builder<In: Send + 'static>() -> PipelineBuilder<In, In> {
        PipelineBuilder::new()
    }
}

impl<In: Send + 'static, Out: Send + 'static> Pipeline<In, Out> {
    fn enqueue(&self, input: In, reject_when_full: bool) -> Task<Out> {
        let (responder, task) = Task::channel();
        let now = Instant::now();
        let env = Envelope {
            value: Box::new(input),
            meta: Meta {
                reply: Box::new(Typed(responder)),
                born: now,
                queued: now,
            },
        };
        if reject_when_full && self.handle.first.len() >= self.handle.capacity {
            env.meta.reply.send(Err(Error::QueueFull {
                capacity: self.handle.capacity,
            }));
            return task;
        }
        match self.handle.first.try_send(env) {
            Ok(()) => task,
            Err(TrySendError::Closed(env) | TrySendError::Full(env)) => {
                env.meta.reply.send(Err(Error::ShutDown));
                task
            }
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> PipelineStats {
        let shared = &self.handle.shared;
        PipelineStats {
            uptime: shared.started.elapsed(),
            completed: shared.completed.load(Ordering::Relaxed),
            failed: shared.failed.load(Ordering::Relaxed),
            latency: shared.latency.snapshot(),
            stages: shared
                .stages
                .iter()
                .map(|s| {
                    let (busy, queue_wait) = s.counters.durations();
                    StageStats {
                        name: s.name.clone(),
                        workers: s.workers,
                        items: s.counters.items.load(Ordering::Relaxed),
                        failed: s.counters.failed.load(Ordering::Relaxed),
                        busy,
                        queue_wait,
                    }
                })
                .collect(),
        }
    }

    /// Stops accepting inputs (later `run`s resolve with [`Error::ShutDown`]), runs everything
    /// already accepted through all stages, and resolves when the stage threads have stopped.
    /// Runs on any executor.
    pub async fn shutdown(&self) {
        self.handle.first.close();
        self.handle.lifecycle.stopped(None).await;
    }

    /// [`shutdown`](Pipeline::shutdown) for plain synchronous code: blocks until done.
    pub fn shutdown_blocking(&self) {
        self.handle.first.close();
        self.handle.lifecycle.wait_stopped(false);
    }
}

impl<In: Send + 'static, Out: Send + 'static> AsyncRuntime for Pipeline<In, Out> {
    type Input = In;
    type Output = Out;

    fn run(&self, input: In) -> Task<Out> {
        self.enqueue(input, false)
    }

    fn try_run(&self, input: In) -> Task<Out> {
        self.enqueue(input, true)
    }
}

impl Drop for Handle {
    /// Signals and returns; the stage threads wind down by themselves.
    fn drop(&mut self) {
        self.shared.failing.store(true, Ordering::Release);
        // Closing the first queue lets each stage drain (failing what it meets) and stop,
        // which closes the next one.
        self.first.close();
        self.stop.close();
    }
}

impl<In, Out> std::fmt::Debug for Pipeline<In, Out> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.handle.shared.stages.iter().map(|s| s.name.as_str()).collect();
        f.debug_struct("Pipeline").field("stages", &names).finish()
    }
}
