//! Drawing lines of text onto a page: DejaVu fonts, any ink and background colour, each line
//! optionally rotated about its centre.

use ab_glyph::{point, Font as _, FontRef, PxScale, ScaleFont as _};
use image::{Rgb, RgbImage};

use crate::detect::Rect;

/// A DejaVu font embedded in the binary (from the `dejavu` crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Font {
    /// DejaVu Sans.
    Sans,
    /// DejaVu Sans Bold.
    SansBold,
    /// DejaVu Serif.
    Serif,
    /// DejaVu Sans Mono.
    Mono,
}

impl Font {
    /// Every font, in the order [`sample_set`](super::sample_set) cycles through them.
    pub const ALL: [Font; 4] = [Font::Sans, Font::Serif, Font::Mono, Font::SansBold];

    fn bytes(self) -> &'static [u8] {
        match self {
            Font::Sans => dejavu::sans::regular(),
            Font::SansBold => dejavu::sans::bold(),
            Font::Serif => dejavu::serif::regular(),
            Font::Mono => dejavu::sans_mono::regular(),
        }
    }

    fn face(self) -> accelrt::Result<FontRef<'static>> {
        FontRef::try_from_slice(self.bytes())
            .map_err(|e| accelrt::Error::Internal(format!("embedded font {self:?} is unreadable: {e}")))
    }

    /// Width in pixels of `text` at `size` (the advance of its glyphs, with kerning).
    pub fn text_width(self, text: &str, size: f32) -> accelrt::Result<f32> {
        let font = self.face()?;
        let scaled = font.as_scaled(PxScale::from(size));
        let (mut width, mut prev) = (0.0, None);
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                width += scaled.kern(p, id);
            }
            width += scaled.h_advance(id);
            prev = Some(id);
        }
        Ok(width)
    }
}

/// One line of text to draw: `(x, y)` is the left end of the line's top (ascent) edge before
/// rotation.
#[derive(Debug, Clone, PartialEq)]
pub struct LineSpec {
    /// The string.
    pub text: String,
    /// The font.
    pub font: Font,
    /// Height in pixels (ascent to descent).
    pub size: f32,
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Rotation about the line's centre in degrees, counter-clockwise (0: horizontal).
    pub angle: f32,
}

/// A line as drawn: what was asked for and the box its ink covers.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// What was drawn.
    pub spec: LineSpec,
    /// The pixels with visible ink, as a box.
    pub ink: Rect,
}

/// Draws dark `lines` on a light grey `width × height` background; returns the image and each
/// line's ink box. Glyphs that fall outside the image are clipped.
pub fn render(
    width: u32,
    height: u32,
    background: u8,
    lines: &[LineSpec],
) -> accelrt::Result<(RgbImage, Vec<TextLine>)> {
    let ink = background.saturating_sub(200);
    render_colored(width, height, Rgb([background; 3]), Rgb([ink; 3]), lines)
}

/// Draws `lines` in `ink` on a `background`-coloured `width × height` page.
pub fn render_colored(
    width: u32,
    height: u32,
    background: Rgb<u8>,
    ink: Rgb<u8>,
    lines: &[LineSpec],
) -> accelrt::Result<(RgbImage, Vec<TextLine>)> {
    let mut img = RgbImage::from_pixel(width, height, background);
    let drawn = lines
        .iter()
        .map(|line| {
            let cov = Coverage::of(line)?;
            let ink_box = cov.composite(&mut img, line, ink);
            Ok(TextLine {
                spec: line.clone(),
                ink: ink_box,
            })
        })
        .collect::<accelrt::Result<Vec<_>>>()?;
    Ok((img, drawn))
}

/// A line's glyphs drawn upright into a buffer of coverage values (0 to 1), with a margin.
struct Coverage {
    w: usize,
    h: usize,
    pad: f32,
    data: Vec<f32>,
}

