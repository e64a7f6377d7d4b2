//! The simple sample set (1600 × 1200 grey pages, 1 to 4 short lines), a folder's image files,
//! and faint noise.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};

use accelrt_onnx::cache_dir;

use super::render::{render, Font, LineSpec, TextLine};

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
                angle: 0.0,
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
    std::fs::create_dir_all(dir)
        .map_err(|e| accelrt::Error::Config(format!("cannot create {}: {e}", dir.display())))?;
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
                    .map_err(|e| accelrt::Error::Config(format!("cannot write {}: {e}", path.display())))?;
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
