//! [`Task`]: the future of one request's result.
//!
//! A runtime creates a task together with a [`Responder`] (the sending half it keeps with the
//! request). The task resolves when the responder sends, or with [`Error::Internal`] if the
//! responder is dropped unsent, so a task can never hang on a lost request.

mod block;
mod channel;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::FusedFuture;

use crate::{Error, Result};
use channel::Received;

pub(crate) use block::block_on;

/// Whoever queued a request and can take it out again before it starts (the engine's
/// scheduler). Called when a task is dropped or cancelled.
pub(crate) trait Withdraw: Send + Sync {
    /// Removes request `id` (stored under `key`) if it is still queued; a request that has
    /// started, or already left, is left alone.
    fn withdraw(&self, key: usize, id: u64);
}

/// The queued request a task can withdraw.
struct Queued {
    owner: Arc<dyn Withdraw>,
    key: usize,
    id: u64,
}

/// The result of one request, on its way.
///
/// Returned at once by [`AsyncRuntime::run`](crate::AsyncRuntime::run); the work is already
/// queued (when the queue is full and the overflow policy is to wait, it waits in line for
/// room inside the runtime, in order, whether or not the task is polled meanwhile).
///
/// - `.await` it on any executor (tokio, `futures::executor::block_on`, ...);
/// - [`wait`](Task::wait) for it from plain synchronous code: no async runtime needed, and it
///   does not panic inside one (it blocks the calling thread, so prefer `.await` there);
/// - [`try_wait`](Task::try_wait) / [`wait_timeout`](Task::wait_timeout) to look without
///   blocking, or with a limit; [`is_finished`](Task::is_finished) to ask without taking.
///
/// **Drop = cancel.** Dropping a task whose request has not started takes the request out of
/// the queue at once (its place frees, its input never reaches the device, and the runtime's
/// [`Stats::cancelled`](crate::Stats::cancelled) counts it). A request that has started runs
/// to the end and its result is discarded. [`cancel`](Task::cancel) does the same but keeps
/// the task, which then resolves with [`Error::Cancelled`].
///
/// `Task` is `Unpin` (every state it holds is), so it needs no pin projection, and it is a
/// [`FusedFuture`]: polling it after it resolved is safe and says so.
#[must_use = "a task does nothing useful unless awaited or waited on; dropping it cancels the request"]
pub struct Task<T> {
    state: State<T>,
    queued: Option<Queued>,
}

enum State<T> {
    /// Queued or running.
    Waiting(Arc<channel::Shared<T>>),
    /// Cancelled by [`Task::cancel`]: resolves with [`Error::Cancelled`] once.
    Cancelled,
    /// The result was handed out.
    Done,
}

/// The sending half of a [`Task`]: whoever holds it owes the task a result.
///
/// Dropping it unsent resolves the task with [`Error::Internal`] rather than leaving it
/// waiting forever.
pub struct Responder<T> {
    shared: Option<Arc<channel::Shared<T>>>,
}

impl<T> Responder<T> {
    /// Resolves the task. A task that was dropped meanwhile simply never sees it.
    pub fn send(mut self, result: Result<T>) {
        if let Some(shared) = self.shared.take() {
            if !shared.is_receiver_gone() {
                shared.send(result);
            }
        }
    }

    /// True when the task was dropped or cancelled: the request can be skipped.
    pub fn is_cancelled(&self) -> bool {
        self.shared.as_ref().is_none_or(|s| s.is_receiver_gone())
    }
}

impl<T> Drop for Responder<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.sender_dropped();
        }
    }
}

impl<T> std::fmt::Debug for Responder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl<T: Send + 'static> Task<T> {
    /// A new task and the responder that resolves it. Runtimes of your own (and pipeline
    /// stages) use this to hand out tasks.
    pub fn channel() -> (Responder<T>, Task<T>) {
        let shared = channel::pair();
        (
            Responder {
                shared: Some(shared.clone()),
            },
            Task {
                state: State::Waiting(shared),
                queued: None,
            },
        )
    }

    /// A task that is already resolved.
    pub fn ready(result: Result<T>) -> Task<T> {
        let (responder, task) = Task::channel();
        responder.send(result);
        task
    }

    /// Ties the task to its queued request, so that dropping or cancelling it withdraws the
    /// request.
    pub(crate) fn withdrawn_by(mut self, owner: Arc<dyn Withdraw>, key: usize, id: u64) -> Task<T> {
        self.queued = Some(Queued { owner, key, id });
        self
    }

    /// Blocks the calling thread until the result is there.
    ///
    /// Works from any thread with no async runtime. Called on an async runtime's thread it
    /// does not panic, but it does block that thread: prefer `.await` there.
    pub fn wait(mut self) -> Result<T> {
        block_on(&mut self, None).unwrap_or_else(|| Err(Error::Internal("wait without deadline returned early".into())))
    }

    /// Waits at most `timeout` (any duration: one too long to represent waits without a
    /// limit). `None` means not ready yet; the task stays usable (and keeps its place in the
    /// queue).
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Result<T>> {
        block_on(self, Instant::now().checked_add(timeout))
    }

    /// The result if it is there, without blocking. `None` means not ready yet.
    pub fn try_wait(&mut self) -> Option<Result<T>> {
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        match Pin::new(self).poll(&mut cx) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    }
}

impl<T> Task<T> {
    /// Cancels the request: if it has not started it leaves the queue at once and its input
    /// never reaches the device; if it is running, its result will be discarded. Either way
    /// the task then resolves with [`Error::Cancelled`] (unless its result was already taken).
    pub fn cancel(&mut self) {
        if let State::Waiting(shared) = &self.state {
            shared.close_receiver();
            self.withdraw();
            self.state = State::Cancelled;
        }
    }

    /// True when awaiting the task would not wait: its result (or error) is there, or it was
    /// cancelled. Stays true after the result was taken.
    pub fn is_finished(&self) -> bool {
        match &self.state {
            State::Waiting(shared) => shared.is_ready(),
            State::Cancelled | State::Done => true,
        }
    }

    /// True once the result has been handed out.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    fn withdraw(&mut self) {
        if let Some(q) = self.queued.take() {
            q.owner.withdraw(q.key, q.id);
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if let State::Waiting(shared) = &self.state {
            shared.close_receiver();
            if !shared.is_ready() {
                self.withdraw();
            }
        }
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.get_mut();
        let out = match &this.state {
            State::Waiting(shared) => match shared.poll_recv(cx) {
                Received::Value(result) => result,
                Received::SenderGone => Err(Error::Internal("the request was dropped without a result".into())),
                Received::Pending => return Poll::Pending,
            },
            State::Cancelled => Err(Error::Cancelled),
            State::Done => Err(Error::Internal("task polled after it resolved".into())),
        };
        this.state = State::Done;
        this.queued = None;
        Poll::Ready(out)
    }
}

impl<T> FusedFuture for Task<T> {
    fn is_terminated(&self) -> bool {
        self.is_done()
    }
}

impl<T> std::fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Waiting(s) if s.is_ready() => "ready",
            State::Waiting(_) => "waiting",
            State::Cancelled => "cancelled",
            State::Done => "done",
        };
        f.debug_struct("Task").field("state", &state).finish()
    }
}
