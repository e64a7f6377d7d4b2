//! How the simulated device behaves: engine timings, the model, and faults.

use std::time::Duration;

use accelrt::Timeline;

/// Time of one copy: `latency + bytes / bytes_per_sec`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CopyModel {
    /// Fixed cost per copy.
    pub latency: Duration,
    /// Bandwidth; `f64::INFINITY` for none.
    pub bytes_per_sec: f64,
}

impl CopyModel {
    /// A copy that takes `latency` whatever its size.
    pub const fn fixed(latency: Duration) -> Self {
        CopyModel {
            latency,
            bytes_per_sec: f64::INFINITY,
        }
    }

    /// The modelled time to copy `bytes`.
    pub fn time(&self, bytes: usize) -> Duration {
        let transfer = if self.bytes_per_sec.is_finite() && self.bytes_per_sec > 0.0 {
            Duration::from_secs_f64(bytes as f64 / self.bytes_per_sec)
        } else {
            Duration::ZERO
        };
        self.latency + transfer
    }
}

/// Time of one batch's kernels: `fixed + per_item × items`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ComputeModel {
    /// Fixed cost per batch.
    pub fixed: Duration,
    /// Added per request in the batch.
    pub per_item: Duration,
}

impl ComputeModel {
    /// The modelled time for a batch of `items`.
    pub fn time(&self, items: usize) -> Duration {
        self.fixed + self.per_item * items as u32
    }
}

/// Faults to inject, keyed on an input's first element or on the batch count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// `validate` rejects an input whose first element is this value (only that request fails).
    pub invalid_value: Option<f32>,
    /// A batch holding an input whose first element is this value fails on the device
    /// (every member of that batch fails).
    pub fail_value: Option<f32>,
    /// The device fails a request whose first element is this value, alone: the rest of its
    /// batch gets its outputs (a per-request error, as `Backend::complete` allows).
    pub fail_item_value: Option<f32>,
    /// Every n-th batch fails on the device.
    pub fail_every_nth_batch: Option<u64>,
    /// `prepare` panics for a batch holding an input whose first element is this value.
    pub panic_value: Option<f32>,
    /// `prepare` panics on every n-th batch.
    pub panic_every_nth_batch: Option<u64>,
}

/// Settings of a [`SimBackend`](crate::SimBackend).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Elements per request: inputs and outputs are `f32 [1, len]`.
    pub len: usize,
    /// Scale of `y = a·x + b`.
    pub a: f32,
    /// Offset of `y = a·x + b`.
    pub b: f32,
    /// The model's largest batch.
    pub max_batch: usize,
    /// Host preparation time per batch (modelled conversion work on the preparation worker).
    pub prepare: Duration,
    /// Host preparation time added per request.
    pub prepare_per_item: Duration,
    /// Host-to-device copy timing.
    pub h2d: CopyModel,
    /// Kernel timing.
    pub compute: ComputeModel,
    /// Device-to-host copy timing.
    pub d2h: CopyModel,
    /// One DMA engine for both directions instead of two.
    pub shared_dma: bool,
    /// Independent compute engines (NPU cores); instance `i` uses engine `i % compute_units`.
    pub compute_units: usize,
    /// Faults to inject.
    pub faults: Faults,
    /// Where to record engine busy intervals.
    pub timeline: Option<Timeline>,
    /// Drive the device like a synchronous library (ONNX Runtime on the CPU): `submit` only
    /// records the batch, and `complete` issues the device work and waits for it on the
    /// instance's completion thread. Default false: `submit` enqueues on the engines and
    /// returns, like a CUDA stream.
    pub synchronous: bool,
    /// Keep a log of the inputs each batch carried to the device (see
    /// [`SimBackend::device_log`](crate::SimBackend::device_log)).
    pub log_inputs: bool,
}

impl Default for SimConfig {
    /// Zero delays, `len` 4, `a` 2, `b` 1, max batch 64.
    fn default() -> Self {
        SimConfig {
            len: 4,
            a: 2.0,
            b: 1.0,
            max_batch: 64,
            prepare: Duration::ZERO,
            prepare_per_item: Duration::ZERO,
            h2d: CopyModel::fixed(Duration::ZERO),
            compute: ComputeModel::default(),
            d2h: CopyModel::fixed(Duration::ZERO),
            shared_dma: false,
            compute_units: 1,
            faults: Faults::default(),
            timeline: None,
            synchronous: false,
            log_inputs: false,
        }
    }
}

impl SimConfig {
    /// Fixed per-batch times for the four steps: host preparation, H2D, compute, D2H.
    pub fn stages(prepare: Duration, h2d: Duration, compute: Duration, d2h: Duration) -> Self {
        SimConfig {
            prepare,
            h2d: CopyModel::fixed(h2d),
            compute: ComputeModel {
                fixed: compute,
                per_item: Duration::ZERO,
            },
            d2h: CopyModel::fixed(d2h),
            ..SimConfig::default()
        }
    }

    /// Records engine intervals into `timeline`.
    pub fn with_timeline(mut self, timeline: Timeline) -> Self {
        self.timeline = Some(timeline);
        self
    }

    /// Logs the inputs that reach the device.
    pub fn with_input_log(mut self) -> Self {
        self.log_inputs = true;
        self
    }

    /// Runs the device work inside `complete`, like a synchronous library.
    pub fn synchronous(mut self) -> Self {
        self.synchronous = true;
        self
    }

    /// Injects `faults`.
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }
}
