//! Buffers: page-locked host staging ([`PinnedBuffer`]) and device memory ([`DeviceBuffer`]),
//! and the asynchronous copies between them.
//!
//! Both are allocated once, at build time, for a slot's largest batch; requests only reuse
//! them. The copies take a byte count so a partial batch moves only what it holds.
#![allow(unsafe_code)]

use std::sync::Arc;

use accelrt::{DType, Element};
use cudarc::driver::{
    result, sys, CudaContext, CudaEvent, CudaSlice, CudaStream, CudaView, CudaViewMut, DevicePtr, DevicePtrMut,
    DeviceRepr, PinnedHostSlice,
};

use crate::error::{CudaError, CudaResult};

/// How a pinned host buffer is mapped for the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAccess {
    /// Write-combined: fastest for data the CPU writes once and the GPU reads (H2D staging).
    /// Reading it back on the CPU is very slow.
    WriteCombined,
    /// Ordinary cached memory: for data the GPU writes and the CPU reads (D2H staging).
    Cached,
}

/// Page-locked host memory, so copies to and from the device are true DMA that overlaps
/// kernels, not a staged synchronous copy.
///
/// The buffer remembers the last copy that used it (an event); [`as_mut_slice`], [`as_slice`]
/// and `Drop` wait for that copy first, so the host never touches bytes a DMA engine is still
/// moving.
///
/// [`as_mut_slice`]: PinnedBuffer::as_mut_slice
/// [`as_slice`]: PinnedBuffer::as_slice
pub struct PinnedBuffer {
    host: PinnedHostSlice<u8>,
    /// Recorded after every copy that reads or writes `host`.
    last_use: CudaEvent,
}

impl PinnedBuffer {
    /// Allocates `bytes` of zeroed page-locked memory. `what` names it in errors.
    pub fn new(ctx: &Arc<CudaContext>, bytes: usize, access: HostAccess, what: &str) -> accelrt::Result<Self> {
        Ok(Self::alloc(ctx, bytes, access, what)?)
    }

    pub(crate) fn alloc(ctx: &Arc<CudaContext>, bytes: usize, access: HostAccess, what: &str) -> CudaResult<Self> {
        let flags = match access {
            HostAccess::WriteCombined => sys::CU_MEMHOSTALLOC_WRITECOMBINED,
            HostAccess::Cached => 0,
        };
        // A zero-byte cuMemHostAlloc is an error; one byte keeps empty specs working.
        let len = bytes.max(1);
        // cudarc asserts (panics) beyond isize::MAX; no machine has that much to pin anyway.
        if len > isize::MAX as usize {
            return Err(CudaError::OutOfMemory {
                what: format!("pinned host memory for {what}"),
                bytes: len,
            });
        }
        // SAFETY: `alloc_pinned_with_flags` is unsafe only because the memory is left
        // uninitialised. The invariant we keep is that no byte is read before it is written:
        // the whole allocation is zeroed right below, before the buffer is handed out.
        let mut host = unsafe { ctx.alloc_pinned_with_flags::<u8>(len, flags) }
            .map_err(CudaError::driver(format!("pinned host memory for {what}"), len))?;
        let ptr = host.as_mut_ptr().map_err(CudaError::call("pinned host pointer"))?;
        // SAFETY: `ptr` is the start of a live allocation of exactly `len` bytes owned by
        // `host`, and no device work can use it yet.
        unsafe { std::ptr::write_bytes(ptr, 0, len) };
        let last_use = ctx
            .new_event(Some(sys::CUevent_flags::CU_EVENT_DISABLE_TIMING))
            .map_err(CudaError::call("create event"))?;
        Ok(PinnedBuffer { host, last_use })
    }

    /// Capacity in bytes.
    pub fn len(&self) -> usize {
        self.host.len()
    }

    /// True for a zero-capacity buffer (never: at least one byte is allocated).
    pub fn is_empty(&self) -> bool {
        self.host.is_empty()
    }

    /// The bytes, after the last copy that used them finished.
    pub fn as_slice(&self) -> accelrt::Result<&[u8]> {
        self.wait_idle()?;
        Ok(self.host.as_slice().map_err(CudaError::call("pinned host slice"))?)
    }

    /// The bytes for writing, after the last copy that used them finished.
    pub fn as_mut_slice(&mut self) -> accelrt::Result<&mut [u8]> {
        self.wait_idle()?;
        Ok(self.host.as_mut_slice().map_err(CudaError::call("pinned host slice"))?)
    }

    fn wait_idle(&self) -> CudaResult<()> {
        self.last_use
            .synchronize()
            .map_err(CudaError::call("wait for a copy of pinned memory"))
    }
}

