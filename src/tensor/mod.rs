//! Tensors and model descriptions.
//!
//! A [`Tensor`] is a dtype, a shape and bytes held in [`bytes::Bytes`], so clones and
//! batch splits are cheap and zero-copy. A [`ModelSpec`] says what a model takes and gives;
//! [`TensorSpec::check`] turns a mismatch into a message such as
//! `input "x": expected f32 [N, 3, H, W], got u8 [1, 224, 224, 3]`.

mod dtype;
mod spec;
#[allow(clippy::module_inception)]
mod tensor;

pub use dtype::{DType, Element};
pub use spec::{Dim, ModelSpec, TensorSpec};
pub use tensor::Tensor;
