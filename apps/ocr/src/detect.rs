//! Pre- and post-processing for the PP-OCR text detector (DB).
//!
//! The detector takes `x`: f32 `[N, 3, H, W]`, BGR, `(pixel / 255 - 0.5) / 0.5`, `H` and `W`
//! multiples of 32, and gives a probability map f32 `[N, 1, H, W]` of "this pixel is text".
//! [`text_boxes`] thresholds that map and returns one box per connected region.

use std::path::Path;

use accelrt::Tensor;
use image::imageops::FilterType;
use image::RgbImage;

/// A box in pixels: `x0..x1` by `y0..y1`, `x1` and `y1` exclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x0: f32,
    /// Top edge.
    pub y0: f32,
    /// Right edge (exclusive).
    pub x1: f32,
    /// Bottom edge (exclusive).
    pub y1: f32,
}

impl Rect {
    /// The centre point.
    pub fn center(&self) -> (f32, f32) {
        ((self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0)
    }

    /// True when `(x, y)` lies inside.
    pub fn contains(&self, x: f32, y: f32) -> bool {
        x >= self.x0 && x < self.x1 && y >= self.y0 && y < self.y1
    }
}

/// How an image is sized for the detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Keep the aspect ratio, longer side at most this many pixels, each side rounded to a
    /// multiple of 32: inputs of different images may differ in size.
    Within(u32),
    /// Scale to fit a `side × side` square (aspect kept) and pad the rest: every input has the
    /// same size, so any requests can share a batch.
    Square(u32),
}

/// One image ready for the detector.
#[derive(Debug, Clone)]
pub struct DetInput {
    /// `[1, 3, H, W]` f32.
    pub tensor: Tensor,
    /// Multiply detector x coordinates by this to get original image coordinates.
    pub scale_x: f32,
    /// Multiply detector y coordinates by this to get original image coordinates.
    pub scale_y: f32,
}

/// Decodes an image file into RGB.
pub fn load_image(path: &Path) -> accelrt::Result<RgbImage> {
    image::open(path)
        .map(|i| i.to_rgb8())
        .map_err(|e| accelrt::Error::invalid_input("a readable PNG or JPEG image", format!("{} ({e})", path.display())))
}

fn round32(v: f32) -> u32 {
    ((v / 32.0).round() as u32).max(1) * 32
}

/// Resizes and normalises `img` for the detector.
pub fn det_input(img: &RgbImage, fit: Fit) -> accelrt::Result<DetInput> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return Err(accelrt::Error::invalid_input("a non-empty image", format!("{w}x{h}")));
    }
    let (rw, rh, cw, ch) = match fit {
        Fit::Within(max) | Fit::Square(max) if max < 32 => {
            return Err(accelrt::Error::Config(format!(
                "detector side {max} is below the minimum of 32"
            )));
        }
        Fit::Within(max) => {
            let r = (max as f32 / w.max(h) as f32).min(1.0);
            let (rw, rh) = (round32(w as f32 * r), round32(h as f32 * r));
            (rw, rh, rw, rh)
        }
        Fit::Square(side) => {
            let side = side / 32 * 32;
            let r = side as f32 / w.max(h) as f32;
            let rw = ((w as f32 * r).round() as u32).clamp(1, side);
            let rh = ((h as f32 * r).round() as u32).clamp(1, side);
            (rw, rh, side, side)
        }
    };
    let resized = if (rw, rh) == (w, h) {
        img.clone()
    } else {
        image::imageops::resize(img, rw, rh, FilterType::Triangle)
    };
    // Planar BGR, normalised; the padding is what a black pixel normalises to.
    let plane = (cw * ch) as usize;
    let mut data = vec![-1.0f32; 3 * plane];
    for (x, y, p) in resized.enumerate_pixels() {
        let at = (y * cw + x) as usize;
        for (c, &v) in [p[2], p[1], p[0]].iter().enumerate() {
            data[c * plane + at] = v as f32 / 127.5 - 1.0;
        }
    }
    Ok(DetInput {
        tensor: Tensor::new([1, 3, ch as usize, cw as usize], data)?,
        scale_x: w as f32 / rw as f32,
        scale_y: h as f32 / rh as f32,
    })
}

/// A text region found in a probability map.
#[derive(Debug, Clone, PartialEq)]
pub struct TextBox {
    /// The region's bounding box, in original image pixels.
    pub rect: Rect,
    /// Number of map pixels in the region.
    pub pixels: usize,
    /// Mean probability over the region.
    pub score: f32,
}

