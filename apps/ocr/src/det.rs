//! DB post-processing: from the detector's probability map to one rotated box per text line.
//!
//! PaddleOCR's `DBPostProcess`: binarise the map, take each region's outer contour, fit a
//! minimum-area rectangle, keep it when the mean probability inside is high enough, grow it by
//! `area × unclip_ratio / perimeter` on every side (the DB paper's "unclip": the network is
//! trained on shrunk text regions), and scale it back to image pixels. Contours and rectangles
//! come from `imageproc`. For a rectangle, PaddleOCR's polygon offset (pyclipper) followed by a
//! new minimum-area rectangle is exactly the rectangle grown by the offset on every side, so no
//! polygon clipper is needed.

use accelrt::Tensor;
use image::{GrayImage, Luma};
use imageproc::contours::{find_contours, BorderType};
use imageproc::geometry::min_area_rect;
use imageproc::point::Point;

/// A box as four corners in image pixels: top-left, top-right, bottom-right, bottom-left (as
/// read along the text).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quad(pub [(f32, f32); 4]);

impl Quad {
    /// Length of the top and bottom edges, the longer one: the text line's length.
    pub fn width(&self) -> f32 {
        let [a, b, c, d] = self.0;
        dist(a, b).max(dist(d, c))
    }

    /// Length of the left and right edges, the longer one: the text line's height.
    pub fn height(&self) -> f32 {
        let [a, b, c, d] = self.0;
        dist(a, d).max(dist(b, c))
    }

    /// The axis-aligned box around the corners: `(x0, y0, x1, y1)`.
    pub fn bounds(&self) -> (f32, f32, f32, f32) {
        self.0
            .iter()
            .fold((f32::MAX, f32::MAX, f32::MIN, f32::MIN), |(x0, y0, x1, y1), &(x, y)| {
                (x0.min(x), y0.min(y), x1.max(x), y1.max(y))
            })
    }
}

fn dist(a: (f32, f32), b: (f32, f32)) -> f32 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

/// Settings of [`text_quads`]; the defaults are PaddleOCR's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetParams {
    /// Map pixels above this are text (`det_db_thresh`, 0.3).
    pub threshold: f32,
    /// A box is kept when the mean probability inside is at least this (`det_db_box_thresh`, 0.6).
    pub box_threshold: f32,
    /// How much a box grows back (`det_db_unclip_ratio`, 1.6).
    pub unclip_ratio: f32,
    /// Boxes whose shorter side is below this many map pixels are noise (3).
    pub min_size: f32,
    /// At most this many regions are considered (1000).
    pub max_candidates: usize,
}

impl Default for DetParams {
    fn default() -> Self {
        DetParams {
            threshold: 0.3,
            box_threshold: 0.6,
            unclip_ratio: 1.6,
            min_size: 3.0,
            max_candidates: 1000,
        }
    }
}

/// A text line found by the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextQuad {
    /// Its box, in image pixels.
    pub quad: Quad,
    /// Mean probability inside the box before it was grown.
    pub score: f32,
}

/// The text lines in `prob` (f32 `[1, 1, H, W]` or `[H, W]`), scaled by `scale` (image pixels
/// per map pixel) and clipped to an image of `size` (width, height); in reading order: top to
/// bottom, and left to right within a line.
pub fn text_quads(
    prob: &Tensor,
    params: &DetParams,
    scale: (f32, f32),
    size: (u32, u32),
) -> accelrt::Result<Vec<TextQuad>> {
    let (h, w) = crate::detect::map_size(prob)?;
    let p = prob.as_slice::<f32>()?;
    let bitmap = GrayImage::from_fn(w as u32, h as u32, |x, y| {
        Luma([if p[y as usize * w + x as usize] > params.threshold {
            255
        } else {
            0
        }])
    });
    let mut found = Vec::new();
    let contours = find_contours::<i32>(&bitmap);
    for contour in contours
        .iter()
        .filter(|c| c.border_type == BorderType::Outer && !c.points.is_empty())
        .take(params.max_candidates)
    {
        let rect = ordered(min_area_rect(&contour.points));
        if rect.width().min(rect.height()) < params.min_size {
            continue;
        }
        let score = mean_inside(p, w, h, &rect);
        if score < params.box_threshold {
            continue;
        }
        let grown = unclip(&rect, params.unclip_ratio);
        if grown.width().min(grown.height()) < params.min_size + 2.0 {
            continue;
        }
        let (sx, sy) = scale;
        let (iw, ih) = (size.0 as f32, size.1 as f32);
        let quad = Quad(
            grown
                .0
                .map(|(x, y)| ((x * sx).round().clamp(0.0, iw), (y * sy).round().clamp(0.0, ih))),
        );
        // PaddleOCR's `filter_tag_det_res`: boxes squashed by clipping to the image are dropped.
        if quad.width() <= 3.0 || quad.height() <= 3.0 {
            continue;
        }
        found.push(TextQuad { quad, score });
    }
    Ok(reading_order(found))
}