impl Drop for PinnedBuffer {
    fn drop(&mut self) {
        // The memory must outlive any DMA still reading or writing it; an error here means the
        // context is already broken, and freeing is all that is left to do.
        let _ = self.last_use.synchronize();
    }
}

/// Device memory holding `capacity` elements of one dtype.
pub struct DeviceBuffer {
    buf: CudaSlice<u8>,
    dtype: DType,
}

impl DeviceBuffer {
    /// Allocates zeroed device memory for `elems` elements of `dtype`, ordered on `stream`.
    pub fn new(stream: &Arc<CudaStream>, dtype: DType, elems: usize, what: &str) -> accelrt::Result<Self> {
        Ok(Self::alloc(stream, dtype, elems, what)?)
    }

    pub(crate) fn alloc(stream: &Arc<CudaStream>, dtype: DType, elems: usize, what: &str) -> CudaResult<Self> {
        let bytes = elems
            .checked_mul(dtype.size())
            .ok_or_else(|| CudaError::Config(format!("{what}: {elems} × {dtype} overflows")))?
            .max(1);
        let buf = stream
            .alloc_zeros::<u8>(bytes)
            .map_err(CudaError::driver(format!("device memory for {what}"), bytes))?;
        Ok(DeviceBuffer { buf, dtype })
    }

    /// Device memory holding a copy of `data` (synchronous: for weights at load time).
    pub fn from_host<T: Element + DeviceRepr>(
        stream: &Arc<CudaStream>,
        data: &[T],
        what: &str,
    ) -> accelrt::Result<Self> {
        let mut out = Self::alloc(stream, T::DTYPE, data.len(), what)?;
        let bytes: &[u8] = bytemuck::cast_slice(data);
        if !bytes.is_empty() {
            let (dst, _guard) = out.buf.device_ptr_mut(stream);
            stream
                .context()
                .bind_to_thread()
                .map_err(CudaError::call("bind context"))?;
            // SAFETY: `dst` points to at least `bytes.len()` bytes (allocated above for
            // `data.len()` elements of the same dtype). `bytes` is pageable memory borrowed
            // until the stream is synchronized right below, so the DMA never outlives it.
            unsafe { result::memcpy_htod_async(dst, bytes, stream.cu_stream()) }
                .map_err(CudaError::call(format!("upload {what}")))?;
        }
        stream
            .synchronize()
            .map_err(CudaError::call(format!("upload {what}")))?;
        Ok(out)
    }

    /// Enqueues setting every byte of the buffer to `value` on `stream` (`0xFF` makes every
    /// f32 a NaN: tests poison outputs with it so an element a kernel never writes shows).
    pub fn fill_bytes(&mut self, stream: &Arc<CudaStream>, value: u8) -> accelrt::Result<()> {
        stream
            .context()
            .bind_to_thread()
            .map_err(CudaError::call("bind context"))?;
        let len = self.buf.len();
        let (dptr, _guard) = self.buf.device_ptr_mut(stream);
        // SAFETY: `dptr` is the start of this buffer's allocation of `len` bytes; the memset
        // writes exactly that range, ordered on `stream` like every other use of the buffer.
        unsafe { result::memset_d8_async(dptr, value, len, stream.cu_stream()) }
            .map_err(CudaError::call("fill device memory"))?;
        Ok(())
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Capacity in elements.
    pub fn capacity(&self) -> usize {
        self.buf.len() / self.dtype.size()
    }

    fn check<T: Element>(&self, elems: usize) -> CudaResult<()> {
        if T::DTYPE != self.dtype {
            return Err(CudaError::Config(format!(
                "device buffer holds {}, viewed as {}",
                self.dtype,
                T::DTYPE
            )));
        }
        if elems > self.capacity() {
            return Err(CudaError::Config(format!(
                "device buffer holds {} {} elements, {elems} asked for",
                self.capacity(),
                self.dtype
            )));
        }
        Ok(())
    }

    /// The first `elems` elements as a typed view, for kernel arguments and cuBLAS.
    /// Fails when `T` is not the buffer's dtype or `elems` exceeds the capacity.
    pub fn view<T: Element + DeviceRepr>(&self, elems: usize) -> CudaResult<CudaView<'_, T>> {
        self.check::<T>(elems)?;
        // SAFETY: the buffer was allocated for elements of `self.dtype`, which `check` proved
        // is `T`'s dtype, and every bit pattern is a valid `T` (`Element: Pod`). cuMemAlloc
        // returns 256-byte-aligned memory, enough for any `T`. `transmute` itself bounds the
        // view by the allocation.
        unsafe { self.buf.transmute::<T>(elems) }
            .ok_or_else(|| CudaError::Config(format!("view of {elems} elements exceeds the buffer")))
    }

