//! [`CudaBackend`]: the [`accelrt::Backend`] that runs a [`CudaModel`] on one GPU.

use std::sync::Arc;

use accelrt::trace::{Phase, Track};
use accelrt::{Backend, BatchInfo, DType, DeviceTimes, Error, ModelSpec, Result, Tensor, Timeline};
use cudarc::driver::CudaStream;

use crate::device::{duration_ms, CudaDevice};
use crate::error::CudaError;
use crate::layout::SlotLayout;
use crate::memory::{d2h, h2d};
use crate::model::{CudaModel, Launch};
use crate::slot::{CudaSlot, SlotParts};

/// Runs a [`CudaModel`] on one GPU: each slot stages a batch in pinned memory and enqueues
/// H2D → kernels → D2H on its own stream; completion waits for the slot's event.
///
/// Errors fail the batch they happen in and no other. One exception is CUDA's own: a fault
/// inside a kernel (an illegal address) poisons the context, so every later batch fails too.
///
/// ```no_run
/// use accelrt::{AsyncRuntime, Runtime, Tensor};
/// use accelrt_cuda::{CudaBackend, Preprocess};
///
/// let backend = CudaBackend::builder(Preprocess::new(224, 224)).device(0).build()?;
/// let runtime = Runtime::builder(backend).parallel(2).depth(3).max_batch(16).build()?;
/// let image = Tensor::new([1, 224, 224, 3], vec![128u8; 224 * 224 * 3])?;
/// let chw = runtime.run(image).wait()?; // f32 [1, 3, 224, 224]
/// # Ok::<(), accelrt::Error>(())
/// ```
pub struct CudaBackend<M: CudaModel> {
    model: M,
    device: CudaDevice,
    layout: SlotLayout,
    timeline: Option<Timeline>,
    blocking_sync: bool,
    device_timing: bool,
}

/// Settings of a [`CudaBackend`], checked in [`build`](CudaBackendBuilder::build).
#[must_use]
pub struct CudaBackendBuilder<M: CudaModel> {
    model: M,
    ordinal: usize,
    timeline: Option<Timeline>,
    blocking_sync: bool,
    device_timing: bool,
}

impl<M: CudaModel> CudaBackend<M> {
    /// Starts building a backend for `model` (device 0, no timeline).
    pub fn builder(model: M) -> CudaBackendBuilder<M> {
        CudaBackendBuilder {
            model,
            ordinal: 0,
            timeline: None,
            blocking_sync: false,
            device_timing: true,
        }
    }

    /// The opened device.
    pub fn device(&self) -> &CudaDevice {
        &self.device
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// Buffer sizes per request.
    pub fn layout(&self) -> &SlotLayout {
        &self.layout
    }
}

impl<M: CudaModel> CudaBackendBuilder<M> {
    /// The GPU to run on, by CUDA ordinal (default 0). Several backends, or several
    /// runtime instances of one backend, may share a GPU.
    pub fn device(mut self, ordinal: usize) -> Self {
        self.ordinal = ordinal;
        self
    }

    /// Records each batch's H2D, compute and D2H on `timeline` from CUDA event timestamps
    /// (tracks `Engine("h2d")`, `Engine("compute")`, `Engine("d2h")`). Share it with the
    /// runtime builder to line device phases up with host ones.
    pub fn timeline(mut self, timeline: Timeline) -> Self {
        self.timeline = Some(timeline);
        self
    }

    /// Measures each batch's H2D, compute and D2H with CUDA events, for
    /// [`Stats`](accelrt::Stats) (default on: four event records per batch, microseconds).
    /// A [`timeline`](Self::timeline) turns it on regardless.
    pub fn device_timing(mut self, on: bool) -> Self {
        self.device_timing = on;
        self
    }

    /// Completion threads sleep on their event instead of spinning (default false: spinning,
    /// CUDA's own default, has the lowest latency but keeps a core busy per instance).
    pub fn blocking_sync(mut self, on: bool) -> Self {
        self.blocking_sync = on;
        self
    }

