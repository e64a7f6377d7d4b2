//! [`SequentialOcr`]: the same OCR, one image at a time and one line at a time, on three plain
//! sessions. It is the baseline the pipeline is measured against.

use std::path::Path;

use crate::ctc::CtcDecoder;
use crate::output::OcrOutput;
use crate::settings::OcrSettings;
use crate::source::ImageSource;
use crate::steps::{after_cls, assemble, crop_lines, prepare, recognised};
use accelrt_onnx::models::{rec_characters, OcrModels};
use accelrt_onnx::OnnxSession;

/// Runs the three models in a plain loop: decode, detect, crop, then for each line classify
/// and recognise, with the very same pre- and post-processing as [`pipeline`](super::pipeline).
#[derive(Debug)]
pub struct SequentialOcr {
    det: OnnxSession,
    cls: OnnxSession,
    rec: OnnxSession,
    decoder: CtcDecoder,
    settings: OcrSettings,
}

impl SequentialOcr {
    /// Opens the three models with `threads` intra-op threads each (`None`: ONNX Runtime's
    /// default, one per physical core). Only the image-processing fields of `settings` apply.
    pub fn open(models: &OcrModels, settings: &OcrSettings, threads: Option<usize>) -> accelrt::Result<Self> {
        settings.validate()?;
        let open = |p: &Path| OnnxSession::open_with_threads(p, threads);
        let rec = open(&models.rec)?;
        let decoder = CtcDecoder::new(rec_characters(&rec)?);
        Ok(SequentialOcr {
            det: open(&models.det)?,
            cls: open(&models.cls)?,
            rec,
            decoder,
            settings: settings.clone(),
        })
    }

    /// Reads the text of one image.
    pub fn run(&mut self, source: ImageSource) -> accelrt::Result<OcrOutput> {
        let s = &self.settings;
        let p = prepare(source, s)?;
        let det_out = self.det.run(std::slice::from_ref(&p.det.tensor))?;
        let cropped = crop_lines(&p.image, &det_out, (p.det.scale_x, p.det.scale_y), s)?;
        let mut lines = Vec::with_capacity(cropped.lines.len());
        for line in &cropped.lines {
            let cls_out = self.cls.run(std::slice::from_ref(&line.rec.tensor))?;
            let (o, x) = after_cls(line, &cls_out, s)?;
            let rec_out = self.rec.run(std::slice::from_ref(&x.tensor))?;
            lines.push(recognised(line, o, &x, &rec_out, &self.decoder, s)?);
        }
        Ok(assemble(cropped.width, cropped.height, lines, s))
    }
}
