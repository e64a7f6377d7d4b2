//! `accelrt info MODEL.onnx`: what a model takes and gives.

use std::fmt::Write;
use std::path::Path;

use accelrt::TensorSpec;

use crate::error::CliError;
use crate::report::table;
use crate::target::open;

/// The model's inputs and outputs (names, dtypes, shapes with dynamic dims by name) and its
/// custom metadata keys, as text.
pub fn info(model: &Path) -> Result<String, CliError> {
    let session = open(model)?;
    let spec = session.spec();
    let rows = |specs: &[TensorSpec]| -> Vec<Vec<String>> {
        specs
            .iter()
            .map(|s| {
                let dims: Vec<String> = s.shape.iter().map(|d| d.to_string()).collect();
                vec![s.name.clone(), s.dtype.to_string(), format!("[{}]", dims.join(", "))]
            })
            .collect()
    };
    let mut out = String::new();
    let _ = writeln!(out, "model: {}", model.display());
    let _ = writeln!(out, "\ninputs:");
    out.push_str(&table(&["Name", "DType", "Shape"], &rows(&spec.inputs)));
    let _ = writeln!(out, "\noutputs:");
    out.push_str(&table(&["Name", "DType", "Shape"], &rows(&spec.outputs)));
    let batch = if spec
        .inputs
        .iter()
        .chain(&spec.outputs)
        .all(TensorSpec::batch_is_dynamic)
    {
        "dynamic first dimension: a batch runs as one concatenated run"
    } else {
        "fixed first dimension: a batch runs its requests one by one"
    };
    let _ = writeln!(out, "\nbatching: {batch}");
    let keys: Vec<&str> = session.metadata().keys().map(String::as_str).collect();
    if !keys.is_empty() {
        let _ = writeln!(out, "metadata keys: {}", keys.join(", "));
    }
    Ok(out)
}