    /// Checks the model's spec, then opens the device.
    ///
    /// Fails with [`Error::Config`] for a spec the backend cannot size buffers for, and with
    /// [`Error::DeviceUnavailable`] when there is no driver or no such device (never panics).
    pub fn build(self) -> Result<CudaBackend<M>> {
        let spec = self.model.spec();
        let layout = SlotLayout::from_spec(spec)?;
        if spec.max_batch == Some(0) {
            return Err(Error::Config("cuda: the model's max_batch is 0".into()));
        }
        let device = CudaDevice::open(self.ordinal)?;
        Ok(CudaBackend {
            model: self.model,
            device,
            layout,
            device_timing: self.device_timing || self.timeline.is_some(),
            timeline: self.timeline,
            blocking_sync: self.blocking_sync,
        })
    }
}

/// One instance: the model's loaded state and the stream it was loaded on.
pub struct CudaInstance<I> {
    index: usize,
    state: I,
    _stream: Arc<CudaStream>,
}

impl<I> CudaInstance<I> {
    /// The instance's index in the runtime.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl<M: CudaModel> Backend for CudaBackend<M> {
    type Input = Tensor;
    type Output = Tensor;
    type Instance = CudaInstance<M::Instance>;
    type Slot = CudaSlot<M::Scratch>;
    /// `submit` only enqueues copies and kernels on the slot's stream.

    fn spec(&self) -> &ModelSpec {
        self.model.spec()
    }

    fn validate(&self, input: &Tensor) -> Result<()> {
        validate_input(&self.model, input)
    }

    fn new_instance(&self, index: usize) -> Result<Self::Instance> {
        let stream = self.device.stream()?;
        let state = self.model.load(&self.device, &stream)?;
        // Weights and modules are complete before any slot stream reads them (event tracking
        // is off, so this synchronize is the ordering).
        stream
            .synchronize()
            .map_err(CudaError::call("synchronize after loading the model"))?;
        Ok(CudaInstance {
            index,
            state,
            _stream: stream,
        })
    }

    fn new_slot(&self, instance: &mut Self::Instance, max_batch: usize) -> Result<Self::Slot> {
        if max_batch == 0 {
            return Err(Error::Config("cuda: a slot needs max_batch ≥ 1".into()));
        }
        let name = format!("instance {} slot", instance.index);
        let parts = SlotParts::alloc(
            &self.device,
            &self.layout,
            max_batch,
            self.device_timing,
            self.blocking_sync,
            &name,
        )?;
        let scratch = self.model.new_scratch(&mut instance.state, &parts.stream, max_batch)?;
        parts
            .stream
            .synchronize()
            .map_err(CudaError::call("synchronize new slot"))?;
        Ok(CudaSlot {
            stream: parts.stream,
            host_in: parts.host_in,
            host_out: parts.host_out,
            dev_in: parts.dev_in,
            dev_out: parts.dev_out,
            scratch,
            events: parts.events,
            capacity: max_batch,
            items: 0,
            batch: 0,
            times: None,
        })
    }

    fn prepare(&self, slot: &mut Self::Slot, batch: &BatchInfo, inputs: Vec<Tensor>) -> Result<()> {
        if inputs.len() > slot.capacity {
            return Err(Error::invalid_input(
                format!("a batch of at most {} (the slot's size)", slot.capacity),
                format!("a batch of {}", inputs.len()),
            ));
        }
        let item = self.layout.input.bytes();
        // Waits for the slot's previous H2D (long finished: its batch completed) and writes
        // the batch into write-combined staging, one sequential pass per request.
        let staging = slot.host_in.as_mut_slice()?;
        for (t, dst) in inputs.iter().zip(staging.chunks_exact_mut(item.max(1))) {
            let src = t.bytes();
            if src.len() != item {
                return Err(Error::invalid_input(
                    format!("{item} bytes per item"),
                    format!("{} bytes", src.len()),
                ));
            }
            dst[..item].copy_from_slice(src);
        }
        slot.items = inputs.len();
        slot.batch = batch.id;
        Ok(())
    }

