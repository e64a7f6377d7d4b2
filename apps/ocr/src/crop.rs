//! Cutting one text line out of the image as an upright, axis-aligned crop.

use image::{Rgb, RgbImage};
use imageproc::geometric_transformations::{warp_into, Interpolation, Projection};

use crate::det::Quad;

/// The line inside `quad` as its own image, `quad.width() × quad.height()` pixels: the
/// perspective warp that sends the four corners to the crop's corners (PaddleOCR's
/// `get_rotate_crop_image`). A crop at least 1.5 times taller than wide is a vertical line and
/// is turned 90° counter-clockwise, as PaddleOCR does.
pub fn crop_line(image: &RgbImage, quad: &Quad) -> accelrt::Result<RgbImage> {
    let (w, h) = (quad.width().round().max(1.0), quad.height().round().max(1.0));
    let to = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
    let projection = Projection::from_control_points(quad.0, to)
        .ok_or_else(|| accelrt::Error::invalid_named("text box", "a box with an area", format!("{:?}", quad.0)))?;
    // Outside the image (a box touching an edge), PaddleOCR replicates the border; the nearest
    // corner's colour is the background there, close enough for a line's margin.
    let (cx, cy) = quad.0[0];
    let fill = image
        .get_pixel_checked(cx as u32, cy as u32)
        .copied()
        .unwrap_or(Rgb([255, 255, 255]));
    let mut out = RgbImage::new(w as u32, h as u32);
    warp_into(image, &projection, Interpolation::Bilinear, fill, &mut out);
    if h / w >= 1.5 {
        out = image::imageops::rotate270(&out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_aligned_box_is_a_plain_crop() {
        let img = RgbImage::from_fn(50, 30, |x, y| Rgb([x as u8, y as u8, 0]));
        let q = Quad([(10.0, 5.0), (40.0, 5.0), (40.0, 15.0), (10.0, 15.0)]);
        let c = crop_line(&img, &q).unwrap();
        assert_eq!(c.dimensions(), (30, 10));
        assert_eq!(c.get_pixel(0, 0), &Rgb([10, 5, 0]));
        assert_eq!(c.get_pixel(29, 9), &Rgb([39, 14, 0]));
    }

    #[test]
    fn tall_boxes_are_turned() {
        let img = RgbImage::new(50, 50);
        let q = Quad([(10.0, 0.0), (20.0, 0.0), (20.0, 40.0), (10.0, 40.0)]);
        assert_eq!(crop_line(&img, &q).unwrap().dimensions(), (40, 10));
    }
}
