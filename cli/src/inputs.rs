//! Request inputs for a model: the model's dtypes, shapes from `--input-shape`, pseudo-random
//! values.

use accelrt::{DType, Dim, ModelSpec, Tensor, TensorSpec};

use crate::error::CliError;
use crate::shape::{format_dims, InputShape};

/// One tensor per model input, in spec order.
///
/// Each `--input-shape` names an input, or (without a name) goes to the inputs in order.
/// Inputs without a shape get their fixed dims, with a dynamic first (batch) dimension of 1;
/// any other dynamic dimension needs a shape.
pub fn model_inputs(spec: &ModelSpec, shapes: &[InputShape]) -> Result<Vec<Tensor>, CliError> {
    let mut given: Vec<Option<&[usize]>> = vec![None; spec.inputs.len()];
    let mut next_unnamed = 0;
    for s in shapes {
        let index = match &s.name {
            Some(name) => spec.input_index(name).ok_or_else(|| {
                let names: Vec<&str> = spec.inputs.iter().map(|i| i.name.as_str()).collect();
                CliError::Usage(format!(
                    "--input-shape {s}: the model has no input \"{name}\" (inputs: {names:?})"
                ))
            })?,
            None => {
                let i = next_unnamed;
                next_unnamed += 1;
                if i >= spec.inputs.len() {
                    return Err(CliError::Usage(format!(
                        "--input-shape {s}: the model has only {} input(s)",
                        spec.inputs.len()
                    )));
                }
                i
            }
        };
        given[index] = Some(&s.dims);
    }
    spec.inputs
        .iter()
        .zip(given)
        .enumerate()
        .map(|(k, (input, dims))| {
            let dims = match dims {
                Some(d) => d.to_vec(),
                None => default_dims(input)?,
            };
            let t = filled(input.dtype, &dims, k as u64)?;
            input
                .check("input", &t)
                .map_err(|e| CliError::Usage(format!("--input-shape {}: {e}", format_dims(&dims))))?;
            Ok(t)
        })
        .collect()
}

/// The spec's dims with a dynamic first dimension set to 1.
fn default_dims(input: &TensorSpec) -> Result<Vec<usize>, CliError> {
    input
        .shape
        .iter()
        .enumerate()
        .map(|(k, d)| match d {
            Dim::Fixed(n) => Ok(*n),
            Dim::Dynamic(_) if k == 0 => Ok(1),
            Dim::Dynamic(_) => Err(CliError::Usage(format!(
                "input \"{}\" is {input}: give its size with --input-shape {}:{}",
                input.name,
                input.name,
                input
                    .shape
                    .iter()
                    .enumerate()
                    .map(|(k, d)| match d {
                        Dim::Fixed(n) => n.to_string(),
                        Dim::Dynamic(_) if k == 0 => "1".into(),
                        Dim::Dynamic(name) if name.is_empty() => "SIZE".into(),
                        Dim::Dynamic(name) => name.to_uppercase(),
                    })
                    .collect::<Vec<_>>()
                    .join("x")
            ))),
        })
        .collect()
}

/// Floats in [0, 1) from a fixed seed (reproducible runs); integers and booleans are zero, since
/// integer inputs are usually indices that random values would push out of range.
fn filled(dtype: DType, dims: &[usize], seed: u64) -> Result<Tensor, CliError> {
    let n = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| CliError::Usage(format!("shape {} is too large", format_dims(dims))))?;
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
    let t = match dtype {
        DType::F32 => Tensor::new(dims, (0..n).map(|_| rng.unit() as f32).collect())?,
        DType::F64 => Tensor::new(dims, (0..n).map(|_| rng.unit()).collect())?,
        DType::F16 => Tensor::new(dims, (0..n).map(|_| accelrt::f16::from_f64(rng.unit())).collect())?,
        other => Tensor::zeros(other, dims)?,
    };
    Ok(t)
}

/// A tiny xorshift generator: benchmark inputs need variety, not statistical quality, and this
/// keeps a random-number crate out of the build.
struct XorShift(u64);

impl XorShift {
    /// A value in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ModelSpec {
        ModelSpec {
            inputs: vec![
                TensorSpec::new(
                    "image",
                    DType::F32,
                    [Dim::from("N"), 3.into(), Dim::from("H"), Dim::from("W")],
                ),
                TensorSpec::new("ids", DType::I64, [Dim::from("N"), 4.into()]),
            ],
            outputs: vec![],
            max_batch: None,
        }
    }

    #[test]
    fn shapes_fill_dynamic_dims_by_name_or_order() {
        let x = model_inputs(&spec(), &["1x3x8x8".parse().unwrap()]).unwrap();
        assert_eq!(x[0].shape(), &[1, 3, 8, 8]);
        assert_eq!((x[1].shape(), x[1].dtype()), (&[1usize, 4][..], DType::I64));
        let v = x[0].as_slice::<f32>().unwrap();
        assert!(v.iter().all(|f| (0.0..1.0).contains(f)) && v.iter().any(|&f| f != v[0]));
        let x = model_inputs(&spec(), &["ids:2x4".parse().unwrap(), "image:2x3x4x4".parse().unwrap()]).unwrap();
        assert_eq!((x[0].shape(), x[1].shape()), (&[2usize, 3, 4, 4][..], &[2usize, 4][..]));
    }

    #[test]
    fn missing_or_wrong_shapes_are_usage_errors() {
        let e = model_inputs(&spec(), &[]).unwrap_err().to_string();
        assert!(e.contains("--input-shape image:1x3xHxW"), "{e}");
        let e = model_inputs(&spec(), &["1x4x8x8".parse().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected f32 [N, 3, H, W]"), "{e}");
        let e = model_inputs(&spec(), &["label:1x2".parse().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("no input \"label\""), "{e}");
    }
}
