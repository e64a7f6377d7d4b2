//! [`Burst`]: how benchmarks and tests load a runtime: many one-item requests submitted at
//! once, then awaited.

use accelrt::{Error, Result};

/// `batches` full batches of `batch` one-item requests, all submitted before the first is
/// awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    batch: usize,
    batches: usize,
}

impl Burst {
    /// A burst of `batches` × `batch` requests; both must be ≥ 1 and the product must fit.
    pub fn new(batch: usize, batches: usize) -> Result<Self> {
        if batch == 0 || batches == 0 {
            return Err(Error::Config(format!(
                "burst: expected batch ≥ 1 and batches ≥ 1, got {batch} and {batches}"
            )));
        }
        batch
            .checked_mul(batches)
            .ok_or_else(|| Error::Config(format!("burst: {batch} × {batches} requests overflow")))?;
        Ok(Burst { batch, batches })
    }

    /// Requests per batch.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Batches.
    pub fn batches(&self) -> usize {
        self.batches
    }

    /// Requests in the burst.
    pub fn requests(&self) -> usize {
        self.batch * self.batches
    }

    /// The runtime's queue capacity for this burst: every request must find a place at once.
    /// With fewer places the submitting thread waits for one, and each place that frees up
    /// while the device idles is taken by a batch of one, so the run measures one-row batches
    /// instead of full ones.
    pub fn queue_capacity(&self) -> usize {
        self.requests()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_holds_the_whole_burst() {
        // The benchmark's calibration: 8 batches of 256 (more than the default queue of 1024).
        let calibration = Burst::new(256, 8).unwrap();
        assert_eq!(calibration.requests(), 2048);
        assert_eq!(calibration.queue_capacity(), 2048);
        assert!(calibration.queue_capacity() > 1024);
        assert_eq!(Burst::new(1, 1).unwrap().queue_capacity(), 1);
    }

    #[test]
    fn empty_or_overflowing_bursts_are_config_errors() {
        for (b, n) in [(0, 8), (256, 0), (usize::MAX, 2)] {
            assert!(matches!(Burst::new(b, n), Err(Error::Config(_))), "{b} × {n}");
        }
    }
}
