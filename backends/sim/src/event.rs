//! A resettable one-shot event, like a CUDA event: set by an engine, waited on by the next
//! operation of the slot and by completion.

// std's Mutex + Condvar: the wait is a plain blocking wait, and nothing else is held meanwhile.
use std::sync::{Condvar, Mutex, PoisonError};

#[derive(Default)]
pub(crate) struct Event {
    done: Mutex<bool>,
    cv: Condvar,
}

impl Event {
    pub fn reset(&self) {
        *self.done.lock().unwrap_or_else(PoisonError::into_inner) = false;
    }

    pub fn set(&self) {
        *self.done.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.cv.notify_all();
    }

    pub fn is_set(&self) -> bool {
        *self.done.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn wait(&self) {
        let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        while !*done {
            done = self.cv.wait(done).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Holds every engine before its next operation while closed (see
/// [`SimControl`](crate::SimControl)).
#[derive(Default)]
pub(crate) struct Gate {
    closed: Mutex<bool>,
    cv: Condvar,
}

impl Gate {
    pub fn set_closed(&self, closed: bool) {
        *self.closed.lock().unwrap_or_else(PoisonError::into_inner) = closed;
        self.cv.notify_all();
    }

    pub fn is_open(&self) -> bool {
        !*self.closed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn wait_open(&self) {
        let mut closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
        while *closed {
            closed = self.cv.wait(closed).unwrap_or_else(PoisonError::into_inner);
        }
    }
}
