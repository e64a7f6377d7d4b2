//! [`Task`]: the future of one request's result.
//!
//! A runtime creates a task together with a [`Responder`] (the sending half it keeps with the
//! request). The task resolves when the responder sends, or with [`Error::Internal`] if the
//! responder is dropped unsent, so a task can never hang on a lost request.

mod block;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::channel::oneshot;

use crate::{Error, Result};

/// Admission that has to wait for room in a full queue: resolves to the queued request's task.
pub(crate) type Admission<T> = Pin<Box<dyn Future<Output = Result<Task<T>>> + Send>>;

/// The result of one request, on its way.
///
/// Returned at once by [`AsyncRuntime::run`](crate::AsyncRuntime::run); the work is already
/// queued (or, when the runtime's queue is full and its overflow policy is to wait, it is
/// queued as soon as there is room, while the task is awaited or waited on).
///
/// - `.await` it on any executor (tokio, `futures::executor::block_on`, ...);
/// - [`wait`](Task::wait) for it from plain synchronous code: no async runtime needed, and it
///   does not panic inside one (it blocks the calling thread, so prefer `.await` there);
/// - [`try_wait`](Task::try_wait) / [`wait_timeout`](Task::wait_timeout) to look without
///   blocking, or with a limit.
///
/// **Drop = cancel.** Dropping a task whose request has not started yet cancels it: the runtime
/// skips it when forming a batch and its input never reaches the device. A request that has
/// started runs to the end and its result is discarded.
///
/// `Task` is `Unpin` (every state it holds is), so it needs no pin projection.
#[must_use = "a task does nothing useful unless awaited or waited on; dropping it cancels the request"]
pub struct Task<T> {
    state: State<T>,
}

enum State<T> {
    /// Waiting for room in the queue.
    Admitting(Admission<T>),
    /// Queued or running.
    Waiting(oneshot::Receiver<Result<T>>),
    /// The result was handed out.
    Done,
}

/// The sending half of a [`Task`]: whoever holds it owes the task a result.
pub struct Responder<T> {
    tx: oneshot::Sender<Result<T>>,
}

impl<T> Responder<T> {
    /// Resolves the task. A task that was dropped meanwhile simply never sees it.
    pub fn send(self, result: Result<T>) {
        let _ = self.tx.send(result);
    }

    /// True when the task was dropped: the request can be skipped.
    pub fn is_cancelled(&self) -> bool {
        self.tx.is_canceled()
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
        let (tx, rx) = oneshot::channel();
        (
            Responder { tx },
            Task {
                state: State::Waiting(rx),
            },
        )
    }

    /// A task that is already resolved.
    pub fn ready(result: Result<T>) -> Task<T> {
        let (responder, task) = Task::channel();
        responder.send(result);
        task
    }

    pub(crate) fn admitting(admission: Admission<T>) -> Task<T> {
        Task {
            state: State::Admitting(admission),
        }
    }

    /// Blocks the calling thread until the result is there.
    ///
    /// Works from any thread with no async runtime. Called on an async runtime's thread it
    /// does not panic, but it does block that thread: prefer `.await` there.
    pub fn wait(mut self) -> Result<T> {
        block::block_on(&mut self, None)
            .unwrap_or_else(|| Err(Error::Internal("wait without deadline returned early".into())))
    }

    /// Waits at most `timeout`. `None` means not ready yet; the task stays usable (and keeps
    /// its place in the queue).
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Result<T>> {
        block::block_on(self, Some(Instant::now() + timeout))
    }

    /// The result if it is there, without blocking. `None` means not ready yet.
    pub fn try_wait(&mut self) -> Option<Result<T>> {
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        match Pin::new(self).poll(&mut cx) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    }

    /// True once the result has been handed out.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Admitting(admission) => match admission.as_mut().poll(cx) {
                    Poll::Ready(Ok(queued)) => this.state = queued.state,
                    Poll::Ready(Err(e)) => {
                        this.state = State::Done;
                        return Poll::Ready(Err(e));
                    }
                    Poll::Pending => return Poll::Pending,
                },
                State::Waiting(rx) => {
                    let out = match Pin::new(rx).poll(cx) {
                        Poll::Ready(Ok(result)) => result,
                        Poll::Ready(Err(oneshot::Canceled)) => {
                            Err(Error::Internal("the request was dropped without a result".into()))
                        }
                        Poll::Pending => return Poll::Pending,
                    };
                    this.state = State::Done;
                    return Poll::Ready(out);
                }
                State::Done => return Poll::Ready(Err(Error::Internal("task polled after it resolved".into()))),
            }
        }
    }
}

impl<T> std::fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Admitting(_) => "admitting",
            State::Waiting(_) => "waiting",
            State::Done => "done",
        };
        f.debug_struct("Task").field("state", &state).finish()
    }
}