    /// The first `elems` elements as a mutable typed view (see [`view`](Self::view)).
    pub fn view_mut<T: Element + DeviceRepr>(&mut self, elems: usize) -> CudaResult<CudaViewMut<'_, T>> {
        self.check::<T>(elems)?;
        // SAFETY: as in `view`.
        unsafe { self.buf.transmute_mut::<T>(elems) }
            .ok_or_else(|| CudaError::Config(format!("view of {elems} elements exceeds the buffer")))
    }
}

fn check_bytes(bytes: usize, host: usize, device: usize) -> CudaResult<()> {
    if bytes > host || bytes > device {
        return Err(CudaError::Config(format!(
            "copy of {bytes} bytes exceeds a buffer (host {host}, device {device})"
        )));
    }
    Ok(())
}

/// Enqueues a copy of the first `bytes` of `src` into `dst` on `stream`; returns at once.
pub fn copy_h2d(
    stream: &Arc<CudaStream>,
    src: &PinnedBuffer,
    dst: &mut DeviceBuffer,
    bytes: usize,
) -> accelrt::Result<()> {
    Ok(h2d(stream, src, dst, bytes)?)
}

pub(crate) fn h2d(
    stream: &Arc<CudaStream>,
    src: &PinnedBuffer,
    dst: &mut DeviceBuffer,
    bytes: usize,
) -> CudaResult<()> {
    check_bytes(bytes, src.len(), dst.buf.len())?;
    stream
        .context()
        .bind_to_thread()
        .map_err(CudaError::call("bind context"))?;
    let host = src.host.as_slice().map_err(CudaError::call("pinned host slice"))?;
    let (dptr, _guard) = dst.buf.device_ptr_mut(stream);
    // SAFETY: `check_bytes` proved both ranges hold `bytes` bytes. The source is page-locked
    // memory owned by `src`; the invariant that keeps the asynchronous DMA sound is that the
    // host neither writes nor frees it before the copy ends: `last_use` is recorded right after
    // on the same stream, and `as_mut_slice`, `as_slice` and `Drop` wait on it first.
    unsafe { result::memcpy_htod_async(dptr, &host[..bytes], stream.cu_stream()) }
        .map_err(CudaError::call("enqueue H2D copy"))?;
    src.last_use.record(stream).map_err(CudaError::call("record event"))
}

/// Enqueues a copy of the first `bytes` of `src` into `dst` on `stream`; returns at once.
pub fn copy_d2h(
    stream: &Arc<CudaStream>,
    src: &DeviceBuffer,
    dst: &mut PinnedBuffer,
    bytes: usize,
) -> accelrt::Result<()> {
    Ok(d2h(stream, src, dst, bytes)?)
}

pub(crate) fn d2h(
    stream: &Arc<CudaStream>,
    src: &DeviceBuffer,
    dst: &mut PinnedBuffer,
    bytes: usize,
) -> CudaResult<()> {
    check_bytes(bytes, dst.len(), src.buf.len())?;
    stream
        .context()
        .bind_to_thread()
        .map_err(CudaError::call("bind context"))?;
    // A copy still reading `dst` on another stream must finish before this one overwrites it.
    stream
        .wait(&dst.last_use)
        .map_err(CudaError::call("wait for a copy of pinned memory"))?;
    let host = dst.host.as_mut_slice().map_err(CudaError::call("pinned host slice"))?;
    let (sptr, _guard) = src.buf.device_ptr(stream);
    // SAFETY: as in `h2d`, with the DMA writing the host range: nothing reads or frees it
    // before `last_use` (recorded right after, on the same stream) has completed.
    unsafe { result::memcpy_dtoh_async(&mut host[..bytes], sptr, stream.cu_stream()) }
        .map_err(CudaError::call("enqueue D2H copy"))?;
    dst.last_use.record(stream).map_err(CudaError::call("record event"))
}

/// Copies pageable host memory to the device on `stream` and waits for it: the slow path
/// pinned staging avoids, kept for benchmarks that compare the two.
pub fn copy_h2d_pageable(stream: &Arc<CudaStream>, src: &[u8], dst: &mut DeviceBuffer) -> accelrt::Result<()> {
    check_bytes(src.len(), src.len(), dst.buf.len())?;
    let mut view = dst.buf.slice_mut(..src.len());
    stream
        .memcpy_htod(src, &mut view)
        .map_err(CudaError::call("pageable H2D copy"))?;
    Ok(stream.synchronize().map_err(CudaError::call("pageable H2D copy"))?)
}
