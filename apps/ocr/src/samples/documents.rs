//! Evaluation sets that resemble real documents, one per [`PageKind`]: invoice-like pages (the
//! first set, below), forms, labels and paragraphs (`kinds.rs`), all with coloured paper and
//! ink, noise, blur and JPEG loss.
//!
//! Each page is drawn from its own random stream (the set's seed, the kind and the page's
//! index), so the first pages of a set are the same whatever its size, and a slice of a set is
//! a fair sample of it. [`Split::HeldOut`] is the set the pipeline is measured on and never
//! tuned on: its own seed, and words from the other half of the word list (see `text.rs`).

use std::io::BufWriter;
use std::path::Path;

use fastrand::Rng;
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};

use super::kinds::{form, label, paragraph, photo, PageKind};
use super::render::{render_colored, Font, LineSpec, TextLine};
use super::set::Sample;
use super::text::{line, Vocabulary};
use crate::detect::Rect;

/// The held-out set's seed. Measure on it; never choose settings by it.
pub const HELD_OUT_SEED: u64 = 0x000C_B5E7_2026;

/// Which set: development sets (any seed, for tuning) or the held-out one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// A development set: words from the development half of the word list.
    Development {
        /// The set's seed.
        seed: u64,
    },
    /// The held-out set: [`HELD_OUT_SEED`], words from the held-out half of the word list.
    HeldOut,
}

impl Split {
    pub(crate) fn seed(self) -> u64 {
        match self {
            Split::Development { seed } => seed,
            Split::HeldOut => HELD_OUT_SEED,
        }
    }

    pub(crate) fn vocabulary(self) -> Vocabulary {
        match self {
            Split::Development { .. } => Vocabulary::Development,
            Split::HeldOut => Vocabulary::HeldOut,
        }
    }

    /// A short name for file and folder names: `dev-SEED` or `held-out`.
    pub fn name(self) -> String {
        match self {
            Split::Development { seed } => format!("dev-{seed}"),
            Split::HeldOut => "held-out".into(),
        }
    }
}

/// Geometry beyond the defaults: tilted lines and pages turned upside down.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Geometry {
    /// Every line of a page is tilted by the same angle, drawn from ±this many degrees.
    pub max_tilt: f32,
    /// Every page is turned 180°.
    pub upside_down: bool,
}

/// One page: its pixels (before JPEG encoding), its lines, and the JPEG quality to save at.
#[derive(Debug, Clone)]
pub struct Document {
    /// The page.
    pub image: RgbImage,
    /// The lines drawn, top to bottom as drawn (for an upside-down page, their boxes are where
    /// they ended up after the turn).
    pub lines: Vec<TextLine>,
    /// JPEG quality (50 to 90 for paper; up to 98 for screenshots).
    pub jpeg_quality: u8,
}

/// Page `index` of `split`:
/// - 640 to 1280 px wide, landscape (4:3 to 3:2) or, one in three, portrait;
/// - 3 to 12 lines, 22 to 40 px high, any of the four DejaVu fonts, left-aligned at varying
///   indents or, one in five, right-aligned; each line 3 to 60 characters (a third short, a
///   third medium, a third long), shortened word by word to fit the page;
/// - light paper of any tint, dark ink of any hue (black, blue, red, green, brown);
/// - then blur (half the pages, σ 0.3 to 0.9), noise (±2 to ±8 per channel), JPEG at quality
///   50 to 90.
pub fn document(split: Split, index: usize, geometry: Geometry) -> accelrt::Result<Document> {
    page(PageKind::Invoice, split, index, geometry)
}