/// Corners of a minimum-area rectangle as top-left, top-right, bottom-right, bottom-left
/// (PaddleOCR's `get_mini_boxes`): the two leftmost points are the left edge, the upper of
/// each pair is the top.
fn ordered(points: [Point<i32>; 4]) -> Quad {
    let mut p = points.map(|q| (q.x as f32, q.y as f32));
    p.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (tl, bl) = if p[0].1 <= p[1].1 { (p[0], p[1]) } else { (p[1], p[0]) };
    let (tr, br) = if p[2].1 <= p[3].1 { (p[2], p[3]) } else { (p[3], p[2]) };
    Quad([tl, tr, br, bl])
}

/// The rectangle grown by `area × ratio / perimeter` on every side, centre and angle kept.
fn unclip(rect: &Quad, ratio: f32) -> Quad {
    let (w, h) = (rect.width(), rect.height());
    let d = w * h * ratio / (2.0 * (w + h)).max(f32::EPSILON);
    let [tl, tr, _, bl] = rect.0;
    let unit = |a: (f32, f32), b: (f32, f32)| {
        let l = dist(a, b).max(f32::EPSILON);
        ((b.0 - a.0) / l, (b.1 - a.1) / l)
    };
    // `u` runs along the text, `v` down across it; a degenerate edge leaves that direction zero,
    // which only happens for boxes the size checks drop anyway.
    let (u, v) = (unit(tl, tr), unit(tl, bl));
    let at = |p: (f32, f32), su: f32, sv: f32| (p.0 + d * (su * u.0 + sv * v.0), p.1 + d * (su * u.1 + sv * v.1));
    let [a, b, c, e] = rect.0;
    Quad([at(a, -1.0, -1.0), at(b, 1.0, -1.0), at(c, 1.0, 1.0), at(e, -1.0, 1.0)])
}

