//! The deadline index: which queued request must start first.
//!
//! A runtime's requests mostly share a few timeouts (the runtime's default, a handful of
//! per-request ones), and requests with the same timeout arrive in deadline order. So each of
//! the first [`LISTS`] distinct timeouts gets a doubly linked list in deadline order, linked
//! through the requests' own slab entries: a new deadline goes at the tail, a request leaving
//! is unlinked wherever it is, and the earliest deadline is the smallest of the lists' heads.
//! That touches only the request itself and its neighbours, which the worker taking a batch
//! reads anyway, instead of a tree shared by every caller and worker. A deadline that does
//! not fit a list's order within a few steps from its tail (a caller held up between reading
//! the clock and queueing), or that has a timeout beyond the first [`LISTS`], goes to a
//! `BTreeSet`. Every entry leaves with its request.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use slab::Slab;

/// Distinct timeouts with a list of their own.
const LISTS: usize = 8;
/// How far back from a list's tail a deadline may be placed before it goes to the tree.
const WALK: usize = 4;
const NIL: usize = usize::MAX;

/// Where a request's deadline is held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Place {
    /// No deadline.
    #[default]
    None,
    /// In list `k`, between two slots (`NIL` at the ends).
    List {
        k: usize,
        prev: usize,
        next: usize,
    },
    Tree,
}

/// What the index needs from a slab entry: where its deadline is held, and when it is.
pub(crate) trait Held {
    fn place(&mut self) -> &mut Place;
    /// The deadline; only asked of entries that have one.
    fn at(&self) -> Instant;
}

#[derive(Debug)]
struct List {
    timeout: Duration,
    head: usize,
    tail: usize,
}

/// Deadlines of queued requests, keyed by their slab slot.
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    lists: Vec<List>,
    tree: BTreeSet<(Instant, usize)>,
    len: usize,
}

impl Deadlines {
    /// The request in `slot` (just inserted, no deadline held yet) must start by its `at()`;
    /// it was given `timeout`.
    pub fn insert<E: Held>(&mut self, entries: &mut Slab<E>, slot: usize, timeout: Duration) {
        self.len += 1;
        let at = entries[slot].at();
        let k = match self.lists.iter().position(|l| l.timeout == timeout) {
            Some(k) => Some(k),
            None if self.lists.len() < LISTS => {
                self.lists.push(List {
                    timeout,
                    head: NIL,
                    tail: NIL,
                });
                Some(self.lists.len() - 1)
            }
            None => None,
        };
        if let Some(k) = k {
            // The slot after which `at` belongs: back from the tail past later deadlines.
            let mut after = self.lists[k].tail;
            let mut steps = 0;
            while after != NIL && entries[after].at() > at && steps < WALK {
                after = match *entries[after].place() {
                    Place::List { prev, .. } => prev,
                    _ => NIL,
                };
                steps += 1;
            }
            if after == NIL || entries[after].at() <= at {
                self.link(entries, k, slot, after);
                return;
            }
        }
        *entries[slot].place() = Place::Tree;
        self.tree.insert((at, slot));
    }

    /// Links `slot` into list `k` right after `after` (`NIL`: at the head).
    fn link<E: Held>(&mut self, entries: &mut Slab<E>, k: usize, slot: usize, after: usize) {
        let next = match after {
            NIL => self.lists[k].head,
            a => match *entries[a].place() {
                Place::List { next, .. } => next,
                _ => NIL,
            },
        };
        *entries[slot].place() = Place::List { k, prev: after, next };
        self.point_next(entries, k, after, slot);
        self.point_prev(entries, k, next, slot);
    }

    /// Makes `from`'s next `to` in list `k` (`from` = `NIL`: the list's head).
    fn point_next<E: Held>(&mut self, entries: &mut Slab<E>, k: usize, from: usize, to: usize) {
        match from {
            NIL => self.lists[k].head = to,
            f => {
                if let Place::List { next, .. } = entries[f].place() {
                    *next = to;
                }
            }
        }
    }

    /// Makes `from`'s previous `to` in list `k` (`from` = `NIL`: the list's tail).
    fn point_prev<E: Held>(&mut self, entries: &mut Slab<E>, k: usize, from: usize, to: usize) {
        match from {
            NIL => self.lists[k].tail = to,
            f => {
                if let Place::List { prev, .. } = entries[f].place() {
                    *prev = to;
                }
            }
        }
    }

    /// The request in `slot` is leaving: its deadline goes with it (if it had one). Call
    /// while the entry is still in the slab.
    pub fn remove<E: Held>(&mut self, entries: &mut Slab<E>, slot: usize) {
        match std::mem::take(entries[slot].place()) {
            Place::None => return,
            Place::Tree => {
                let at = entries[slot].at();
                self.tree.remove(&(at, slot));
            }
            Place::List { k, prev, next } => {
                self.point_next(entries, k, prev, next);
                self.point_prev(entries, k, next, prev);
            }
        }
        self.len -= 1;
    }

    /// The earliest deadline and its request's slot.
    pub fn first<E: Held>(&self, entries: &Slab<E>) -> Option<(Instant, usize)> {
        let heads = self
            .lists
            .iter()
            .filter(|l| l.head != NIL)
            .map(|l| (entries[l.head].at(), l.head));
        heads.chain(self.tree.first().copied()).min()
    }

    /// Deadlines held (each of a request still queued).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Forgets every deadline (the entries are being dropped with them).
    pub fn clear(&mut self) {
        for l in &mut self.lists {
            (l.head, l.tail) = (NIL, NIL);
        }
        self.tree.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    struct E {
        at: Instant,
        place: Place,
    }

    impl Held for E {
        fn place(&mut self) -> &mut Place {
            &mut self.place
        }
        fn at(&self) -> Instant {
            self.at
        }
    }

    proptest! {
        /// Against a sorted set: the same earliest deadline and size after any mix of inserts
        /// (more timeouts than lists, clock readings out of order) and removals, and the same
        /// order when drained by the earliest.
        #[test]
        fn matches_a_sorted_set(ops in proptest::collection::vec((0..60usize, 0..12u64, 0..300u64, any::<bool>()), 1..400)) {
            let t0 = Instant::now();
            let mut entries: Slab<E> = Slab::new();
            let mut d = Deadlines::default();
            let mut model: BTreeSet<(Instant, usize)> = BTreeSet::new();
            let mut live: Vec<usize> = Vec::new();
            for (pick, timeout, jitter, insert) in ops {
                if insert || live.is_empty() {
                    let timeout = Duration::from_millis(timeout);
                    let at = t0 + Duration::from_micros(jitter) + timeout;
                    let slot = entries.insert(E { at, place: Place::None });
                    d.insert(&mut entries, slot, timeout);
                    model.insert((at, slot));
                    live.push(slot);
                } else {
                    let slot = live.swap_remove(pick % live.len());
                    d.remove(&mut entries, slot);
                    model.remove(&(entries[slot].at, slot));
                    entries.remove(slot);
                }
                prop_assert_eq!(d.len(), model.len());
                prop_assert_eq!(d.first(&entries).map(|f| f.0), model.first().map(|f| f.0));
            }
            while let Some((at, slot)) = d.first(&entries) {
                prop_assert_eq!(Some(at), model.first().map(|f| f.0));
                d.remove(&mut entries, slot);
                model.remove(&(at, slot));
                entries.remove(slot);
            }
            prop_assert_eq!(d.len(), 0);
            prop_assert!(model.is_empty());
        }
    }
}
