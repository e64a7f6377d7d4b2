//! The [`Backend`] trait: what a device must do for the engine.
//!
//! The engine drives every backend through the same steps on a *slot* (one set of in-flight
//! resources: staging buffers, device buffers, a stream or queue), with one thread topology:
//!
//! ```text
//! validate(input)           a preparation worker   per request, before it joins the batch
//! prepare(slot, batch)       a preparation worker   host work: convert, copy into the slot's staging
//! submit(instance, slot)     the same worker, under the instance's lock: enqueue H2D -> compute -> D2H
//! complete(slot)             the instance's completion thread: wait for the slot's work, read outputs
//! ```
//!
//! A slot is held by one batch from `prepare` until `complete` returns, then reused: `depth`
//! slots per instance are what let the copy of batch n+1 run while batch n computes. An
//! asynchronous device (a CUDA stream) only enqueues in `submit` and waits in `complete`; a
//! synchronous library (ONNX Runtime on the CPU) does nothing in `submit` and its whole run in
//! `complete`, so the preparation workers never wait for the device.

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
/// - `batch_key` runs on the thread that calls `run`, so it must be cheap; requests are
///   batched only with requests of the same key.
/// - `validate` and `prepare` run on a preparation worker (`parallel` of them) and may block
///   on host work. `prepare` must (re)initialise everything in the slot the batch needs: a
///   slot is reused after errors and panics too.
/// - `submit` runs on the same worker right after `prepare`, holding the instance's lock, so
///   submits to one instance never overlap. It must not wait for the device work: enqueue it
///   (or record what to run) and return. Work that blocks belongs in `complete`.
/// - `complete` runs on the instance's own completion thread, in submit order, and blocks
///   until the slot's work is done; or, when [`finished`](Backend::finished) says the work is
///   done already right after `submit`, on the worker that submitted it. It returns one result per request, in batch order: an
///   `Err` inside fails that request alone, an outer `Err` (or a panic, which the engine
///   catches) fails the whole batch. Either way the runtime goes on with the next batch.
/// - The backend, instances and slots are dropped after every slot's work completed, on
///   whichever engine thread stops last (never joined on a caller's thread).
pub trait Backend: Send + Sync + 'static {
    /// One request's input.
    type Input: Send + 'static;
    /// One request's output.
    type Output: Send + 'static;
    /// One model instance's execution context (a session, a CUDA context + stream set, ...).
    type Instance: Send + 'static;
    /// One set of in-flight resources.
    type Slot: Send + 'static;

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

    /// Waits for the slot's work and returns one result per request, in batch order.
    fn complete(&self, slot: &mut Self::Slot) -> Result<Vec<Result<Self::Output>>>;

    /// Whether the slot's submitted work has already finished, so that `complete` would return
    /// without waiting (default `false`). Asked on the preparation worker right after a
    /// successful `submit`: when it says so, that worker completes the batch itself instead
    /// of handing it to the completion thread, one thread hand-off less per batch. `complete`
    /// calls of an instance may then overlap, each on its own slot.
    fn finished(&self, slot: &Self::Slot) -> bool {
        let _ = slot;
        false
    }

    /// The batch key of `input` (default 0: every request may share a batch). Requests of
    /// different keys never share a batch: key by shape for models whose batch must be of
    /// one shape, or by a size bucket (text length, image width) to keep padding small.
    fn batch_key(&self, input: &Self::Input) -> u64 {
        let _ = input;
        0
    }

    /// The device times of the batch that just completed in `slot`, if the backend measures
    /// them. Called right after a successful `complete`, on the thread that ran it.
    fn device_times(&self, slot: &Self::Slot) -> Option<DeviceTimes> {
        let _ = slot;
        None
    }
}
