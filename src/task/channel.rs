//! The one-shot channel between a request's [`Responder`](super::Responder) and its
//! [`Task`](super::Task).
//!
//! Our own rather than `futures`' oneshot for two reasons: a task can tell that its result is
//! there without taking it (`Task::is_finished` on `&self`), and the engine can ask cheaply
//! whether the task is still wanted (one atomic load when a batch forms).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Waker};

// parking_lot: held for a store or a take, never across a wait or a wake.
use parking_lot::Mutex;

use crate::Result;

pub(crate) struct Shared<T> {
    slot: Mutex<Slot<T>>,
    /// The task is gone (dropped or cancelled): nobody will read a result.
    receiver_gone: AtomicBool,
}

struct Slot<T> {
    value: Option<Result<T>>,
    /// The responder was dropped without sending.
    sender_gone: bool,
    waker: Option<Waker>,
}

pub(crate) fn pair<T>() -> Arc<Shared<T>> {
    Arc::new(Shared {
        slot: Mutex::new(Slot {
            value: None,
            sender_gone: false,
            waker: None,
        }),
        receiver_gone: AtomicBool::new(false),
    })
}

/// What the receiving side sees.
pub(crate) enum Received<T> {
    Value(Result<T>),
    SenderGone,
    Pending,
}

impl<T> Shared<T> {
    pub fn send(&self, value: Result<T>) {
        let waker = {
            let mut slot = self.slot.lock();
            slot.value = Some(value);
            slot.waker.take()
        };
        // Woken outside the lock: the woken task may poll at once.
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub fn sender_dropped(&self) {
        let waker = {
            let mut slot = self.slot.lock();
            slot.sender_gone = true;
            slot.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Received<T> {
        let mut slot = self.slot.lock();
        if let Some(v) = slot.value.take() {
            return Received::Value(v);
        }
        if slot.sender_gone {
            return Received::SenderGone;
        }
        match &mut slot.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            other => *other = Some(cx.waker().clone()),
        }
        Received::Pending
    }

    /// True when a result (or the sender's end) is there to be taken.
    pub fn is_ready(&self) -> bool {
        let slot = self.slot.lock();
        slot.value.is_some() || slot.sender_gone
    }

    pub fn close_receiver(&self) {
        self.receiver_gone.store(true, Ordering::Release);
        // A result that arrives later is dropped with the channel; one already here goes now.
        self.slot.lock().value = None;
    }

    pub fn is_receiver_gone(&self) -> bool {
        self.receiver_gone.load(Ordering::Acquire)
    }
}
