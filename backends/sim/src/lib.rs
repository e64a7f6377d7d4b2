//! # accelrt-sim
//!
//! A simulated accelerator for [`accelrt`]: separate **H2D DMA**, **compute** and **D2H DMA**
//! engines that run in parallel like real hardware (or one shared DMA engine), each a FIFO
//! that holds an operation for its modelled time. It is how tests prove overlap without a
//! device: every operation is recorded on a [`Timeline`](accelrt::Timeline). An operation of
//! zero modelled time (all of them, with the default settings) runs at once on the thread that
//! made it ready, when its engine is free: a zero-delay device finishes a batch inside
//! `submit`, and the runtime completes it on the same worker.
//!
//! The model computes `y = a·x + b` elementwise on `f32 [1, len]` inputs, so every output can be
//! checked against its own input. [`Faults`] inject invalid inputs, failing batches and panics.
//!
//! ```
//! use std::time::Duration;
//! use accelrt::{AsyncRuntime, Runtime, Tensor, Timeline};
//! use accelrt_sim::{SimBackend, SimConfig};
//!
//! let timeline = Timeline::new();
//! let config = SimConfig::stages(Duration::ZERO, Duration::from_millis(1), Duration::from_millis(2), Duration::from_millis(1))
//!     .with_timeline(timeline.clone());
//! let rt = Runtime::builder(SimBackend::new(config)).depth(2).build()?;
//! let y = rt.run(Tensor::new([1, 4], vec![1.0f32; 4])?).wait()?;
//! assert_eq!(y.as_slice::<f32>()?, &[3.0; 4]); // defaults: a = 2, b = 1
//! assert_eq!(timeline.phase(accelrt::trace::Phase::Compute).len(), 1);
//! # Ok::<(), accelrt::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod backend;
mod config;
mod device;
mod event;

pub use backend::{SimBackend, SimControl, SimSlot};
pub use config::{ComputeModel, CopyModel, Faults, SimConfig};
