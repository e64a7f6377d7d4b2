//! [`Metered`]: a backend wrapper that records the size of every batch the engine forms, for
//! the `accelrt_batch_size` histogram (the engine's stats keep only the mean).

use accelrt::{Backend, BatchInfo, DeviceTimes, ModelSpec, Result};

/// `inner`, with each batch's request count observed in `sizes` as it is prepared.
///
/// Every method delegates to `inner`, including those with default bodies (`batch_key`,
/// `device_times`): a method of [`Backend`] left out here would silently fall back to the
/// default and change how the wrapped backend batches or reports.
pub struct Metered<B> {
    inner: B,
    sizes: prometheus::Histogram,
}

impl<B> Metered<B> {
    /// Wraps `inner`, observing batch sizes into `sizes`.
    pub fn new(inner: B, sizes: prometheus::Histogram) -> Self {
        Metered { inner, sizes }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for Metered<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metered")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<B: Backend> Backend for Metered<B> {
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
        self.sizes.observe(inputs.len() as f64);
        self.inner.prepare(slot, batch, inputs)
    }

    fn submit(&self, instance: &mut Self::Instance, slot: &mut Self::Slot) -> Result<()> {
        self.inner.submit(instance, slot)
    }

    fn complete(&self, slot: &mut Self::Slot) -> Result<Vec<Result<Self::Output>>> {
        self.inner.complete(slot)
    }

    fn batch_key(&self, input: &Self::Input) -> u64 {
        self.inner.batch_key(input)
    }

    fn device_times(&self, slot: &Self::Slot) -> Option<DeviceTimes> {
        self.inner.device_times(slot)
    }

    fn finished(&self, slot: &Self::Slot) -> bool {
        self.inner.finished(slot)
    }
}

#[cfg(test)]
mod tests {
    use accelrt::{AsyncRuntime, Runtime, Tensor};
    use accelrt_sim::{SimBackend, SimConfig};

    use super::*;

    #[test]
    fn says_finished_when_the_wrapped_backend_does() {
        // The zero-delay simulator finishes a batch inside `submit`; wrapped, the engine must
        // still be told so (the worker then completes the batch without a thread hand-off).
        let sizes = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("b", "b")).unwrap();
        let metered = Metered::new(SimBackend::new(SimConfig::default()), sizes);
        let mut instance = metered.new_instance(0).unwrap();
        let mut slot = metered.new_slot(&mut instance, 1).unwrap();
        let batch = BatchInfo {
            id: 0,
            requests: vec![0],
        };
        let x = Tensor::new([1, 4], vec![1.0f32; 4]).unwrap();
        metered.prepare(&mut slot, &batch, vec![x]).unwrap();
        metered.submit(&mut instance, &mut slot).unwrap();
        assert!(metered.inner().finished(&slot));
        assert!(metered.finished(&slot));
        assert_eq!(metered.complete(&mut slot).unwrap().len(), 1);
    }

    #[test]
    fn observes_every_batch() {
        let sizes = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("b", "b")).unwrap();
        let rt = Runtime::builder(Metered::new(SimBackend::new(SimConfig::default()), sizes.clone()))
            .max_batch(4)
            .build()
            .unwrap();
        let x = Tensor::new([1, 4], vec![1.0f32; 4]).unwrap();
        let tasks: Vec<_> = (0..8).map(|_| rt.run(x.clone())).collect();
        for t in tasks {
            t.wait().unwrap();
        }
        assert_eq!(
            sizes.get_sample_sum(),
            8.0,
            "every request was in exactly one observed batch"
        );
        assert_eq!(sizes.get_sample_count(), rt.stats().batches);
    }
}
