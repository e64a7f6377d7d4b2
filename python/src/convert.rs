//! numpy arrays ↔ [`Tensor`]s.
//!
//! In: any array-like. A numpy array whose dtype is supported and whose layout allows it (C
//! order, aligned, native byte order) becomes a tensor over its own buffer, with no copy;
//! other layouts are copied once; anything else that numpy can turn into an array goes
//! through `numpy.asarray` first. Values are never converted from one dtype to another: a
//! float64 array for a float32 input is an error that says so, not a silent rounding.
//!
//! Out: each tensor becomes a new array (one copy), so results are ordinary writeable arrays.

use std::sync::Arc;

use accelrt::{DType, Error, ModelSpec, Tensor};
use numpy::{PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::memory::{borrowed_bytes, new_array};

/// The numpy module, imported once.
fn numpy(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static NUMPY: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    NUMPY
        .get_or_try_init(py, || Ok(py.import("numpy")?.unbind()))
        .map(|m| m.bind(py))
}

/// The numpy dtype names accelrt takes, for messages.
const SUPPORTED: &str = "float32, float16, float64, int64, int32, int8, uint8 or bool";

/// The accelrt dtype of a numpy dtype, if it has one.
fn dtype_of(kind: u8, size: usize) -> Option<DType> {
    Some(match (kind, size) {
        (b'f', 4) => DType::F32,
        (b'f', 2) => DType::F16,
        (b'f', 8) => DType::F64,
        (b'i', 8) => DType::I64,
        (b'i', 4) => DType::I32,
        (b'i', 1) => DType::I8,
        (b'u', 1) => DType::U8,
        (b'b', 1) => DType::Bool,
        _ => return None,
    })
}

/// The numpy name of an accelrt dtype, for messages that speak numpy.
pub(crate) fn numpy_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float32",
        DType::F16 => "float16",
        DType::F64 => "float64",
        DType::I64 => "int64",
        DType::I32 => "int32",
        DType::I8 => "int8",
        DType::U8 => "uint8",
        DType::Bool => "bool",
        _ => "an unsupported dtype",
    }
}

fn invalid(input: Option<&str>, expected: impl Into<String>, got: impl Into<String>) -> Error {
    match input {
        Some(name) => Error::invalid_named(name, expected, got),
        None => Error::invalid_input(expected, got),
    }
}

/// One array-like → one tensor. `input` names the model input, for messages.
pub(crate) fn tensor_from(obj: &Bound<'_, PyAny>, input: Option<&str>) -> Result<Tensor, Error> {
    let py = obj.py();
    let array = match obj.cast::<PyUntypedArray>() {
        Ok(a) => a.clone(),
        Err(_) => {
            let converted = numpy(py)
                .and_then(|np| np.call_method1("asarray", (obj,)))
                .map_err(|e| {
                    invalid(
                        input,
                        "a numpy array or something numpy.asarray accepts",
                        format!("{} ({})", type_name(obj), e.value(py)),
                    )
                })?;
            converted
                .cast_into::<PyUntypedArray>()
                .map_err(|_| invalid(input, "a numpy array", type_name(obj)))?
        }
    };
    let descr = array.dtype();
    let dtype = if descr.has_object() || descr.has_fields() || descr.has_subarray() {
        None
    } else {
        dtype_of(descr.kind(), descr.itemsize())
    };
    let Some(dtype) = dtype else {
        let name = descr.str().map(|s| s.to_string()).unwrap_or_else(|_| "?".into());
        return Err(invalid(
            input,
            format!("an array of {SUPPORTED}"),
            format!("an array of dtype {name} and shape {}", fmt_shape(array.shape())),
        ));
    };
    let shape = array.shape().to_vec();
    let bytes = match borrowed_bytes(&array) {
        Some(b) => b,
        None => {
            // One copy into C order and native byte order (numpy does the strided walk).
            let native = descr
                .call_method1("newbyteorder", ("=",))
                .map_err(|e| py_failure(py, input, e))?;
            let copy = numpy(py)
                .and_then(|np| {
                    let kwargs = PyDict::new(py);
                    kwargs.set_item("dtype", native)?;
                    np.call_method("ascontiguousarray", (&array,), Some(&kwargs))
                })
                .map_err(|e| py_failure(py, input, e))?;
            let copy = copy
                .cast_into::<PyUntypedArray>()
                .map_err(|_| invalid(input, "a numpy array", "something else from numpy.ascontiguousarray"))?;
            borrowed_bytes(&copy).ok_or_else(|| {
                Error::Internal("numpy.ascontiguousarray gave an array that is not C-contiguous and aligned".into())
            })?
        }
    };
    Tensor::from_bytes(dtype, &shape, bytes)
}

fn py_failure(py: Python<'_>, input: Option<&str>, e: PyErr) -> Error {
    invalid(
        input,
        "an array numpy can copy",
        format!("a copy that failed ({})", e.value(py)),
    )
}

