//! Building a request's input list from tensors named as in the model.

use accelrt::{ModelSpec, Tensor};

/// Puts named tensors into the spec's input order, the form a request takes.
///
/// Fails with [`accelrt::Error::InvalidInput`] for a name the model does not have, a name given
/// twice, or a missing input; each message lists the model's input names. Dtypes and shapes are
/// checked later, by the runtime (or [`OnnxSession::run`](crate::OnnxSession::run)).
pub fn inputs_by_name<'a>(
    spec: &ModelSpec,
    named: impl IntoIterator<Item = (&'a str, Tensor)>,
) -> accelrt::Result<Vec<Tensor>> {
    let names = || spec.inputs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>();
    let mut slots: Vec<Option<Tensor>> = vec![None; spec.inputs.len()];
    for (name, t) in named {
        let i = spec.input_index(name).ok_or_else(|| {
            accelrt::Error::invalid_named(name, format!("one of the inputs {:?}", names()), "an unknown name")
        })?;
        if slots[i].replace(t).is_some() {
            return Err(accelrt::Error::invalid_named(name, "one tensor", "two"));
        }
    }
    slots
        .into_iter()
        .zip(&spec.inputs)
        .map(|(t, s)| {
            t.ok_or_else(|| {
                accelrt::Error::invalid_named(
                    s.name.clone(),
                    format!("{s} (inputs {:?})", names()),
                    "nothing: it is missing",
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use accelrt::{DType, Dim, TensorSpec};

    use super::*;

    fn spec() -> ModelSpec {
        ModelSpec {
            inputs: vec![
                TensorSpec::new("a", DType::F32, [Dim::from("N"), 2.into()]),
                TensorSpec::new("b", DType::I64, [Dim::from("N")]),
            ],
            outputs: vec![],
            max_batch: None,
        }
    }

    #[test]
    fn orders_by_spec() {
        let a = Tensor::new([1, 2], vec![1.0f32, 2.0]).unwrap();
        let b = Tensor::new([1], vec![7i64]).unwrap();
        let got = inputs_by_name(&spec(), [("b", b.clone()), ("a", a.clone())]).unwrap();
        assert_eq!(got, vec![a, b]);
    }

    #[test]
    fn names_what_is_wrong() {
        let t = Tensor::new([1], vec![7i64]).unwrap();
        let unknown = inputs_by_name(&spec(), [("c", t.clone())]).unwrap_err().to_string();
        assert!(
            unknown.contains("unknown input \"c\": expected one of [\"a\", \"b\"]"),
            "{unknown}"
        );
        let twice = inputs_by_name(&spec(), [("b", t.clone()), ("b", t.clone())])
            .unwrap_err()
            .to_string();
        assert!(twice.contains("input \"b\" given twice"), "{twice}");
        let missing = inputs_by_name(&spec(), [("b", t)]).unwrap_err().to_string();
        assert!(missing.contains("input \"a\" (f32 [N, 2]) is missing"), "{missing}");
    }
}
