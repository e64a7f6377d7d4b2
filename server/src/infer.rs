//! An inference request and response as both protocols (HTTP/JSON and gRPC) carry them, once
//! their wire form is decoded: named tensors, requested outputs, an id and the run options.

use std::time::Duration;

use accelrt::{DType, RunOptions, Tensor};
use bytes::Bytes;

use crate::datatype::from_wire;
use crate::ServeError;

/// One inference request, protocol-neutral.
#[derive(Debug, Clone, Default)]
pub struct InferRequest {
    /// The request id, echoed in the response ("" when the client sent none).
    pub id: String,
    /// Input tensors by name, in the order the client sent them.
    pub inputs: Vec<(String, Tensor)>,
    /// Names of the outputs to return; empty means all of them.
    pub outputs: Vec<String>,
    /// Priority and timeout, from the request's parameters.
    pub options: RunOptions,
}

/// One inference response, protocol-neutral.
#[derive(Debug, Clone)]
pub struct InferResponse {
    /// The model that answered.
    pub model_name: String,
    /// Its version.
    pub model_version: String,
    /// The request's id.
    pub id: String,
    /// Output tensors by name, in the model's order.
    pub outputs: Vec<(String, Tensor)>,
}

/// A request parameter's value, as either protocol carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// `true` / `false`.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// A string.
    Str(String),
}

impl Param {
    fn as_u64(&self) -> Option<u64> {
        match *self {
            Param::Int(i) => u64::try_from(i).ok(),
            Param::Double(d) if d >= 0.0 && d.fract() == 0.0 && d <= u64::MAX as f64 => Some(d as u64),
            _ => None,
        }
    }
}

/// How a model's priority levels are numbered, for [`run_options`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Priorities {
    /// Number of levels (Triton's `priority_levels`; 0 = priorities off).
    pub levels: usize,
    /// The level of a request that names none (Triton's `default_priority_level`).
    pub default: usize,
}

/// The run options a request's `priority` and `timeout` parameters ask for.
///
/// As in Triton, `priority` 1 is the highest of the model's `priority_levels` and 0 (or a level
/// the model does not have) means the default level; `timeout` is in microseconds, 0 = the
/// model's default. accelrt numbers levels the other way round (higher runs first), so level
/// `p` becomes accelrt's `levels - p`.
pub fn run_options<'a, P: std::borrow::Borrow<Param>>(
    params: impl IntoIterator<Item = (&'a str, P)>,
    priorities: Priorities,
) -> Result<RunOptions, ServeError> {
    let mut opts = RunOptions::default();
    let to_engine = |p: usize| priorities.levels.saturating_sub(p);
    opts.priority = to_engine(priorities.default);
    for (name, value) in params {
        let value: &Param = value.borrow();
        match name {
            "priority" => {
                let p = value.as_u64().ok_or_else(|| {
                    ServeError::invalid(format!(
                        "parameter \"priority\": expected an unsigned integer, got {value:?}"
                    ))
                })?;
                if p >= 1 && (p as usize) <= priorities.levels {
                    opts.priority = to_engine(p as usize);
                }
            }
            "timeout" => {
                let us = value.as_u64().ok_or_else(|| {
                    ServeError::invalid(format!(
                        "parameter \"timeout\": expected microseconds as an unsigned integer, got {value:?}"
                    ))
                })?;
                if us > 0 {
                    opts.timeout = Some(Duration::from_micros(us));
                }
            }
            _ => {}
        }
    }
    Ok(opts)
}

/// The number of elements of a tensor of `shape`, refusing negative dimensions and sizes that
/// overflow (a declared shape is never trusted to allocate by).
pub fn element_count(name: &str, shape: &[i64]) -> Result<usize, ServeError> {
    shape.iter().try_fold(1usize, |n, &d| {
        let d = usize::try_from(d).map_err(|_| {
            ServeError::invalid(format!(
                "input \"{name}\": expected dimensions >= 0, got shape {shape:?}"
            ))
        })?;
        n.checked_mul(d)
            .ok_or_else(|| ServeError::invalid(format!("input \"{name}\": shape {shape:?} is too large")))
    })
}

/// An input tensor from its declared datatype and shape and its raw little-endian bytes; the
/// byte count must match the shape exactly.
pub fn tensor_from_raw(name: &str, datatype: &str, shape: &[i64], data: Bytes) -> Result<Tensor, ServeError> {
    let dtype = from_wire(datatype).map_err(|e| ServeError::invalid(format!("input \"{name}\": {e}")))?;
    let count = element_count(name, shape)?;
    let expected = count.checked_mul(dtype.size());
    if expected != Some(data.len()) {
        return Err(ServeError::invalid(format!(
            "input \"{name}\": expected {} bytes of data for {datatype} {shape:?}, got {}",
            expected.map_or_else(|| "more than usize::MAX".to_string(), |n| n.to_string()),
            data.len()
        )));
    }
    let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    if dtype == DType::Bool && data.iter().any(|&b| b > 1) {
        return Err(ServeError::invalid(format!(
            "input \"{name}\": expected BOOL bytes 0 or 1, got other values"
        )));
    }
    Tensor::from_bytes(dtype, dims, data).map_err(|e| ServeError::invalid(format!("input \"{name}\": {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_and_timeout_map_to_run_options() {
        let p = Priorities { levels: 3, default: 2 };
        let none: [(&str, &Param); 0] = [];
        assert_eq!(run_options(none, p).unwrap().priority, 1);
        let high = Param::Int(1);
        let t = Param::Int(1500);
        let o = run_options([("priority", &high), ("timeout", &t)], p).unwrap();
        assert_eq!(o.priority, 2);
        assert_eq!(o.timeout, Some(Duration::from_micros(1500)));
        let bad = Param::Str("soon".into());
        assert!(run_options([("timeout", &bad)], p).is_err());
    }

    #[test]
    fn raw_tensors_are_checked_against_their_shape() {
        let t = tensor_from_raw("x", "FP32", &[1, 2], Bytes::from(vec![0u8; 8])).unwrap();
        assert_eq!(t.shape(), &[1, 2]);
        let short = tensor_from_raw("x", "FP32", &[1, 2], Bytes::from(vec![0u8; 7])).unwrap_err();
        assert!(short.to_string().contains("expected 8 bytes"), "{short}");
        let huge = tensor_from_raw("x", "FP32", &[i64::MAX, i64::MAX], Bytes::new()).unwrap_err();
        assert!(huge.to_string().contains("too large"), "{huge}");
        let neg = tensor_from_raw("x", "FP32", &[-1], Bytes::new()).unwrap_err();
        assert!(neg.to_string().contains("dimensions >= 0"), "{neg}");
    }
}