/// `(1, 3, 224, 224)`, `(5,)`: a shape as Python writes it.
fn fmt_shape(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "an object".into())
}

/// How a runtime's inputs are given from Python: by name, in model order.
#[derive(Debug)]
pub(crate) struct InputNames {
    names: Vec<String>,
}

impl InputNames {
    pub fn of(spec: &ModelSpec) -> Self {
        InputNames {
            names: spec.inputs.iter().map(|t| t.name.clone()).collect(),
        }
    }

    /// A model's inputs from one array (a one-input model), a dict of name → array, or a list
    /// or tuple of arrays in the model's order.
    pub fn tensors(&self, obj: &Bound<'_, PyAny>) -> Result<Vec<Tensor>, Error> {
        let n = self.names.len();
        if let Ok(dict) = obj.cast::<PyDict>() {
            let mut out = Vec::with_capacity(n);
            for name in &self.names {
                match dict.get_item(name) {
                    Ok(Some(v)) => out.push(tensor_from(&v, Some(name))?),
                    _ => {
                        return Err(invalid(
                            Some(name),
                            format!("a dict with the inputs {}", self.listed()),
                            format!("a dict without \"{name}\" (keys: {})", keys(dict)),
                        ))
                    }
                }
            }
            if dict.len() > n {
                let extra: Vec<String> = dict
                    .keys()
                    .iter()
                    .filter_map(|k| k.extract::<String>().ok())
                    .filter(|k| !self.names.contains(k))
                    .collect();
                let extra = if extra.is_empty() { keys(dict) } else { extra.join(", ") };
                return Err(invalid(
                    None,
                    format!("a dict with the inputs {}", self.listed()),
                    format!("unknown inputs: {extra}"),
                ));
            }
            return Ok(out);
        }
        if n == 1 {
            return Ok(vec![tensor_from(obj, Some(&self.names[0]))?]);
        }
        let items: Option<Vec<Bound<'_, PyAny>>> = if let Ok(l) = obj.cast::<PyList>() {
            Some(l.iter().collect())
        } else if let Ok(t) = obj.cast::<PyTuple>() {
            Some(t.iter().collect())
        } else {
            None
        };
        match items {
            Some(items) if items.len() == n => items
                .iter()
                .zip(&self.names)
                .map(|(v, name)| tensor_from(v, Some(name)))
                .collect(),
            Some(items) => Err(invalid(
                None,
                format!("{n} inputs ({})", self.listed()),
                format!("a sequence of {}", items.len()),
            )),
            None => Err(invalid(
                None,
                format!("a dict of the {n} inputs {}", self.listed()),
                format!("one {}", type_name(obj)),
            )),
        }
    }

    fn listed(&self) -> String {
        self.names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn keys(dict: &Bound<'_, PyDict>) -> String {
    dict.keys()
        .iter()
        .map(|k| k.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A new numpy array with a copy of the tensor's data.
pub(crate) fn array_from<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let (shape, data) = (t.shape(), t.bytes().as_ref());
    Ok(match t.dtype() {
        DType::F32 => new_array::<f32>(py, shape, data).into_any(),
        DType::F16 => new_array::<half::f16>(py, shape, data).into_any(),
        DType::F64 => new_array::<f64>(py, shape, data).into_any(),
        DType::I64 => new_array::<i64>(py, shape, data).into_any(),
        DType::I32 => new_array::<i32>(py, shape, data).into_any(),
        DType::I8 => new_array::<i8>(py, shape, data).into_any(),
        DType::U8 => new_array::<u8>(py, shape, data).into_any(),
        DType::Bool => {
            let flat = numpy::PyArray1::from_vec(py, data.iter().map(|&b| b != 0).collect());
            let shaped: Bound<'py, PyArrayDyn<bool>> = flat.reshape(shape.to_vec())?;
            shaped.into_any()
        }
        other => {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "accelrt cannot give a {other} tensor to numpy"
            )))
        }
    })
}

/// The names of a model's outputs: one output comes back as one array, several as a dict.
pub(crate) type OutputNames = Arc<[String]>;

/// A model's outputs as Python: the array itself for a one-output model, else a dict of name →
/// array in model order.
pub(crate) fn outputs_to_py(py: Python<'_>, tensors: &[Tensor], names: &[String]) -> PyResult<Py<PyAny>> {
    if tensors.len() == 1 && names.len() <= 1 {
        return Ok(array_from(py, &tensors[0])?.unbind());
    }
    let dict = PyDict::new(py);
    for (i, t) in tensors.iter().enumerate() {
        let key = names.get(i).cloned().unwrap_or_else(|| format!("output_{i}"));
        dict.set_item(key, array_from(py, t)?)?;
    }
    Ok(dict.into_any().unbind())
}
