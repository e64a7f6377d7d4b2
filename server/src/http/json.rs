//! The REST API's inference body: JSON tensors and Triton's binary tensor data extension.
//!
//! A body is either all JSON, or (binary extension) a JSON header of
//! `Inference-Header-Content-Length` bytes followed by the raw little-endian data of every
//! input whose parameters carry `binary_data_size`, in input order. Outputs come back the same
//! way when an output asks for `binary_data: true` or the request for `binary_data_output: true`
//! (what `tritonclient.http` does by default).

use accelrt::{DType, Tensor};
use bytes::{BufMut, Bytes, BytesMut};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::datatype::{from_wire, wire_name};
use crate::infer::{element_count, run_options, tensor_from_raw, InferRequest, InferResponse, Param, Priorities};
use crate::ServeError;

#[derive(Debug, Deserialize)]
struct JsonRequest {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    parameters: Map<String, Value>,
    inputs: Vec<JsonInput>,
    #[serde(default)]
    outputs: Vec<JsonOutput>,
}

#[derive(Debug, Deserialize)]
struct JsonInput {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    parameters: Map<String, Value>,
    #[serde(default)]
    data: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct JsonOutput {
    name: String,
    #[serde(default)]
    parameters: Map<String, Value>,
}

/// A decoded request and which outputs go back as binary data.
#[derive(Debug)]
pub struct Decoded {
    /// The request.
    pub request: InferRequest,
    /// Whether `request.outputs` entries (or, when it is empty, all outputs) go back binary.
    pub binary: BinaryOutputs,
}

/// Which outputs the response carries as binary data.
#[derive(Debug, Clone, Default)]
pub struct BinaryOutputs {
    all: bool,
    names: Vec<String>,
}

impl BinaryOutputs {
    fn wants(&self, name: &str) -> bool {
        self.all || self.names.iter().any(|n| n == name)
    }
}

/// Decodes a request body; `header_len` is the `Inference-Header-Content-Length` header.
pub fn decode(body: Bytes, header_len: Option<usize>, priorities: Priorities) -> Result<Decoded, ServeError> {
    let (head, mut binary) = match header_len {
        Some(n) if n > body.len() => {
            return Err(ServeError::invalid(format!(
                "Inference-Header-Content-Length is {n} but the body has only {} bytes",
                body.len()
            )))
        }
        Some(n) => (body.slice(..n), body.slice(n..)),
        None => (body, Bytes::new()),
    };
    let req: JsonRequest = serde_json::from_slice(&head)
        .map_err(|e| ServeError::invalid(format!("malformed inference request JSON: {e}")))?;
    let mut inputs = Vec::with_capacity(req.inputs.len());
    for input in req.inputs {
        let tensor = match input.parameters.get("binary_data_size") {
            Some(size) => {
                let size = size.as_u64().and_then(|s| usize::try_from(s).ok()).ok_or_else(|| {
                    ServeError::invalid(format!(
                        "input \"{}\": binary_data_size: expected an unsigned integer, got {size}",
                        input.name
                    ))
                })?;
                if size > binary.len() {
                    return Err(ServeError::invalid(format!(
                        "input \"{}\": binary_data_size is {size} but only {} bytes of binary data remain",
                        input.name,
                        binary.len()
                    )));
                }
                if input.data.is_some() {
                    return Err(ServeError::invalid(format!(
                        "input \"{}\": expected either \"data\" or binary_data_size, got both",
                        input.name
                    )));
                }
                let data = binary.split_to(size);
                tensor_from_raw(&input.name, &input.datatype, &input.shape, data)?
            }
            None => {
                let data = input.data.as_ref().ok_or_else(|| {
                    ServeError::invalid(format!(
                        "input \"{}\": expected \"data\" or a binary_data_size parameter",
                        input.name
                    ))
                })?;
                tensor_from_json(&input.name, &input.datatype, &input.shape, data)?
            }
        };
        inputs.push((input.name, tensor));
    }
    if !binary.is_empty() {
        return Err(ServeError::invalid(format!(
            "{} bytes of binary data follow the inputs that no input's binary_data_size accounts for",
            binary.len()
        )));
    }
    // Converted on the fly: no copy of the names.
    let params = req.parameters.iter().filter_map(|(k, v)| Some((k.as_str(), param(v)?)));
    let options = run_options(params, priorities)?;
    let mut binary_out = BinaryOutputs {
        all: req
            .parameters
            .get("binary_data_output")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        names: Vec::new(),
    };
    for o in &req.outputs {
        match o.parameters.get("binary_data").and_then(Value::as_bool) {
            Some(true) => binary_out.names.push(o.name.clone()),
            Some(false) => {}
            None if binary_out.all => binary_out.names.push(o.name.clone()),
            None => {}
        }
    }
    if !req.outputs.is_empty() {
        binary_out.all = false;
    }
    Ok(Decoded {
        request: InferRequest {
            id: req.id.unwrap_or_default(),
            inputs,
            outputs: req.outputs.into_iter().map(|o| o.name).collect(),
            options,
        },
        binary: binary_out,
    })
}

fn param(v: &Value) -> Option<Param> {
    Some(match v {
        Value::Bool(b) => Param::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Param::Int(i),
            None => Param::Double(n.as_f64()?),
        },
        Value::String(s) => Param::Str(s.clone()),
        _ => return None,
    })
}