/// Page `index` of `split` of the set of `kind` (see [`PageKind`] for what each holds).
pub fn page(kind: PageKind, split: Split, index: usize, geometry: Geometry) -> accelrt::Result<Document> {
    // The invoice set keeps the stream it had before the other kinds came, so its pages (and
    // the numbers measured on them) stay the same.
    let salt = match kind {
        PageKind::Invoice => 0,
        other => (other as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03),
    };
    let mut rng = Rng::with_seed(split.seed() ^ salt ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let rng = &mut rng;
    match kind {
        PageKind::Invoice => invoice(rng, split, geometry),
        PageKind::Form => form(rng, split.vocabulary(), geometry),
        PageKind::Label => label(rng, split.vocabulary(), geometry),
        PageKind::Paragraph => paragraph(rng, split.vocabulary(), geometry),
        PageKind::Photo => photo(rng, split.vocabulary(), geometry),
    }
}

fn invoice(rng: &mut Rng, split: Split, geometry: Geometry) -> accelrt::Result<Document> {
    let portrait = rng.u8(..3) == 0;
    let long = rng.u32(640..=1280);
    let short = (long as f32 / (1.33 + rng.f32() * 0.17)) as u32;
    let (width, height) = if portrait { (short, long) } else { (long, short) };

    let (paper, ink) = (paper(rng), ink(rng));
    let tilt = tilt(rng, geometry);

    let wanted = rng.usize(3..=12);
    let mut specs = Vec::new();
    let mut y = rng.u32(15..50) as f32;
    while specs.len() < wanted {
        let size = 22.0 + rng.f32() * 18.0;
        let font = Font::ALL[rng.usize(..Font::ALL.len())];
        let target = match rng.u8(..3) {
            0 => rng.usize(3..15),
            1 => rng.usize(15..35),
            _ => rng.usize(35..=60),
        };
        let margin = rng.u32(10..60) as f32;
        let room = width as f32 - 2.0 * margin;
        let Some((text, w)) = fitted(line(rng, split.vocabulary(), target), font, size, room)? else {
            continue;
        };
        // A tilted line sweeps over more height; leave room so lines never touch.
        let sweep = w * tilt.to_radians().sin().abs();
        if y + size + sweep > height as f32 - 10.0 {
            break;
        }
        let x = if rng.u8(..5) == 0 {
            width as f32 - margin - w
        } else {
            margin + rng.f32() * (room - w).min(120.0)
        };
        specs.push(LineSpec {
            text,
            font,
            size,
            x,
            y: y + sweep / 2.0,
            angle: tilt,
        });
        y += size + sweep + size * (0.5 + rng.f32() * 0.8);
    }

    let (image, lines) = render_colored(width, height, paper, ink, &specs)?;
    Ok(worn(rng, image, lines, geometry))
}

/// Light paper of any tint.
pub(crate) fn paper(rng: &mut Rng) -> Rgb<u8> {
    Rgb([rng.u8(215..=255), rng.u8(215..=255), rng.u8(205..=255)])
}

/// Dark ink of any hue: blue, red, green, brown or black.
pub(crate) fn ink(rng: &mut Rng) -> Rgb<u8> {
    match rng.u8(..5) {
        0 => Rgb([rng.u8(10..60), rng.u8(20..70), rng.u8(110..170)]),
        1 => Rgb([rng.u8(110..160), rng.u8(10..40), rng.u8(10..40)]),
        2 => Rgb([rng.u8(10..40), rng.u8(80..110), rng.u8(30..60)]),
        3 => Rgb([rng.u8(60..90), rng.u8(40..60), rng.u8(20..40)]),
        _ => Rgb([rng.u8(0..50); 3]),
    }
}

/// The page's tilt in degrees, within ±`geometry.max_tilt`.
pub(crate) fn tilt(rng: &mut Rng, geometry: Geometry) -> f32 {
    if geometry.max_tilt > 0.0 {
        (rng.f32() * 2.0 - 1.0) * geometry.max_tilt
    } else {
        0.0
    }
}

/// What paper goes through: blur (half the pages, σ 0.3 to 0.9), noise (±2 to ±8 per
/// channel), the page turned when `geometry` says so, JPEG at quality 50 to 90.
pub(crate) fn worn(rng: &mut Rng, mut image: RgbImage, mut lines: Vec<TextLine>, geometry: Geometry) -> Document {
    if rng.bool() {
        image = image::imageops::blur(&image, 0.3 + rng.f32() * 0.6);
    }
    let amplitude = rng.i16(2..=8);
    noise(rng, &mut image, amplitude);
    if geometry.upside_down {
        image = image::imageops::rotate180(&image);
        let (w, h) = (image.width() as f32, image.height() as f32);
        for l in &mut lines {
            let r = l.ink;
            l.ink = Rect {
                x0: w - r.x1,
                y0: h - r.y1,
                x1: w - r.x0,
                y1: h - r.y0,
            };
        }
    }
    Document {
        image,
        lines,
        jpeg_quality: rng.u8(50..=90),
    }
}

/// Adds noise of ±`amplitude` to every channel of every pixel.
pub(crate) fn noise(rng: &mut Rng, image: &mut RgbImage, amplitude: i16) {
    for p in image.pixels_mut() {
        for c in p.0.iter_mut() {
            *c = (*c as i16 + rng.i16(-amplitude..=amplitude)).clamp(0, 255) as u8;
        }
    }
}

/// `text` shortened word by word until it fits `room` pixels; `None` when not even one word does.
pub(crate) fn fitted(mut text: String, font: Font, size: f32, room: f32) -> accelrt::Result<Option<(String, f32)>> {
    loop {
        let w = font.text_width(&text, size)?;
        if w <= room {
            return Ok(Some((text, w)));
        }
        match text.rfind(' ') {
            Some(i) => text.truncate(i),
            None => return Ok(None),
        }
    }
}

/// Bumped whenever pages change, so stale files in the cache are never reused.
const DOCUMENTS_VERSION: &str = "documents-v1";

/// `count` invoice-like pages of `split` as JPEG files `page_0000.jpg`, … in `dir`, written
/// when missing (the same index always draws the same page).
pub fn document_set_in(dir: &Path, split: Split, count: usize, geometry: Geometry) -> accelrt::Result<Vec<Sample>> {
    page_set_in(dir, PageKind::Invoice, split, count, geometry)
}

/// `count` pages of `kind` and `split` as JPEG files `page_0000.jpg`, … in `dir`, written
/// when missing (the same index always draws the same page).
pub fn page_set_in(
    dir: &Path,
    kind: PageKind,
    split: Split,
    count: usize,
    geometry: Geometry,
) -> accelrt::Result<Vec<Sample>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| accelrt::Error::Config(format!("cannot create {}: {e}", dir.display())))?;
    (0..count)
        .map(|i| {
            let doc = page(kind, split, i, geometry)?;
            let path = dir.join(format!("page_{i:04}.jpg"));
            if !path.is_file() {
                // Write under a temporary name: a concurrent reader never sees half a file.
                let tmp = dir.join(format!(".page_{i:04}.{}.jpg", std::process::id()));
                let write = || -> Result<(), Box<dyn std::error::Error>> {
                    let file = BufWriter::new(std::fs::File::create(&tmp)?);
                    JpegEncoder::new_with_quality(file, doc.jpeg_quality).encode_image(&doc.image)?;
                    std::fs::rename(&tmp, &path)?;
                    Ok(())
                };
                write().map_err(|e| accelrt::Error::Config(format!("cannot write {}: {e}", path.display())))?;
            }
            Ok(Sample {
                path,
                width: doc.image.width(),
                height: doc.image.height(),
                lines: doc.lines,
            })
        })
        .collect()
}

