//! [`CudaDevice`]: one GPU, opened by ordinal, with the clock anchor that turns CUDA event
//! timestamps into [`Instant`]s for an [`accelrt::Timeline`].
//!
//! CUDA reports event times only as f32 milliseconds between two events. Measured from one
//! event recorded when the device opened, that loses resolution as the process ages (about
//! 0.25 ms after an hour). So the anchor is re-recorded whenever it is older than
//! [`REANCHOR_AFTER`]: every conversion then spans at most about a second plus one batch's
//! latency (sub-microsecond f32 resolution), and batch phases are measured between the batch's
//! own events.

use std::sync::{Arc, Mutex};
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
    clock: Arc<Clock>,
}

/// How old the anchor may get before a conversion re-records it.
const REANCHOR_AFTER: Duration = Duration::from_secs(1);

/// The anchor and the otherwise idle stream it is recorded on.
struct Clock {
    stream: Arc<CudaStream>,
    /// Held while converting: a re-record must not move the anchor under a reader.
    anchor: Mutex<Anchor>,
}

/// A CUDA event recorded at a known host instant: device time `t` (ms since the event) maps
/// to `instant + t`.
struct Anchor {
    event: CudaEvent,
    instant: Instant,
}

impl Anchor {
    /// Records `event` on the idle `stream` and notes the host instant it completes at: an
    /// event on an otherwise idle stream completes as soon as it is recorded, so the instant
    /// right after its synchronize is its device time (to within the wake-up latency, a few
    /// microseconds).
    fn record(event: CudaEvent, stream: &Arc<CudaStream>) -> CudaResult<Anchor> {
        event.record(stream).map_err(CudaError::call("record event"))?;
        event.synchronize().map_err(CudaError::call("synchronize event"))?;
        Ok(Anchor {
            event,
            instant: Instant::now(),
        })
    }
}

/// `base` moved by `ms` milliseconds, either way (an event recorded before the anchor has a
/// negative offset).
pub(crate) fn offset(base: Instant, ms: f32) -> Instant {
    let d = Duration::from_secs_f64(f64::from(ms.abs()) / 1e3);
    if ms >= 0.0 {
        base + d
    } else {
        base.checked_sub(d).unwrap_or(base)
    }
}

/// The time between two events as a `Duration` (negative or NaN readings, which CUDA does not
/// give for events recorded in order on one stream, become zero).
pub(crate) fn duration_ms(ms: f32) -> Duration {
    Duration::from_secs_f64(f64::from(ms.max(0.0)) / 1e3)
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
        let stream = ctx.new_stream().map_err(CudaError::call("create stream"))?;
        let event = ctx
            .new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
            .map_err(CudaError::call("create event"))?;
        let anchor = Anchor::record(event, &stream)?;
        Ok(CudaDevice {
            ctx,
            name,
            compute_capability,
            clock: Arc::new(Clock {
                stream,
                anchor: Mutex::new(anchor),
            }),
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
        let clock = &self.clock;
        let mut anchor = clock.anchor.lock().unwrap_or_else(|p| p.into_inner());
        if anchor.instant.elapsed() > REANCHOR_AFTER {
            let event = self
                .ctx
                .new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
                .map_err(CudaError::call("create event"))?;
            *anchor = Anchor::record(event, &clock.stream)?;
        }
        let ms = anchor
            .event
            .elapsed_ms(event)
            .map_err(CudaError::call("event elapsed time"))?;
        Ok(offset(anchor.instant, ms))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_go_both_ways_and_durations_never_go_negative() {
        let base = Instant::now() + Duration::from_secs(10);
        assert_eq!(offset(base, 1.5), base + Duration::from_micros(1500));
        assert_eq!(offset(base, -2.0), base - Duration::from_millis(2));
        assert_eq!(duration_ms(0.25), Duration::from_micros(250));
        assert_eq!(duration_ms(-0.1), Duration::ZERO);
        assert_eq!(duration_ms(f32::NAN), Duration::ZERO);
    }

    #[test]
    fn within_a_reanchor_period_f32_milliseconds_resolve_a_microsecond() {
        // The longest span converted: the re-anchor period plus a generous batch latency.
        let span_ms = (REANCHOR_AFTER + Duration::from_secs(1)).as_secs_f32() * 1e3;
        let step = |ms: f32| f32::from_bits(ms.to_bits() + 1) - ms; // one f32 step up
        let step_ms = step(span_ms);
        assert!(step_ms < 1e-3, "f32 step at {span_ms} ms is {step_ms} ms");
        // Measured from the device's opening instead, an hour in, it would not.
        let hour_ms = 3600.0f32 * 1e3;
        assert!(step(hour_ms) > 1e-3);
    }
}
