//! The recogniser's input (`ch_PP-OCRv4_rec`): a line crop at height 48, aspect kept, padded on
//! the right to its width bucket; and how many of the output's time steps hold the line.
//!
//! Why buckets: the recogniser is convolutional along the line, so any width works, but one
//! batch needs one width. A single fixed width either squeezes long lines (letters run together
//! and are dropped) or makes every short line pay for the longest. Padding each line only up
//! to the next multiple of [`RecWidths::step`] bounds the waste per line by one step, while
//! lines of similar length, from any image in flight, still share a width and so a batch.

use accelrt::Tensor;
use image::RgbImage;

use crate::norm::{resize_normalise, scaled_width};

/// Input height of the PP-OCRv4 recogniser.
pub const REC_HEIGHT: u32 = 48;

/// The widths recogniser inputs are padded to: `min`, then every multiple of `step` above it,
/// up to `max`.
///
/// The defaults (320, 32, 3200): 320 is PP-OCR's training width and rapidocr's least batch
/// width, so short lines get exactly what they get there. A step of 32 px (under two characters
/// at height 48) wastes at most 32 px of compute per line, under 10% for any line. A coarser
/// step puts more lines in flight on one width, hence bigger batches, which pays on a GPU (use
/// 160 there: under 50% waste for the shortest lines, about 20% on average over lines of 320
/// to 1280 px) but not on a CPU, where the recogniser runs one line at a time
/// ([`OcrSettings`](crate::OcrSettings)).
/// There is no "largest bucket" a long line must fit: each line gets the next multiple of the
/// step, so a 70-character line gets a width of its own rather than being squeezed or cut (a
/// cut with overlap would need the two halves' texts merged, which can drop or double a
/// character at the seam). Only lines beyond `max` (at height 48, 3200 px is about 170
/// characters; no document line is that long) are squeezed to `max`, which bounds the memory
/// one request can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecWidths {
    /// The least input width.
    pub min: u32,
    /// Wider inputs are rounded up to a multiple of this.
    pub step: u32,
    /// The widest input; wider lines are squeezed to it.
    pub max: u32,
}

impl Default for RecWidths {
    fn default() -> Self {
        RecWidths {
            min: 320,
            step: 32,
            max: 3200,
        }
    }
}

impl RecWidths {
    /// The input width for a line that is `content` pixels wide at height 48.
    pub fn bucket(&self, content: u32) -> u32 {
        if content <= self.min {
            return self.min;
        }
        let step = self.step.max(1);
        content
            .div_ceil(step)
            .saturating_mul(step)
            .clamp(self.min, self.max.max(self.min))
    }

    /// Checks the three numbers; [`OcrSettings::validate`](crate::OcrSettings::validate) calls it.
    pub fn validate(&self) -> Result<(), String> {
        if self.min < 8 || self.step < 8 || self.max < self.min {
            return Err(format!(
                "recogniser widths {self:?}: expected min and step of at least 8 and max of at least min"
            ));
        }
        Ok(())
    }
}

/// A recogniser input and how much of it is the line.
#[derive(Debug, Clone)]
pub struct RecInput {
    /// f32 `[1, 3, 48, W]`, `W` the line's bucket width.
    pub tensor: Tensor,
    /// Width of the line in the input (the rest, up to `W`, is padding).
    pub content_width: u32,
}

impl RecInput {
    /// The input width `W`.
    pub fn width(&self) -> u32 {
        self.tensor.shape().last().copied().unwrap_or(0) as u32
    }

    /// How many of the `t` time steps the recogniser gives for this input cover the line: the
    /// model maps `W` pixels onto `t` steps (PP-OCRv4: one per 8 pixels), so the line ends in
    /// step `ceil(content_width × t / W)`. Steps beyond it see only padding; decoding them can
    /// only add noise.
    pub fn steps(&self, t: usize) -> usize {
        let w = self.width().max(1) as usize;
        (self.content_width as usize * t).div_ceil(w).clamp(1, t.max(1))
    }
}

/// `crop` as the recogniser's input: resized to height 48 with its aspect kept, zero-padded on
/// the right to `widths.bucket(..)`.
pub fn rec_input(crop: &RgbImage, widths: &RecWidths) -> accelrt::Result<RecInput> {
    let (w, h) = crop.dimensions();
    let content = scaled_width(w, h, REC_HEIGHT).min(widths.max);
    let width = widths.bucket(content);
    Ok(RecInput {
        tensor: resize_normalise(crop, REC_HEIGHT, content, width)?,
        content_width: content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_multiples_of_the_step_from_min_to_max() {
        let b = RecWidths::default();
        assert_eq!(b.bucket(1), 320);
        assert_eq!(b.bucket(320), 320);
        assert_eq!(b.bucket(321), 352);
        assert_eq!(b.bucket(352), 352);
        assert_eq!(b.bucket(1290), 1312);
        let coarse = RecWidths { step: 160, ..b };
        assert_eq!(coarse.bucket(321), 480);
        assert_eq!(coarse.bucket(1290), 1440);
        assert_eq!(b.bucket(9000), 3200);
        assert!(b.validate().is_ok());
        assert!(RecWidths {
            min: 320,
            step: 0,
            max: 640
        }
        .validate()
        .is_err());
        assert!(RecWidths {
            min: 640,
            step: 160,
            max: 320
        }
        .validate()
        .is_err());
    }

    #[test]
    fn long_lines_keep_their_aspect_and_steps_stop_at_the_line() {
        let crop = RgbImage::from_pixel(1000, 40, image::Rgb([255, 255, 255]));
        let x = rec_input(&crop, &RecWidths::default()).unwrap();
        // 1000x40 at height 48 is 1200 wide: bucket 1216, nothing squeezed.
        assert_eq!(x.content_width, 1200);
        assert_eq!(x.tensor.shape(), &[1, 3, 48, 1216]);
        assert_eq!(x.steps(152), 150);
        let short = rec_input(&RgbImage::new(50, 40), &RecWidths::default()).unwrap();
        assert_eq!((short.content_width, short.width(), short.steps(40)), (60, 320, 8));
    }
}
