//! The tensor type.

use bytes::{Bytes, BytesMut};
use smallvec::SmallVec;

use super::{DType, Element};
use crate::{Error, Result};

/// An n-dimensional array: dtype, shape and bytes.
///
/// The data is a [`Bytes`], so `clone()` and [`split`](Tensor::split) never copy. Building a
/// tensor from a `Vec<T>` keeps that vector's allocation (no copy either).
#[derive(Clone, PartialEq, Eq)]
pub struct Tensor {
    dtype: DType,
    /// Inline up to 4 dimensions: no allocation per tensor on the hot path (every batch split
    /// makes one tensor per request).
    shape: Shape,
    data: Bytes,
}

type Shape = SmallVec<[usize; 4]>;

/// Owns a typed vector and shows it as bytes, so `Bytes::from_owner` keeps the vector's own,
/// correctly aligned allocation.
struct VecOwner<T: Element>(Vec<T>);

impl<T: Element> AsRef<[u8]> for VecOwner<T> {
    fn as_ref(&self) -> &[u8] {
        bytemuck::cast_slice(&self.0)
    }
}

fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

impl Tensor {
    /// A tensor that takes ownership of `data` (no copy).
    ///
    /// Fails when `data.len()` is not the product of `shape`.
    pub fn new<T: Element>(shape: impl AsRef<[usize]>, data: Vec<T>) -> Result<Self> {
        let shape = Shape::from_slice(shape.as_ref());
        check_len(T::DTYPE, &shape, data.len())?;
        Ok(Tensor {
            dtype: T::DTYPE,
            shape,
            data: Bytes::from_owner(VecOwner(data)),
        })
    }

    /// A tensor copied from a slice.
    pub fn from_slice<T: Element>(shape: impl AsRef<[usize]>, data: &[T]) -> Result<Self> {
        Self::new(shape, data.to_vec())
    }

    /// A tensor over raw little-endian bytes. Fails when the length does not match.
    pub fn from_bytes(dtype: DType, shape: impl AsRef<[usize]>, data: Bytes) -> Result<Self> {
        let shape = Shape::from_slice(shape.as_ref());
        let elems = element_count(&shape)
            .ok_or_else(|| Error::invalid_input("a shape whose size fits in memory", format!("{shape:?}")))?;
        if elems.checked_mul(dtype.size()) != Some(data.len()) {
            return Err(Error::invalid_input(
                format!(
                    "{} bytes for {dtype} {}",
                    elems.saturating_mul(dtype.size()),
                    fmt_shape(&shape)
                ),
                format!("{} bytes", data.len()),
            ));
        }
        Ok(Tensor { dtype, shape, data })
    }

    /// A boolean tensor (stored one byte per element).
    pub fn from_bools(shape: impl AsRef<[usize]>, data: &[bool]) -> Result<Self> {
        let shape = Shape::from_slice(shape.as_ref());
        check_len(DType::Bool, &shape, data.len())?;
        let bytes: Vec<u8> = data.iter().map(|&b| b as u8).collect();
        Ok(Tensor {
            dtype: DType::Bool,
            shape,
            data: Bytes::from(bytes),
        })
    }

    /// A zero-filled tensor.
    pub fn zeros(dtype: DType, shape: impl AsRef<[usize]>) -> Result<Self> {
        let shape = Shape::from_slice(shape.as_ref());
        let n = element_count(&shape)
            .and_then(|n| n.checked_mul(dtype.size()))
            .ok_or_else(|| Error::invalid_input("a shape whose size fits in memory", format!("{shape:?}")))?;
        Ok(Tensor {
            dtype,
            shape,
            data: Bytes::from(vec![0u8; n]),
        })
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The dimensions.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len() / self.dtype.size()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }

    /// The first dimension (1 for a scalar).
    pub fn batch_size(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// The data as a typed slice, without copying.
    ///
    /// Fails if the dtype differs, or if the bytes are not aligned for `T` (only possible for
    /// tensors built with [`from_bytes`](Tensor::from_bytes); use [`to_vec`](Tensor::to_vec) then).
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        self.expect_dtype(T::DTYPE)?;
        bytemuck::try_cast_slice(&self.data).map_err(|e| {
            Error::invalid_input(
                format!("data aligned for {}", T::DTYPE),
                format!("unaligned data ({e})"),
            )
        })
    }

