//! Stage workers: a sync stage is `workers` threads; an async stage is one thread running up
//! to `concurrency` futures at once on its own executor (no async runtime needed).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use super::envelope::{Envelope, Meta, Value};
use super::Shared;
use crate::{Error, Result};

pub(crate) type SyncFn = Arc<dyn Fn(Value) -> Result<Value> + Send + Sync>;
pub(crate) type AsyncFn = Arc<dyn Fn(Value) -> BoxFuture<'static, Result<Value>> + Send + Sync>;

pub(crate) enum Kind {
    Sync { workers: usize, f: SyncFn },
    Async { concurrency: usize, f: AsyncFn },
}

/// Counters of one stage.
#[derive(Default)]
pub(crate) struct StageCounters {
    pub items: AtomicU64,
    pub failed: AtomicU64,
    pub busy_ns: AtomicU64,
    pub wait_ns: AtomicU64,
}

impl StageCounters {
    /// Total busy and queue-wait time.
    pub fn durations(&self) -> (Duration, Duration) {
        let d = |c: &AtomicU64| Duration::from_nanos(c.load(Ordering::Relaxed));
        (d(&self.busy_ns), d(&self.wait_ns))
    }
}

/// What a worker needs: its stage, the next stage's queue (none for the last stage).
pub(crate) struct Link {
    pub stage: usize,
    pub next: Option<Sender<Envelope>>,
    pub shared: Arc<Shared>,
    /// Closed when the pipeline is dropped: stop waiting on items and fail them.
    pub stop: Receiver<()>,
}

impl Link {
    fn counters(&self) -> &StageCounters {
        &self.shared.stages[self.stage].counters
    }

    /// An item arrives: `None` if its caller went away or the pipeline is failing its work.
    fn admit(&self, env: Envelope) -> Option<(Value, Meta)> {
        if env.meta.reply.is_cancelled() {
            return None;
        }
        if self.shared.failing.load(Ordering::Acquire) {
            self.fail(env.meta, Error::ShutDown);
            return None;
        }
        let wait = env.meta.queued.elapsed().as_nanos() as u64;
        self.counters().wait_ns.fetch_add(wait, Ordering::Relaxed);
        Some((env.value, env.meta))
    }

    fn fail(&self, meta: Meta, err: Error) {
        self.counters().failed.fetch_add(1, Ordering::Relaxed);
        self.shared.failed.fetch_add(1, Ordering::Relaxed);
        meta.reply.send(Err(err));
    }

    /// Books the work and resolves the item, or returns it for the next stage.
    fn outcome(&self, meta: Meta, started: Instant, result: Result<Value>) -> Option<Envelope> {
        let c = self.counters();
        c.items.fetch_add(1, Ordering::Relaxed);
        c.busy_ns
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        match result {
            Ok(value) if self.next.is_some() => Some(Envelope {
                value,
                meta: Meta {
                    queued: Instant::now(),
                    ..meta
                },
            }),
            Ok(value) => {
                self.shared.completed.fetch_add(1, Ordering::Relaxed);
                self.shared.latency.record(Instant::now(), std::iter::once(meta.born));
                meta.reply.send(Ok(value));
                None
            }
            Err(e) => {
                let name = self.shared.stages[self.stage].name.clone();
                self.fail(meta, e.in_stage(name));
                None
            }
        }
    }
}

fn panic_error(p: Box<dyn std::any::Any + Send>) -> Error {
    Error::StagePanic(crate::error::panic_message(p.as_ref()))
}

pub(crate) fn sync_worker(link: Link, rx: Receiver<Envelope>, f: SyncFn) {
    while let Ok(env) = rx.recv_blocking() {
        let Some((value, meta)) = link.admit(env) else { continue };
        let started = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| f(value))).unwrap_or_else(|p| Err(panic_error(p)));
        if let (Some(env), Some(next)) = (link.outcome(meta, started, result), &link.next) {
            // Blocks while the next stage's queue is full: back-pressure up the pipeline.
            if let Err(async_channel::SendError(env)) = next.send_blocking(env) {
                link.fail(env.meta, Error::ShutDown);
            }
        }
    }
}

pub(crate) fn async_worker(link: Link, rx: Receiver<Envelope>, concurrency: usize, f: AsyncFn) {
    let (link, f) = (&link, &f);
    futures::executor::block_on(rx.for_each_concurrent(concurrency, |env| async move {
        let Some((value, meta)) = link.admit(env) else { return };
        let started = Instant::now();
        // The call happens inside the caught future, so a panic while creating it is caught too.
        let work = AssertUnwindSafe(async move { f(value).await })
            .catch_unwind()
            .map(|r| r.unwrap_or_else(|p| Err(panic_error(p))));
        // On drop the pipeline stops waiting: the work future (and any runtime task in it) is
        // dropped, which cancels what it waited on.
        let stop = link.stop.recv();
        futures::pin_mut!(work, stop);
        let result = match futures::future::select(work, stop).await {
            futures::future::Either::Left((result, _)) => result,
            futures::future::Either::Right(_) => return link.fail(meta, Error::ShutDown),
        };
        if let (Some(env), Some(next)) = (link.outcome(meta, started, result), &link.next) {
            if let Err(async_channel::SendError(env)) = next.send(env).await {
                link.fail(env.meta, Error::ShutDown);
            }
        }
    }));
}
