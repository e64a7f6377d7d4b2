//! [`pipeline`]: the OCR stages as one [`accelrt::Pipeline`].

use std::sync::Arc;

use accelrt::{AsyncRuntime, Pipeline, Runtime};
use futures::future::try_join_all;

use crate::cores::{Cores, Step};
use crate::ctc::CtcDecoder;
use crate::gated::Gated;
use crate::output::OcrOutput;
use crate::settings::{ModelSettings, OcrSettings};
use crate::source::ImageSource;
use crate::steps::{after_cls, assemble, crop_lines, prepare, recognised, Cropped, LineCrop, Prepared};
use accelrt_onnx::models::OcrModels;
use accelrt_onnx::{MixedShapes, OnnxBackend};

/// The OCR pipeline: an [`ImageSource`] in, an [`OcrOutput`] out. It is an
/// [`AsyncRuntime`]: `run(image)` gives a task to `.await` or `.wait()`, and
/// [`accelrt::dataset`] runs whole folders through it.
pub type OcrPipeline = Pipeline<ImageSource, OcrOutput>;

/// Names of the stages, in order: an error says in which one it happened
/// ([`accelrt::Error::Stage`]).
pub const STAGES: [&str; 4] = ["decode", "detect", "crop", "recognize"];

/// Builds the OCR pipeline on the three PP-OCR models:
///
/// 1. `decode` (`decoders` threads): read and decode the image, resize and normalise it for
///    the detector;
/// 2. `detect`: run it on the detector's runtime (`images_in_flight` at once, so its sessions
///    stay busy);
/// 3. `crop` (`croppers` threads): find the line boxes in the probability map, cut each line
///    out upright, prepare the classifier's and recogniser's inputs;
/// 4. `recognize`: for each image, all its lines at once through the classifier's runtime and
///    then the recogniser's. Every image in flight sends its lines to the same two runtimes,
///    whose sessions stay busy with lines of several images; with `max_batch` above 1 (the
///    classifier's default; the recogniser's on a GPU) their batches fill with lines of
///    several images, a batch only ever holding lines of one width bucket (the runtime
///    batches by input shape).
///
/// Decoding, cropping and every session run go through one pool of cores ([`Cores`]), which
/// records where the cores went and, with [`OcrSettings::shared_cores`], caps how many steps
/// compute at once.
///
/// Fails with [`accelrt::Error::Config`] on bad settings, and when a model cannot be loaded.
pub fn pipeline(models: &OcrModels, settings: &OcrSettings) -> accelrt::Result<OcrPipeline> {
    Ok(pipeline_with_cores(models, settings)?.0)
}

/// [`pipeline`], and the pool of cores its steps share, whose [`Cores::usage`] tells where the
/// cores went: bounded by [`OcrSettings::shared_cores`] when that is set, else counting only
/// (over the cores this process may use).
pub fn pipeline_with_cores(models: &OcrModels, settings: &OcrSettings) -> accelrt::Result<(OcrPipeline, Cores)> {
    settings.validate()?;
    let cores = match settings.shared_cores {
        Some(n) => Cores::new(n),
        None => Cores::unbounded(crate::available_cores()),
    };
    let det = runtime(&models.det, settings.det, settings, (cores.clone(), Step::Detect))?;
    let cls = runtime(&models.cls, settings.cls, settings, (cores.clone(), Step::Classify))?;
    let rec_backend = backend(&models.rec, settings.rec)?;
    let decoder = Arc::new(CtcDecoder::from_metadata(rec_backend.metadata())?);
    let rec = with_batching(rec_backend, settings.rec, settings, (cores.clone(), Step::Recognize))?;

    let s = Arc::new(settings.clone());
    let (s1, s2, s3) = (s.clone(), s.clone(), s);
    let (c1, c2) = (cores.clone(), cores.clone());
    let pipeline = Pipeline::builder::<ImageSource>()
        // Queues as long as the images in flight: enough to keep each stage fed, while at most
        // that many decoded pages (several MB each) wait in front of a busy stage.
        .queue_capacity(settings.images_in_flight)
        .stage(STAGES[0], settings.decoders, move |source| {
            c1.run(Step::Decode, 1, || prepare(source, &s1))
        })
        // The detector's runtime, as an async stage rather than `.runtime(..)`: the decoded image
        // and its scale must travel on to the crop stage beside the detector's output.
        .async_stage(STAGES[1], settings.images_in_flight, move |p: Prepared| {
            let scale = (p.det.scale_x, p.det.scale_y);
            let task = det.run(vec![p.det.tensor]);
            let image = p.image;
            async move { Ok((image, scale, task.await?)) }
        })
        .stage(STAGES[2], settings.croppers, move |(image, scale, out)| {
            c2.run(Step::Crop, 1, || crop_lines(&image, &out, scale, &s2))
        })
        .async_stage(STAGES[3], settings.images_in_flight, move |c: Cropped| {
            let (cls, rec, decoder, s) = (cls.clone(), rec.clone(), decoder.clone(), s3.clone());
            async move {
                // All of the image's lines at once: each goes to the classifier, then to the
                // recogniser, without waiting for its siblings.
                let lines = c.lines.iter().map(|line: &LineCrop| {
                    let (cls, rec, decoder, s) = (&cls, &rec, &decoder, &s);
                    async move {
                        let cls_out = cls.run(vec![line.rec.tensor.clone()]).await?;
                        let (o, x) = after_cls(line, &cls_out, s)?;
                        let rec_out = rec.run(vec![x.tensor.clone()]).await?;
                        recognised(line, o, &x, &rec_out, decoder, s)
                    }
                });
                let lines = try_join_all(lines).await?;
                Ok(assemble(c.width, c.height, lines, &s))
            }
        })
        .build()?;
    Ok((pipeline, cores))
}

fn backend(model: &std::path::Path, m: ModelSettings) -> accelrt::Result<OnnxBackend> {
    // The runtime batches only requests of one input shape (the ONNX backend's batch key), so
    // a batch of line crops always shares one width bucket; refusing mixed shapes turns any
    // lapse into an error rather than a quiet sub-batch split.
    OnnxBackend::builder(model)
        .instances(m.instances)
        .intra_threads(m.threads)
        .mixed_shapes(MixedShapes::Refuse)
        .build()
}

fn with_batching(
    backend: OnnxBackend,
    m: ModelSettings,
    s: &OcrSettings,
    gate: (Cores, Step),
) -> accelrt::Result<Runtime<Gated<OnnxBackend>>> {
    // One preparation worker: copying a batch of small crops is cheap next to running it, and
    // the cores are better spent on the sessions. Depth 2 lets the next batch form and be
    // copied while one runs.
    // As many instances as the backend has sessions (`backend` made `m.instances`).
    Runtime::builder(Gated::new(backend, gate, m.threads))
        .instances(m.instances)
        .parallel(1)
        .depth(2)
        .max_batch(m.max_batch)
        .batch_timeout(s.batch_timeout)
        .build()
}

fn runtime(
    model: &std::path::Path,
    m: ModelSettings,
    s: &OcrSettings,
    gate: (Cores, Step),
) -> accelrt::Result<Runtime<Gated<OnnxBackend>>> {
    with_batching(backend(model, m)?, m, s, gate)
}