/// A tensor from JSON `data` (flat or nested row-major), checked against the shape before any
/// allocation the shape would size.
fn tensor_from_json(name: &str, datatype: &str, shape: &[i64], data: &Value) -> Result<Tensor, ServeError> {
    let dtype = from_wire(datatype).map_err(|e| ServeError::invalid(format!("input \"{name}\": {e}")))?;
    let count = element_count(name, shape)?;
    let mut flat = Vec::new();
    flatten(data, &mut flat);
    if flat.len() != count {
        return Err(ServeError::invalid(format!(
            "input \"{name}\": expected {count} values for shape {shape:?}, got {}",
            flat.len()
        )));
    }
    let mut bytes = BytesMut::with_capacity(count * dtype.size());
    for v in flat {
        encode_value(name, dtype, v, &mut bytes)?;
    }
    tensor_from_raw(name, datatype, shape, bytes.freeze())
}

fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other),
    }
}

fn encode_value(name: &str, dtype: DType, v: &Value, out: &mut BytesMut) -> Result<(), ServeError> {
    let bad = || {
        ServeError::invalid(format!(
            "input \"{name}\": expected {} values, got {v}",
            wire_name(dtype)
        ))
    };
    let int = |lo: i64, hi: i64| v.as_i64().filter(|i| (lo..=hi).contains(i)).ok_or_else(bad);
    match dtype {
        DType::F32 => out.put_f32_le(v.as_f64().ok_or_else(bad)? as f32),
        DType::F64 => out.put_f64_le(v.as_f64().ok_or_else(bad)?),
        DType::F16 => out.put_u16_le(half::f16::from_f64(v.as_f64().ok_or_else(bad)?).to_bits()),
        DType::I64 => out.put_i64_le(v.as_i64().ok_or_else(bad)?),
        DType::I32 => out.put_i32_le(int(i32::MIN.into(), i32::MAX.into())? as i32),
        DType::I8 => out.put_i8(int(i8::MIN.into(), i8::MAX.into())? as i8),
        DType::U8 => out.put_u8(int(0, u8::MAX.into())? as u8),
        DType::Bool => out.put_u8(u8::from(v.as_bool().ok_or_else(bad)?)),
        _ => return Err(bad()),
    }
    Ok(())
}

/// An output tensor's values as JSON numbers (booleans for BOOL).
fn json_data(t: &Tensor) -> Result<Value, ServeError> {
    let e = |e: accelrt::Error| ServeError::Internal(e.to_string());
    Ok(match t.dtype() {
        DType::F32 => json!(t.to_vec::<f32>().map_err(e)?),
        DType::F64 => json!(t.to_vec::<f64>().map_err(e)?),
        DType::F16 => json!(t
            .to_vec::<half::f16>()
            .map_err(e)?
            .iter()
            .map(|h| h.to_f32())
            .collect::<Vec<_>>()),
        DType::I64 => json!(t.to_vec::<i64>().map_err(e)?),
        DType::I32 => json!(t.to_vec::<i32>().map_err(e)?),
        DType::I8 => json!(t.to_vec::<i8>().map_err(e)?),
        DType::U8 => json!(t.to_vec::<u8>().map_err(e)?),
        DType::Bool => json!(t.to_bools().map_err(e)?),
        other => return Err(ServeError::Internal(format!("output of unsupported dtype {other}"))),
    })
}

