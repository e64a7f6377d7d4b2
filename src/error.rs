//! The crate's one error type.
//!
//! Errors are raised small and specific where they happen and end up here. The type is `Clone`
//! because one failed batch resolves every member's task with the same error: backend errors
//! are therefore kept behind an `Arc`, not a `Box`.

use std::sync::Arc;
use std::time::Duration;

/// `Result<T, accelrt::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a request (or a runtime's construction) failed.
///
/// Every [`Task`](crate::Task) resolves either with its output or with one of these.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input does not match what the model expects. Only this request fails.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// `try_run` (or a runtime with [`Overflow::Reject`](crate::Overflow)) found the queue full.
    #[error("queue full: {capacity} requests already waiting")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The request was cancelled before it started (its task was dropped).
    #[error("request cancelled before it started")]
    Cancelled,
    /// The request did not start within its timeout.
    #[error("request did not start within {0:?}")]
    TimedOut(Duration),
    /// The runtime was shut down before the request could run.
    #[error("runtime shut down")]
    ShutDown,
    /// The backend reported an error for the batch this request was part of.
    #[error("backend error: {0}")]
    Backend(Arc<dyn std::error::Error + Send + Sync>),
    /// Backend code panicked while handling the batch this request was part of.
    /// The runtime caught the panic and keeps serving.
    #[error("backend panicked: {0}")]
    BackendPanic(String),
    /// A setting was rejected when the runtime or backend was built.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The device (or the library that drives it) cannot be used.
    #[error("device unavailable: {0}")]
    DeviceUnavailable(String),
    /// A pipeline stage failed for this input.
    #[error("stage \"{stage}\": {source}")]
    Stage {
        /// The stage's name.
        stage: String,
        /// What went wrong there.
        #[source]
        source: Box<Error>,
    },
    /// The runtime lost track of the request: a bug in accelrt, reported rather than hung on.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Wraps any backend error.
    pub fn backend(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Backend(Arc::new(err))
    }

    /// A backend error from a message.
    pub fn backend_msg(msg: impl Into<String>) -> Self {
        Error::Backend(Arc::new(Message(msg.into())))
    }

    /// Turns a caught panic payload into [`Error::BackendPanic`].
    pub fn from_panic(payload: Box<dyn std::any::Any + Send>) -> Self {
        let msg = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "non-string panic payload".to_string()
        };
        Error::BackendPanic(msg)
    }

    /// Tags the error with the pipeline stage it came from.
    pub fn in_stage(self, stage: impl Into<String>) -> Self {
        Error::Stage {
            stage: stage.into(),
            source: Box::new(self),
        }
    }
}

/// A plain message used as a backend error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Message(String);
