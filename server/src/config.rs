//! A model's serving settings: read from Triton's `config.pbtxt` (the subset accelrt uses),
//! or derived from the model when there is none, and applied to a [`RuntimeBuilder`].
//!
//! Read: `name`, `platform`/`backend` (must be ONNX Runtime), `max_batch_size`, `input` and
//! `output` (`name`, `data_type`, `dims`; checked against the model), `dynamic_batching`
//! (`max_queue_delay_microseconds`, `preferred_batch_size`, `priority_levels`,
//! `default_priority_level`, `default_queue_policy { default_timeout_microseconds,
//! max_queue_size }`), `instance_group { count }` (summed over groups), and
//! `default_model_filename`. Every other field present is listed by [`ModelConfig::ignored`]
//! and logged at start-up; notably `version_policy` (the newest version is served),
//! `instance_group.kind` (instances run where the ONNX backend runs them), `optimization`,
//! `model_warmup`, `sequence_batching`, `ensemble_scheduling`, `parameters`, `response_cache`
//! and per-tensor `reshape`/`format`.
//!
//! One difference in meaning: Triton's `max_batch_size` bounds the rows of a batch (the sum
//! of its requests' batch dimensions), accelrt's `max_batch` bounds its requests. A request may
//! carry up to `max_batch_size` rows (larger ones are refused), and a batch holds up to
//! `max_batch_size` requests, so it can hold more rows than Triton would put together.

use std::time::Duration;

use accelrt::{Backend, DType, Dim, ModelSpec, Overflow, RuntimeBuilder, TensorSpec};

use crate::datatype::from_config;
use crate::pbtxt::{self, Message, Value};

/// `max_batch_size` when a batchable model comes without a config.
pub const DEFAULT_MAX_BATCH: usize = 8;

/// Why a config cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// `dynamic_batching { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DynamicBatching {
    /// How long a batch may wait to fill (accelrt's `batch_timeout`).
    pub max_queue_delay: Duration,
    /// Batch sizes to prefer (accelrt's `preferred_batch_sizes`).
    pub preferred_batch_sizes: Vec<usize>,
    /// Number of priority levels (0 = none).
    pub priority_levels: usize,
    /// The level of requests that name none.
    pub default_priority_level: usize,
    /// A request not started after this long fails (accelrt's `timeout`).
    pub default_timeout: Option<Duration>,
    /// Queue bound; a full queue rejects (accelrt's `queue_capacity` + `Overflow::Reject`).
    pub max_queue_size: Option<usize>,
}

/// One `input` or `output` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorConfig {
    /// The tensor's name in the model.
    pub name: String,
    /// `data_type`, when given.
    pub dtype: Option<DType>,
    /// `dims` without the batch dimension when `max_batch_size > 0`; -1 = any.
    pub dims: Vec<i64>,
}

/// What the server needs to know to serve one model.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelConfig {
    /// `name`, when given (must equal the directory's name).
    pub name: Option<String>,
    /// 0: requests carry no batch dimension of the server's making and run alone; n: requests
    /// have a leading batch dimension of at most n, and batches hold at most n rows.
    pub max_batch_size: usize,
    /// Dynamic batching; `None` runs every request on its own, as Triton does.
    pub dynamic_batching: Option<DynamicBatching>,
    /// Model instances (sessions), at least 1.
    pub instances: usize,
    /// `input` entries.
    pub inputs: Vec<TensorConfig>,
    /// `output` entries.
    pub outputs: Vec<TensorConfig>,
    /// The model file's name in the version directory (`model.onnx`).
    pub model_filename: String,
    /// Fields present in the file that accelrt does not use, as dotted paths.
    pub ignored: Vec<String>,
}

impl ModelConfig {
    /// The settings for a model without a config file: batching on (up to
    /// [`DEFAULT_MAX_BATCH`], no delay) when every input and output has a dynamic first
    /// dimension, off otherwise; one instance.
    pub fn derived(spec: &ModelSpec) -> ModelConfig {
        let batchable = spec
            .inputs
            .iter()
            .chain(&spec.outputs)
            .all(TensorSpec::batch_is_dynamic);
        ModelConfig {
            max_batch_size: if batchable { DEFAULT_MAX_BATCH } else { 0 },
            dynamic_batching: batchable.then(DynamicBatching::default),
            instances: 1,
            model_filename: "model.onnx".into(),
            ..ModelConfig::default()
        }
    }

