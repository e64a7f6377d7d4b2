//! The protocol's datatype names ("FP32", "INT64", ...) and accelrt's [`DType`].

use accelrt::DType;

use crate::ServeError;

/// The protocol's name for `dtype`.
pub fn wire_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "FP32",
        DType::F16 => "FP16",
        DType::F64 => "FP64",
        DType::I64 => "INT64",
        DType::I32 => "INT32",
        DType::I8 => "INT8",
        DType::U8 => "UINT8",
        DType::Bool => "BOOL",
        // DType is non-exhaustive: a type added later has no protocol name until mapped here.
        _ => "UNSUPPORTED",
    }
}

/// The dtype the protocol's `name` stands for; datatypes the protocol has but accelrt does not
/// (BYTES, BF16, the unsigned and 16-bit integers) are an error naming what is supported.
pub fn from_wire(name: &str) -> Result<DType, ServeError> {
    Ok(match name {
        "FP32" => DType::F32,
        "FP16" => DType::F16,
        "FP64" => DType::F64,
        "INT64" => DType::I64,
        "INT32" => DType::I32,
        "INT8" => DType::I8,
        "UINT8" => DType::U8,
        "BOOL" => DType::Bool,
        other => {
            return Err(ServeError::invalid(format!(
                "unsupported datatype \"{other}\": expected one of BOOL, UINT8, INT8, INT32, INT64, FP16, FP32, FP64"
            )))
        }
    })
}

/// The dtype a Triton `config.pbtxt` `data_type` (TYPE_FP32, ...) stands for.
pub fn from_config(name: &str) -> Option<DType> {
    from_wire(match name {
        "TYPE_FP32" => "FP32",
        "TYPE_FP16" => "FP16",
        "TYPE_FP64" => "FP64",
        "TYPE_INT64" => "INT64",
        "TYPE_INT32" => "INT32",
        "TYPE_INT8" => "INT8",
        "TYPE_UINT8" => "UINT8",
        "TYPE_BOOL" => "BOOL",
        _ => return None,
    })
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in [
            DType::F32,
            DType::F16,
            DType::F64,
            DType::I64,
            DType::I32,
            DType::I8,
            DType::U8,
            DType::Bool,
        ] {
            assert_eq!(from_wire(wire_name(d)).unwrap(), d);
        }
        let e = from_wire("BYTES").unwrap_err().to_string();
        assert!(e.contains("unsupported datatype \"BYTES\""), "{e}");
        assert_eq!(from_config("TYPE_FP32"), Some(DType::F32));
        assert_eq!(from_config("TYPE_STRING"), None);
    }
}
