//! The [`Backend`] trait: what a device must do for the engine.
//!
//! The engine drives every backend through the same three steps on a *slot* (one set of
//! in-flight resources: staging buffers, device buffers, a stream or queue):
//!
//! ```text
//! prepare(slot, batch)       preparation worker   host work: convert, copy into the slot's staging
//! submit(instance, slot)     the instance thread  enqueue H2D -> compute -> D2H; returns without waiting
//! complete(slot)             the instance's completion thread: wait for the slot's work, read outputs
//! ```
//!
//! A slot is held by one batch from `prepare` until `complete` returns, then reused: `depth`
//! slots per instance are what let the copy of batch n+1 run while batch n computes. A
//! synchronous device (ONNX Runtime on the CPU) simply does its work in `submit`.

use std::time::Duration;

use crate::{ModelSpec, Result};

/// How long a batch's device work took, per engine, as the backend measured it (CUDA events,
/// the simulator's engines). Feeds [`Stats`](crate::Stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceTimes {
    /// Host-to-device copies.
    pub h2d: Duration,
    /// Kernels.
    pub compute: Duration,
    /// Device-to-host copies.
    pub d2h: Duration,
}

/// Which batch a backend call is about: ids for timelines and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// The batch's id, unique per runtime.
    pub id: u64,
    /// The ids of its requests, in batch order.
    pub requests: Vec<u64>,
}

impl BatchInfo {
    /// Number of requests in the batch.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// True for an empty batch (the engine never hands one over).
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }
}

/// A device (or library) that runs one model, driven by the engine.
///
/// # Contract
/// - Every method may be called from any engine thread; the engine never calls two methods on
///   the same slot or instance at once.
/// - `prepare` runs on a preparation worker (`parallel` of them) and may block on host work.
///   It must (re)initialise everything in the slot the batch needs: a slot is reused after
///   errors and panics too.
/// - `submit` runs on the instance's own thread, in batch order; on an asynchronous device it
///   only enqueues work and returns (with [`SUBMIT_ON_WORKER`](Backend::SUBMIT_ON_WORKER) it
///   runs on the preparation worker instead, one call per instance at a time).
/// - `complete` runs on the instance's completion thread, in submit order, and blocks until the
///   slot's work is done. It returns exactly one output per request, in batch order.
/// - An `Err` (or a panic, which the engine catches) fails the batch's requests only; the
///   runtime goes on with the next batch.
/// - Dropping the backend, instances and slots happens after every slot's work completed.
pub trait Backend: Send + Sync + 'static {
    /// One request's input.
    type Input: Send + 'static;
    /// One request's output.
    type Output: Send + 'static;
    /// One model instance's execution context (a session, a CUDA context + stream set, ...).
    type Instance: Send + 'static;
    /// One set of in-flight resources.
    type Slot: Send + 'static;

    /// True when `submit` only enqueues work and returns at once (an asynchronous device: a
    /// CUDA stream, the simulator). The preparation worker then submits the batch itself,
    /// holding the instance behind a mutex, which spares a thread and a hand-off per batch.
    /// Leave it false when `submit` does the work (ONNX Runtime on the CPU), so preparation
    /// goes on while an instance computes.
    const SUBMIT_ON_WORKER: bool = false;

    /// What the model takes and gives. `max_batch` there bounds the runtime's batch limit.
    fn spec(&self) -> &ModelSpec;

    /// Checks one request's input before it joins a batch, on a preparation worker. An error
    /// fails that request alone.
    fn validate(&self, input: &Self::Input) -> Result<()>;

    /// Creates instance number `index`, at build time.
    fn new_instance(&self, index: usize) -> Result<Self::Instance>;

    /// Creates one slot for `instance` able to hold `max_batch` requests, at build time.
    fn new_slot(&self, instance: &mut Self::Instance, max_batch: usize) -> Result<Self::Slot>;

    /// Host work for a batch of validated inputs; see the trait docs.
    fn prepare(&self, slot: &mut Self::Slot, batch: &BatchInfo, inputs: Vec<Self::Input>) -> Result<()>;

    /// Starts the prepared slot's device work.
    fn submit(&self, instance: &mut Self::Instance, slot: &mut Self::Slot) -> Result<()>;

    /// Waits for the slot's work and returns one output per request.
    fn complete(&self, slot: &mut Self::Slot) -> Result<Vec<Self::Output>>;

    /// The device times of the batch that just completed in `slot`, if the backend measures
    /// them. Called on the completion thread right after a successful `complete`.
    fn device_times(&self, slot: &Self::Slot) -> Option<DeviceTimes> {
        let _ = slot;
        None
    }
}