/// An encoded response body, and the JSON header's length when binary data follows it.
#[derive(Debug)]
pub struct Encoded {
    /// The body.
    pub body: Bytes,
    /// `Some(n)`: the first n bytes are JSON, binary output data follows.
    pub header_len: Option<usize>,
}

/// Encodes a response, binary outputs after the JSON header.
pub fn encode(resp: &InferResponse, binary: &BinaryOutputs) -> Result<Encoded, ServeError> {
    let mut outputs = Vec::with_capacity(resp.outputs.len());
    let mut raw: Vec<&Bytes> = Vec::new();
    for (name, t) in &resp.outputs {
        let mut o = json!({
            "name": name,
            "datatype": wire_name(t.dtype()),
            "shape": t.shape(),
        });
        if binary.wants(name) {
            o["parameters"] = json!({ "binary_data_size": t.bytes().len() });
            raw.push(t.bytes());
        } else {
            o["data"] = json_data(t)?;
        }
        outputs.push(o);
    }
    let mut head = json!({
        "model_name": resp.model_name,
        "model_version": resp.model_version,
        "outputs": outputs,
    });
    if !resp.id.is_empty() {
        head["id"] = json!(resp.id);
    }
    let head = serde_json::to_vec(&head).map_err(|e| ServeError::Internal(e.to_string()))?;
    if raw.is_empty() {
        return Ok(Encoded {
            body: head.into(),
            header_len: None,
        });
    }
    let header_len = head.len();
    let mut body = BytesMut::with_capacity(header_len + raw.iter().map(|b| b.len()).sum::<usize>());
    body.extend_from_slice(&head);
    for b in raw {
        body.extend_from_slice(b);
    }
    Ok(Encoded {
        body: body.freeze(),
        header_len: Some(header_len),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_str(body: &str) -> Result<Decoded, ServeError> {
        decode(Bytes::from(body.to_string()), None, Priorities::default())
    }

    #[test]
    fn json_tensors_flat_or_nested() {
        let d =
            decode_str(r#"{"id":"7","inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4.5]]}]}"#)
                .unwrap();
        assert_eq!(d.request.id, "7");
        assert_eq!(d.request.inputs[0].1.to_vec::<f32>().unwrap(), [1.0, 2.0, 3.0, 4.5]);
    }

    #[test]
    fn binary_inputs_follow_the_header() {
        let head = r#"{"inputs":[{"name":"x","shape":[2],"datatype":"INT32","parameters":{"binary_data_size":8}}],"parameters":{"binary_data_output":true}}"#;
        let mut body = head.as_bytes().to_vec();
        body.extend_from_slice(&7i32.to_le_bytes());
        body.extend_from_slice(&(-1i32).to_le_bytes());
        let d = decode(Bytes::from(body.clone()), Some(head.len()), Priorities::default()).unwrap();
        assert_eq!(d.request.inputs[0].1.to_vec::<i32>().unwrap(), [7, -1]);
        assert!(d.binary.wants("anything"));
        let short = decode(
            Bytes::from(body[..body.len() - 1].to_vec()),
            Some(head.len()),
            Priorities::default(),
        );
        assert!(short
            .unwrap_err()
            .to_string()
            .contains("only 7 bytes of binary data remain"));
        let long = decode(Bytes::from(body), Some(head.len() + 100), Priorities::default());
        assert!(long
            .unwrap_err()
            .to_string()
            .contains("Inference-Header-Content-Length"));
    }

    #[test]
    fn bad_json_inputs_are_named() {
        let e = decode_str("{not json").unwrap_err();
        assert!(e.to_string().contains("malformed"), "{e}");
        let e = decode_str(r#"{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,2]}]}"#).unwrap_err();
        assert!(e.to_string().contains("expected 3 values for shape [3], got 2"), "{e}");
        let e = decode_str(r#"{"inputs":[{"name":"x","shape":[1],"datatype":"INT8","data":[300]}]}"#).unwrap_err();
        assert!(e.to_string().contains("expected INT8 values, got 300"), "{e}");
        let e = decode_str(r#"{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["a"]}]}"#).unwrap_err();
        assert!(e.to_string().contains("unsupported datatype"), "{e}");
        let e = decode_str(r#"{"inputs":[{"name":"x","shape":[4611686018427387904,4],"datatype":"FP32","data":[]}]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
    }
}
