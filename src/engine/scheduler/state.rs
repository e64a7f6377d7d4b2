//! The scheduler's state and its transitions, as plain functions with no threads and no locks.
//!
//! Everything a batching decision depends on lives here, in one place: the queued requests
//! (by batch key and priority), the line of requests waiting for room, the deadlines, and
//! each instance's load. The [`Scheduler`](super::Scheduler) wraps it in one lock; tests call
//! these functions directly.
//!
//! Requests live in a slab; the FIFOs hold `(slot, id)` references. A request that leaves from
//! the middle of a FIFO (withdrawn, expired) leaves a stale reference behind, skipped when it
//! reaches the front and compacted away when stale references outnumber live ones. Deadlines
//! (`deadlines.rs`) are removed when their request leaves, so nothing outlives the request it
//! describes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use slab::Slab;

use super::deadlines::{Deadlines, Held, Place};
use crate::task::Responder;
use crate::Error;

/// When a request must have started by, and the timeout that set it (for the error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline {
    pub at: Instant,
    pub timeout: Duration,
}

/// One request, from `run` until it joins a batch (or leaves without running).
pub(crate) struct Request<I, O> {
    pub id: u64,
    pub input: I,
    pub responder: Responder<O>,
    /// When `run` was called: time spent waiting for room counts as queueing.
    pub enqueued: Instant,
    pub deadline: Option<Deadline>,
    /// Priority level, already clamped to the runtime's levels.
    pub priority: usize,
    /// Requests are batched only with requests of the same key.
    pub key: u64,
    /// `queued` span: open while the request waits.
    pub _span: tracing::Span,
}

/// How batches are formed and how many requests may queue.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub max_batch: usize,
    /// How long a batch may wait to grow while its instance is busy, counted from its oldest
    /// request. Zero: never wait. Too long to add to an instant: wait for a full batch or an
    /// idle instance only.
    pub timeout: Duration,
    /// Batch sizes the backend runs best, ascending; empty: any size.
    pub preferred: Vec<usize>,
    /// Requests that may be queued (eligible for batches) at once.
    pub capacity: usize,
    /// A full queue rejects new requests (`QueueFull`) instead of lining them up for room.
    pub reject_when_full: bool,
    /// Priority levels `0..levels`.
    pub levels: usize,
    /// Slots per instance.
    pub depth: usize,
    pub instances: usize,
}

/// A batch taken for an instance, which now holds one of its slots.
pub(crate) struct Batch<I, O> {
    pub instance: usize,
    pub requests: Vec<Request<I, O>>,
}

/// What a preparation worker should do next.
pub(crate) enum Next<I, O> {
    Batch(Batch<I, O>),
    /// Nothing is due: wait for a change, or until this instant at the latest.
    Wait(Option<Instant>),
    /// Closed and nothing left: the worker stops.
    Exit,
}

/// What the deadline thread should do next.
pub(crate) enum Expiry<I, O> {
    /// These requests left without running; fail them. `gave_up`: a shutdown's limit passed
    /// with batches still in flight.
    Expired {
        failed: Vec<(Request<I, O>, Error)>,
        gave_up: bool,
    },
    Wait(Option<Instant>),
    Exit,
}

/// One instance's load.
#[derive(Debug, Clone, Default)]
pub(crate) struct Load {
    /// Batches between being taken and being done; the instance's other `depth - in_flight`
    /// slots are free.
    pub in_flight: usize,
    /// Since when it has had a batch in flight.
    pub busy_since: Option<Instant>,
    /// Busy periods already closed (since the last stats reset). Kept here, under the same
    /// lock as `busy_since`, so a reader never sees a period in neither.
    pub busy: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ref {
    slot: usize,
    id: u64,
}

struct Entry<I, O> {
    req: Request<I, O>,
    /// In its key's FIFO (counts against capacity), rather than in the line for room.
    admitted: bool,
    /// Where the deadline index holds its deadline.
    held: Place,
}

impl<I, O> Held for Entry<I, O> {
    fn place(&mut self) -> &mut Place {
        &mut self.held
    }

