//! The per-image steps, shared by the pipeline's stages and the sequential loop so both do
//! exactly the same work.

use accelrt::Tensor;
use image::RgbImage;

use crate::cls::{orientation, Orientation};
use crate::confusables::settle_confusables_at;
use crate::crop::crop_line;
use crate::ctc::{CtcDecoder, Decoded};
use crate::det::{text_quads, TextQuad};
use crate::detect::{det_input, DetInput, Fit};
use crate::output::{OcrLine, OcrOutput};
use crate::rec::{rec_input, RecInput};
use crate::settings::OcrSettings;
use crate::source::ImageSource;

/// An image decoded and its detector input.
pub(crate) struct Prepared {
    pub image: RgbImage,
    pub det: DetInput,
}

/// Decodes, resizes and normalises one image for the detector.
pub(crate) fn prepare(source: ImageSource, settings: &OcrSettings) -> accelrt::Result<Prepared> {
    let image = source.decode()?;
    let det = det_input(&image, Fit::Within(settings.det_side))?;
    Ok(Prepared { image, det })
}

/// One line cut out, with its recogniser input as it stands (also the classifier's input).
pub(crate) struct LineCrop {
    pub found: TextQuad,
    pub crop: RgbImage,
    pub rec: RecInput,
}

/// An image's lines, cut out and ready for the classifier and recogniser.
pub(crate) struct Cropped {
    pub width: u32,
    pub height: u32,
    pub lines: Vec<LineCrop>,
}

/// Finds the lines in the detector's output for `image` and cuts each out. The recogniser
/// input is made here, for the crop as it stands, so this CPU work runs on the crop workers;
/// only crops the classifier turns are prepared again.
pub(crate) fn crop_lines(
    image: &RgbImage,
    det_out: &[Tensor],
    scale: (f32, f32),
    settings: &OcrSettings,
) -> accelrt::Result<Cropped> {
    let prob = det_out
        .first()
        .ok_or_else(|| accelrt::Error::Internal("the detector returned no output".into()))?;
    let quads = text_quads(prob, &settings.det_params, scale, image.dimensions())?;
    let lines = quads
        .into_iter()
        .map(|found| {
            let crop = crop_line(image, &found.quad)?;
            Ok(LineCrop {
                found,
                rec: rec_input(&crop, &settings.rec_widths)?,
                crop,
            })
        })
        .collect::<accelrt::Result<Vec<_>>>()?;
    Ok(Cropped {
        width: image.width(),
        height: image.height(),
        lines,
    })
}

/// Reads the classifier's output and gives the recogniser input to use: the prepared one, or
/// that of the crop turned 180° when the classifier says so.
pub(crate) fn after_cls(
    line: &LineCrop,
    cls_out: &[Tensor],
    settings: &OcrSettings,
) -> accelrt::Result<(Orientation, RecInput)> {
    let probs = cls_out
        .first()
        .ok_or_else(|| accelrt::Error::Internal("the classifier returned no output".into()))?;
    let o = orientation(probs)?;
    let rec = if o.upside_down {
        rec_input(&image::imageops::rotate180(&line.crop), &settings.rec_widths)?
    } else {
        line.rec.clone()
    };
    Ok((o, rec))
}

/// Decodes the recogniser's output for one line, `input` being what it was given: only the
/// time steps that cover the line, not its padding.
pub(crate) fn recognised(
    line: &LineCrop,
    o: Orientation,
    input: &RecInput,
    rec_out: &[Tensor],
    decoder: &CtcDecoder,
    settings: &OcrSettings,
) -> accelrt::Result<OcrLine> {
    let probs = rec_out
        .first()
        .ok_or_else(|| accelrt::Error::Internal("the recogniser returned no output".into()))?;
    let steps = input.steps(decoder.time_steps(probs)?);
    let Decoded { mut text, score, steps } = decoder.decode_steps(probs, steps)?;
    if settings.settle_confusables {
        text = settle_confusables_at(&text, &steps);
    }
    Ok(OcrLine {
        text,
        score,
        quad: line.found.quad,
        box_score: line.found.score,
        turned: o.upside_down,
    })
}

/// The image's result: recognised lines above the score threshold, in reading order.
pub(crate) fn assemble(width: u32, height: u32, lines: Vec<OcrLine>, settings: &OcrSettings) -> OcrOutput {
    OcrOutput {
        width,
        height,
        lines: lines
            .into_iter()
            .filter(|l| !l.text.is_empty() && l.score >= settings.min_text_score)
            .collect(),
    }
}
