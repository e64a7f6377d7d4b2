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
    InvalidInput(InputError),
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
    /// A pipeline stage's own function panicked on this input. The pipeline caught the panic
    /// and keeps serving. (Reported inside [`Error::Stage`], which names the stage.)
    #[error("stage function panicked: {0}")]
    StagePanic(String),
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

/// What was wrong with an input: what was expected and what came.
///
/// Displays as `input "x": expected f32 [N, 3, H, W], got u8 [1, 224, 224, 3]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputError {
    /// The input's name, when the model names its inputs.
    pub input: Option<String>,
    /// What the model (or stage) accepts, e.g. `f32 [N, 3, H, W]`.
    pub expected: String,
    /// What the request carried, e.g. `u8 [1, 224, 224, 3]`.
    pub got: String,
}

impl InputError {
    /// An error about input `input`.
    pub fn named(input: impl Into<String>, expected: impl Into<String>, got: impl Into<String>) -> Self {
        InputError {
            input: Some(input.into()),
            expected: expected.into(),
            got: got.into(),
        }
    }

    /// An error about the request as a whole.
    pub fn new(expected: impl Into<String>, got: impl Into<String>) -> Self {
        InputError {
            input: None,
            expected: expected.into(),
            got: got.into(),
        }
    }
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(name) = &self.input {
            write!(f, "input \"{name}\": ")?;
        }
        write!(f, "expected {}, got {}", self.expected, self.got)
    }
}

impl std::error::Error for InputError {}

impl Error {
    /// [`Error::InvalidInput`] about the request as a whole: what was expected, what came.
    pub fn invalid_input(expected: impl Into<String>, got: impl Into<String>) -> Self {
        Error::InvalidInput(InputError::new(expected, got))
    }

    /// [`Error::InvalidInput`] about one named input.
    pub fn invalid_named(input: impl Into<String>, expected: impl Into<String>, got: impl Into<String>) -> Self {
        Error::InvalidInput(InputError::named(input, expected, got))
    }

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
        Error::BackendPanic(panic_message(payload.as_ref()))
    }

    /// Tags the error with the pipeline stage it came from.
    pub fn in_stage(self, stage: impl Into<String>) -> Self {
        Error::Stage {
            stage: stage.into(),
            source: Box::new(self),
        }
    }
}

/// The text of a caught panic.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// A plain message used as a backend error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Message(String);