/// [`document_set_in`] the cache's `documents` folder, one subfolder per split and geometry.
pub fn document_set(split: Split, count: usize, geometry: Geometry) -> accelrt::Result<Vec<Sample>> {
    page_set(PageKind::Invoice, split, count, geometry)
}

/// [`page_set_in`] the cache's `documents` folder, one subfolder per kind, split and geometry
/// (the invoice pages' folders keep their old names: `held-out`, `dev-7`).
pub fn page_set(kind: PageKind, split: Split, count: usize, geometry: Geometry) -> accelrt::Result<Vec<Sample>> {
    let mut name = match kind {
        PageKind::Invoice => split.name(),
        other => format!("{}-{}", other.name(), split.name()),
    };
    if geometry.max_tilt > 0.0 {
        name.push_str(&format!("-tilt{}", geometry.max_tilt));
    }
    if geometry.upside_down {
        name.push_str("-turned");
    }
    let dir = accelrt_onnx::cache_dir()?.join(DOCUMENTS_VERSION).join(name);
    page_set_in(&dir, kind, split, count, geometry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_reproducible_and_splits_differ() {
        let a = document(Split::HeldOut, 3, Geometry::default()).unwrap();
        let b = document(Split::HeldOut, 3, Geometry::default()).unwrap();
        assert_eq!(a.image, b.image);
        let texts = |d: &Document| d.lines.iter().map(|l| l.spec.text.clone()).collect::<Vec<_>>();
        assert_eq!(texts(&a), texts(&b));
        let dev = document(Split::Development { seed: HELD_OUT_SEED }, 3, Geometry::default()).unwrap();
        assert_ne!(texts(&a), texts(&dev));
        assert!(a.lines.len() >= 2, "{:?}", texts(&a));
        for l in &a.lines {
            assert!(l.ink.x0 >= 0.0 && l.ink.x1 <= a.image.width() as f32, "{l:?}");
            assert!((22.0..=40.0).contains(&l.spec.size));
        }
    }

    #[test]
    fn turned_pages_move_their_boxes() {
        let g = Geometry {
            max_tilt: 0.0,
            upside_down: true,
        };
        let up = document(Split::HeldOut, 0, Geometry::default()).unwrap();
        let down = document(Split::HeldOut, 0, g).unwrap();
        let (w, h) = (up.image.width() as f32, up.image.height() as f32);
        assert_eq!(down.lines[0].ink.x1, w - up.lines[0].ink.x0);
        assert_eq!(down.lines[0].ink.y0, h - up.lines[0].ink.y1);
    }
}
