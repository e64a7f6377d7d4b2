//! One runtime configuration, as `bench` runs it and `sweep` varies it.

use std::fmt;
use std::time::Duration;

use accelrt::{Backend, RuntimeBuilder, Timeline};

/// The runtime settings a benchmark controls, plus the load generator's concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Input-preparation workers.
    pub parallel: usize,
    /// Slots per instance.
    pub depth: usize,
    /// Model instances.
    pub instances: usize,
    /// Most requests per batch.
    pub max_batch: usize,
    /// How long a batch may wait to fill.
    pub batch_timeout: Duration,
    /// Requests that may wait in the queue.
    pub queue_capacity: usize,
    /// Requests the load generator keeps in flight.
    pub concurrency: usize,
}

impl Settings {
    /// `builder` with these settings (and `timeline`, when recording); `build` validates them.
    pub fn apply<B: Backend>(&self, builder: RuntimeBuilder<B>, timeline: Option<&Timeline>) -> RuntimeBuilder<B> {
        let builder = builder
            .parallel(self.parallel)
            .depth(self.depth)
            .instances(self.instances)
            .max_batch(self.max_batch)
            .batch_timeout(self.batch_timeout)
            .queue_capacity(self.queue_capacity);
        match timeline {
            Some(tl) => builder.timeline(tl.clone()),
            None => builder,
        }
    }
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "parallel {}, depth {}, instances {}, max-batch {}, batch-timeout {}, concurrency {}",
            self.parallel,
            self.depth,
            self.instances,
            self.max_batch,
            crate::report::duration(self.batch_timeout),
            self.concurrency
        )
    }
}
