//! [`Gated`]: a backend whose runs go through the pipeline's pool of [`Cores`] (counted there,
//! and made to wait for a free core when the pool is bounded).

use accelrt::{Backend, BatchInfo, DeviceTimes, ModelSpec, Result};

use crate::cores::{Cores, Step};

/// `inner`, each `complete` (where a CPU session runs: the ONNX backend's `submit` only
/// enqueues) running through the pool as its step, on `threads` cores.
///
/// Every other method delegates to `inner`, those with default bodies too (`finished`,
/// `batch_key`, `device_times`): one left out would fall back to the default and change how
/// the wrapped backend batches, completes or reports.
pub(crate) struct Gated<B> {
    inner: B,
    pool: (Cores, Step),
    threads: usize,
}

impl<B> Gated<B> {
    pub(crate) fn new(inner: B, pool: (Cores, Step), threads: usize) -> Self {
        Gated { inner, pool, threads }
    }
}

impl<B: Backend> Backend for Gated<B> {
    type Input = B::Input;
    type Output = B::Output;
    type Instance = B::Instance;
    type Slot = B::Slot;

    fn spec(&self) -> &ModelSpec {
        self.inner.spec()
    }

    fn validate(&self, input: &Self::Input) -> Result<()> {
        self.inner.validate(input)
    }

    fn new_instance(&self, index: usize) -> Result<Self::Instance> {
        self.inner.new_instance(index)
    }

    fn new_slot(&self, instance: &mut Self::Instance, max_batch: usize) -> Result<Self::Slot> {
        self.inner.new_slot(instance, max_batch)
    }

    fn prepare(&self, slot: &mut Self::Slot, batch: &BatchInfo, inputs: Vec<Self::Input>) -> Result<()> {
        self.inner.prepare(slot, batch, inputs)
    }

    fn submit(&self, instance: &mut Self::Instance, slot: &mut Self::Slot) -> Result<()> {
        self.inner.submit(instance, slot)
    }

    fn complete(&self, slot: &mut Self::Slot) -> Result<Vec<Result<Self::Output>>> {
        // On the instance's completion thread, never an async task: waiting here blocks
        // nothing but this session.
        let (cores, step) = &self.pool;
        cores.run(*step, self.threads, || self.inner.complete(slot))
    }

    fn finished(&self, slot: &Self::Slot) -> bool {
        self.inner.finished(slot)
    }

    fn batch_key(&self, input: &Self::Input) -> u64 {
        self.inner.batch_key(input)
    }

    fn device_times(&self, slot: &Self::Slot) -> Option<DeviceTimes> {
        self.inner.device_times(slot)
    }
}
