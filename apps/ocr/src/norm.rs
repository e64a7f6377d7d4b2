//! Resizing a line crop to the classifier's or recogniser's fixed height, normalised.

use accelrt::Tensor;
use image::imageops::FilterType;
use image::RgbImage;

/// The width a `w × h` crop has at `height` with its aspect ratio kept, rounded up, at least 1
/// (PaddleOCR's `ceil(height * w / h)`).
pub fn scaled_width(w: u32, h: u32, height: u32) -> u32 {
    ((height as f64 * w as f64 / h.max(1) as f64).ceil() as u32).max(1)
}

/// `crop` resized to `content × height`, as f32 `[1, 3, height, width]`, BGR planes,
/// `(pixel / 255 - 0.5) / 0.5`, the right-hand remainder zero (PaddleOCR's `resize_norm_img`).
/// `content` is clamped to `1..=width`: a crop wider than that is squeezed.
pub fn resize_normalise(crop: &RgbImage, height: u32, content: u32, width: u32) -> accelrt::Result<Tensor> {
    let (w, h) = crop.dimensions();
    if w == 0 || h == 0 || height == 0 || width == 0 {
        return Err(accelrt::Error::invalid_named(
            "line crop",
            format!("a non-empty crop for a {width}x{height} input"),
            format!("{w}x{h}"),
        ));
    }
    let rw = content.clamp(1, width);
    let resized = image::imageops::resize(crop, rw, height, FilterType::Triangle);
    let plane = (height * width) as usize;
    let mut data = vec![0f32; 3 * plane];
    for (x, y, p) in resized.enumerate_pixels() {
        let at = (y * width + x) as usize;
        for (c, &v) in [p[2], p[1], p[0]].iter().enumerate() {
            data[c * plane + at] = v as f32 / 127.5 - 1.0;
        }
    }
    Tensor::new([1, 3, height as usize, width as usize], data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_aspect_caps_width_and_pads_with_zero() {
        let crop = RgbImage::from_pixel(40, 10, image::Rgb([255, 255, 255]));
        // 40x10 at height 48 is 192 wide: white (1.0) up to there, padding (0.0) after.
        assert_eq!(scaled_width(40, 10, 48), 192);
        assert_eq!(scaled_width(41, 10, 48), 197);
        let t = resize_normalise(&crop, 48, 192, 320).unwrap();
        assert_eq!(t.shape(), &[1, 3, 48, 320]);
        let v = t.as_slice::<f32>().unwrap();
        assert_eq!((v[191], v[192]), (1.0, 0.0));
        let wide = RgbImage::from_pixel(400, 10, image::Rgb([0, 0, 0]));
        let t = resize_normalise(&wide, 48, scaled_width(400, 10, 48), 192).unwrap();
        assert!(t.as_slice::<f32>().unwrap()[..192].iter().all(|&x| x == -1.0));
        assert!(resize_normalise(&RgbImage::new(0, 5), 48, 10, 192).is_err());
    }
}
