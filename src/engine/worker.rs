//! Preparation workers: take a due batch and a free slot from the scheduler, validate,
//! `prepare`, `submit` under the instance's lock, and hand the slot to the instance's
//! completion thread (or complete it at once when the backend has finished it already).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Sender;

use super::completion::{complete, finish, InFlight, Member};
use super::scheduler::Work;
use super::stats::Counters;
use super::Shared;
use crate::trace::{Phase, Track};
use crate::{Backend, BatchInfo, Error, Result};

/// Runs `f` and turns a panic into [`Error::BackendPanic`].
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(Error::from_panic(p)))
}

/// Worker `k`'s loop; returns when the scheduler is closed and empty. `done[i]` leads to
/// instance `i`'s completion thread (bounded by depth: only `depth` slots of an instance
/// exist, so a send never waits).
pub(crate) fn run<B: Backend>(k: usize, shared: Arc<Shared<B>>, done: Vec<Sender<InFlight<B>>>) {
    let mut rejects = Vec::new();
    // A batch this worker completed itself, for the scheduler with the next ask.
    let mut finished = None;
    loop {
        let work = shared.scheduler.next_batch(finished.take(), &mut rejects);
        for (req, err) in rejects.drain(..) {
            shared.reject(req, err);
        }
        let batch = match work {
            Work::Batch(b) => b,
            Work::Rejects => continue,
            Work::Exit => return,
        };
        let i = batch.instance;
        let taken = Instant::now();
        let id = shared.counters.next_batch.fetch_add(1, Relaxed) + 1;
        let mut inputs = Vec::with_capacity(batch.requests.len());
        let mut members = Vec::with_capacity(batch.requests.len());
        // Summed here, added once: one atomic add per batch, not per request.
        let mut queued = std::time::Duration::ZERO;
        for req in batch.requests {
            if req.responder.is_cancelled() {
                // Its task went away as the batch formed: nobody wants the result.
                shared.counters.cancelled_late.fetch_add(1, Relaxed);
                continue;
            }
            queued = queued.saturating_add(taken.saturating_duration_since(req.enqueued));
            if let Some(tl) = &shared.timeline {
                tl.record_request(Phase::Queued, id, req.id, req.enqueued, taken);
            }
            match guarded(|| shared.backend.validate(&req.input)) {
                Ok(()) => {
                    inputs.push(req.input);
                    members.push(Member {
                        id: req.id,
                        since: req.enqueued,
                        responder: req.responder,
                    });
                }
                Err(e) => {
                    tracing::debug!(request = req.id, error = %e, "rejected before batching");
                    shared.reject(req, e);
                }
            }
            // req.span drops here: the request left the queue.
        }
        Counters::add(&shared.counters.queue_ns, queued);
        if members.is_empty() {
            shared.batch_done(i);
            continue;
        }
        // The scheduler counted a free slot for this batch, so the pool has one.
        let Some(slot) = shared.slots[i].lock().pop() else {
            let err = Error::Internal(format!("instance {i} has no free slot"));
            for m in members {
                m.responder.send(Err(err.clone()));
            }
            shared.batch_done(i);
            continue;
        };
        let info = BatchInfo {
            id,
            requests: members.iter().map(|m| m.id).collect(),
        };
        let mut job = InFlight {
            instance: i,
            slot,
            info,
            members,
        };
        let span = tracing::trace_span!("prepare", batch = id, size = job.members.len(), worker = k);
        let prepared = span.in_scope(|| guarded(|| shared.backend.prepare(&mut job.slot, &job.info, inputs)));
        let end = Instant::now();
        Counters::add(&shared.counters.prepare_ns, end - taken);
        if let Some(tl) = &shared.timeline {
            tl.record(Track::Worker(k), Phase::Prepare, id, taken, end);
        }
        let submitted = prepared.and_then(|()| submit(&shared, &mut job));
        match submitted {
            // Done already (a device with nothing to wait for): no hand-off.
            Ok(()) if guarded(|| Ok(shared.backend.finished(&job.slot))).unwrap_or(false) => {
                finished = Some((i, complete(&shared, job, Track::Worker(k))));
            }
            Ok(()) => {
                if let Err(crossbeam_channel::SendError(job)) = done[i].send(job) {
                    finish(&shared, job, Err(Error::Internal("completion thread is gone".into())));
                }
            }
            Err(e) => finish(&shared, job, Err(e)),
        }
    }
}

/// Enqueues a prepared batch's device work on its instance. Submits to one instance happen
/// one at a time, in the order its lock is taken; each only enqueues, so the wait is short.
fn submit<B: Backend>(shared: &Shared<B>, job: &mut InFlight<B>) -> Result<()> {
    let i = job.instance;
    let mut instance = shared.instances[i].lock();
    let start = Instant::now();
    let span = tracing::trace_span!("submit", batch = job.info.id, instance = i);
    let submitted = span.in_scope(|| guarded(|| shared.backend.submit(&mut instance, &mut job.slot)));
    drop(instance);
    let end = Instant::now();
    Counters::add(&shared.counters.submit_ns, end - start);
    if let Some(tl) = &shared.timeline {
        tl.record(Track::Instance(i), Phase::Submit, job.info.id, start, end);
    }
    submitted
}
