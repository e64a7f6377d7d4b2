//! What a model takes and gives.

use std::fmt;

use super::tensor::fmt_shape;
use super::{DType, Tensor};
use crate::{Error, Result};

/// One dimension of a tensor spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dim {
    /// Must equal this size.
    Fixed(usize),
    /// Any size from 1 up; the name (`N`, `H`, `batch`...) is only for messages.
    Dynamic(String),
}

impl Dim {
    /// A dynamic dimension named `name`.
    pub fn dynamic(name: impl Into<String>) -> Dim {
        Dim::Dynamic(name.into())
    }

    fn accepts(&self, d: usize) -> bool {
        match self {
            Dim::Fixed(n) => *n == d,
            // A dynamic dimension takes any size but 0: an empty image or sequence is never
            // what a model means, and runtimes fail on it deep inside a batch.
            Dim::Dynamic(_) => d > 0,
        }
    }
}

impl From<usize> for Dim {
    fn from(n: usize) -> Dim {
        Dim::Fixed(n)
    }
}

impl From<&str> for Dim {
    fn from(name: &str) -> Dim {
        Dim::Dynamic(name.to_string())
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Dynamic(name) if name.is_empty() => f.write_str("?"),
            Dim::Dynamic(name) => f.write_str(name),
        }
    }
}

/// Name, dtype and shape of one model input or output.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TensorSpec {
    /// The tensor's name in the model.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Dimensions; [`Dim::Dynamic`] accepts any size.
    pub shape: Vec<Dim>,
}

impl TensorSpec {
    /// A spec from a name, dtype and dims (`[Dim::from("N"), 3.into(), ...]`).
    pub fn new(name: impl Into<String>, dtype: DType, shape: impl IntoIterator<Item = Dim>) -> Self {
        TensorSpec {
            name: name.into(),
            dtype,
            shape: shape.into_iter().collect(),
        }
    }

    /// True when the first dimension is dynamic, so requests can be concatenated along it.
    pub fn batch_is_dynamic(&self) -> bool {
        matches!(self.shape.first(), Some(Dim::Dynamic(_)))
    }

    /// Checks a tensor against this spec. `role` is `"input"` or `"output"`.
    ///
    /// The message reads `input "x": expected f32 [N, 3, H, W], got u8 [1, 224, 224, 3]`.
    pub fn check(&self, role: &str, t: &Tensor) -> Result<()> {
        let shape_ok =
            t.shape().len() == self.shape.len() && self.shape.iter().zip(t.shape()).all(|(d, &n)| d.accepts(n));
        if t.dtype() == self.dtype && shape_ok {
            return Ok(());
        }
        let mut got = format!("{} {}", t.dtype(), fmt_shape(t.shape()));
        if t.shape().contains(&0) {
            got.push_str(" (a dimension is 0)");
        }
        let name = if role == "input" {
            self.name.clone()
        } else {
            format!("{role} {}", self.name)
        };
        Err(Error::invalid_named(name, self.to_string(), got))
    }
}

impl fmt::Display for TensorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        write!(f, "{} [{}]", self.dtype, dims.join(", "))
    }
}

/// What a model takes and gives, and the largest batch it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelSpec {
    /// Inputs, in the order a request lists them.
    pub inputs: Vec<TensorSpec>,
    /// Outputs, in the order a result lists them.
    pub outputs: Vec<TensorSpec>,
    /// The most requests one batch may hold (`None`: no limit of the model's own).
    pub max_batch: Option<usize>,
}

impl ModelSpec {
    /// Checks one request's inputs (in spec order) against the spec.
    pub fn check_inputs(&self, inputs: &[Tensor]) -> Result<()> {
        if inputs.len() != self.inputs.len() {
            let names: Vec<&str> = self.inputs.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::invalid_input(
                format!("{} input(s) {names:?}", self.inputs.len()),
                inputs.len().to_string(),
            ));
        }
        for (spec, t) in self.inputs.iter().zip(inputs) {
            spec.check("input", t)?;
        }
        Ok(())
    }

    /// The position of the input called `name`.
    pub fn input_index(&self, name: &str) -> Option<usize> {
        self.inputs.iter().position(|s| s.name == name)
    }
}
