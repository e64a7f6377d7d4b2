//! [`SimBackend`]: the [`accelrt::Backend`] of the simulated device.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use accelrt::{Backend, BatchInfo, DType, DeviceTimes, Dim, Error, ModelSpec, Result, Tensor, TensorSpec};

use crate::config::SimConfig;
use crate::device::{hold, Device, SlotMemory};
use crate::event::Gate;

/// The simulated accelerator as an accelrt backend: `y = a·x + b` on `f32 [1, len]`.
///
/// All instances share one device (its DMA engines and compute units), like several model
/// instances on one GPU.
pub struct SimBackend {
    config: SimConfig,
    spec: ModelSpec,
    device: Device,
    gate: Arc<Gate>,
    batches: AtomicU64,
    log: Mutex<Vec<(u64, Vec<f32>)>>,
}

/// Pauses and resumes the simulated device's engines, for tests that need requests to pile up
/// (a burst to batch, tasks to cancel, a full queue) without depending on timing.
#[derive(Clone)]
pub struct SimControl {
    gate: Arc<Gate>,
}

impl SimControl {
    /// Engines finish the operation they are on and then hold.
    pub fn pause(&self) {
        self.gate.set_closed(true);
    }

    /// Engines go on.
    pub fn resume(&self) {
        self.gate.set_closed(false);
    }
}

/// One slot: host staging, device buffers, and the events of its in-flight work.
pub struct SimSlot {
    mem: Arc<SlotMemory>,
    batch: u64,
    items: usize,
    unit: usize,
    /// Per request: fails alone on the device (`Faults::fail_item_value`).
    fails_alone: Vec<bool>,
}

impl SimBackend {
    /// Starts the device's engine threads.
    ///
    /// # Panics
    /// Only if the operating system cannot start a thread; use [`try_new`](SimBackend::try_new)
    /// to get an error instead.
    pub fn new(config: SimConfig) -> Self {
        Self::try_new(config).expect("cannot start the simulated device's engine threads")
    }

    /// Starts the device's engine threads, or says why it could not.
    pub fn try_new(config: SimConfig) -> Result<Self> {
        if config.len == 0 || config.max_batch == 0 {
            return Err(Error::Config("sim: len and max_batch must be at least 1".into()));
        }
        let gate = Arc::new(Gate::default());
        let device = Device::start(
            config.shared_dma,
            config.compute_units,
            config.a,
            config.b,
            config.timeline.clone(),
            gate.clone(),
        )
        .map_err(|e| Error::DeviceUnavailable(format!("sim: cannot start engine threads: {e}")))?;
        let io = |name: &str| TensorSpec::new(name, DType::F32, [Dim::dynamic("N"), Dim::Fixed(config.len)]);
        let spec = ModelSpec {
            inputs: vec![io("x")],
            outputs: vec![io("y")],
            max_batch: Some(config.max_batch),
        };
        Ok(SimBackend {
            config,
            spec,
            device,
            gate,
            batches: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
        })
    }

    /// With [`SimConfig::log_inputs`]: for every batch that reached the device, in the order
    /// they did, its id and the first element of each of its inputs.
    pub fn device_log(&self) -> Vec<(u64, Vec<f32>)> {
        self.log.lock().clone()
    }

    /// A handle that pauses and resumes the engines; keep it before moving the backend into a
    /// runtime.
    pub fn control(&self) -> SimControl {
        SimControl {
            gate: self.gate.clone(),
        }
    }

    /// The settings it runs with.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The value of `a·x + b` the device computes, for checking outputs.
    pub fn expected(&self, x: f32) -> f32 {
        self.config.a * x + self.config.b
    }

    /// Enqueues the slot's H2D, compute and D2H on the engines.
    fn issue(&self, slot: &SimSlot) {
        let bytes = slot.items * self.config.len * std::mem::size_of::<f32>();
        let times = [
            self.config.h2d.time(bytes),
            self.config.compute.time(slot.items),
            self.config.d2h.time(bytes),
        ];
        self.device.issue(slot.unit, slot.batch, &slot.mem, times);
    }

    fn first_elements(inputs: &[Tensor]) -> impl Iterator<Item = f32> + '_ {
        inputs
            .iter()
            .filter_map(|t| t.as_slice::<f32>().ok().and_then(|s| s.first().copied()))
    }
}