    /// Reads a `config.pbtxt`.
    pub fn parse(text: &str) -> Result<ModelConfig, ConfigError> {
        let msg = pbtxt::parse(text).map_err(|e| ConfigError(format!("config.pbtxt: {e}")))?;
        let mut cfg = ModelConfig {
            instances: 1,
            model_filename: "model.onnx".into(),
            ..ModelConfig::default()
        };
        let mut groups: Option<usize> = None;
        for (field, value) in &msg.fields {
            match field.as_str() {
                "name" => cfg.name = Some(string(field, value)?),
                "platform" => {
                    let p = string(field, value)?;
                    if p != "onnxruntime_onnx" {
                        return Err(ConfigError(format!(
                            "platform: expected \"onnxruntime_onnx\" (accelrt serves ONNX models), got \"{p}\""
                        )));
                    }
                }
                "backend" => {
                    let b = string(field, value)?;
                    if b != "onnxruntime" {
                        return Err(ConfigError(format!(
                            "backend: expected \"onnxruntime\" (accelrt serves ONNX models), got \"{b}\""
                        )));
                    }
                }
                "max_batch_size" => cfg.max_batch_size = uint(field, value)?,
                "default_model_filename" => cfg.model_filename = string(field, value)?,
                "input" => cfg.inputs.push(tensor(field, value, &mut cfg.ignored)?),
                "output" => cfg.outputs.push(tensor(field, value, &mut cfg.ignored)?),
                "dynamic_batching" => cfg.dynamic_batching = Some(batching(message(field, value)?, &mut cfg.ignored)?),
                "instance_group" => {
                    let group = message(field, value)?;
                    let mut count = 1;
                    for (f, v) in &group.fields {
                        match f.as_str() {
                            "count" => count = uint("instance_group.count", v)?,
                            other => cfg.ignored.push(format!("instance_group.{other}")),
                        }
                    }
                    // Groups add up; without any, one instance.
                    *groups.get_or_insert(0) += count;
                }
                other => cfg.ignored.push(other.to_string()),
            }
        }
        cfg.instances = groups.unwrap_or(1);
        // Each ignored field once, in file order (repeated groups name theirs again).
        let mut seen = std::collections::HashSet::new();
        cfg.ignored.retain(|f| seen.insert(f.clone()));
        if cfg.instances == 0 {
            return Err(ConfigError("instance_group.count: expected at least 1, got 0".into()));
        }
        Ok(cfg)
    }

    /// Checks the config against the model: tensor names, dtypes and dims, and that a batching
    /// config fits a model with a dynamic first dimension.
    pub fn check(&self, spec: &ModelSpec) -> Result<(), ConfigError> {
        if self.max_batch_size > 0 {
            if let Some(t) = spec.inputs.iter().chain(&spec.outputs).find(|t| !t.batch_is_dynamic()) {
                return Err(ConfigError(format!(
                    "max_batch_size {}: expected a model whose inputs and outputs have a dynamic first dimension, \
                     got \"{}\" {}; set max_batch_size: 0",
                    self.max_batch_size, t.name, t
                )));
            }
        }
        for (role, configs, specs) in [
            ("input", &self.inputs, &spec.inputs),
            ("output", &self.outputs, &spec.outputs),
        ] {
            for c in configs {
                let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
                let s = specs.iter().find(|s| s.name == c.name).ok_or_else(|| {
                    ConfigError(format!(
                        "{role} \"{}\": expected one of the model's {role}s {names:?}",
                        c.name
                    ))
                })?;
                if let Some(d) = c.dtype {
                    if d != s.dtype {
                        return Err(ConfigError(format!(
                            "{role} \"{}\": data_type {d} does not match the model's {}",
                            c.name, s.dtype
                        )));
                    }
                }
                let model_dims = if self.max_batch_size > 0 {
                    &s.shape[1..]
                } else {
                    &s.shape[..]
                };
                let fits = !c.dims.is_empty()
                    && c.dims.len() == model_dims.len()
                    && c.dims.iter().zip(model_dims).all(|(&c, m)| match m {
                        Dim::Fixed(n) => c == -1 || c == *n as i64,
                        Dim::Dynamic(_) => true,
                    });
                if !c.dims.is_empty() && !fits {
                    return Err(ConfigError(format!(
                        "{role} \"{}\": dims {:?} do not fit the model's shape {s}{}",
                        c.name,
                        c.dims,
                        if self.max_batch_size > 0 {
                            " (after its batch dimension)"
                        } else {
                            ""
                        }
                    )));
                }
            }
        }
        Ok(())
    }

