//! Text images with known contents, rendered here so tests and examples need no image files.
//!
//! Each [`Sample`] records every line it holds: the string, the font and size, and the box its
//! ink covers. The detector tests check line counts and positions against those boxes; the
//! later recognition work checks the strings.

use std::path::{Path, PathBuf};

use ab_glyph::{point, Font as _, FontRef, PxScale, ScaleFont as _};
use image::{Rgb, RgbImage};

use crate::cache::cache_dir;
use crate::OnnxError;

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
    /// Every font, in the order [`sample_set`] cycles through them.
    pub const ALL: [Font; 4] = [Font::Sans, Font::Serif, Font::Mono, Font::SansBold];

    fn bytes(self) -> &'static [u8] {
        match self {
            Font::Sans => dejavu::sans::regular(),
            Font::SansBold => dejavu::sans::bold(),
            Font::Serif => dejavu::serif::regular(),
            Font::Mono => dejavu::sans_mono::regular(),
        }
    }
}

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

/// One line of text to draw: `(x, y)` is the left end of the line's top (ascent) edge.
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
}

/// A line as drawn: what was asked for and the box its ink covers.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// What was drawn.
    pub spec: LineSpec,
    /// The pixels with visible ink, as a box.
    pub ink: Rect,
}

/// A rendered image on disk and what it holds, lines in top-to-bottom order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The PNG file.
    pub path: PathBuf,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The lines drawn.
    pub lines: Vec<TextLine>,
}

/// Draws dark `lines` on a light `width × height` background; returns the image and each line's
/// ink box. Glyphs that fall outside the image are clipped.
pub fn render(
    width: u32,
    height: u32,
    background: u8,
    lines: &[LineSpec],
) -> accelrt::Result<(RgbImage, Vec<TextLine>)> {
    let mut img = RgbImage::from_pixel(width, height, Rgb([background; 3]));
    let ink_level = background.saturating_sub(200);
    let mut drawn = Vec::with_capacity(lines.len());
    for line in lines {
        let font = FontRef::try_from_slice(line.font.bytes())
            .map_err(|e| accelrt::Error::Internal(format!("embedded font {:?} is unreadable: {e}", line.font)))?;
        let scale = PxScale::from(line.size);
        let scaled = font.as_scaled(scale);
        let mut caret = point(line.x, line.y + scaled.ascent());
        let mut prev = None;
        let mut ink = Rect {
            x0: f32::MAX,
            y0: f32::MAX,
            x1: f32::MIN,
            y1: f32::MIN,
        };
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
            outline.draw(|gx, gy, coverage| {
                let x = bounds.min.x as i64 + gx as i64;
                let y = bounds.min.y as i64 + gy as i64;
                if x < 0 || y < 0 || x >= width as i64 || y >= height as i64 {
                    return;
                }
                let (x, y) = (x as u32, y as u32);
                let px = img.get_pixel_mut(x, y);
                let c = coverage.clamp(0.0, 1.0);
                let v = (px[0] as f32 * (1.0 - c) + ink_level as f32 * c).round() as u8;
                *px = Rgb([v; 3]);
                if c > 0.5 {
                    ink.x0 = ink.x0.min(x as f32);
                    ink.y0 = ink.y0.min(y as f32);
                    ink.x1 = ink.x1.max(x as f32 + 1.0);
                    ink.y1 = ink.y1.max(y as f32 + 1.0);
                }
            });
        }
        drawn.push(TextLine {
            spec: line.clone(),
            ink,
        });
    }
    Ok((img, drawn))
}

const PHRASES: &[&str] = &[
    "accelrt keeps GPUs busy",
    "Hello, world!",
    "INVOICE 2024-0117",
    "Total: 1,234.56 EUR",
    "quick brown fox",
    "The answer is 42",
    "Rust + ONNX Runtime",
    "Batch size 8",
    "Meeting at 10:30",
    "Room 101, floor 3",
    "overlap copy and compute",
    "PP-OCR text detector",
];

