//! [`SlotLayout`]: how big a slot's buffers are, derived from the model's spec.

use accelrt::{DType, Dim, Error, ModelSpec, Result, TensorSpec};

/// One tensor's per-request shape: its dtype and the dimensions after the batch dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLayout {
    /// Element type.
    pub dtype: DType,
    /// Dimensions of one item (the spec's shape without its leading batch dimension).
    pub item_shape: Vec<usize>,
}

impl ItemLayout {
    fn from_spec(role: &str, spec: &TensorSpec) -> Result<Self> {
        let (first, rest) = spec
            .shape
            .split_first()
            .ok_or_else(|| Error::Config(format!("cuda: {role} \"{}\" needs a batch dimension", spec.name)))?;
        if !matches!(first, Dim::Dynamic(_)) {
            return Err(Error::Config(format!(
                "cuda: {role} \"{}\" {spec}: the first dimension must be the dynamic batch dimension",
                spec.name
            )));
        }
        let item_shape = rest
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => Ok(*n),
                Dim::Dynamic(name) => Err(Error::Config(format!(
                    "cuda: {role} \"{}\" {spec}: dimension {name} must be fixed so slots can be sized at build time",
                    spec.name
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ItemLayout {
            dtype: spec.dtype,
            item_shape,
        })
    }

    /// Elements per item.
    pub fn elems(&self) -> usize {
        self.item_shape.iter().product()
    }

    /// Bytes per item.
    pub fn bytes(&self) -> usize {
        self.elems() * self.dtype.size()
    }
}

/// Buffer sizes of a slot: what the staging and device buffers must hold for a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotLayout {
    /// The input's per-item layout.
    pub input: ItemLayout,
    /// The output's per-item layout.
    pub output: ItemLayout,
}

impl SlotLayout {
    /// Derives the layout from a spec with one input and one output, each `[batch, fixed...]`.
    /// Any other spec is an [`Error::Config`].
    pub fn from_spec(spec: &ModelSpec) -> Result<Self> {
        if spec.inputs.len() != 1 || spec.outputs.len() != 1 {
            return Err(Error::Config(format!(
                "cuda: a model needs exactly one input and one output, this one has {} and {}",
                spec.inputs.len(),
                spec.outputs.len()
            )));
        }
        Ok(SlotLayout {
            input: ItemLayout::from_spec("input", &spec.inputs[0])?,
            output: ItemLayout::from_spec("output", &spec.outputs[0])?,
        })
    }

    /// Input bytes a slot for `max_batch` requests stages (host) and holds (device).
    pub fn input_bytes(&self, max_batch: usize) -> Result<usize> {
        checked(self.input.bytes(), max_batch)
    }

    /// Output bytes a slot for `max_batch` requests holds (device) and stages (host).
    pub fn output_bytes(&self, max_batch: usize) -> Result<usize> {
        checked(self.output.bytes(), max_batch)
    }
}

fn checked(item: usize, max_batch: usize) -> Result<usize> {
    item.checked_mul(max_batch)
        .ok_or_else(|| Error::Config(format!("cuda: {max_batch} items of {item} bytes overflow")))
}