    /// The largest batch the runtime forms.
    pub fn max_batch(&self) -> usize {
        match self.dynamic_batching {
            Some(_) => self.max_batch_size.max(1),
            None => 1,
        }
    }

    /// Applies the batching, queue and instance settings to `builder`.
    pub fn apply<B: Backend>(&self, builder: RuntimeBuilder<B>) -> RuntimeBuilder<B> {
        let mut b = builder.instances(self.instances).max_batch(self.max_batch());
        if let Some(db) = &self.dynamic_batching {
            b = b.batch_timeout(db.max_queue_delay);
            if !db.preferred_batch_sizes.is_empty() {
                b = b.preferred_batch_sizes(db.preferred_batch_sizes.clone());
            }
            if let Some(t) = db.default_timeout {
                b = b.timeout(t);
            }
            if let Some(n) = db.max_queue_size {
                b = b.queue_capacity(n).overflow(Overflow::Reject);
            }
            if db.priority_levels > 0 {
                b = b.priority_levels(db.priority_levels);
            }
        }
        b
    }
}

fn batching(msg: &Message, ignored: &mut Vec<String>) -> Result<DynamicBatching, ConfigError> {
    let mut db = DynamicBatching::default();
    for (f, v) in &msg.fields {
        let path = format!("dynamic_batching.{f}");
        match f.as_str() {
            "max_queue_delay_microseconds" => db.max_queue_delay = Duration::from_micros(uint(&path, v)? as u64),
            "preferred_batch_size" => db.preferred_batch_sizes.push(uint(&path, v)?),
            "priority_levels" => db.priority_levels = uint(&path, v)?,
            "default_priority_level" => db.default_priority_level = uint(&path, v)?,
            "default_queue_policy" => {
                for (qf, qv) in &message(&path, v)?.fields {
                    let qpath = format!("{path}.{qf}");
                    match qf.as_str() {
                        "default_timeout_microseconds" => {
                            let us = uint(&qpath, qv)? as u64;
                            db.default_timeout = (us > 0).then(|| Duration::from_micros(us));
                        }
                        "max_queue_size" => {
                            let n = uint(&qpath, qv)?;
                            db.max_queue_size = (n > 0).then_some(n);
                        }
                        _ => ignored.push(qpath),
                    }
                }
            }
            _ => ignored.push(path),
        }
    }
    Ok(db)
}

fn tensor(field: &str, value: &Value, ignored: &mut Vec<String>) -> Result<TensorConfig, ConfigError> {
    let msg = message(field, value)?;
    let mut t = TensorConfig {
        name: String::new(),
        dtype: None,
        dims: Vec::new(),
    };
    for (f, v) in &msg.fields {
        match f.as_str() {
            "name" => t.name = string(&format!("{field}.name"), v)?,
            "data_type" => {
                let word = string(&format!("{field}.data_type"), v)?;
                t.dtype = Some(from_config(&word).ok_or_else(|| {
                    ConfigError(format!(
                        "{field}.data_type: expected one of TYPE_BOOL, TYPE_UINT8, TYPE_INT8, TYPE_INT32, TYPE_INT64, \
                         TYPE_FP16, TYPE_FP32, TYPE_FP64, got {word}"
                    ))
                })?);
            }
            "dims" => t.dims.push(int(&format!("{field}.dims"), v)?),
            other => ignored.push(format!("{field}.{other}")),
        }
    }
    if t.name.is_empty() {
        return Err(ConfigError(format!("{field}: expected a name")));
    }
    Ok(t)
}

fn message<'a>(field: &str, v: &'a Value) -> Result<&'a Message, ConfigError> {
    match v {
        Value::Message(m) => Ok(m),
        other => Err(ConfigError(format!(
            "{field}: expected a message {{ ... }}, got {other:?}"
        ))),
    }
}