    /// The data copied into a typed vector (works for unaligned bytes too).
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        self.expect_dtype(T::DTYPE)?;
        Ok(self
            .data
            .chunks_exact(T::DTYPE.size())
            .map(bytemuck::pod_read_unaligned)
            .collect())
    }

    /// A boolean tensor's data.
    pub fn to_bools(&self) -> Result<Vec<bool>> {
        self.expect_dtype(DType::Bool)?;
        Ok(self.data.iter().map(|&b| b != 0).collect())
    }

    /// The same data under a new shape with the same number of elements.
    pub fn reshape(&self, shape: impl AsRef<[usize]>) -> Result<Tensor> {
        let shape = Shape::from_slice(shape.as_ref());
        check_len(self.dtype, &shape, self.len())?;
        Ok(Tensor {
            dtype: self.dtype,
            shape,
            data: self.data.clone(),
        })
    }

    /// Concatenates tensors along the first (batch) dimension.
    ///
    /// All parts must share dtype and trailing dimensions. One part is returned as is (no copy).
    pub fn concat(parts: &[Tensor]) -> Result<Tensor> {
        let first = parts
            .first()
            .ok_or_else(|| Error::invalid_input("at least one tensor to concat", "none"))?;
        if first.shape.is_empty() {
            return Err(Error::invalid_input(
                "tensors with a batch dimension to concat",
                "scalars",
            ));
        }
        if parts.len() == 1 {
            return Ok(first.clone());
        }
        let mut batch = 0usize;
        for (i, p) in parts.iter().enumerate() {
            if p.dtype != first.dtype || p.shape.len() != first.shape.len() || p.shape[1..] != first.shape[1..] {
                return Err(Error::invalid_input(
                    format!(
                        "parts like part 0, {} {} (all but the first dimension must match)",
                        first.dtype,
                        fmt_shape(&first.shape)
                    ),
                    format!("part {i} of {} {}", p.dtype, fmt_shape(&p.shape)),
                ));
            }
            batch += p.shape[0];
        }
        let mut data = BytesMut::with_capacity(parts.iter().map(|p| p.data.len()).sum());
        for p in parts {
            data.extend_from_slice(&p.data);
        }
        let mut shape = first.shape.clone();
        shape[0] = batch;
        Ok(Tensor {
            dtype: first.dtype,
            shape,
            data: data.freeze(),
        })
    }

    /// Splits along the first dimension into parts of the given sizes (zero-copy).
    ///
    /// The sizes must add up to the first dimension.
    pub fn split(&self, sizes: &[usize]) -> Result<Vec<Tensor>> {
        let batch = *self
            .shape
            .first()
            .ok_or_else(|| Error::invalid_input("a tensor with a batch dimension to split", "a scalar"))?;
        if sizes.iter().sum::<usize>() != batch {
            return Err(Error::invalid_input(
                format!("split sizes adding up to the batch dimension {batch}"),
                format!("{sizes:?}"),
            ));
        }
        let row = self.data.len().checked_div(batch).unwrap_or(0);
        let mut at = 0;
        Ok(sizes
            .iter()
            .map(|&n| {
                let mut shape = self.shape.clone();
                shape[0] = n;
                let t = Tensor {
                    dtype: self.dtype,
                    shape,
                    data: self.data.slice(at..at + n * row),
                };
                at += n * row;
                t
            })
            .collect())
    }

    fn expect_dtype(&self, want: DType) -> Result<()> {
        if self.dtype == want {
            Ok(())
        } else {
            Err(Error::invalid_input(
                format!("a {want} tensor"),
                format!("{} {}", self.dtype, fmt_shape(&self.shape)),
            ))
        }
    }
}

fn check_len(dtype: DType, shape: &[usize], len: usize) -> Result<()> {
    match element_count(shape) {
        Some(n) if n == len => Ok(()),
        _ => Err(Error::invalid_input(
            format!(
                "{} elements for {dtype} {}",
                element_count(shape).map_or("too many".to_string(), |n| n.to_string()),
                fmt_shape(shape)
            ),
            format!("{len}"),
        )),
    }
}

/// `[1, 224, 224, 3]`
pub(crate) fn fmt_shape(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join(", "))
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({} {})", self.dtype, fmt_shape(&self.shape))
    }
}

#[cfg(feature = "ndarray")]
mod nd {
    use super::*;
    use ndarray::{ArrayBase, ArrayD, Data, Dimension};

    impl Tensor {
        /// A tensor copied from an ndarray array (any layout).
        pub fn from_array<T: Element, S: Data<Elem = T>, D: Dimension>(a: &ArrayBase<S, D>) -> Tensor {
            let shape = a.shape().to_vec();
            let data: Vec<T> = a.iter().copied().collect();
            Tensor::new(shape, data).expect("an array's length matches its shape")
        }

        /// The tensor as an owned ndarray array.
        pub fn to_array<T: Element>(&self) -> Result<ArrayD<T>> {
            ArrayD::from_shape_vec(self.shape.to_vec(), self.to_vec::<T>()?)
                .map_err(|e| Error::invalid_input("data matching the array shape", e.to_string()))
        }
    }

    impl<T: Element, D: Dimension> From<ndarray::Array<T, D>> for Tensor {
        fn from(a: ndarray::Array<T, D>) -> Tensor {
            Tensor::from_array(&a)
        }
    }
}