    fn at(&self) -> Instant {
        // Only entries with a deadline are held.
        self.req.deadline.map_or(self.req.enqueued, |d| d.at)
    }
}

/// FIFOs of references, one per priority level, with live and stale counts.
#[derive(Default)]
struct Fifos {
    levels: Vec<VecDeque<Ref>>,
    live: usize,
    stale: usize,
}

impl Fifos {
    fn new(levels: usize) -> Self {
        Fifos {
            levels: (0..levels).map(|_| VecDeque::new()).collect(),
            live: 0,
            stale: 0,
        }
    }
}

/// Why requests left before running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Departures {
    /// Tasks dropped or cancelled while their request was queued.
    pub cancelled: u64,
}

pub(crate) struct State<I, O> {
    policy: Policy,
    entries: Slab<Entry<I, O>>,
    /// Admitted requests by batch key. A key with nothing live is removed.
    keys: Keys,
    /// Requests waiting for room (Overflow::Wait on a full queue), one FIFO per level.
    waiting: Fifos,
    deadlines: Deadlines,
    /// Live admitted requests (the queue's length against capacity).
    queued: usize,
    load: Vec<Load>,
    /// Where the search for an instance starts, so equal instances take turns.
    next_instance: usize,
    #[cfg(test)]
    next_id: u64,
    closed: bool,
    /// With `shutdown_timeout`: when whatever is still queued fails with `ShutDown`.
    drain_deadline: Option<Instant>,
    /// When the deadline thread will wake next (`None`: not before it is notified). A new
    /// deadline notifies it only when earlier than that, so a steady stream of requests
    /// wakes it about once per timeout, not once per request.
    timer_at: Option<Instant>,
    /// Since the last stats reset.
    pub departures: Departures,
}

/// Stale references tolerated in a FIFO before it is compacted: a few, or as many as live ones.
const STALE_SLACK: usize = 64;

