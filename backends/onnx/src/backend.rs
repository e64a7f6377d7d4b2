//! [`OnnxBackend`]: the [`accelrt::Backend`] implementation on ONNX Runtime.
//!
//! ONNX Runtime on the CPU is a synchronous device: `prepare` concatenates the batch on a
//! preparation worker, `submit` does nothing, and `complete` runs the session on the
//! instance's completion thread (the engine's contract: work that blocks goes in `complete`),
//! so preparation goes on while a session computes.
//!
//! Requests are batched by shape ([`Backend::batch_key`] hashes every input's non-batch
//! dimensions), so a batch is always one concatenated run. If a batched run fails, its
//! members are run again one by one, so a request ONNX Runtime refuses fails alone.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use accelrt::{Backend, BatchInfo, ModelSpec, Runtime, RuntimeBuilder, Tensor};
use parking_lot::Mutex;

use crate::builder::OnnxBackendBuilder;
use crate::session::{OnnxSession, SessionConfig};
use crate::OnnxError;

/// What to do when one batch holds inputs whose non-batch dimensions differ (images of
/// different sizes, say). They cannot be concatenated, and padding would change what a model
/// like a text detector outputs, so accelrt never pads. The runtime batches by shape (the
/// backend's batch key), so this only matters when a caller overrides the key
/// (`RunOptions::batch_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MixedShapes {
    /// Group the batch by shape and run each group as its own sub-batch (default). Results are
    /// the same as with `max_batch(1)`; batching only helps for requests of equal shapes.
    #[default]
    RunSeparately,
    /// Fail the batch with an error naming the shapes. To avoid it, resize inputs to one size
    /// or build the runtime with `max_batch(1)`.
    Refuse,
}

/// How a batch becomes session runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Batching {
    /// Every input and output has a dynamic first dimension: concatenate along it.
    Concat,
    /// Run each request on its own (fixed batch of 1, or no batch dimension at all).
    OneByOne,
}

/// An ONNX model served by ONNX Runtime, one session per runtime instance.
///
/// - Input: `Vec<Tensor>`, one per model input in [`spec`](Backend::spec) order; each request
///   carries its own batch dimension (usually 1). Checked in [`validate`](Backend::validate)
///   with the core's messages, before anything reaches ONNX Runtime.
/// - Output: `Vec<Tensor>`, one per model output in spec order, holding this request's rows.
///
/// ```no_run
/// use accelrt::{AsyncRuntime, Tensor};
/// use accelrt_onnx::OnnxBackend;
///
/// let backend = OnnxBackend::builder("model.onnx").instances(2).build()?;
/// let runtime = backend.runtime_builder().parallel(2).max_batch(4).build()?;
/// let outputs = runtime.run(vec![Tensor::new([1, 3], vec![1.0f32, 2.0, 3.0])?]).wait()?;
/// # Ok::<(), accelrt::Error>(())
/// ```
pub struct OnnxBackend {
    pub(crate) spec: Arc<ModelSpec>,
    pub(crate) metadata: Arc<BTreeMap<String, String>>,
    pub(crate) model: PathBuf,
    pub(crate) config: SessionConfig,
    pub(crate) instances: usize,
    pub(crate) intra_threads: usize,
    pub(crate) batching: Batching,
    pub(crate) mixed: MixedShapes,
    /// The session opened by `build` to read the spec; instance 0 takes it rather than load the
    /// model twice. A mutex because `new_instance` takes `&self`; it is touched once.
    pub(crate) first: Mutex<Option<OnnxSession>>,
}

impl OnnxBackend {
    /// A builder for the model at `model`.
    pub fn builder(model: impl AsRef<Path>) -> OnnxBackendBuilder {
        OnnxBackendBuilder::new(model.as_ref())
    }

    /// The model at `model` with default settings (CPU, one instance, all cores).
    pub fn open(model: impl AsRef<Path>) -> accelrt::Result<Self> {
        Self::builder(model).build()
    }

    /// A runtime builder for this backend with `instances` already set to the number the
    /// backend was built for.
    pub fn runtime_builder(self) -> RuntimeBuilder<Self> {
        let instances = self.instances;
        Runtime::builder(self).instances(instances)
    }

    /// The model's custom metadata (key → value).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Intra-op threads each instance's session uses.
    pub fn intra_threads(&self) -> usize {
        self.intra_threads
    }

