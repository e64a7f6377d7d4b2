//! The recogniser's input (`ch_PP-OCRv4_rec`): a line crop at height 48, padded to a fixed width.

use accelrt::Tensor;
use image::RgbImage;

use super::norm::resize_normalise;

/// Input height of the PP-OCRv4 recogniser.
pub const REC_HEIGHT: u32 = 48;

/// `crop` as the recogniser's input: f32 `[1, 3, 48, width]`, aspect kept up to `width` (longer
/// lines are squeezed), zero-padded on the right. The model emits one time step per 8 pixels
/// of width, so `width / 8` bounds the characters a line can have.
pub fn rec_input(crop: &RgbImage, width: u32) -> accelrt::Result<Tensor> {
    resize_normalise(crop, REC_HEIGHT, width)
}
