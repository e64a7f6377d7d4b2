//! Optical character recognition with the PP-OCRv4 models, as an accelrt [`Pipeline`]
//! (feature `ocr`).
//!
//! ```no_run
//! use accelrt::AsyncRuntime;
//! use accelrt_onnx::{models, ocr};
//!
//! let pipeline = ocr::pipeline(&models::ocr()?, &ocr::OcrSettings::default())?;
//! let page = pipeline.run(ocr::ImageSource::Path("page.png".into())).wait()?;
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
//! - orientation ([`cls`]): `ch_ppocr_mobile_v2.0_cls` on `[N, 3, 48, 192]`; a crop it finds
//!   upside down (score above 0.9) is turned 180°;
//! - recognition ([`rec`], [`ctc`]): the crop at height 48, padded to a fixed width, through
//!   `ch_PP-OCRv4_rec`; its `[N, T, C]` probabilities decoded greedily ([`CtcDecoder`]).
//!
//! [`pipeline`] runs them as overlapping stages with batching across images;
//! [`SequentialOcr`] runs the same steps in a plain loop, as a baseline.
//!
//! Files: `source.rs` (inputs), `det.rs`, `crop.rs`, `norm.rs`, `cls.rs`, `rec.rs`, `ctc.rs`
//! (the steps), `steps.rs` (the steps per image, shared by both drivers), `settings.rs`,
//! `output.rs`, `pipeline.rs`, `sequential.rs`.
//!
//! [`Pipeline`]: accelrt::Pipeline

pub mod cls;
pub mod crop;
pub mod ctc;
pub mod det;
mod norm;
mod output;
mod pipeline;
pub mod rec;
mod sequential;
mod settings;
mod source;
mod steps;

pub use cls::{cls_input, orientation, Orientation};
pub use crop::crop_line;
pub use ctc::{CtcDecoder, Decoded};
pub use det::{text_quads, DetParams, Quad, TextQuad};
pub use output::{OcrLine, OcrOutput};
pub use pipeline::{pipeline, OcrPipeline, STAGES};
pub use rec::rec_input;
pub use sequential::SequentialOcr;
pub use settings::{ModelSettings, OcrSettings};
pub use source::ImageSource;
