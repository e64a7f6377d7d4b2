//! [`OnnxBackendBuilder`]: the settings of an [`OnnxBackend`], checked in `build`.

use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use crate::backend::{Batching, MixedShapes, OnnxBackend};
use crate::session::{OnnxSession, SessionConfig};
use crate::{ExecutionProvider, OnnxError};

/// Builds an [`OnnxBackend`]; see [`OnnxBackend::builder`].
#[derive(Debug, Clone)]
pub struct OnnxBackendBuilder {
    model: PathBuf,
    config: SessionConfig,
    instances: usize,
    intra_threads: Option<usize>,
    mixed: MixedShapes,
}

impl OnnxBackendBuilder {
    pub(crate) fn new(model: &Path) -> Self {
        OnnxBackendBuilder {
            model: model.to_path_buf(),
            config: SessionConfig::default(),
            instances: 1,
            intra_threads: None,
            mixed: MixedShapes::default(),
        }
    }

    /// Loads ONNX Runtime from this file instead of searching for it. The file must exist; the
    /// first library loaded in a process stays loaded, so a different path later is an error.
    pub fn library_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.library = Some(path.into());
        self
    }

    /// How many instances the runtime will run (default 1). It sizes the default intra-op
    /// thread pools so that instances × threads ≤ cores, and
    /// [`OnnxBackend::runtime_builder`] passes it on to the runtime.
    pub fn instances(mut self, n: usize) -> Self {
        self.instances = n;
        self
    }

    /// Intra-op threads per instance. Default: available cores / instances, at least 1.
    pub fn intra_threads(mut self, n: usize) -> Self {
        self.intra_threads = Some(n);
        self
    }

    /// Execution providers in order of preference (default: the CPU). Each must register, or
    /// `build` fails: there is no silent fallback to the CPU.
    pub fn execution_providers(mut self, providers: impl Into<Vec<ExecutionProvider>>) -> Self {
        self.config.providers = providers.into();
        self
    }

    /// What to do when one batch holds inputs whose non-batch dimensions differ (default:
    /// [`MixedShapes::RunSeparately`]).
    pub fn mixed_shapes(mut self, policy: MixedShapes) -> Self {
        self.mixed = policy;
        self
    }

    /// Loads ONNX Runtime if needed, opens the model once (that session becomes instance 0) and
    /// reads its spec and metadata.
    ///
    /// Fails with [`accelrt::Error::Config`] for bad settings or a missing or corrupt model, and
    /// [`accelrt::Error::DeviceUnavailable`] when no usable ONNX Runtime is found.
    pub fn build(self) -> accelrt::Result<OnnxBackend> {
        if self.instances == 0 {
            return Err(OnnxError::Config("instances must be at least 1, got 0".into()).into());
        }
        if self.intra_threads == Some(0) {
            return Err(OnnxError::Config("intra_threads must be at least 1, got 0".into()).into());
        }
        let intra_threads = self.intra_threads.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            (cores / self.instances).max(1)
        });
        let first = OnnxSession::create(&self.model, &self.config, Some(intra_threads))?;
        let spec = first.spec_arc();
        // Concatenating requests is only sound when every input and output has a dynamic first
        // dimension that the model treats as the batch; otherwise run requests one by one.
        let batching = if spec.inputs.iter().chain(&spec.outputs).all(|s| s.batch_is_dynamic()) {
            Batching::Concat
        } else {
            Batching::OneByOne
        };
        Ok(OnnxBackend {
            spec,
            metadata: first.metadata_arc(),
            model: self.model,
            config: self.config,
            instances: self.instances,
            intra_threads,
            batching,
            mixed: self.mixed,
            first: Mutex::new(Some(first)),
        })
    }
}
