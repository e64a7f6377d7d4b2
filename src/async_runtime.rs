//! The [`AsyncRuntime`] trait: anything that turns an input into a [`Task`].

use crate::Task;

/// Runs inputs asynchronously: `run` returns at once with a [`Task`] for the result.
///
/// Implemented by [`Runtime`](crate::Runtime) (one model on one backend) and by pipelines of
/// stages, so code written against this trait works with either, and pipelines nest.
///
/// # Contract
/// - `run` never blocks the calling thread and may be called from any thread, concurrently.
/// - Every returned task resolves exactly once: with the output or a typed
///   [`Error`](crate::Error) (also when the runtime shuts down).
/// - Dropping a task before its request started cancels the request.
pub trait AsyncRuntime: Send + Sync {
    /// What one request takes.
    type Input: Send + 'static;
    /// What one request gives back.
    type Output: Send + 'static;

    /// Queues `input` and returns its task. If the queue is full, the runtime's overflow policy
    /// decides: the task waits for room (back-pressure), or resolves with `QueueFull`.
    fn run(&self, input: Self::Input) -> Task<Self::Output>;

    /// Like [`run`](AsyncRuntime::run), but a full queue resolves the task with
    /// [`Error::QueueFull`](crate::Error::QueueFull) at once, whatever the policy.
    fn try_run(&self, input: Self::Input) -> Task<Self::Output> {
        self.run(input)
    }
}

impl<R: AsyncRuntime + ?Sized> AsyncRuntime for std::sync::Arc<R> {
    type Input = R::Input;
    type Output = R::Output;
    fn run(&self, input: Self::Input) -> Task<Self::Output> {
        (**self).run(input)
    }
    fn try_run(&self, input: Self::Input) -> Task<Self::Output> {
        (**self).try_run(input)
    }
}
