//! [`CudaSlot`]: one batch's in-flight resources, allocated at build time.

use std::sync::Arc;

use cudarc::driver::{sys, CudaEvent, CudaStream};

use crate::device::CudaDevice;
use crate::error::{CudaError, CudaResult};
use crate::layout::SlotLayout;
use crate::memory::{DeviceBuffer, HostAccess, PinnedBuffer};

/// One slot: its own non-blocking stream, pinned staging for inputs (write-combined) and
/// outputs (cached), device buffers, the model's scratch, and the events that mark its
/// phases. Two slots' streams run concurrently, which is what overlaps one batch's copies
/// with another's kernels.
pub struct CudaSlot<S> {
    pub(crate) stream: Arc<CudaStream>,
    pub(crate) host_in: PinnedBuffer,
    pub(crate) host_out: PinnedBuffer,
    pub(crate) dev_in: DeviceBuffer,
    pub(crate) dev_out: DeviceBuffer,
    pub(crate) scratch: S,
    pub(crate) events: SlotEvents,
    /// Requests the slot can hold.
    pub(crate) capacity: usize,
    /// Requests in the current batch.
    pub(crate) items: usize,
    /// The current batch's id, for the timeline.
    pub(crate) batch: u64,
    /// The device times of the batch that completed last (`None` without timing events).
    pub(crate) times: Option<accelrt::DeviceTimes>,
}

/// The events recorded on a slot's stream. `done` is what completion waits on; the four
/// phase events (before H2D, before the kernels, before D2H, after D2H) exist only when
/// device timing is on. Phases are measured between a batch's own events, so their resolution
/// does not depend on how long the device has been open.
pub(crate) struct SlotEvents {
    pub(crate) phases: Option<[CudaEvent; 4]>,
    pub(crate) done: CudaEvent,
}

impl<S> CudaSlot<S> {
    /// Requests this slot can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes of pinned input staging.
    pub fn input_staging_bytes(&self) -> usize {
        self.host_in.len()
    }

    /// Bytes of pinned output staging.
    pub fn output_staging_bytes(&self) -> usize {
        self.host_out.len()
    }
}

impl<S> Drop for CudaSlot<S> {
    fn drop(&mut self) {
        // Buffers are freed after this; work still queued on the stream (a batch whose
        // submit failed half-way is never completed) must not outlive them.
        let _ = self.stream.synchronize();
    }
}

/// Allocates everything but the scratch for one slot.
pub(crate) struct SlotParts {
    pub(crate) stream: Arc<CudaStream>,
    pub(crate) host_in: PinnedBuffer,
    pub(crate) host_out: PinnedBuffer,
    pub(crate) dev_in: DeviceBuffer,
    pub(crate) dev_out: DeviceBuffer,
    pub(crate) events: SlotEvents,
}

impl SlotParts {
    pub(crate) fn alloc(
        device: &CudaDevice,
        layout: &SlotLayout,
        max_batch: usize,
        timing: bool,
        blocking_sync: bool,
        name: &str,
    ) -> accelrt::Result<Self> {
        let in_bytes = layout.input_bytes(max_batch)?;
        let out_bytes = layout.output_bytes(max_batch)?;
        let ctx = device.context();
        let stream = device.stream()?;
        let dev_in = DeviceBuffer::alloc(
            &stream,
            layout.input.dtype,
            max_batch * layout.input.elems(),
            &format!("{name} device input"),
        )?;
        let dev_out = DeviceBuffer::alloc(
            &stream,
            layout.output.dtype,
            max_batch * layout.output.elems(),
            &format!("{name} device output"),
        )?;
        // Device memory first: it is the scarcer resource, and failing there leaves no pinned
        // host memory allocated for nothing.
        let host_in = PinnedBuffer::alloc(
            ctx,
            in_bytes,
            HostAccess::WriteCombined,
            &format!("{name} input staging"),
        )?;
        let host_out = PinnedBuffer::alloc(ctx, out_bytes, HostAccess::Cached, &format!("{name} output staging"))?;
        let events = SlotEvents::new(device, timing, blocking_sync)?;
        // The zero-fills above are queued on the stream; finish them before the slot is used.
        stream.synchronize().map_err(CudaError::call("synchronize new slot"))?;
        Ok(SlotParts {
            stream,
            host_in,
            host_out,
            dev_in,
            dev_out,
            events,
        })
    }
}

impl SlotEvents {
    fn new(device: &CudaDevice, timing: bool, blocking_sync: bool) -> CudaResult<Self> {
        use sys::CUevent_flags::*;
        let ctx = device.context();
        let event = |flags| ctx.new_event(Some(flags)).map_err(CudaError::call("create event"));
        // Blocking sync makes the completion thread sleep instead of spinning: less CPU,
        // some tens of microseconds more latency per batch.
        // `done` is only waited on, never timed (the last phase event is). cudarc takes one
        // flag, so a blocking-sync event keeps its (cheap) timing.
        let done_flags = if blocking_sync {
            CU_EVENT_BLOCKING_SYNC
        } else {
            CU_EVENT_DISABLE_TIMING
        };
        let phases = if timing {
            Some([
                event(CU_EVENT_DEFAULT)?,
                event(CU_EVENT_DEFAULT)?,
                event(CU_EVENT_DEFAULT)?,
                event(CU_EVENT_DEFAULT)?,
            ])
        } else {
            None
        };
        Ok(SlotEvents {
            phases,
            done: event(done_flags)?,
        })
    }
}