impl<I, O> State<I, O> {
    pub fn new(policy: Policy) -> Self {
        let load = (0..policy.instances).map(|_| Load::default()).collect();
        State {
            waiting: Fifos::new(policy.levels),
            policy,
            entries: Slab::new(),
            keys: Keys::default(),
            deadlines: Deadlines::default(),
            queued: 0,
            load,
            next_instance: 0,
            #[cfg(test)]
            next_id: 1,
            closed: false,
            drain_deadline: None,
            timer_at: None,
            departures: Departures::default(),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The id the next request will get (tests; the scheduler numbers requests itself).
    #[cfg(test)]
    pub fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Queues a request (or lines it up for room). On success returns its slab slot and two
    /// hints: whether a waiting worker may now have work, and whether the earliest deadline
    /// moved forward (the deadline thread must look again). A closed queue, or a full one
    /// that rejects, gives the request back with the error.
    pub fn enqueue(&mut self, mut req: Request<I, O>, reject_when_full: bool) -> Result<Enqueued, Refused<I, O>> {
        if self.closed {
            return Err(Box::new((req, Error::ShutDown)));
        }
        let admitted = self.queued < self.policy.capacity;
        if !admitted && (reject_when_full || self.policy.reject_when_full) {
            let capacity = self.policy.capacity;
            return Err(Box::new((req, Error::QueueFull { capacity })));
        }
        req.priority = req.priority.min(self.policy.levels - 1);
        let (id, key, level, deadline) = (req.id, req.key, req.priority, req.deadline);
        let slot = self.entries.insert(Entry {
            req,
            admitted,
            held: Place::None,
        });
        let r = Ref { slot, id };
        let earlier_deadline = match deadline {
            Some(d) => {
                self.deadlines.insert(&mut self.entries, slot, d.timeout);
                let earlier = self.timer_at.is_none_or(|t| d.at < t);
                if earlier {
                    self.timer_at = Some(d.at);
                }
                earlier
            }
            None => false,
        };
        let wake_worker = if admitted {
            self.queued += 1;
            self.push_admitted(key, level, r) && self.has_free_slot()
        } else {
            self.waiting.levels[level].push_back(r);
            self.waiting.live += 1;
            false
        };
        Ok(Enqueued {
            slot,
            wake_worker,
            earlier_deadline,
        })
    }

    /// Into its key's FIFO. True when that can make a batch due that was not: the key was
    /// empty (a worker must learn its timeout) or its batch is now full.
    fn push_admitted(&mut self, key: u64, level: usize, r: Ref) -> bool {
        let levels = self.policy.levels;
        let fifos = self.keys.entry(key, levels);
        fifos.levels[level].push_back(r);
        fifos.live += 1;
        fifos.live == 1 || fifos.live >= self.policy.max_batch
    }

    /// Admits requests waiting for room while there is room, highest priority first.
    /// True when one was admitted in a way that may make a batch due.
    fn admit_waiting(&mut self) -> bool {
        let mut wake = false;
        while self.queued < self.policy.capacity && self.waiting.live > 0 {
            let Some(r) = pop_live(&mut self.waiting, &self.entries) else {
                break;
            };
            self.waiting.live -= 1;
            let entry = &mut self.entries[r.slot];
            entry.admitted = true;
            let (key, level) = (entry.req.key, entry.req.priority);
            self.queued += 1;
            wake |= self.push_admitted(key, level, r);
        }
        wake
    }

    /// Takes a request out from the middle of its FIFO: unlinked, its FIFO reference becomes
    /// stale, and the counts follow.
    fn remove(&mut self, slot: usize) -> Request<I, O> {
        let Entry { req, admitted, .. } = unlink(&mut self.entries, &mut self.deadlines, slot);
        let fifos = if admitted {
            self.queued -= 1;
            self.keys.get_mut(req.key)
        } else {
            Some(&mut self.waiting)
        };
        if let Some(f) = fifos {
            f.live -= 1;
            f.stale += 1;
        }
        if admitted {
            self.compact_key(req.key);
        } else {
            compact(&mut self.waiting, &self.entries);
        }
        req
    }

    fn compact_key(&mut self, key: u64) {
        let Some(f) = self.keys.get_mut(key) else { return };
        if f.live == 0 {
            self.keys.remove(key);
        } else {
            compact(f, &self.entries);
        }
    }

    /// The task of request `id` (in slab slot `slot`) was dropped or cancelled: if it is still
    /// queued, it leaves now and its place frees. Returns it (to drop outside the lock) and
    /// whether a worker may now have work.
    pub fn withdraw(&mut self, slot: usize, id: u64) -> Option<(Request<I, O>, bool)> {
        if self.entries.get(slot).is_none_or(|e| e.req.id != id) {
            return None; // it started, or left already
        }
        let req = self.remove(slot);
        self.departures.cancelled += 1;
        let wake = self.admit_waiting() && self.has_free_slot();
        Some((req, wake))
    }

    fn pick_instance(&self) -> Option<usize> {
        let n = self.load.len();
        let mut best: Option<usize> = None;
        for k in 0..n {
            let i = (self.next_instance + k) % n;
            let l = &self.load[i];
            if l.in_flight < self.policy.depth && best.is_none_or(|b| l.in_flight < self.load[b].in_flight) {
                best = Some(i);
            }
        }
        best
    }

    /// Decides what a preparation worker does next: take a due batch for an instance with a
    /// free slot, wait, or stop. A batch of one key is due when the batch timeout is zero,
    /// the queue is closed (draining), it is full, its oldest request waited `timeout`, or
    /// the instance has nothing in flight (a request never waits on an idle instance). Among
    /// due keys the one holding the highest-priority, then oldest, request goes first, so a
    /// rare key is never starved by a busy one. Expired requests met on the way go to
    /// `rejects`; withdrawn ones were removed already. (A task dropped while its request is
    /// being taken is seen by the worker, off the lock.)
    pub fn next(&mut self, now: Instant, rejects: &mut Vec<(Request<I, O>, Error)>) -> Next<I, O> {
        loop {
            if self.queued == 0 {
                return if self.closed && self.waiting.live == 0 {
                    Next::Exit
                } else {
                    Next::Wait(None)
                };
            }
            let Some(instance) = self.pick_instance() else {
                return Next::Wait(None);
            };
            let idle = self.load[instance].in_flight == 0;
            let mut best: Option<(u64, Rank)> = None;
            let mut wake_at: Option<Instant> = None;
            for (key, fifos) in self.keys.0.iter_mut() {
                let key = *key;
                let Some(head) = head(fifos, &self.entries) else {
                    continue;
                };
                // The oldest request (a scan of every level) matters only when nothing
                // cheaper makes the batch due.
                let due_now =
                    self.policy.timeout.is_zero() || self.closed || idle || fifos.live >= self.policy.max_batch;
                let grow_until = if due_now {
                    None
                } else {
                    oldest(fifos, &self.entries)
                        .unwrap_or(head.1 .0)
                        .checked_add(self.policy.timeout)
                };
                if due_now || grow_until.is_some_and(|t| t <= now) {
                    let rank = (head.0, std::cmp::Reverse(head.1));
                    if best.as_ref().is_none_or(|(_, b)| rank > *b) {
                        best = Some((key, rank));
                    }
                } else if let Some(t) = grow_until {
                    wake_at = Some(wake_at.map_or(t, |w| w.min(t)));
                }
            }
            let Some((key, _)) = best else {
                return Next::Wait(wake_at);
            };
            let requests = self.take(key, now, rejects);
            self.admit_waiting();
            if requests.is_empty() {
                continue; // all expired or dropped: look again
            }
            let l = &mut self.load[instance];
            l.in_flight += 1;
            if l.busy_since.is_none() {
                l.busy_since = Some(now);
            }
            self.next_instance = (instance + 1) % self.load.len();
            return Next::Batch(Batch { instance, requests });
        }
    }

    /// Takes up to one batch of `key`, highest priority first, FIFO within a level, cut to
    /// the largest preferred size available.
    fn take(&mut self, key: u64, now: Instant, rejects: &mut Vec<(Request<I, O>, Error)>) -> Vec<Request<I, O>> {
        let Some(fifos) = self.keys.get_mut(key) else {
            return Vec::new();
        };
        let available = fifos.live.min(self.policy.max_batch);
        let want = self
            .policy
            .preferred
            .iter()
            .rev()
            .find(|&&p| p <= available)
            .copied()
            .unwrap_or(available);
        let mut batch = Vec::with_capacity(want);
        let mut taken = 0;
        while taken < want {
            let Some(r) = pop_live(fifos, &self.entries) else { break };
            taken += 1;
            // Popped from its FIFO already: the counts are settled once, below.
            let req = unlink(&mut self.entries, &mut self.deadlines, r.slot).req;
            match req.deadline {
                Some(d) if d.at <= now => rejects.push((req, Error::TimedOut(d.timeout))),
                _ => batch.push(req),
            }
        }
        fifos.live -= taken;
        self.queued -= taken;
        self.compact_key(key);
        batch
    }

    /// An instance has a free slot: a worker could take a batch now.
    pub fn has_free_slot(&self) -> bool {
        self.load.iter().any(|l| l.in_flight < self.policy.depth)
    }

    /// A batch of `instance` is done and its slot is free again; an instance falling idle
    /// books its busy period. True when a worker may now have work (something is queued:
    /// it waited for this slot, or for this instance to fall idle); a worker waiting on an
    /// empty queue need not wake for a slot.
    pub fn batch_done(&mut self, instance: usize, now: Instant) -> bool {
        let l = &mut self.load[instance];
        l.in_flight = l.in_flight.saturating_sub(1);
        if l.in_flight == 0 {
            if let Some(since) = l.busy_since.take() {
                l.busy += now.saturating_duration_since(since);
            }
        }
        self.queued > 0
    }

    /// Busy time per instance up to `now`, the open periods included.
    pub fn busy(&self, now: Instant) -> Vec<Duration> {
        self.load
            .iter()
            .map(|l| {
                l.busy
                    + l.busy_since
                        .map_or(Duration::ZERO, |t| now.saturating_duration_since(t))
            })
            .collect()
    }

    /// Takes the requests whose deadline passed (and everything queued, at a shutdown's drain
    /// deadline), or says how long to wait.
    pub fn expire(&mut self, now: Instant) -> Expiry<I, O> {
        let mut out = Vec::new();
        let mut gave_up = false;
        if self.drain_deadline.is_some_and(|d| d <= now) {
            self.drain_deadline = None;
            out.extend(self.close(false).into_iter().map(|r| (r, Error::ShutDown)));
            gave_up = self.in_flight() > 0;
        }
        while let Some((at, slot)) = self.deadlines.first(&self.entries) {
            if at > now {
                break;
            }
            let req = self.remove(slot);
            let timeout = req.deadline.map_or(Duration::ZERO, |d| d.timeout);
            out.push((req, Error::TimedOut(timeout)));
        }
        if !out.is_empty() || gave_up {
            self.admit_waiting();
            return Expiry::Expired { failed: out, gave_up };
        }
        // While a shutdown with a limit waits for batches in flight, stay to give up on time.
        if self.closed && self.entries.is_empty() && (self.drain_deadline.is_none() || self.in_flight() == 0) {
            return Expiry::Exit;
        }
        let next = self.deadlines.first(&self.entries).map(|(at, _)| at);
        self.timer_at = match (next, self.drain_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Expiry::Wait(self.timer_at)
    }

    /// Stops accepting requests. Without `drain`, returns everything queued or waiting for
    /// room (to fail with `ShutDown`); with it, workers run it first (until `deadline`, if
    /// given).
    pub fn close(&mut self, drain: bool) -> Vec<Request<I, O>> {
        self.closed = true;
        if drain {
            return Vec::new();
        }
        self.drain_deadline = None;
        self.keys.clear();
        self.waiting = Fifos::new(self.policy.levels);
        self.deadlines.clear();
        self.queued = 0;
        let mut left: Vec<Request<I, O>> = self.entries.drain().map(|e| e.req).collect();
        left.sort_by_key(|r| r.id);
        left
    }

    /// Closes with drain, failing whatever is still queued at `deadline`.
    pub fn close_by(&mut self, deadline: Option<Instant>) {
        self.close(true);
        if let Some(d) = deadline {
            self.drain_deadline = Some(self.drain_deadline.map_or(d, |old| old.min(d)));
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Requests queued or waiting for room.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Entries in the deadline index (each belongs to a request still queued).
    pub fn deadline_entries(&self) -> usize {
        self.deadlines.len()
    }

    /// References held in FIFOs, stale ones included (bounded by compaction).
    #[cfg(test)]
    pub fn fifo_refs(&self) -> usize {
        let count = |f: &Fifos| f.levels.iter().map(VecDeque::len).sum::<usize>();
        self.keys.0.iter().map(|(_, f)| count(f)).sum::<usize>() + count(&self.waiting)
    }

    /// Distinct batch keys with queued requests.
    #[cfg(test)]
    pub fn key_count(&self) -> usize {
        self.keys.0.len()
    }

    /// Batches in flight on all instances.
    pub fn in_flight(&self) -> usize {
        self.load.iter().map(|l| l.in_flight).sum()
    }

    /// Restarts the busy time at `now` (a stats reset).
    pub fn restart_busy(&mut self, now: Instant) {
        for l in &mut self.load {
            l.busy = Duration::ZERO;
            if l.busy_since.is_some() {
                l.busy_since = Some(now);
            }
        }
    }
}

/// A request the queue would not take, and why (boxed: a rare path).
pub(crate) type Refused<I, O> = Box<(Request<I, O>, Error)>;

/// How a due key ranks for the next batch: its head's priority, then the older head first.
type Rank = (usize, std::cmp::Reverse<(Instant, u64)>);

/// The FIFOs of each batch key with live requests. A vector searched linearly: a runtime
/// has few keys at a time (buckets, shapes), and forming a batch looks at every key anyway.
/// The FIFOs of a key that emptied are kept for the next key (a few of them), so a key that
/// empties with every batch does not allocate its queues again under the lock.
#[derive(Default)]
struct Keys(Vec<(u64, Fifos)>, Vec<Fifos>);

/// Emptied FIFOs kept for reuse, and the largest queue capacity kept.
const SPARE_FIFOS: usize = 4;
const SPARE_CAPACITY: usize = 1024;

impl Keys {
    fn get_mut(&mut self, key: u64) -> Option<&mut Fifos> {
        self.0.iter_mut().find(|(k, _)| *k == key).map(|(_, f)| f)
    }

    fn entry(&mut self, key: u64, levels: usize) -> &mut Fifos {
        let i = match self.0.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let fifos = self.1.pop().unwrap_or_else(|| Fifos::new(levels));
                self.0.push((key, fifos));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    fn remove(&mut self, key: u64) {
        if let Some(i) = self.0.iter().position(|(k, _)| *k == key) {
            let (_, mut fifos) = self.0.swap_remove(i);
            // A burst's big queues are let go rather than kept.
            let small = fifos.levels.iter().all(|q| q.capacity() <= SPARE_CAPACITY);
            if self.1.len() < SPARE_FIFOS && small {
                fifos.levels.iter_mut().for_each(VecDeque::clear);
                (fifos.live, fifos.stale) = (0, 0);
                self.1.push(fifos);
            }
        }
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// Takes a request out of the slab and out of the deadline index; nothing else (its FIFO
/// reference and the counts are the caller's).
fn unlink<I, O>(entries: &mut Slab<Entry<I, O>>, deadlines: &mut Deadlines, slot: usize) -> Entry<I, O> {
    deadlines.remove(entries, slot);
    entries.remove(slot)
}

/// What [`State::enqueue`] tells its caller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Enqueued {
    pub slot: usize,
    pub wake_worker: bool,
    pub earlier_deadline: bool,
}

fn is_live<I, O>(r: Ref, entries: &Slab<Entry<I, O>>) -> bool {
    entries.get(r.slot).is_some_and(|e| e.req.id == r.id)
}

/// Pops the next live reference, highest level first, dropping stale ones on the way.
fn pop_live<I, O>(f: &mut Fifos, entries: &Slab<Entry<I, O>>) -> Option<Ref> {
    for level in f.levels.iter_mut().rev() {
        while let Some(r) = level.pop_front() {
            if is_live(r, entries) {
                return Some(r);
            }
            f.stale = f.stale.saturating_sub(1);
        }
    }
    None
}

/// Drops stale references at the fronts, then gives (level, (enqueued, id)) of the first live
/// request at the highest non-empty level.
fn head<I, O>(f: &mut Fifos, entries: &Slab<Entry<I, O>>) -> Option<(usize, (Instant, u64))> {
    for (level, q) in f.levels.iter_mut().enumerate().rev() {
        while let Some(&r) = q.front() {
            if is_live(r, entries) {
                return Some((level, (entries[r.slot].req.enqueued, r.id)));
            }
            q.pop_front();
            f.stale = f.stale.saturating_sub(1);
        }
    }
    None
}

/// The oldest live request's `enqueued` over all levels (fronts are live after `head`).
fn oldest<I, O>(f: &Fifos, entries: &Slab<Entry<I, O>>) -> Option<Instant> {
    f.levels
        .iter()
        .filter_map(|q| q.iter().find(|r| is_live(**r, entries)))
        .map(|r| entries[r.slot].req.enqueued)
        .min()
}

fn compact<I, O>(f: &mut Fifos, entries: &Slab<Entry<I, O>>) {
    if f.stale > STALE_SLACK && f.stale > f.live {
        for q in &mut f.levels {
            q.retain(|r| is_live(*r, entries));
        }
        f.stale = 0;
    }
}