impl Coverage {
    fn of(line: &LineSpec) -> accelrt::Result<Self> {
        let font = line.font.face()?;
        let scale = PxScale::from(line.size);
        let scaled = font.as_scaled(scale);
        let pad = 2.0;
        let text_w = line.font.text_width(&line.text, line.size)?;
        let (w, h) = (
            (text_w + 2.0 * pad).ceil().max(1.0) as usize,
            (scaled.ascent() - scaled.descent() + 2.0 * pad).ceil().max(1.0) as usize,
        );
        let mut data = vec![0f32; w * h];
        let mut caret = point(pad, pad + scaled.ascent());
        let mut prev = None;
        for c in line.text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                caret.x += scaled.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(scale, caret);
            caret.x += scaled.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, c| {
                let x = bounds.min.x as i64 + gx as i64;
                let y = bounds.min.y as i64 + gy as i64;
                if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
                    let v = &mut data[y as usize * w + x as usize];
                    *v = (*v + c.clamp(0.0, 1.0)).min(1.0);
                }
            });
        }
        Ok(Coverage { w, h, pad, data })
    }

    /// Bilinear sample at buffer coordinates (pixel centres at `i + 0.5`).
    fn sample(&self, x: f32, y: f32) -> f32 {
        let (fx, fy) = (x - 0.5, y - 0.5);
        let (x0, y0) = (fx.floor(), fy.floor());
        let (ax, ay) = (fx - x0, fy - y0);
        let at = |xi: f32, yi: f32| {
            if xi < 0.0 || yi < 0.0 || xi as usize >= self.w || yi as usize >= self.h {
                0.0
            } else {
                self.data[yi as usize * self.w + xi as usize]
            }
        };
        let top = at(x0, y0) * (1.0 - ax) + at(x0 + 1.0, y0) * ax;
        let bottom = at(x0, y0 + 1.0) * (1.0 - ax) + at(x0 + 1.0, y0 + 1.0) * ax;
        top * (1.0 - ay) + bottom * ay
    }

    /// Blends the line into `img` in `ink`, rotated by `line.angle` about its centre, and
    /// returns the box of the pixels it inked (coverage above one half).
    fn composite(&self, img: &mut RgbImage, line: &LineSpec, ink: Rgb<u8>) -> Rect {
        let (w, h) = (self.w as f32, self.h as f32);
        // The buffer's top-left corner sits at (x - pad, y - pad) on the page.
        let (ox, oy) = (line.x - self.pad, line.y - self.pad);
        let (cx, cy) = (ox + w / 2.0, oy + h / 2.0);
        // Counter-clockwise on screen is clockwise in y-down coordinates.
        let (sin, cos) = (-line.angle.to_radians()).sin_cos();
        // Page box of the rotated buffer.
        let half_w = (w / 2.0 * cos.abs() + h / 2.0 * sin.abs()).ceil();
        let half_h = (w / 2.0 * sin.abs() + h / 2.0 * cos.abs()).ceil();
        let x_range = ((cx - half_w).floor().max(0.0) as u32)..((cx + half_w).ceil().min(img.width() as f32) as u32);
        let y_range = ((cy - half_h).floor().max(0.0) as u32)..((cy + half_h).ceil().min(img.height() as f32) as u32);
        let mut ink_box = Rect {
            x0: f32::MAX,
            y0: f32::MAX,
            x1: f32::MIN,
            y1: f32::MIN,
        };
        for py in y_range {
            for px in x_range.clone() {
                // Inverse rotation of the pixel centre into the buffer.
                let (dx, dy) = (px as f32 + 0.5 - cx, py as f32 + 0.5 - cy);
                let (bx, by) = (dx * cos + dy * sin + w / 2.0, -dx * sin + dy * cos + h / 2.0);
                let c = self.sample(bx, by);
                if c <= 0.0 {
                    continue;
                }
                let p = img.get_pixel_mut(px, py);
                for k in 0..3 {
                    p[k] = (p[k] as f32 * (1.0 - c) + ink[k] as f32 * c).round() as u8;
                }
                if c > 0.5 {
                    ink_box.x0 = ink_box.x0.min(px as f32);
                    ink_box.y0 = ink_box.y0.min(py as f32);
                    ink_box.x1 = ink_box.x1.max(px as f32 + 1.0);
                    ink_box.y1 = ink_box.y1.max(py as f32 + 1.0);
                }
            }
        }
        ink_box
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(angle: f32) -> LineSpec {
        LineSpec {
            text: "Hello World".into(),
            font: Font::Sans,
            size: 30.0,
            x: 40.0,
            y: 80.0,
            angle,
        }
    }

    #[test]
    fn rotation_tilts_the_ink_box_and_keeps_colours() {
        let (img, flat) = render_colored(400, 200, Rgb([250, 240, 200]), Rgb([20, 30, 120]), &[spec(0.0)]).unwrap();
        let (_, tilted) = render_colored(400, 200, Rgb([250, 240, 200]), Rgb([20, 30, 120]), &[spec(10.0)]).unwrap();
        let (f, t) = (flat[0].ink, tilted[0].ink);
        assert!(f.x1 - f.x0 > 120.0 && f.y1 - f.y0 < 40.0, "{f:?}");
        // Turned by 10°, the line spans about 140 px · sin 10° ≈ 24 px more in height.
        assert!(t.y1 - t.y0 > f.y1 - f.y0 + 15.0, "{t:?} vs {f:?}");
        assert!((f.center().0 - t.center().0).abs() < 3.0);
        assert_eq!(img.get_pixel(0, 0), &Rgb([250, 240, 200]));
        assert!(img.pixels().any(|p| *p == Rgb([20, 30, 120])));
        let w = Font::Sans.text_width("Hello World", 30.0).unwrap();
        assert!((f.x1 - f.x0 - w).abs() < 6.0, "{w} vs {f:?}");
    }
}
