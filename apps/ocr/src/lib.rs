//! # accelrt-ocr
//!
//! Optical character recognition with the PP-OCRv4 models on the ONNX Runtime backend
//! ([`accelrt_onnx`]), as an accelrt [`Pipeline`].
//!
//! ```no_run
//! use accelrt::AsyncRuntime;
//! use accelrt_onnx::models;
//!
//! let pipeline = accelrt_ocr::pipeline(&models::ocr()?, &accelrt_ocr::OcrSettings::default())?;
//! let page = pipeline.run(accelrt_ocr::ImageSource::Path("page.png".into())).wait()?;
//! for line in &page.lines {
//!     println!("{:?} at {:?} ({:.2})", line.text, line.quad, line.score);
//! }
//! # Ok::<(), accelrt::Error>(())
//! ```
//!
//! The steps, as in PaddleOCR:
//! - detection ([`det`]): the image resized so its longer side is at most
//!   [`OcrSettings::det_side`], normalised, run through the DB detector; the probability map
//!   thresholded and each region turned into a rotated box ([`text_quads`]);
//! - cropping ([`crop`]): each box warped to an upright, axis-aligned crop ([`crop_line`]);
//! - orientation ([`cls`]): `ch_ppocr_mobile_v2.0_cls` on the recogniser's input (below: full
//!   width, not squeezed to PaddleOCR's 192 px); a crop it finds upside down (score above
//!   0.9) is turned 180°;
//! - recognition ([`rec`], [`ctc`]): the crop at height 48 with its aspect kept, padded on the
//!   right to its width bucket ([`RecWidths`]), through `ch_PP-OCRv4_rec`; its `[N, T, C]`
//!   probabilities decoded greedily ([`CtcDecoder`]) over the time steps that cover the line.
//!
//! [`pipeline`] runs them as overlapping stages with batching across images;
//! [`SequentialOcr`] runs the same steps in a plain loop, as a baseline.
//!
//! Also here: [`detect`], the detector's input preparation and a simple box finder (used by
//! the detector example), and with the `samples` feature, the `samples` module, which renders text
//! pages with known lines.
//!
//! [`OcrSettings::default`] sizes the pipeline to the machine: every stage has enough sessions
//! or threads to fill every core by itself, so the cores go to whichever stage the pages make
//! the bottleneck; every CPU step runs through one pool ([`Cores`]) that records where the
//! cores went and, if asked, caps how many compute at once.
//!
//! Files: `source.rs` (inputs), `detect.rs` (detector input), `det.rs`, `crop.rs`, `norm.rs`, `cls.rs`, `rec.rs`, `ctc.rs`
//! (the steps), `steps.rs` (the steps per image, shared by both drivers), `settings.rs`,
//! `cores.rs` (the pool of cores), `gated.rs` (model runs through it),
//! `output.rs`, `pipeline.rs`, `sequential.rs`.
//!
//! [`Pipeline`]: accelrt::Pipeline

#![warn(missing_docs)]

/// The `image` crate this one takes and gives images in ([`ImageSource::Image`]).
pub use image;

pub mod cls;
mod confusables;
mod cores;
pub mod crop;
pub mod ctc;
pub mod det;
pub mod detect;
mod eval;
mod gated;
mod norm;
mod output;
mod pipeline;
pub mod rec;
#[cfg(feature = "samples")]
pub mod samples;
mod sequential;
mod settings;
mod source;
mod steps;

pub use cls::{orientation, Orientation};
pub use confusables::{settle_confusables, settle_confusables_at};
pub use cores::{CoreUsage, Cores, Step};
pub use crop::crop_line;
pub use ctc::{CtcDecoder, Decoded};
pub use det::{text_quads, DetParams, Quad, TextQuad};
pub use eval::{score_lines, score_transcript, transcript_key, LineScore, TranscriptScore};
pub use output::{OcrLine, OcrOutput};
pub use pipeline::{pipeline, pipeline_with_cores, OcrPipeline, STAGES};
pub use rec::{rec_input, RecInput, RecWidths};
pub use sequential::SequentialOcr;
pub use settings::{available_cores, ModelSettings, OcrSettings};
pub use source::{image_files, ImageSource};
