//! What travels between stages: a type-erased value and the reply to the caller.
//!
//! Stage types are checked by the builder's generics; inside, values are boxed so stages of
//! different types can share one worker implementation. One box per item per stage is cheap
//! next to the work a stage does (decoding, a model call).

use std::any::Any;
use std::time::Instant;

use crate::task::Responder;
use crate::{Error, Result};

pub(crate) type Value = Box<dyn Any + Send>;

/// The caller's end, whatever the pipeline's output type.
pub(crate) trait Reply: Send {
    fn send(self: Box<Self>, result: Result<Value>);
    fn is_cancelled(&self) -> bool;
}

pub(crate) struct Typed<O>(pub Responder<O>);

impl<O: Send + 'static> Reply for Typed<O> {
    fn send(self: Box<Self>, result: Result<Value>) {
        let typed = result.and_then(|v| {
            v.downcast::<O>()
                .map(|b| *b)
                .map_err(|_| Error::Internal("pipeline output has an unexpected type".into()))
        });
        self.0.send(typed);
    }

    fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

pub(crate) struct Envelope {
    pub value: Value,
    pub meta: Meta,
}

/// Everything about an item but its value.
pub(crate) struct Meta {
    pub reply: Box<dyn Reply>,
    /// When it entered the pipeline (for the latency).
    pub born: Instant,
    /// When it entered the current stage's queue (for the queue wait).
    pub queued: Instant,
}

/// Unboxes a stage's input; the builder guarantees the type.
pub(crate) fn unbox<T: 'static>(v: Value) -> Result<T> {
    v.downcast::<T>()
        .map(|b| *b)
        .map_err(|_| Error::Internal("pipeline stage got an unexpected input type".into()))
}
