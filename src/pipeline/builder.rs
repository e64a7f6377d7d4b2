//! [`PipelineBuilder`]: stages in order, their types checked at compile time.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;

use super::envelope::{unbox, Value};
use super::stage::{async_worker, sync_worker, Kind, Link, StageCounters};
use super::{Handle, Pipeline, Shared, StageInfo};
use crate::engine::lifecycle::Lifecycle;
use crate::engine::stats::LatencyRecorder;
use crate::{AsyncRuntime, Error, Result};

/// Builds a [`Pipeline`] whose input is `In` and whose last stage so far gives `Cur`.
#[must_use]
pub struct PipelineBuilder<In, Cur> {
    stages: Vec<(String, Kind)>,
    capacity: usize,
    _types: PhantomData<fn(In) -> Cur>,
}

impl<In: Send + 'static> PipelineBuilder<In, In> {
    pub(crate) fn new() -> Self {
        PipelineBuilder {
            stages: Vec::new(),
            capacity: 64,
            _types: PhantomData,
        }
    }
}

impl<In: Send + 'static, Cur: Send + 'static> PipelineBuilder<In, Cur> {
    fn push<Next>(mut self, name: &str, kind: Kind) -> PipelineBuilder<In, Next> {
        self.stages.push((name.to_string(), kind));
        PipelineBuilder {
            stages: self.stages,
            capacity: self.capacity,
            _types: PhantomData,
        }
    }

    /// Capacity of every stage's input queue (default 64): how many items may wait in front of
    /// a stage before the one before it (or `run`) waits.
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.capacity = n;
        self
    }

    /// A synchronous stage run by `workers` threads of its own: CPU work such as decoding.
    /// An `Err` (or a panic) fails that input with an error naming the stage.
    pub fn stage<Next, F>(self, name: &str, workers: usize, f: F) -> PipelineBuilder<In, Next>
    where
        Next: Send + 'static,
        F: Fn(Cur) -> Result<Next> + Send + Sync + 'static,
    {
        let f = Arc::new(move |v: Value| -> Result<Value> { Ok(Box::new(f(unbox::<Cur>(v)?)?)) });
        self.push(name, Kind::Sync { workers, f })
    }

    /// An asynchronous stage with up to `concurrency` calls in flight, driven by an executor
    /// thread of its own. The function may run many tasks on runtimes and await them all
    /// (fan-out, fan-in); it should not rely on a particular async runtime (tokio timers, say).
    pub fn async_stage<Next, F, Fut>(self, name: &str, concurrency: usize, f: F) -> PipelineBuilder<In, Next>
    where
        Next: Send + 'static,
        F: Fn(Cur) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Next>> + Send + 'static,
    {
        let f = Arc::new(move |v: Value| match unbox::<Cur>(v) {
            Ok(v) => f(v).map(|r| r.map(|next| Box::new(next) as Value)).boxed(),
            Err(e) => futures::future::ready(Err(e)).boxed(),
        });
        self.push(name, Kind::Async { concurrency, f })
    }

    /// A stage that runs each item on `runtime` (a model runtime, another pipeline...), with up
    /// to `concurrency` items in flight so the runtime can batch them.
    pub fn runtime<R>(self, name: &str, runtime: R, concurrency: usize) -> PipelineBuilder<In, R::Output>
    where
        R: AsyncRuntime<Input = Cur> + 'static,
    {
        let runtime = Arc::new(runtime);
        self.async_stage(name, concurrency, move |v| runtime.run(v))
    }

    /// Checks the stages and starts their threads.
    pub fn build(self) -> Result<Pipeline<In, Cur>> {
        if self.stages.is_empty() {
            return Err(Error::Config("a pipeline needs at least one stage".into()));
        }
        if self.capacity == 0 {
            return Err(Error::Config("queue_capacity must be at least 1".into()));
        }
        for (i, (name, kind)) in self.stages.iter().enumerate() {
            let n = match kind {
                Kind::Sync { workers, .. } => *workers,
                Kind::Async { concurrency, .. } => *concurrency,
            };
            if n == 0 {
                return Err(Error::Config(format!("stage \"{name}\": needs at least 1 worker")));
            }
            if name.is_empty() || self.stages[..i].iter().any(|(other, _)| other == name) {
                return Err(Error::Config(format!(
                    "stage names must be unique and non-empty: {name:?}"
                )));
            }
        }
        let shared = Arc::new(Shared {
            stages: self
                .stages
                .iter()
                .map(|(name, kind)| StageInfo {
                    name: name.clone(),
                    workers: match kind {
                        Kind::Sync { workers, .. } => *workers,
                        Kind::Async { concurrency, .. } => *concurrency,
                    },
                    counters: StageCounters::default(),
                })
                .collect(),
            failing: AtomicBool::new(false),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            latency: LatencyRecorder::new(),
            started: Instant::now(),
        });
        // One queue in front of each stage: the first unbounded (a full pipeline lines inputs
        // up in order, `try_run` refuses past `capacity`), the others bounded so a slow stage
        // pushes back on the one before it.
        let queues: Vec<_> = (0..self.stages.len())
            .map(|k| {
                if k == 0 {
                    async_channel::unbounded()
                } else {
                    async_channel::bounded(self.capacity)
                }
            })
            .collect();
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let lifecycle = Lifecycle::new();
        let handle = Handle {
            first: queues[0].0.clone(),
            capacity: self.capacity,
            shared: shared.clone(),
            stop,
            lifecycle: lifecycle.clone(),
        };
        // From here, dropping `handle` on an error stops what was started.
        for (k, (name, kind)) in self.stages.into_iter().enumerate() {
            let rx = queues[k].1.clone();
            let next = queues.get(k + 1).map(|q| q.0.clone());
            let link = |next| Link {
                stage: k,
                next,
                shared: shared.clone(),
                stop: stopped.clone(),
            };
            let spawn = |suffix: String, f: Box<dyn FnOnce() + Send>| -> Result<()> {
                let guard = lifecycle.enter();
                std::thread::Builder::new()
                    .name(format!("accelrt-{name}{suffix}"))
                    .spawn(move || {
                        let _guard = guard;
                        f()
                    })
                    .map(drop)
                    .map_err(|e| Error::Internal(format!("cannot start a pipeline thread: {e}")))
            };
            match kind {
                Kind::Sync { workers, f } => {
                    for w in 0..workers {
                        let (link, rx, f) = (link(next.clone()), rx.clone(), f.clone());
                        spawn(format!("-{w}"), Box::new(move || sync_worker(link, rx, f)))?;
                    }
                }
                Kind::Async { concurrency, f } => {
                    let link = link(next.clone());
                    spawn(String::new(), Box::new(move || async_worker(link, rx, concurrency, f)))?;
                }
            }
        }
        // Only workers hold the later queues' senders now: a stage's queue closes when the
        // stage before it has stopped.
        drop(queues);
        Ok(Pipeline {
            handle: Arc::new(handle),
            _types: PhantomData,
        })
    }
}
