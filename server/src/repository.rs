//! [`Repository`]: the models of a Triton-layout model repository, `DIR/<model>/<version>/model.onnx`
//! with an optional `DIR/<model>/config.pbtxt`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::config::ModelConfig;
use crate::{Model, ServeError};

/// The loaded models by name. Of each model's numeric version directories the newest one that
/// holds the model file is served (Triton's default version policy, `latest { num_versions: 1 }`).
#[derive(Debug, Default)]
pub struct Repository {
    models: BTreeMap<String, Arc<Model>>,
}

impl Repository {
    /// Loads every model under `dir`. Blocks while ONNX Runtime loads them; fails on the first
    /// model that cannot be served, naming it (as Triton does with `--exit-on-error`).
    pub fn load(dir: &Path) -> Result<Repository, ServeError> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| ServeError::Internal(format!("model repository {}: {e}", dir.display())))?;
        let mut dirs: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .collect();
        dirs.sort();
        let mut models = BTreeMap::new();
        for model_dir in dirs {
            let name = model_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let config_path = model_dir.join("config.pbtxt");
            let config = if config_path.is_file() {
                let text = std::fs::read_to_string(&config_path)
                    .map_err(|e| ServeError::Internal(format!("{}: {e}", config_path.display())))?;
                let cfg =
                    ModelConfig::parse(&text).map_err(|e| ServeError::Internal(format!("model \"{name}\": {e}")))?;
                Some(cfg)
            } else {
                None
            };
            let file_name = config
                .as_ref()
                .map_or("model.onnx", |c| c.model_filename.as_str())
                .to_string();
            let version = newest_version(&model_dir, &file_name).ok_or_else(|| {
                ServeError::Internal(format!(
                    "model \"{name}\": expected a numeric version directory holding {file_name}, like {}",
                    model_dir.join("1").join(&file_name).display()
                ))
            })?;
            let file = model_dir.join(version.to_string()).join(&file_name);
            if let Some(cfg) = &config {
                if !cfg.ignored.is_empty() {
                    tracing::warn!(model = %name, ignored = ?cfg.ignored, "config.pbtxt fields accelrt does not use");
                }
            }
            let model = Model::load(&name, &version.to_string(), &file, config)?;
            let cfg = model.config();
            tracing::info!(
                model = %name,
                version,
                max_batch_size = cfg.max_batch_size,
                dynamic_batching = cfg.dynamic_batching.is_some(),
                instances = cfg.instances,
                from = if config_path.is_file() { "config.pbtxt" } else { "the model (no config.pbtxt)" },
                "model ready"
            );
            models.insert(name, Arc::new(model));
        }
        Ok(Repository { models })
    }

    /// A repository of models already loaded (tests, embedding).
    pub fn from_models(models: impl IntoIterator<Item = Model>) -> Repository {
        Repository {
            models: models
                .into_iter()
                .map(|m| (m.name().to_string(), Arc::new(m)))
                .collect(),
        }
    }

    /// The model `name`; `version` must be the one served when given (empty = any).
    pub fn get(&self, name: &str, version: Option<&str>) -> Result<&Arc<Model>, ServeError> {
        let model = self.models.get(name).ok_or_else(|| {
            ServeError::NotFound(format!(
                "unknown model \"{name}\": expected one of {:?}",
                self.models.keys().collect::<Vec<_>>()
            ))
        })?;
        match version {
            Some(v) if !v.is_empty() && v != model.version() => Err(ServeError::NotFound(format!(
                "model \"{name}\" has no version \"{v}\": serving version {}",
                model.version()
            ))),
            _ => Ok(model),
        }
    }

    /// All models, by name.
    pub fn models(&self) -> impl Iterator<Item = &Arc<Model>> {
        self.models.values()
    }
}

fn newest_version(model_dir: &Path, file_name: &str) -> Option<u64> {
    std::fs::read_dir(model_dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v: u64 = e.file_name().to_str()?.parse().ok()?;
            e.path().join(file_name).is_file().then_some(v)
        })
        .max()
}