/// Height and width of a detector probability map, `[1, 1, H, W]` or `[H, W]`.
pub(crate) fn map_size(prob: &Tensor) -> accelrt::Result<(usize, usize)> {
    match prob.shape() {
        [1, 1, h, w] | [h, w] => Ok((*h, *w)),
        other => Err(accelrt::Error::invalid_named(
            "probability map",
            "f32 [1, 1, H, W] or [H, W]",
            format!("{} {other:?}", prob.dtype()),
        )),
    }
}

/// Regions of `prob` (`[1, 1, H, W]` or `[H, W]`) above `threshold` (PP-OCR uses 0.3),
/// 8-connected, with at least `min_pixels` pixels, scaled by `(scale_x, scale_y)`; sorted top
/// to bottom.
pub fn text_boxes(
    prob: &Tensor,
    threshold: f32,
    min_pixels: usize,
    scale: (f32, f32),
) -> accelrt::Result<Vec<TextBox>> {
    let (h, w) = map_size(prob)?;
    let p = prob.to_vec::<f32>()?;
    let mut seen = vec![false; h * w];
    let mut boxes = Vec::new();
    let mut stack = Vec::new();
    for start in 0..h * w {
        if seen[start] || p[start] <= threshold {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        let (mut count, mut sum) = (0usize, 0f32);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            count += 1;
            sum += p[i];
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if !seen[j] && p[j] > threshold {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        if count >= min_pixels {
            boxes.push(TextBox {
                rect: Rect {
                    x0: x0 as f32 * scale.0,
                    y0: y0 as f32 * scale.1,
                    x1: x1 as f32 * scale.0,
                    y1: y1 as f32 * scale.1,
                },
                pixels: count,
                score: sum / count as f32,
            });
        }
    }
    boxes.sort_by(|a, b| a.rect.y0.total_cmp(&b.rect.y0));
    Ok(boxes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_box_per_region_above_threshold() {
        // A 6 x 10 map: a bright bar in rows 1-2, a diagonal pair (8-connected) at the bottom
        // right, a faint region below the threshold, and a single bright pixel.
        let (h, w) = (6, 10);
        let mut p = vec![0.0f32; h * w];
        for x in 1..6 {
            p[w + x] = 0.9;
            p[2 * w + x] = 0.8;
        }
        p[4 * w + 8] = 0.7;
        p[5 * w + 9] = 0.7;
        p[5 * w + 2] = 0.2;
        p[9] = 0.95;
        let prob = Tensor::new([1, 1, h, w], p).unwrap();
        let boxes = text_boxes(&prob, 0.3, 2, (2.0, 1.0)).unwrap();
        assert_eq!(boxes.len(), 2, "{boxes:?}");
        assert_eq!(
            boxes[0].rect,
            Rect {
                x0: 2.0,
                y0: 1.0,
                x1: 12.0,
                y1: 3.0
            }
        );
        assert_eq!(boxes[0].pixels, 10);
        assert!((boxes[0].score - 0.85).abs() < 1e-6);
        assert_eq!(
            boxes[1].rect,
            Rect {
                x0: 16.0,
                y0: 4.0,
                x1: 20.0,
                y1: 6.0
            }
        );
    }

    #[test]
    fn wrong_map_shape_is_an_error() {
        let prob = Tensor::zeros(accelrt::DType::F32, [2, 1, 4, 4]).unwrap();
        let err = text_boxes(&prob, 0.3, 1, (1.0, 1.0)).unwrap_err().to_string();
        assert!(
            err.contains("expected f32 [1, 1, H, W] or [H, W], got f32 [2, 1, 4, 4]"),
            "{err}"
        );
    }

    #[test]
    fn inputs_are_multiples_of_32() {
        let img = RgbImage::from_pixel(100, 50, image::Rgb([255, 0, 0]));
        let x = det_input(&img, Fit::Within(640)).unwrap();
        assert_eq!(x.tensor.shape(), &[1, 3, 64, 96]);
        // BGR order, normalised to [-1, 1]: red is the last plane.
        let v = x.tensor.as_slice::<f32>().unwrap();
        let plane = 64 * 96;
        assert_eq!((v[0], v[plane], v[2 * plane]), (-1.0, -1.0, 1.0));
        let sq = det_input(&img, Fit::Square(320)).unwrap();
        assert_eq!(sq.tensor.shape(), &[1, 3, 320, 320]);
    }
}