    fn submit(&self, instance: &mut Self::Instance, slot: &mut Self::Slot) -> Result<()> {
        let stream = &slot.stream;
        let record = |i: usize| -> Result<()> {
            if let Some(ev) = &slot.events.phases {
                ev[i].record(stream).map_err(CudaError::call("record event"))?;
            }
            Ok(())
        };
        record(0)?;
        h2d(
            stream,
            &slot.host_in,
            &mut slot.dev_in,
            slot.items * self.layout.input.bytes(),
        )?;
        record(1)?;
        self.model.enqueue(
            &instance.state,
            &mut slot.scratch,
            Launch {
                stream,
                batch: slot.items,
                input: &slot.dev_in,
                output: &mut slot.dev_out,
            },
        )?;
        record(2)?;
        d2h(
            stream,
            &slot.dev_out,
            &mut slot.host_out,
            slot.items * self.layout.output.bytes(),
        )?;
        record(3)?;
        slot.events
            .done
            .record(stream)
            .map_err(CudaError::call("record event"))?;
        Ok(())
    }

    fn complete(&self, slot: &mut Self::Slot) -> Result<Vec<Result<Tensor>>> {
        // An asynchronous fault in this batch's kernels (or a copy) surfaces here.
        slot.events
            .done
            .synchronize()
            .map_err(CudaError::call("batch execution"))?;
        slot.times = None;
        if let Some(ev) = &slot.events.phases {
            let between = |a: usize, b: usize| {
                ev[a]
                    .elapsed_ms(&ev[b])
                    .map(duration_ms)
                    .map_err(CudaError::call("event elapsed time"))
            };
            let times = DeviceTimes {
                h2d: between(0, 1)?,
                compute: between(1, 2)?,
                d2h: between(2, 3)?,
            };
            slot.times = Some(times);
            if let Some(timeline) = &self.timeline {
                // One anchored instant per batch; the phases follow from the batch's own events.
                let t0 = self.device.instant_of(&ev[0])?;
                let t1 = t0 + times.h2d;
                let t2 = t1 + times.compute;
                let t3 = t2 + times.d2h;
                for (name, phase, start, end) in [
                    ("h2d", Phase::H2D, t0, t1),
                    ("compute", Phase::Compute, t1, t2),
                    ("d2h", Phase::D2H, t2, t3),
                ] {
                    timeline.record(Track::Engine(name.to_string()), phase, slot.batch, start, end);
                }
            }
        }
        let out = &self.layout.output;
        let bytes = slot.items * out.bytes();
        let host = slot.host_out.as_slice()?;
        let mut shape = vec![slot.items];
        shape.extend_from_slice(&out.item_shape);
        let all = tensor_from_bytes(out.dtype, shape, &host[..bytes])?;
        Ok(all.split(&vec![1; slot.items])?.into_iter().map(Ok).collect())
    }

    fn device_times(&self, slot: &Self::Slot) -> Option<DeviceTimes> {
        slot.times
    }
}

/// The check [`CudaBackend`] runs on each request before it joins a batch: the input must
/// match the model's input spec, hold exactly one item, and pass [`CudaModel::check`].
/// Needs no device.
pub fn validate_input<M: CudaModel>(model: &M, input: &Tensor) -> Result<()> {
    let spec = model
        .spec()
        .inputs
        .first()
        .ok_or_else(|| Error::Config("cuda: the model has no input".into()))?;
    spec.check("input", input)?;
    if input.shape().first() != Some(&1) {
        return Err(Error::invalid_named(
            spec.name.clone(),
            "one item per request",
            format!("a batch of {}", input.batch_size()),
        ));
    }
    model.check(input)
}

/// One copy out of pinned staging into a tensor whose data is aligned for its dtype.
fn tensor_from_bytes(dtype: DType, shape: Vec<usize>, bytes: &[u8]) -> Result<Tensor> {
    match dtype {
        DType::F32 => Tensor::new(shape, bytemuck::pod_collect_to_vec::<u8, f32>(bytes)),
        DType::F64 => Tensor::new(shape, bytemuck::pod_collect_to_vec::<u8, f64>(bytes)),
        DType::I64 => Tensor::new(shape, bytemuck::pod_collect_to_vec::<u8, i64>(bytes)),
        DType::I32 => Tensor::new(shape, bytemuck::pod_collect_to_vec::<u8, i32>(bytes)),
        DType::I8 => Tensor::new(shape, bytemuck::pod_collect_to_vec::<u8, i8>(bytes)),
        DType::U8 => Tensor::new(shape, bytes.to_vec()),
        other => Tensor::from_bytes(other, shape, bytes::Bytes::copy_from_slice(bytes)),
    }
}
