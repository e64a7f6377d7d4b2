//! Completion threads, one per instance: wait for each slot in submit order, resolve every
//! request of its batch, give the slot back, and tell the scheduler. A batch the backend has
//! [`finished`](crate::Backend::finished) by the end of `submit` is completed the same way on
//! the worker that submitted it.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Receiver;

use super::stats::Counters;
use super::worker::guarded;
use super::Shared;
use crate::task::Responder;
use crate::trace::{Phase, Track};
use crate::{Backend, BatchInfo, Error, Result};

/// One request of a batch in flight.
pub(crate) struct Member<O> {
    pub id: u64,
    /// When `run` was called, for the latency.
    pub since: Instant,
    pub responder: Responder<O>,
}

/// A batch holding a slot of `instance`, from prepare to completion.
pub(crate) struct InFlight<B: Backend> {
    pub instance: usize,
    pub slot: B::Slot,
    pub info: BatchInfo,
    pub members: Vec<Member<B::Output>>,
}

/// Instance `i`'s completion thread; returns when every worker has gone (the channel closed)
/// and the last batch is done.
pub(crate) fn run<B: Backend>(i: usize, shared: Arc<Shared<B>>, jobs: Receiver<InFlight<B>>) {
    for job in jobs {
        let now = complete(&shared, job, Track::Completion(i));
        shared.scheduler.batch_done(i, now);
    }
}

/// Waits for a batch's results, resolves its requests and returns its slot to the pool;
/// `track` is where the timeline records it (the completion thread's, or the worker's that
/// completed it at once). The caller tells the scheduler the batch is done; returns when.
pub(crate) fn complete<B: Backend>(shared: &Shared<B>, mut job: InFlight<B>, track: Track) -> Instant {
    let start = Instant::now();
    let span = tracing::trace_span!("complete", batch = job.info.id, instance = job.instance);
    let outputs = span.in_scope(|| guarded(|| shared.backend.complete(&mut job.slot)));
    let end = Instant::now();
    Counters::add(&shared.counters.complete_ns, end - start);
    if let Some(tl) = &shared.timeline {
        tl.record(track, Phase::Complete, job.info.id, start, end);
    }
    if outputs.is_ok() {
        if let Ok(Some(t)) = guarded(|| Ok(shared.backend.device_times(&job.slot))) {
            shared.counters.add_device(t);
        }
    }
    resolve(shared, job, outputs, end);
    end
}

/// Resolves every member of a batch (one result each, or the batch's error), returns the
/// slot to its pool, and tells the scheduler the batch is done.
pub(crate) fn finish<B: Backend>(shared: &Shared<B>, job: InFlight<B>, outputs: Result<Vec<Result<B::Output>>>) {
    let i = job.instance;
    let now = Instant::now();
    resolve(shared, job, outputs, now);
    shared.scheduler.batch_done(i, now);
}

/// [`finish`] but for telling the scheduler; `now` is when the results came.
fn resolve<B: Backend>(shared: &Shared<B>, job: InFlight<B>, outputs: Result<Vec<Result<B::Output>>>, now: Instant) {
    let InFlight {
        instance,
        slot,
        info,
        members,
    } = job;
    let n = members.len() as u64;
    shared.counters.batches.fetch_add(1, Relaxed);
    shared.counters.batched_requests.fetch_add(n, Relaxed);
    let outputs = match outputs {
        Ok(outputs) if outputs.len() == members.len() => Ok(outputs),
        Ok(outputs) => Err(Error::backend_msg(format!(
            "backend returned {} outputs for a batch of {}",
            outputs.len(),
            members.len()
        ))),
        Err(e) => Err(e),
    };
    match outputs {
        Ok(outputs) => {
            let ok = members.iter().zip(&outputs).filter(|(_, o)| o.is_ok());
            shared.counters.latency.record(now, ok.map(|(m, _)| m.since));
            let done = outputs.iter().filter(|o| o.is_ok()).count() as u64;
            shared.counters.completed.fetch_add(done, Relaxed);
            shared.counters.failed.fetch_add(n - done, Relaxed);
            for (m, out) in members.into_iter().zip(outputs) {
                if let Err(e) = &out {
                    tracing::debug!(batch = info.id, request = m.id, error = %e, "request failed");
                }
                m.responder.send(out);
            }
        }
        Err(err) => {
            tracing::debug!(batch = info.id, error = %err, "batch failed");
            shared.counters.failed.fetch_add(n, Relaxed);
            for m in members {
                m.responder.send(Err(err.clone()));
            }
        }
    }
    // Back in the pool before the scheduler counts it free.
    shared.slots[instance].lock().push(slot);
}
