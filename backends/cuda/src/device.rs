//! [`CudaDevice`]: one GPU, opened by ordinal, with the clock anchor that turns CUDA event
//! timestamps into [`Instant`]s for an [`accelrt::Timeline`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use cudarc::driver::{result, sys, CudaContext, CudaEvent, CudaStream};

use crate::error::{CudaError, CudaResult};
use crate::ffi;

/// An opened GPU: its (primary) context and a few facts about it.
///
/// Cheap to clone; every instance and slot of a backend shares one.
#[derive(Clone)]
pub struct CudaDevice {
    ctx: Arc<CudaContext>,
    name: String,
    compute_capability: (i32, i32),
    anchor: Arc<Anchor>,
}

/// A CUDA event recorded at a known host instant: device time `t` (ms since the event) maps
/// to `instant + t`.
struct Anchor {
    event: CudaEvent,
    instant: Instant,
}

impl CudaDevice {
    /// Opens device `ordinal`.
    ///
    /// Fails with [`accelrt::Error::DeviceUnavailable`] when the driver library is missing, the
    /// driver cannot initialise, or there is no such device; never panics.
    pub fn open(ordinal: usize) -> accelrt::Result<Self> {
        Ok(Self::open_inner(ordinal)?)
    }

    /// How many CUDA devices the driver sees; `DeviceUnavailable` when there is no driver.
    pub fn count() -> accelrt::Result<usize> {
        Ok(Self::count_inner()?)
    }

    fn count_inner() -> CudaResult<usize> {
        ffi::require_driver()?;
        result::init().map_err(CudaError::call("cuInit"))?;
        let count = result::device::get_count().map_err(CudaError::call("cuDeviceGetCount"))?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    fn open_inner(ordinal: usize) -> CudaResult<Self> {
        let count = Self::count_inner()?;
        if ordinal >= count {
            return Err(CudaError::NoDevice { ordinal, count });
        }
        let ctx = CudaContext::new(ordinal).map_err(CudaError::call(format!("open device {ordinal}")))?;
        ffi::disable_event_tracking(&ctx);
        let name = ctx.name().unwrap_or_else(|_| "unknown GPU".to_string());
        let compute_capability = ctx
            .compute_capability()
            .map_err(CudaError::call("query compute capability"))?;
        // The anchor: an event on an otherwise idle stream completes as soon as it is recorded,
        // so the host instant right after its synchronize is its device time (to within the
        // wake-up latency, a few microseconds, the same for every interval).
        let stream = ctx.new_stream().map_err(CudaError::call("create stream"))?;
        let event = ctx
            .new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
            .map_err(CudaError::call("create event"))?;
        event.record(&stream).map_err(CudaError::call("record event"))?;
        event.synchronize().map_err(CudaError::call("synchronize event"))?;
        let instant = Instant::now();
        Ok(CudaDevice {
            ctx,
            name,
            compute_capability,
            anchor: Arc::new(Anchor { event, instant }),
        })
    }

    /// The driver context (event tracking is off: see [`CudaModel`](crate::CudaModel)).
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// The device ordinal.
    pub fn ordinal(&self) -> usize {
        self.ctx.ordinal()
    }

    /// The device's name, e.g. `NVIDIA H100 80GB HBM3`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `(major, minor)`, e.g. `(9, 0)` for Hopper.
    pub fn compute_capability(&self) -> (i32, i32) {
        self.compute_capability
    }

    /// A new non-blocking stream: it never synchronizes with the legacy default stream, so
    /// other libraries' work on that stream cannot serialize ours.
    pub fn new_stream(&self) -> accelrt::Result<Arc<CudaStream>> {
        Ok(self.stream()?)
    }

    pub(crate) fn stream(&self) -> CudaResult<Arc<CudaStream>> {
        self.ctx.new_stream().map_err(CudaError::driver("create stream", 0))
    }

    /// The host instant at which a timing-enabled `event` completed. The event must have
    /// completed (its stream synchronized).
    pub fn event_instant(&self, event: &CudaEvent) -> accelrt::Result<Instant> {
        Ok(self.instant_of(event)?)
    }

    pub(crate) fn instant_of(&self, event: &CudaEvent) -> CudaResult<Instant> {
        let ms = self
            .anchor
            .event
            .elapsed_ms(event)
            .map_err(CudaError::call("event elapsed time"))?;
        Ok(self.anchor.instant + Duration::from_secs_f64(f64::from(ms.max(0.0)) / 1e3))
    }
}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaDevice")
            .field("ordinal", &self.ordinal())
            .field("name", &self.name)
            .field("compute_capability", &self.compute_capability)
            .finish()
    }
}
