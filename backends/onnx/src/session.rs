//! [`OnnxSession`]: one ONNX Runtime session and the model spec read from it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use accelrt::{ModelSpec, Tensor};
use ort::session::Session;

use crate::convert::{input_value, output_tensor, tensor_spec};
use crate::error::run_error;
use crate::library::ensure_loaded;
use crate::provider::ExecutionProvider;
use crate::OnnxError;

/// How sessions are created; shared by the backend's instances and standalone sessions.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionConfig {
    pub library: Option<PathBuf>,
    pub providers: Vec<ExecutionProvider>,
}

/// One ONNX Runtime session with its model spec.
///
/// The backend holds one per instance; it is public so that code can run the very same model
/// without the runtime (a baseline loop, a quick check), with the same input checks.
/// [`run`](OnnxSession::run) takes `&mut self` because ONNX Runtime sessions are not shared
/// between concurrent runs here: concurrency comes from several sessions.
pub struct OnnxSession {
    session: Session,
    spec: Arc<ModelSpec>,
    metadata: Arc<BTreeMap<String, String>>,
    path: PathBuf,
}

impl OnnxSession {
    /// Opens `model` on the CPU, finding (or fetching) ONNX Runtime as
    /// [`OnnxBackend`](crate::OnnxBackend) does, with ONNX Runtime's default thread count.
    pub fn open(model: impl AsRef<Path>) -> accelrt::Result<Self> {
        Self::create(model.as_ref(), &SessionConfig::default(), None)
    }

    /// Opens `model` with `intra_threads` threads per operator (`None`: ONNX Runtime's default,
    /// one per physical core).
    pub fn open_with_threads(model: impl AsRef<Path>, intra_threads: Option<usize>) -> accelrt::Result<Self> {
        Self::create(model.as_ref(), &SessionConfig::default(), intra_threads)
    }

    pub(crate) fn create(path: &Path, config: &SessionConfig, intra_threads: Option<usize>) -> accelrt::Result<Self> {
        let lib = ensure_loaded(config.library.as_deref())?;
        let model_err = |reason: String| OnnxError::Model {
            path: path.to_path_buf(),
            reason,
        };
        if !path.is_file() {
            return Err(model_err("no such file".into()).into());
        }
        let ort_err = |what: &str, e: ort::Error| OnnxError::Config(format!("{what}: {e}"));
        let mut builder = Session::builder(lib.env()).map_err(|e| ort_err("creating session options", e))?;
        if let Some(n) = intra_threads {
            builder = builder
                .with_intra_threads(n)
                .map_err(|e| ort_err("setting intra-op threads", e.into()))?;
        }
        if !config.providers.is_empty() {
            let dispatch = config
                .providers
                .iter()
                .map(ExecutionProvider::dispatch)
                .collect::<Result<Vec<_>, _>>()?;
            builder = builder.with_execution_providers(dispatch).map_err(|e| {
                OnnxError::Config(format!(
                    "cannot register execution providers {:?}: {e}",
                    config.providers
                ))
            })?;
        }
        let session = builder
            .commit_from_file(path)
            .map_err(|e| model_err(format!("ONNX Runtime cannot load it: {e}")))?;
        let spec = read_spec(&session).map_err(model_err)?;
        let metadata = read_metadata(&session);
        Ok(OnnxSession {
            session,
            spec: Arc::new(spec),
            metadata: Arc::new(metadata),
            path: path.to_path_buf(),
        })
    }

    /// What the model takes and gives, as ONNX Runtime reports it.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub(crate) fn spec_arc(&self) -> Arc<ModelSpec> {
        self.spec.clone()
    }

    /// The model's custom metadata (key → value), e.g. `character` in PP-OCR recognisers.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    pub(crate) fn metadata_arc(&self) -> Arc<BTreeMap<String, String>> {
        self.metadata.clone()
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks `inputs` (in spec order) against the spec, runs the model, and returns the outputs
    /// in spec order.
    pub fn run(&mut self, inputs: &[Tensor]) -> accelrt::Result<Vec<Tensor>> {
        self.spec.check_inputs(inputs)?;
        self.run_checked(inputs)
    }

    /// Runs inputs that were already checked against the spec.
    pub(crate) fn run_checked(&mut self, inputs: &[Tensor]) -> accelrt::Result<Vec<Tensor>> {
        let values = inputs.iter().map(input_value).collect::<accelrt::Result<Vec<_>>>()?;
        let outputs = self.session.run(values.as_slice()).map_err(run_error)?;
        self.spec
            .outputs
            .iter()
            .map(|o| {
                let v = outputs
                    .get(&o.name)
                    .ok_or_else(|| OnnxError::Run(format!("output \"{}\" is missing from the results", o.name)))?;
                output_tensor(&o.name, v)
            })
            .collect()
    }
}

impl std::fmt::Debug for OnnxSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxSession")
            .field("path", &self.path)
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

fn read_spec(session: &Session) -> Result<ModelSpec, String> {
    let convert = |role: &str, outlets: &[ort::value::Outlet]| {
        outlets
            .iter()
            .map(|o| {
                tensor_spec(o.name(), o.dtype()).ok_or_else(|| {
                    format!(
                        "{role} \"{}\" is {:?}; accelrt supports tensors of f32, f16, f64, i64, i32, i8, u8 and bool",
                        o.name(),
                        o.dtype()
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(ModelSpec {
        inputs: convert("input", session.inputs())?,
        outputs: convert("output", session.outputs())?,
        max_batch: None,
    })
}

fn read_metadata(session: &Session) -> BTreeMap<String, String> {
    // Metadata is informative: a model whose metadata cannot be read still runs.
    let Ok(meta) = session.metadata() else {
        return BTreeMap::new();
    };
    let keys = meta.custom_keys().unwrap_or_default();
    keys.into_iter()
        .filter_map(|k| meta.custom(&k).map(|v| (k, v)))
        .collect()
}
