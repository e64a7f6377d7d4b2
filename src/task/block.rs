//! Blocking on a future from plain synchronous code.
//!
//! `futures::executor::block_on` has no deadline, and tokio's `block_on` panics inside a
//! runtime; this one parks the calling thread, is woken by the future's waker, and gives up
//! at an optional deadline without consuming the future.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `fut` until it is ready (`Some`) or `deadline` passes (`None`).
pub(crate) fn block_on<F: Future + Unpin>(fut: &mut F, deadline: Option<Instant>) -> Option<F::Output> {
    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = Pin::new(&mut *fut).poll(&mut cx) {
            return Some(out);
        }
        // Parking can wake spuriously; the loop polls again either way.
        match deadline {
            None => thread::park(),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return None;
                }
                thread::park_timeout(deadline - now);
            }
        }
    }
}