/// Mean of `p` (a `w × h` map) over the pixels whose centres lie inside the convex `quad`.
fn mean_inside(p: &[f32], w: usize, h: usize, quad: &Quad) -> f32 {
    let (x0, y0, x1, y1) = quad.bounds();
    let clampx = |v: f32| (v.max(0.0) as usize).min(w - 1);
    let clampy = |v: f32| (v.max(0.0) as usize).min(h - 1);
    let (mut sum, mut n) = (0f32, 0usize);
    for y in clampy(y0.floor())..=clampy(y1.ceil()) {
        for x in clampx(x0.floor())..=clampx(x1.ceil()) {
            if inside(quad, (x as f32, y as f32)) {
                sum += p[y * w + x];
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f32
    }
}

/// True when `pt` is inside or on the convex quad (all edge cross products share a sign).
fn inside(quad: &Quad, pt: (f32, f32)) -> bool {
    let (mut pos, mut neg) = (false, false);
    for i in 0..4 {
        let (a, b) = (quad.0[i], quad.0[(i + 1) % 4]);
        let cross = (b.0 - a.0) * (pt.1 - a.1) - (b.1 - a.1) * (pt.0 - a.0);
        pos |= cross > 1e-3;
        neg |= cross < -1e-3;
    }
    !(pos && neg)
}

/// PaddleOCR's `sorted_boxes`: by top-left corner, top to bottom; boxes whose tops are within
/// 10 pixels count as one line and go left to right.
fn reading_order(mut quads: Vec<TextQuad>) -> Vec<TextQuad> {
    quads.sort_by(|a, b| {
        let (pa, pb) = (a.quad.0[0], b.quad.0[0]);
        pa.1.total_cmp(&pb.1).then(pa.0.total_cmp(&pb.0))
    });
    // One bubble pass per box, as PaddleOCR does: swaps neighbours on the same line.
    for i in 0..quads.len().saturating_sub(1) {
        for j in (0..=i).rev() {
            let (a, b) = (quads[j].quad.0[0], quads[j + 1].quad.0[0]);
            if (b.1 - a.1).abs() < 10.0 && b.0 < a.0 {
                quads.swap(j, j + 1);
            } else {
                break;
            }
        }
    }
    quads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(h: usize, w: usize, fill: &[(usize, usize, usize, usize)]) -> Tensor {
        let mut p = vec![0.0f32; h * w];
        for &(x0, y0, x1, y1) in fill {
            for y in y0..y1 {
                for x in x0..x1 {
                    p[y * w + x] = 0.9;
                }
            }
        }
        Tensor::new([1, 1, h, w], p).unwrap()
    }

    #[test]
    fn finds_grown_boxes_in_reading_order() {
        // Two lines: two words side by side at the top (the right one a pixel higher, so a plain
        // sort by top edge would put it first), one line lower down; plus a speck below the
        // minimum size.
        let prob = map(
            60,
            100,
            &[(50, 10, 90, 20), (5, 11, 40, 21), (10, 40, 80, 50), (95, 55, 97, 57)],
        );
        let found = text_quads(&prob, &DetParams::default(), (2.0, 2.0), (200, 120)).unwrap();
        assert_eq!(found.len(), 3, "{found:?}");
        let lefts: Vec<f32> = found.iter().map(|t| t.quad.0[0].0).collect();
        assert!(lefts[0] < lefts[1], "same line goes left to right: {found:?}");
        let (x0, y0, x1, y1) = found[2].quad.bounds();
        // The region covers x 10..=79, y 40..=49 in the map; grown by 9·69·1.6/(2·78) ≈ 6.4 map
        // pixels per side, then doubled to image pixels.
        assert!((x0 - 7.0).abs() <= 2.0 && (x1 - 171.0).abs() <= 2.0, "{x0} {x1}");
        assert!((y0 - 67.0).abs() <= 2.0 && (y1 - 111.0).abs() <= 2.0, "{y0} {y1}");
        assert!(found.iter().all(|t| (t.score - 0.9).abs() < 0.05));
    }

    #[test]
    fn faint_regions_and_bad_shapes() {
        let mut p = vec![0.0f32; 20 * 40];
        for y in 5..15 {
            for x in 5..35 {
                p[y * 40 + x] = 0.4; // above the threshold, below the box threshold
            }
        }
        let prob = Tensor::new([20, 40], p).unwrap();
        assert!(text_quads(&prob, &DetParams::default(), (1.0, 1.0), (40, 20))
            .unwrap()
            .is_empty());
        let bad = Tensor::new([2, 1, 2, 2], vec![0f32; 8]).unwrap();
        assert!(text_quads(&bad, &DetParams::default(), (1.0, 1.0), (2, 2)).is_err());
    }

    #[test]
    fn quads_are_ordered_and_grow_evenly() {
        let q = ordered([Point::new(10, 0), Point::new(10, 4), Point::new(0, 4), Point::new(0, 0)]);
        assert_eq!(q, Quad([(0.0, 0.0), (10.0, 0.0), (10.0, 4.0), (0.0, 4.0)]));
        let g = unclip(&q, 1.4); // d = 40·1.4/28 = 2
        assert_eq!(g.bounds(), (-2.0, -2.0, 12.0, 6.0));
    }
}
