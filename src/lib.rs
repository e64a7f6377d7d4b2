//! # accelrt
//!
//! An async runtime that keeps GPUs and NPUs busy. Each inference has four steps: prepare the
//! input on the host, copy it to the device, run the kernels, copy the result back. accelrt
//! overlaps those steps across many independent requests and hands each caller a [`Task`]
//! for its own result.
//!
//! ## Quick start
//!
//! The simulated accelerator (`accelrt-sim`) computes `y = a·x + b` with separate copy and
//! compute engines:
//!
//! ```
//! use accelrt::{AsyncRuntime, Runtime, Tensor};
//! use accelrt_sim::{SimBackend, SimConfig};
//!
//! let backend = SimBackend::new(SimConfig { a: 2.0, b: 1.0, ..SimConfig::default() });
//! let runtime = Runtime::builder(backend).parallel(2).depth(3).max_batch(4).build()?;
//!
//! // From plain sync code: run() returns at once, wait() blocks for the result.
//! let x = Tensor::new([1, 4], vec![1.0f32, 2.0, 3.0, 4.0])?;
//! let y = runtime.run(x).wait()?;
//! assert_eq!(y.as_slice::<f32>()?, &[3.0, 5.0, 7.0, 9.0]);
//!
//! // From async code: await one task, or a whole dataset at once.
//! let inputs: Vec<Tensor> = (0..100).map(|i| Tensor::new([1, 4], vec![i as f32; 4])).collect::<Result<_, _>>()?;
//! let outputs = futures::executor::block_on(futures::future::join_all(inputs.into_iter().map(|x| runtime.run(x))));
//! assert!(outputs.iter().all(|y| y.is_ok()));
//! # Ok::<(), accelrt::Error>(())
//! ```
//!
//! ## Pieces
//! - [`AsyncRuntime`]: `run(input) -> Task`; implemented by [`Runtime`].
//! - [`Task`]: `.await`, [`wait`](Task::wait), [`try_wait`](Task::try_wait),
//!   [`wait_timeout`](Task::wait_timeout); dropping it cancels a request that has not started.
//! - [`Runtime::builder`]: `parallel`, `depth`, `instances`, `queue_capacity`, `max_batch`,
//!   `batch_timeout`, priorities and timeouts, validated in `build`.
//! - [`Backend`]: what a device implements (`prepare`, `submit`, `complete` on a slot).
//! - [`Tensor`], [`ModelSpec`]: data and the checks against what a model expects.
//! - [`Pipeline`]: named stages (sync functions, async functions, runtimes) joined by bounded
//!   queues; itself an `AsyncRuntime`.
//! - [`dataset`]: a whole dataset through any runtime with a bounded window, in order or not.
//! - [`Timeline`]: which engine or thread was busy when.
//!
//! Every request resolves exactly once, with its output or a typed [`Error`]; a failing
//! request or batch fails only itself; a panic in backend code becomes
//! [`Error::BackendPanic`] for that batch and the runtime keeps serving.
//!
//! ## Tracing
//! The engine emits `tracing` spans per phase: `queued` (per request), `prepare`, `submit`,
//! `complete` (per batch); device backends add their own (the simulator: `h2d`, `compute`,
//! `d2h`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod async_runtime;
mod backend;
pub mod dataset;
mod engine;
mod error;
pub mod pipeline;
mod task;
mod tensor;
pub mod trace;

pub use async_runtime::AsyncRuntime;
pub use backend::{Backend, BatchInfo, DeviceTimes};
pub use engine::{Latency, Overflow, PhaseTimes, RunOptions, Runtime, RuntimeBuilder, Stats};
pub use error::{Error, InputError, Result};
pub use pipeline::{Pipeline, PipelineBuilder, PipelineStats, StageStats};
pub use task::{Responder, Task};
pub use tensor::{DType, Dim, Element, ModelSpec, Tensor, TensorSpec};
pub use trace::Timeline;

/// The 16-bit float element type (from the `half` crate).
pub use half::f16;
