//! Moving data between accelrt [`Tensor`]s and `ort` values.

use accelrt::{DType, Dim, Tensor, TensorSpec};
use ort::session::SessionInputValue;
use ort::value::{DynValue, TensorElementType, TensorRef, ValueType};

use crate::error::run_error;
use crate::OnnxError;

/// The accelrt dtype for an ONNX element type, if accelrt tensors can hold it.
pub(crate) fn dtype(t: TensorElementType) -> Option<DType> {
    Some(match t {
        TensorElementType::Float32 => DType::F32,
        TensorElementType::Float16 => DType::F16,
        TensorElementType::Float64 => DType::F64,
        TensorElementType::Int64 => DType::I64,
        TensorElementType::Int32 => DType::I32,
        TensorElementType::Int8 => DType::I8,
        TensorElementType::Uint8 => DType::U8,
        TensorElementType::Bool => DType::Bool,
        _ => return None,
    })
}

/// A [`TensorSpec`] from a session input or output; `None` for non-tensor values and element
/// types accelrt cannot hold (the caller names them in its error).
pub(crate) fn tensor_spec(name: &str, ty: &ValueType) -> Option<TensorSpec> {
    let ValueType::Tensor {
        ty,
        shape,
        dimension_symbols,
    } = ty
    else {
        return None;
    };
    let dims = shape.iter().enumerate().map(|(i, &d)| {
        if d >= 0 {
            Dim::Fixed(d as usize)
        } else {
            Dim::Dynamic(dimension_symbols.get(i).cloned().unwrap_or_default())
        }
    });
    Some(TensorSpec::new(name, dtype(*ty)?, dims))
}

/// A session input that borrows the tensor's bytes when they are aligned, and copies them
/// otherwise (only tensors built with `Tensor::from_bytes` can be unaligned).
pub(crate) fn input_value(t: &Tensor) -> accelrt::Result<SessionInputValue<'_>> {
    let shape: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    macro_rules! typed {
        ($T:ty) => {
            match t.as_slice::<$T>() {
                Ok(s) => TensorRef::from_array_view((shape, s))
                    .map_err(run_error)?
                    .into_dyn()
                    .into(),
                Err(_) => ort::value::Tensor::from_array((shape, t.to_vec::<$T>()?))
                    .map_err(run_error)?
                    .into_dyn()
                    .into(),
            }
        };
    }
    Ok(match t.dtype() {
        DType::F32 => typed!(f32),
        DType::F16 => typed!(half::f16),
        DType::F64 => typed!(f64),
        DType::I64 => typed!(i64),
        DType::I32 => typed!(i32),
        DType::I8 => typed!(i8),
        DType::U8 => typed!(u8),
        // accelrt keeps bools as bytes; ONNX Runtime wants Rust `bool`s, which must be 0 or 1.
        DType::Bool => ort::value::Tensor::from_array((shape, t.to_bools()?))
            .map_err(run_error)?
            .into_dyn()
            .into(),
        other => {
            return Err(OnnxError::Run(format!("inputs of dtype {other} are not supported")).into());
        }
    })
}

/// Copies a session output into a [`Tensor`].
pub(crate) fn output_tensor(name: &str, v: &DynValue) -> accelrt::Result<Tensor> {
    let ValueType::Tensor { ty, .. } = v.dtype() else {
        return Err(OnnxError::Run(format!("output \"{name}\" is not a tensor")).into());
    };
    macro_rules! typed {
        ($T:ty) => {{
            let (shape, data) = v.try_extract_tensor::<$T>().map_err(run_error)?;
            Tensor::from_slice(dims(shape), data)
        }};
    }
    match ty {
        TensorElementType::Float32 => typed!(f32),
        TensorElementType::Float16 => typed!(half::f16),
        TensorElementType::Float64 => typed!(f64),
        TensorElementType::Int64 => typed!(i64),
        TensorElementType::Int32 => typed!(i32),
        TensorElementType::Int8 => typed!(i8),
        TensorElementType::Uint8 => typed!(u8),
        TensorElementType::Bool => {
            let (shape, data) = v.try_extract_tensor::<bool>().map_err(run_error)?;
            Tensor::from_bools(dims(shape), data)
        }
        other => Err(OnnxError::Run(format!(
            "output \"{name}\" has element type {other:?}, which accelrt tensors cannot hold"
        ))
        .into()),
    }
}

fn dims(shape: &[i64]) -> Vec<usize> {
    shape.iter().map(|&d| d.max(0) as usize).collect()
}
