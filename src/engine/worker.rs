//! Preparation workers: take a free slot, form a batch, validate, `prepare`, hand to the
//! instance.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use super::instance::{dispatch, finish, InFlight, Member, Route, SlotBox};
use super::stats::Counters;
use super::Shared;
use crate::trace::{Phase, Track};
use crate::{Backend, BatchInfo, Error};

/// Worker `k`'s loop; returns when the queue is closed and empty.
pub(crate) fn run<B: Backend>(
    k: usize,
    shared: Arc<Shared<B>>,
    free: Receiver<SlotBox<B>>,
    free_tx: Sender<SlotBox<B>>,
    route: Route<B>,
) {
    let mut rejects = Vec::new();
    // A slot first, then the batch: the batch keeps growing while every slot is busy.
    while let Ok(mut slot) = free.recv() {
        let i = slot.instance;
        let batch = shared
            .queue
            .next_batch(&shared.policy, &|| shared.is_idle(i), &mut rejects);
        for (req, err) in rejects.drain(..) {
            shared.reject(req, err);
        }
        let Some(batch) = batch else {
            let _ = free_tx.send(slot);
            return;
        };
        shared.enter(i);
        let taken = Instant::now();
        let id = shared.next_batch.fetch_add(1, Relaxed) + 1;
        let mut inputs = Vec::with_capacity(batch.len());
        let mut members = Vec::with_capacity(batch.len());
        for req in batch {
            Counters::add(&shared.counters.queue_ns, taken - req.enqueued);
            if let Some(tl) = &shared.timeline {
                tl.record_request(Phase::Queued, id, req.id, req.enqueued, taken);
            }
            let checked = catch_unwind(AssertUnwindSafe(|| shared.backend.validate(&req.input)))
                .unwrap_or_else(|p| Err(Error::from_panic(p)));
            match checked {
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
                    shared.counters.failed.fetch_add(1, Relaxed);
                    req.responder.send(Err(e));
                }
            }
            // req._permit and req._span drop here: the request left the queue.
        }
        if members.is_empty() {
            shared.leave(i);
            let _ = free_tx.send(slot);
            continue;
        }
        let info = BatchInfo {
            id,
            requests: members.iter().map(|m| m.id).collect(),
        };
        let span = tracing::trace_span!("prepare", batch = id, size = members.len(), worker = k);
        let prepared = span.in_scope(|| {
            catch_unwind(AssertUnwindSafe(|| {
                shared.backend.prepare(&mut slot.slot, &info, inputs)
            }))
            .unwrap_or_else(|p| Err(Error::from_panic(p)))
        });
        let done = Instant::now();
        Counters::add(&shared.counters.prepare_ns, done - taken);
        if let Some(tl) = &shared.timeline {
            tl.record(Track::Worker(k), Phase::Prepare, id, taken, done);
        }
        let job = InFlight { slot, info, members };
        match prepared {
            Ok(()) => dispatch(&shared, &route, i, job, &free_tx),
            Err(e) => finish(&shared, job, Err(e), &free_tx),
        }
    }
}