impl Backend for SimBackend {
    type Input = Tensor;
    type Output = Tensor;
    /// The compute unit the instance runs on.
    type Instance = usize;
    type Slot = SimSlot;

    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    fn validate(&self, input: &Tensor) -> Result<()> {
        self.spec.inputs[0].check("input", input)?;
        if input.shape()[0] != 1 {
            return Err(Error::invalid_named(
                "x",
                "one item per request",
                format!("a batch of {}", input.shape()[0]),
            ));
        }
        let first = input.as_slice::<f32>()?.first().copied();
        if first.is_some() && first == self.config.faults.invalid_value {
            return Err(Error::invalid_named(
                "x",
                "a value the device accepts",
                format!("{first:?}, refused by an injected fault"),
            ));
        }
        Ok(())
    }

    fn new_instance(&self, index: usize) -> Result<usize> {
        Ok(index % self.config.compute_units.max(1))
    }

    fn new_slot(&self, unit: &mut usize, max_batch: usize) -> Result<SimSlot> {
        Ok(SimSlot {
            mem: Arc::new(SlotMemory::with_capacity(max_batch * self.config.len)),
            batch: 0,
            items: 0,
            unit: *unit,
            fails_alone: Vec::with_capacity(max_batch),
        })
    }

    fn prepare(&self, slot: &mut SimSlot, batch: &BatchInfo, inputs: Vec<Tensor>) -> Result<()> {
        let start = Instant::now();
        let n = self.batches.fetch_add(1, Relaxed) + 1;
        let faults = &self.config.faults;
        let has = |v: Option<f32>| v.is_some() && Self::first_elements(&inputs).any(|x| Some(x) == v);
        if has(faults.panic_value) || faults.panic_every_nth_batch.is_some_and(|k| k > 0 && n % k == 0) {
            panic!("sim: injected panic in prepare (batch {})", batch.id);
        }
        let fail = if has(faults.fail_value) {
            Some(format!(
                "sim: injected device fault (batch {} holds a failing input)",
                batch.id
            ))
        } else if faults.fail_every_nth_batch.is_some_and(|k| k > 0 && n % k == 0) {
            Some(format!(
                "sim: injected device fault (every {}th batch)",
                faults.fail_every_nth_batch.unwrap_or(0)
            ))
        } else {
            None
        };
        *slot.mem.fail.lock() = fail;
        if self.config.log_inputs {
            self.log
                .lock()
                .push((batch.id, Self::first_elements(&inputs).collect()));
        }
        {
            let mut staging = slot.mem.host_in.lock();
            staging.clear();
            for t in &inputs {
                staging.extend_from_slice(t.as_slice::<f32>()?);
            }
        }
        slot.batch = batch.id;
        slot.items = inputs.len();
        slot.fails_alone.clear();
        slot.fails_alone
            .extend(Self::first_elements(&inputs).map(|x| faults.fail_item_value.is_some_and(|v| v == x)));
        hold(
            start,
            self.config.prepare + self.config.prepare_per_item * inputs.len() as u32,
        );
        Ok(())
    }

    fn submit(&self, _unit: &mut usize, slot: &mut SimSlot) -> Result<()> {
        if !self.config.synchronous {
            self.issue(slot);
        }
        Ok(())
    }

    /// A zero-delay device runs a batch's operations during `submit` (see the device module),
    /// so the engine can complete it at once. (A synchronous device has not started by then.)
    fn finished(&self, slot: &SimSlot) -> bool {
        !self.config.synchronous && slot.mem.done.is_set()
    }

    fn complete(&self, slot: &mut SimSlot) -> Result<Vec<Result<Tensor>>> {
        if self.config.synchronous {
            self.issue(slot);
        }
        slot.mem.done.wait();
        if let Some(msg) = slot.mem.fail.lock().take() {
            return Err(Error::backend_msg(msg));
        }
        let out = slot.mem.host_out.lock().clone();
        let outputs = Tensor::new([slot.items, self.config.len], out)?.split(&vec![1; slot.items])?;
        Ok(outputs
            .into_iter()
            .zip(&slot.fails_alone)
            .map(|(y, &fail)| {
                if fail {
                    Err(Error::backend_msg(format!(
                        "sim: injected device fault for one request (batch {})",
                        slot.batch
                    )))
                } else {
                    Ok(y)
                }
            })
            .collect())
    }

    fn device_times(&self, slot: &SimSlot) -> Option<DeviceTimes> {
        let [h2d, compute, d2h] = *slot.mem.times.lock();
        Some(DeviceTimes { h2d, compute, d2h })
    }
}
