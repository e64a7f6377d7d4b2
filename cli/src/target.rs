//! What a benchmark runs: an ONNX model with its inputs, or the simulated accelerator.

use std::path::{Path, PathBuf};

use accelrt::{Tensor, Timeline};
use accelrt_onnx::{OnnxBackend, OnnxSession};
use accelrt_sim::SimBackend;

use crate::args::{BackendKind, TargetArgs};
use crate::error::CliError;
use crate::inputs::model_inputs;
use crate::load::{measure, Load, Measured};
use crate::settings::Settings;
use crate::sim::SimTarget;

/// A backend and the input every request sends, checked once before any run.
#[derive(Debug)]
pub enum Target {
    /// The simulated accelerator.
    Sim(SimTarget),
    /// An ONNX model on ONNX Runtime.
    Onnx {
        /// The model file.
        model: PathBuf,
        /// One tensor per model input.
        inputs: Vec<Tensor>,
        /// Intra-op threads per instance, if set.
        intra_threads: Option<usize>,
    },
}

impl Target {
    /// Checks the arguments, and for ONNX opens the model once to build inputs that fit it.
    pub fn from_args(args: &TargetArgs) -> Result<Target, CliError> {
        match args.backend {
            BackendKind::Sim => {
                if let Some(model) = &args.model {
                    return Err(CliError::Usage(format!(
                        "--backend sim runs no model, but {} was given",
                        model.display()
                    )));
                }
                let len = match args.input_shape.as_slice() {
                    [] => 4,
                    [s] if s.name.is_none() && s.dims.len() == 2 && s.dims[0] == 1 && s.dims[1] > 0 => s.dims[1],
                    _ => {
                        return Err(CliError::Usage(
                            "--backend sim takes one --input-shape 1xLEN (LEN ≥ 1)".to_string(),
                        ))
                    }
                };
                if args.sim_compute_units == 0 {
                    return Err(CliError::Usage("--sim-compute-units must be at least 1".into()));
                }
                Ok(Target::Sim(SimTarget {
                    stages: args.sim_stages,
                    len,
                    compute_units: args.sim_compute_units,
                }))
            }
            BackendKind::Onnx => {
                let model = args.model.as_deref().ok_or_else(|| {
                    CliError::Usage("no model given: pass MODEL.onnx, or --backend sim to run the simulator".into())
                })?;
                let session = open(model)?;
                Ok(Target::Onnx {
                    model: model.to_path_buf(),
                    inputs: model_inputs(session.spec(), &args.input_shape)?,
                    intra_threads: args.intra_threads,
                })
            }
        }
    }

    /// One line saying what runs: `sim (prepare 3 ms, ...)` or `model.onnx (x: f32 1x3)`.
    pub fn describe(&self) -> String {
        match self {
            Target::Sim(sim) => format!("sim ({}; f32 1x{})", sim.stages, sim.len),
            Target::Onnx { model, inputs, .. } => {
                let shapes: Vec<String> = inputs
                    .iter()
                    .map(|t| format!("{} {}", t.dtype(), crate::shape::format_dims(t.shape())))
                    .collect();
                format!("{} (onnxruntime; inputs {})", model.display(), shapes.join(", "))
            }
        }
    }

    /// Builds a runtime with `settings` and measures `load` on it.
    pub fn measure(&self, settings: &Settings, load: &Load, timeline: Option<&Timeline>) -> Result<Measured, CliError> {
        match self {
            Target::Sim(sim) => {
                let backend = SimBackend::try_new(sim.config(settings.max_batch, timeline))?;
                let rt = settings.apply(accelrt::Runtime::builder(backend), timeline).build()?;
                let x = Tensor::new([1, sim.len], vec![0.5f32; sim.len])?;
                measure(&rt, || x.clone(), settings.concurrency, load, timeline)
            }
            Target::Onnx {
                model,
                inputs,
                intra_threads,
            } => {
                let mut builder = OnnxBackend::builder(model).instances(settings.instances);
                if let Some(n) = intra_threads {
                    builder = builder.intra_threads(*n);
                }
                let rt = settings.apply(builder.build()?.runtime_builder(), timeline).build()?;
                measure(&rt, || inputs.clone(), settings.concurrency, load, timeline)
            }
        }
    }
}

/// Opens `model`, saying clearly when the file is not there (before ONNX Runtime is loaded).
pub fn open(model: &Path) -> Result<OnnxSession, CliError> {
    if !model.is_file() {
        return Err(CliError::Usage(format!("model file not found: {}", model.display())));
    }
    Ok(OnnxSession::open(model)?)
}
