//! The only `unsafe` of the binding: numpy memory seen as bytes.
//!
//! - [`borrowed_bytes`]: an input array's buffer as a [`Bytes`] with no copy. The `Bytes`
//!   owns a reference to the array, so the buffer lives as long as any tensor made from it,
//!   whichever engine thread drops it last (pyo3 defers that decref to the next time a thread
//!   attaches to the interpreter: no engine thread ever waits for the GIL).
//! - [`new_array`]: a fresh numpy array filled from a tensor's bytes (one copy out).

use bytes::Bytes;
use numpy::npyffi::PyArrayObject;
use numpy::{Element, PyArray, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// Keeps an array alive and shows its buffer as bytes.
struct ArrayOwner {
    _array: Py<PyAny>,
    ptr: *const u8,
    len: usize,
}

// SAFETY: `ptr` points into the buffer of the array held by `_array` (a `Py`, itself Send and
// Sync); the buffer is only read through it, from any thread. The array cannot free or move
// its buffer while we hold a reference: numpy frees data only when the array is deallocated,
// and `ndarray.resize` refuses to reallocate an array that has other references.
unsafe impl Send for ArrayOwner {}
// SAFETY: as above; `&ArrayOwner` only gives out `&[u8]` reads.
unsafe impl Sync for ArrayOwner {}

impl AsRef<[u8]> for ArrayOwner {
    fn as_ref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `ptr..ptr + len` is the C-contiguous, aligned buffer of the array kept alive
        // by `_array` (checked by `borrowed_bytes`, the only constructor). Callers of the
        // Python API are told not to write to an array while a request that reads it is in
        // flight (the documented contract of zero-copy inputs, as in every such API).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// The bytes of `array` without a copy, or `None` when its layout does not allow it (not
/// C-contiguous, not aligned, not in native byte order, or not writeable-or-readonly plain
/// data): the caller then copies it once.
pub(crate) fn borrowed_bytes(array: &Bound<'_, PyUntypedArray>) -> Option<Bytes> {
    let dtype = array.dtype();
    if !array.is_c_contiguous() || !array.is_aligned() || dtype.is_native_byteorder() == Some(false) {
        return None;
    }
    let len = array.len().checked_mul(dtype.itemsize())?;
    let raw: *mut PyArrayObject = array.as_array_ptr();
    // SAFETY: `raw` is the live array object behind `array` (a bound reference held for the
    // duration of this call); reading its `data` field is how numpy's C API exposes the
    // buffer pointer.
    let ptr = unsafe { (*raw).fields.data } as *const u8;
    Some(Bytes::from_owner(ArrayOwner {
        _array: array.clone().into_any().unbind(),
        ptr,
        len,
    }))
}

/// A new array of `shape` holding `data` (little-endian elements of `T`, `data.len()` =
/// elements × size of `T`). One allocation by numpy and one copy.
pub(crate) fn new_array<'py, T: Element + bytemuck::Pod>(
    py: Python<'py>,
    shape: &[usize],
    data: &[u8],
) -> Bound<'py, PyArrayDyn<T>> {
    let array = PyArray::<T, _>::zeros(py, numpy::IxDyn(shape), false);
    // SAFETY: the array was created just above, is C-contiguous and referenced only here, so
    // no other view of its memory exists while we write.
    let dst = unsafe { array.as_slice_mut() }.expect("a new array is contiguous");
    bytemuck::cast_slice_mut::<T, u8>(dst).copy_from_slice(data);
    array
}
