//! Built-in models: image preprocessing (an NVRTC kernel) and an MLP (cuBLAS GEMMs plus an
//! NVRTC epilogue kernel). Both are ordinary [`CudaModel`](crate::CudaModel)s, written the
//! way a user's own model would be.

mod mlp;
mod preprocess;

pub use mlp::{Activation, Linear, Mlp};
pub use preprocess::Preprocess;
