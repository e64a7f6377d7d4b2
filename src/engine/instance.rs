//! Instance threads: `submit` in batch order, and a completion thread per instance that waits
//! for each slot, splits the outputs and resolves the tasks.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use super::stats::Counters;
use super::Shared;
use crate::task::Responder;
use crate::trace::{Phase, Track};
use crate::{Backend, BatchInfo, Error, Result};

/// A backend slot and the instance it belongs to.
pub(crate) struct SlotBox<B: Backend> {
    pub instance: usize,
    pub slot: B::Slot,
}

/// One request of a batch in flight.
pub(crate) struct Member<O> {
    pub id: u64,
    /// When `run` was called, for the latency.
    pub since: Instant,
    pub responder: Responder<O>,
}

/// A prepared batch on its way through submit and completion.
pub(crate) struct InFlight<B: Backend> {
    pub slot: SlotBox<B>,
    pub info: BatchInfo,
    pub members: Vec<Member<B::Output>>,
}

/// Instance `i`'s submit loop. Spawns and finally joins its completion thread, so the
/// instance outlives every slot's work.
pub(crate) fn run<B: Backend>(
    i: usize,
    shared: Arc<Shared<B>>,
    mut instance: B::Instance,
    jobs: Receiver<InFlight<B>>,
    free_tx: Sender<SlotBox<B>>,
    depth: usize,
) {
    // Bounded by depth: at most `depth` slots of this instance exist, so a send never waits.
    let (done_tx, done_rx) = crossbeam_channel::bounded::<InFlight<B>>(depth);
    let completion = {
        let shared = shared.clone();
        let free_tx = free_tx.clone();
        std::thread::Builder::new()
            .name(format!("accelrt-complete-{i}"))
            .spawn(move || complete_loop(i, shared, done_rx, free_tx))
    };
    let completion = match completion {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::error!(instance = i, error = %e, "cannot start completion thread");
            None
        }
    };
    for mut job in jobs {
        if completion.is_none() {
            finish(
                &shared,
                job,
                Err(Error::Internal("no completion thread".into())),
                &free_tx,
            );
            continue;
        }
        let start = Instant::now();
        let span = tracing::trace_span!("submit", batch = job.info.id, instance = i);
        let submitted = span.in_scope(|| {
            catch_unwind(AssertUnwindSafe(|| {
                shared.backend.submit(&mut instance, &mut job.slot.slot)
            }))
            .unwrap_or_else(|p| Err(Error::from_panic(p)))
        });
        let end = Instant::now();
        Counters::add(&shared.counters.submit_ns, end - start);
        if let Some(tl) = &shared.timeline {
            tl.record(Track::Instance(i), Phase::Submit, job.info.id, start, end);
        }
        match submitted {
            Ok(()) => {
                if let Err(crossbeam_channel::SendError(job)) = done_tx.send(job) {
                    finish(
                        &shared,
                        job,
                        Err(Error::Internal("completion thread is gone".into())),
                        &free_tx,
                    );
                }
            }
            Err(e) => finish(&shared, job, Err(e), &free_tx),
        }
    }
    drop(done_tx);
    if let Some(handle) = completion {
        let _ = handle.join();
    }
    drop(instance);
}

fn complete_loop<B: Backend>(
    i: usize,
    shared: Arc<Shared<B>>,
    done: Receiver<InFlight<B>>,
    free_tx: Sender<SlotBox<B>>,
) {
    for mut job in done {
        let start = Instant::now();
        let span = tracing::trace_span!("complete", batch = job.info.id, instance = i);
        let outputs = span.in_scope(|| {
            catch_unwind(AssertUnwindSafe(|| shared.backend.complete(&mut job.slot.slot)))
                .unwrap_or_else(|p| Err(Error::from_panic(p)))
        });
        let end = Instant::now();
        Counters::add(&shared.counters.complete_ns, end - start);
        if let Some(tl) = &shared.timeline {
            tl.record(Track::Completion(i), Phase::Complete, job.info.id, start, end);
        }
        if outputs.is_ok() {
            let times = catch_unwind(AssertUnwindSafe(|| shared.backend.device_times(&job.slot.slot)));
            if let Ok(Some(t)) = times {
                shared.counters.add_device(t);
            }
        }
        finish(&shared, job, outputs, &free_tx);
    }
}

/// Resolves every member of a batch, returns the slot to the pool, and marks the batch done.
pub(crate) fn finish<B: Backend>(
    shared: &Shared<B>,
    job: InFlight<B>,
    outputs: Result<Vec<B::Output>>,
    free_tx: &Sender<SlotBox<B>>,
) {
    let InFlight { slot, info, members } = job;
    let n = members.len() as u64;
    shared.counters.batches.fetch_add(1, Relaxed);
    shared.counters.batched_requests.fetch_add(n, Relaxed);
    match outputs {
        Ok(outputs) if outputs.len() == members.len() => {
            shared.counters.completed.fetch_add(n, Relaxed);
            shared.counters.latency.record(members.iter().map(|m| m.since));
            for (m, out) in members.into_iter().zip(outputs) {
                m.responder.send(Ok(out));
            }
        }
        other => {
            let err = match other {
                Ok(outputs) => Error::backend_msg(format!(
                    "backend returned {} outputs for a batch of {}",
                    outputs.len(),
                    members.len()
                )),
                Err(e) => e,
            };
            tracing::debug!(batch = info.id, error = %err, "batch failed");
            shared.counters.failed.fetch_add(n, Relaxed);
            for m in members {
                m.responder.send(Err(err.clone()));
            }
        }
    }
    let i = slot.instance;
    // The pool outlives the workers only during shutdown, when nobody needs the slot again.
    let _ = free_tx.send(slot);
    shared.leave(i);
}
