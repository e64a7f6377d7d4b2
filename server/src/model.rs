//! [`Model`]: one served model, an accelrt [`Runtime`] on the ONNX backend with its config.

use std::path::Path;
use std::time::Instant;

use accelrt::{Backend, ModelSpec, Runtime, Stats};
use accelrt_onnx::{inputs_by_name, OnnxBackend};

use crate::config::ModelConfig;
use crate::infer::{InferRequest, InferResponse, Priorities};
use crate::metered::Metered;
use crate::metrics::Counters;
use crate::ServeError;

/// One model version, loaded and ready.
pub struct Model {
    name: String,
    version: String,
    runtime: Runtime<Metered<OnnxBackend>>,
    config: ModelConfig,
    pub(crate) counters: Counters,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Opens `file` on ONNX Runtime and builds its runtime. `config` is the model's
    /// `config.pbtxt` when it has one; otherwise the settings are derived from the model. Blocks
    /// while ONNX Runtime loads the model.
    pub fn load(name: &str, version: &str, file: &Path, config: Option<ModelConfig>) -> Result<Model, ServeError> {
        let fail = |e: String| ServeError::Internal(format!("model \"{name}\" version {version}: {e}"));
        let instances = config.as_ref().map_or(1, |c| c.instances);
        let backend = OnnxBackend::builder(file)
            .instances(instances)
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let config = match config {
            Some(c) => {
                if let Some(n) = c.name.as_deref().filter(|n| *n != name) {
                    return Err(fail(format!(
                        "config.pbtxt names the model \"{n}\", expected its directory's name \"{name}\""
                    )));
                }
                c.check(Backend::spec(&backend))
                    .map_err(|e| fail(format!("config.pbtxt: {e}")))?;
                c
            }
            None => ModelConfig::derived(Backend::spec(&backend)),
        };
        let counters = Counters::new(name, version, config.max_batch());
        let runtime = config
            .apply(Runtime::builder(Metered::new(backend, counters.batch_sizes.clone())))
            .build()
            .map_err(|e| fail(e.to_string()))?;
        Ok(Model {
            name: name.to_string(),
            version: version.to_string(),
            runtime,
            config,
            counters,
        })
    }

    /// The model's name (its directory in the repository).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version served.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Inputs and outputs.
    pub fn spec(&self) -> &ModelSpec {
        self.runtime.spec()
    }

    /// The settings in use.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The runtime's counters.
    pub fn stats(&self) -> Stats {
        self.runtime.stats()
    }

    /// The runtime (to shut it down).
    pub fn runtime(&self) -> &Runtime<Metered<OnnxBackend>> {
        &self.runtime
    }

    /// How the request parameter `priority` maps to the runtime's levels.
    pub fn priorities(&self) -> Priorities {
        match &self.config.dynamic_batching {
            Some(db) if db.priority_levels > 0 => Priorities {
                levels: db.priority_levels,
                default: if db.default_priority_level == 0 {
                    db.priority_levels
                } else {
                    db.default_priority_level
                },
            },
            _ => Priorities::default(),
        }
    }

    /// Runs one request. Dropping the returned future before it resolves drops the request's
    /// accelrt task, which cancels it if it has not started.
    pub async fn infer(&self, req: InferRequest) -> Result<InferResponse, ServeError> {
        let started = Instant::now();
        let guard = self.counters.begin();
        let rows = match (self.config.max_batch_size, req.inputs.first()) {
            (n, Some((_, t))) if n > 0 => t.shape().first().copied().unwrap_or(1),
            _ => 1,
        };
        let result = self.run(req).await;
        guard.finish(
            result.as_ref().map(|_| ()).map_err(ServeError::failure_reason),
            rows,
            started.elapsed(),
        );
        result
    }

    async fn run(&self, req: InferRequest) -> Result<InferResponse, ServeError> {
        let spec = self.runtime.spec();
        for o in &req.outputs {
            if spec.outputs.iter().all(|s| s.name != *o) {
                let names: Vec<&str> = spec.outputs.iter().map(|s| s.name.as_str()).collect();
                return Err(ServeError::invalid(format!(
                    "output \"{o}\": expected one of the outputs {names:?}, got an unknown name"
                )));
            }
        }
        let max = self.config.max_batch_size;
        if max > 0 {
            for (name, t) in &req.inputs {
                let rows = t.shape().first().copied();
                if rows.is_none_or(|r| r > max) {
                    return Err(ServeError::invalid(format!(
                        "input \"{name}\": expected a batch dimension of at most {max} (max_batch_size), got shape {:?}",
                        t.shape()
                    )));
                }
            }
        }
        // Tensor clones share their bytes.
        let inputs = inputs_by_name(spec, req.inputs.iter().map(|(n, t)| (n.as_str(), t.clone())))?;
        let outputs = self.runtime.run_with(inputs, req.options).await?;
        let outputs = spec
            .outputs
            .iter()
            .zip(outputs)
            .filter(|(s, _)| req.outputs.is_empty() || req.outputs.contains(&s.name))
            .map(|(s, t)| (s.name.clone(), t))
            .collect();
        Ok(InferResponse {
            model_name: self.name.clone(),
            model_version: self.version.clone(),
            id: req.id,
            outputs,
        })
    }
}