/// Width of the images of [`sample_set`]: a page photographed or scanned at a modest
/// resolution, so decoding and resizing cost what they cost in real use.
pub const SAMPLE_WIDTH: u32 = 1600;
/// Height of the images of [`sample_set`].
pub const SAMPLE_HEIGHT: u32 = 1200;
/// Bumped whenever the images change, so stale files in the cache are never reused.
const SAMPLE_VERSION: &str = "v2-1600x1200";

/// What image `i` of [`sample_set`] holds: 1 to 4 lines, fonts, sizes (50 to 95 px) and
/// positions varying with `i`, lines at least 175 px apart so no two touch. Scaled to the
/// detector's usual 640 px, lines are 20 to 38 px high.
pub fn sample_lines(i: usize) -> Vec<LineSpec> {
    const S: f32 = SAMPLE_WIDTH as f32 / 640.0;
    let count = 1 + i % 4;
    (0..count)
        .map(|k| {
            let size = [20.0, 26.0, 32.0, 38.0][(i * 3 + k) % 4];
            let text = PHRASES[(i * 7 + k * 5) % PHRASES.len()];
            LineSpec {
                text: text.to_string(),
                font: Font::ALL[(i + k) % Font::ALL.len()],
                size: size * S,
                x: (16.0 + ((i * 37 + k * 53) % 60) as f32) * S,
                y: (30.0 + k as f32 * 110.0 + ((i * 13) % 30) as f32) * S,
            }
        })
        .collect()
}

/// Adds faint deterministic noise (±`amplitude` grey levels), as a camera or scanner does;
/// it also keeps PNG files from compressing to nearly nothing, which would make decoding
/// unrealistically cheap.
pub fn add_noise(img: &mut RgbImage, seed: u64, amplitude: u8) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let span = 2 * amplitude as u64 + 1;
    for px in img.pixels_mut() {
        // xorshift64: cheap, and the same image for the same seed on every platform.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delta = (state % span) as i16 - amplitude as i16;
        let v = (px[0] as i16 + delta).clamp(0, 255) as u8;
        *px = Rgb([v; 3]);
    }
}

/// `count` rendered sample images (each [`SAMPLE_WIDTH`] × [`SAMPLE_HEIGHT`], lines from
/// [`sample_lines`], light noise) as PNGs in `dir`, created when missing. Existing files are
/// reused, since the same index always renders the same image.
pub fn sample_set_in(dir: &Path, count: usize) -> accelrt::Result<Vec<Sample>> {
    std::fs::create_dir_all(dir).map_err(|e| OnnxError::Config(format!("cannot create {}: {e}", dir.display())))?;
    (0..count)
        .map(|i| {
            let path = dir.join(format!("text_{i:04}.png"));
            let background = 255 - (i % 4) as u8 * 10;
            let (mut img, lines) = render(SAMPLE_WIDTH, SAMPLE_HEIGHT, background, &sample_lines(i))?;
            if !path.is_file() {
                add_noise(&mut img, i as u64, 4);
                // Write under a temporary name: a concurrent reader never sees half a PNG.
                let tmp = dir.join(format!(".text_{i:04}.{}.png", std::process::id()));
                img.save(&tmp)
                    .and_then(|()| std::fs::rename(&tmp, &path).map_err(image::ImageError::IoError))
                    .map_err(|e| OnnxError::Config(format!("cannot write {}: {e}", path.display())))?;
            }
            Ok(Sample {
                path,
                width: SAMPLE_WIDTH,
                height: SAMPLE_HEIGHT,
                lines,
            })
        })
        .collect()
}

/// [`sample_set_in`] the cache's `samples` directory.
pub fn sample_set(count: usize) -> accelrt::Result<Vec<Sample>> {
    sample_set_in(&cache_dir()?.join("samples").join(SAMPLE_VERSION), count)
}

/// The PNG and JPEG files in `dir`, sorted by name, at most `limit` of them: a folder of your
/// own images for the examples.
pub fn image_files(dir: &Path, limit: usize) -> accelrt::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        accelrt::Error::invalid_input("a readable folder of images", format!("{} ({e})", dir.display()))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    paths.sort();
    paths.truncate(limit);
    Ok(paths)
}