fn string(field: &str, v: &Value) -> Result<String, ConfigError> {
    match v {
        Value::Str(s) | Value::Word(s) => Ok(s.clone()),
        other => Err(ConfigError(format!("{field}: expected a string, got {other:?}"))),
    }
}

fn int(field: &str, v: &Value) -> Result<i64, ConfigError> {
    let s = string(field, v)?;
    s.parse()
        .map_err(|_| ConfigError(format!("{field}: expected an integer, got {s}")))
}

fn uint(field: &str, v: &Value) -> Result<usize, ConfigError> {
    let s = string(field, v)?;
    s.parse()
        .map_err(|_| ConfigError(format!("{field}: expected an unsigned integer, got {s}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det_spec() -> ModelSpec {
        ModelSpec {
            inputs: vec![TensorSpec::new(
                "x",
                DType::F32,
                [Dim::from("N"), 3.into(), Dim::from("H"), Dim::from("W")],
            )],
            outputs: vec![TensorSpec::new(
                "y",
                DType::F32,
                [Dim::from("N"), 1.into(), Dim::from("H"), Dim::from("W")],
            )],
            max_batch: None,
        }
    }

    #[test]
    fn reads_the_subset_and_lists_what_it_ignores() {
        let cfg = ModelConfig::parse(
            r#"
            name: "det"
            backend: "onnxruntime"
            max_batch_size: 8
            input [ { name: "x" data_type: TYPE_FP32 dims: [3, -1, -1] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [1, -1, -1] } ]
            dynamic_batching {
              preferred_batch_size: [4, 8]
              max_queue_delay_microseconds: 200
              preserve_ordering: true
              default_queue_policy { default_timeout_microseconds: 5000 max_queue_size: 16 timeout_action: REJECT }
            }
            instance_group [ { count: 2 kind: KIND_GPU }, { count: 1 } ]
            version_policy: { latest: { num_versions: 1 } }
            "#,
        )
        .unwrap();
        assert_eq!(cfg.name.as_deref(), Some("det"));
        assert_eq!(cfg.max_batch_size, 8);
        assert_eq!(cfg.instances, 3);
        let db = cfg.dynamic_batching.clone().unwrap();
        assert_eq!(db.preferred_batch_sizes, [4, 8]);
        assert_eq!(db.max_queue_delay, Duration::from_micros(200));
        assert_eq!(db.default_timeout, Some(Duration::from_millis(5)));
        assert_eq!(db.max_queue_size, Some(16));
        assert_eq!(
            cfg.ignored,
            [
                "dynamic_batching.preserve_ordering",
                "dynamic_batching.default_queue_policy.timeout_action",
                "instance_group.kind",
                "version_policy"
            ]
        );
        cfg.check(&det_spec()).unwrap();
    }

    #[test]
    fn refuses_configs_that_do_not_fit_the_model() {
        let wrong_type = ModelConfig::parse("max_batch_size: 4 input [{ name: \"x\" data_type: TYPE_INT64 }]").unwrap();
        let e = wrong_type.check(&det_spec()).unwrap_err().to_string();
        assert!(e.contains("data_type i64 does not match the model's f32"), "{e}");
        let wrong_name = ModelConfig::parse("input [{ name: \"z\" }]").unwrap();
        let e = wrong_name.check(&det_spec()).unwrap_err().to_string();
        assert!(e.contains("expected one of the model's inputs [\"x\"]"), "{e}");
        let wrong_dims = ModelConfig::parse("max_batch_size: 4 input [{ name: \"x\" dims: [4, -1, -1] }]").unwrap();
        let e = wrong_dims.check(&det_spec()).unwrap_err().to_string();
        assert!(e.contains("dims [4, -1, -1] do not fit"), "{e}");
        let e = ModelConfig::parse("platform: \"tensorrt_plan\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected \"onnxruntime_onnx\""), "{e}");
    }

    #[test]
    fn derives_batching_from_the_model() {
        let cfg = ModelConfig::derived(&det_spec());
        assert_eq!(
            (cfg.max_batch_size, cfg.max_batch()),
            (DEFAULT_MAX_BATCH, DEFAULT_MAX_BATCH)
        );
        let mut fixed = det_spec();
        fixed.inputs[0].shape[0] = 1.into();
        let cfg = ModelConfig::derived(&fixed);
        assert_eq!((cfg.max_batch_size, cfg.max_batch()), (0, 1));
    }
}