    /// True when a batch runs as one concatenated session run (the model's first dimension is
    /// dynamic), false when its requests run one by one.
    pub fn concatenates_batches(&self) -> bool {
        self.batching == Batching::Concat
    }

    /// A standalone session on the same model and settings, outside any runtime (`None`
    /// threads: ONNX Runtime's default).
    pub fn new_session(&self, intra_threads: Option<usize>) -> accelrt::Result<OnnxSession> {
        OnnxSession::create(&self.model, &self.config, intra_threads)
    }

    /// Splits a batch into session runs: one per request, or one per group of equal shapes.
    fn plan(&self, inputs: Vec<Vec<Tensor>>) -> accelrt::Result<Vec<Run>> {
        if self.batching == Batching::OneByOne || inputs.len() == 1 {
            return Ok(inputs
                .into_iter()
                .enumerate()
                .map(|(i, inputs)| Run {
                    members: vec![(i, 0)],
                    inputs,
                    singles: Vec::new(),
                })
                .collect());
        }
        // Group by every input's non-batch dims, keeping request order within a group. Inputs were
        // validated against the spec, whose dims are all dynamic-first here, so rank >= 1.
        let mut groups: Vec<(Vec<Vec<usize>>, Vec<usize>)> = Vec::new();
        for (i, req) in inputs.iter().enumerate() {
            let key: Vec<Vec<usize>> = req.iter().map(|t| t.shape()[1..].to_vec()).collect();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        if groups.len() > 1 && self.mixed == MixedShapes::Refuse {
            let shapes: Vec<String> = groups
                .iter()
                .map(|(_, m)| {
                    format!(
                        "{:?}",
                        inputs[m[0]].iter().map(|t| t.shape().to_vec()).collect::<Vec<_>>()
                    )
                })
                .collect();
            return Err(accelrt::Error::invalid_input(
                "requests of one shape per batch (MixedShapes::Refuse: resize inputs to one size, keep the \
                 default batch key, or use max_batch(1))",
                format!("{} different shapes ({})", groups.len(), shapes.join(", ")),
            ));
        }
        let mut slots: Vec<Option<Vec<Tensor>>> = inputs.into_iter().map(Some).collect();
        groups
            .into_iter()
            .map(|(_, members)| {
                let reqs: Vec<Vec<Tensor>> = members.iter().filter_map(|&i| slots[i].take()).collect();
                let inputs = (0..self.spec.inputs.len())
                    .map(|k| Tensor::concat(&reqs.iter().map(|r| r[k].clone()).collect::<Vec<_>>()))
                    .collect::<accelrt::Result<Vec<_>>>()?;
                Ok(Run {
                    members: members
                        .iter()
                        .zip(&reqs)
                        .map(|(&i, r)| (i, r[0].batch_size()))
                        .collect(),
                    inputs,
                    // Kept (cheap clones) to run the members alone if the batched run fails.
                    singles: if reqs.len() > 1 { reqs } else { Vec::new() },
                })
            })
            .collect()
    }
}

impl std::fmt::Debug for OnnxBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxBackend")
            .field("model", &self.model)
            .field("spec", &self.spec)
            .field("instances", &self.instances)
            .field("intra_threads", &self.intra_threads)
            .field("batching", &self.batching)
            .finish_non_exhaustive()
    }
}

/// One session run of a batch: its inputs and which requests (index in the batch, rows) it
/// holds. A single member is never split.
#[derive(Debug)]
struct Run {
    members: Vec<(usize, usize)>,
    inputs: Vec<Tensor>,
    /// With several members: each member's own inputs, to run alone if the batch fails.
    singles: Vec<Vec<Tensor>>,
}

/// The instance's session. `Session::run` needs `&mut`; the instance's completion thread is
/// the only one that runs it, so the lock is never contended.
type SharedSession = Arc<Mutex<OnnxSession>>;

/// One instance: its own session.
#[derive(Debug)]
pub struct OnnxInstance {
    session: SharedSession,
}

/// A batch in flight: the planned runs, and the session of the instance the slot belongs to.
#[derive(Debug)]
pub struct OnnxSlot {
    session: SharedSession,
    runs: Vec<Run>,
    len: usize,
}

