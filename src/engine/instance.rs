//! Instance threads: `submit` in batch order, and a completion thread per instance that waits
//! for each slot, splits the outputs and resolves the tasks.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

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

/// Where a prepared batch goes to be submitted.
pub(crate) enum Route<B: Backend> {
    /// To its instance's submit thread.
    Thread(Vec<Sender<InFlight<B>>>),
    /// [`Backend::SUBMIT_ON_WORKER`]: the worker submits it itself (the instance behind a
    /// mutex: submits are short and in the order the lock is taken), then hands it to the
    /// instance's completion thread. One thread hand-off less per batch.
    Inline {
        instances: Arc<Vec<Mutex<B::Instance>>>,
        done: Vec<Sender<InFlight<B>>>,
    },
}

impl<B: Backend> Clone for Route<B> {
    fn clone(&self) -> Self {
        match self {
            Route::Thread(txs) => Route::Thread(txs.clone()),
            Route::Inline { instances, done } => Route::Inline {
                instances: instances.clone(),
                done: done.clone(),
            },
        }
    }
}

/// Sends a prepared batch of instance `i` on its way.
pub(crate) fn dispatch<B: Backend>(
    shared: &Shared<B>,
    route: &Route<B>,
    i: usize,
    job: InFlight<B>,
    free_tx: &Sender<SlotBox<B>>,
) {
    match route {
        Route::Thread(txs) => {
            if let Err(crossbeam_channel::SendError(job)) = txs[i].send(job) {
                finish(
                    shared,
                    job,
                    Err(Error::Internal("instance thread is gone".into())),
                    free_tx,
                );
            }
        }
        Route::Inline { instances, done } => submit(shared, i, &mut instances[i].lock(), job, &done[i], free_tx),
    }
}

/// Submits one batch and hands it to the completion thread (or fails it).
fn submit<B: Backend>(
    shared: &Shared<B>,
    i: usize,
    instance: &mut B::Instance,
    mut job: InFlight<B>,
    done: &Sender<InFlight<B>>,
    free_tx: &Sender<SlotBox<B>>,
) {
    let start = Instant::now();
    let span = tracing::trace_span!("submit", batch = job.info.id, instance = i);
    let submitted = span.in_scope(|| {
        catch_unwind(AssertUnwindSafe(|| shared.backend.submit(instance, &mut job.slot.slot)))
            .unwrap_or_else(|p| Err(Error::from_panic(p)))
    });
    let end = Instant::now();
    Counters::add(&shared.counters.submit_ns, end - start);
    if let Some(tl) = &shared.timeline {
        tl.record(Track::Instance(i), Phase::Submit, job.info.id, start, end);
    }
    match submitted {
        // Bounded by depth, like every queue of a slot: the send never waits.
        Ok(()) => {
            if let Err(crossbeam_channel::SendError(job)) = done.send(job) {
                finish(
                    shared,
                    job,
                    Err(Error::Internal("completion thread is gone".into())),
                    free_tx,
                );
            }
        }
        Err(e) => finish(shared, job, Err(e), free_tx),
    }
}

/// Instance `i`'s submit thread (backends that submit on their own thread). Spawns and finally
/// joins its completion thread, so the instance outlives every slot's work.
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
        Ok(handle) => handle,
        Err(e) => {
            tracing::error!(instance = i, error = %e, "cannot start completion thread");
            for job in jobs {
                finish(
                    &shared,
                    job,
                    Err(Error::Internal("no completion thread".into())),
                    &free_tx,
                );
            }
            return;
        }
    };
    for job in jobs {
        submit(&shared, i, &mut instance, job, &done_tx, &free_tx);
    }
    drop(done_tx);
    let _ = completion.join();
    drop(instance);
}

/// Instance `i`'s completion thread: waits for each slot in submit order.
pub(crate) fn complete_loop<B: Backend>(
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