impl OnnxBackend {
    /// Runs one planned run and splits its outputs per member.
    fn run_one(&self, session: &mut OnnxSession, run: &Run) -> accelrt::Result<Vec<Vec<Tensor>>> {
        let outputs = session.run_checked(&run.inputs)?;
        if run.members.len() == 1 {
            return Ok(vec![outputs]);
        }
        let sizes: Vec<usize> = run.members.iter().map(|&(_, n)| n).collect();
        let rows: usize = sizes.iter().sum();
        let mut per_request: Vec<Vec<Tensor>> = vec![Vec::with_capacity(outputs.len()); sizes.len()];
        for (spec, out) in self.spec.outputs.iter().zip(&outputs) {
            let parts = out.split(&sizes).map_err(|_| {
                OnnxError::Run(format!(
                    "output \"{}\" has first dimension {}, expected {rows} (the batch's rows); this model's \
                     outputs do not follow its batch dimension: build the runtime with max_batch(1)",
                    spec.name,
                    out.batch_size()
                ))
            })?;
            for (req, part) in per_request.iter_mut().zip(parts) {
                req.push(part);
            }
        }
        Ok(per_request)
    }
}

impl Backend for OnnxBackend {
    type Input = Vec<Tensor>;
    type Output = Vec<Tensor>;
    type Instance = OnnxInstance;
    type Slot = OnnxSlot;

    fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    fn validate(&self, input: &Vec<Tensor>) -> accelrt::Result<()> {
        self.spec.check_inputs(input)
    }

    fn new_instance(&self, index: usize) -> accelrt::Result<OnnxInstance> {
        if index >= self.instances {
            tracing::warn!(
                index,
                built_for = self.instances,
                "more runtime instances than the backend was built for: threads may oversubscribe the cores"
            );
        }
        let session = match self.first.lock().take() {
            Some(s) => s,
            None => OnnxSession::create(&self.model, &self.config, Some(self.intra_threads))?,
        };
        Ok(OnnxInstance {
            session: Arc::new(Mutex::new(session)),
        })
    }

    fn new_slot(&self, instance: &mut OnnxInstance, _max_batch: usize) -> accelrt::Result<OnnxSlot> {
        Ok(OnnxSlot {
            session: instance.session.clone(),
            runs: Vec::new(),
            len: 0,
        })
    }

    fn prepare(&self, slot: &mut OnnxSlot, _batch: &BatchInfo, inputs: Vec<Vec<Tensor>>) -> accelrt::Result<()> {
        // A slot is reused after failures: start from nothing.
        slot.len = inputs.len();
        slot.runs = self.plan(inputs)?;
        Ok(())
    }

    /// Nothing to enqueue: ONNX Runtime on the CPU runs synchronously, in `complete`.
    fn submit(&self, _instance: &mut OnnxInstance, _slot: &mut OnnxSlot) -> accelrt::Result<()> {
        Ok(())
    }

    fn complete(&self, slot: &mut OnnxSlot) -> accelrt::Result<Vec<accelrt::Result<Vec<Tensor>>>> {
        let mut results: Vec<Option<accelrt::Result<Vec<Tensor>>>> = (0..slot.len).map(|_| None).collect();
        let mut session = slot.session.lock();
        for run in std::mem::take(&mut slot.runs) {
            match self.run_one(&mut session, &run) {
                Ok(outs) => {
                    for (&(i, _), out) in run.members.iter().zip(outs) {
                        results[i] = Some(Ok(out));
                    }
                }
                Err(e) if run.singles.is_empty() => results[run.members[0].0] = Some(Err(e)),
                Err(e) => {
                    // One bad request must not fail its neighbours: run each member alone.
                    tracing::debug!(error = %e, members = run.members.len(), "batched run failed; running members alone");
                    for (&(i, n), inputs) in run.members.iter().zip(run.singles) {
                        let single = Run {
                            members: vec![(i, n)],
                            inputs,
                            singles: Vec::new(),
                        };
                        results[i] = Some(self.run_one(&mut session, &single).map(|mut o| o.remove(0)));
                    }
                }
            }
        }
        Ok(results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.unwrap_or_else(|| {
                    Err(accelrt::Error::Internal(format!(
                        "request {i} of the batch has no output"
                    )))
                })
            })
            .collect())
    }

    /// Requests batch only with requests whose inputs have the same non-batch dimensions,
    /// so every batch is one concatenated run.
    fn batch_key(&self, input: &Vec<Tensor>) -> u64 {
        if self.batching == Batching::OneByOne {
            return 0;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for t in input {
            t.shape().get(1..).unwrap_or(&[]).hash(&mut h);
        }
        h.finish()
    }
}
