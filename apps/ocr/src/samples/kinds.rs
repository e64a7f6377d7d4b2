//! The kinds of page the evaluation sets hold besides invoices: each moves the OCR's work
//! somewhere else (detection on big pages, per-image overhead on tiny ones, recognition of
//! long lines), which is what a pipeline sized for one kind gets wrong on the others.

use fastrand::Rng;
use image::Rgb;

use super::documents::{fitted, ink, noise, paper, tilt, worn, Document, Geometry};
use super::render::{render_colored, Font, LineSpec};
use super::text::{line, running, token, word, Vocabulary};

/// What a set's pages look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageKind {
    /// Invoice-like pages, 640 to 1280 px, 3 to 12 lines of 3 to 60 characters
    /// ([`document`](super::document)).
    Invoice,
    /// Forms and tables: scans of 1240 to 1800 px wide (A4 at 150 to 220 dpi, one in four
    /// landscape), a title and a grid of 2 to 5 columns of short cells (1 to 18 characters),
    /// 40 to 120 of them, 24 to 34 px text, rules between rows on half the pages.
    Form,
    /// Small images holding one or two lines: cropped screenshots (flat colours, light or dark
    /// theme, sans serif, 13 to 24 px, no blur, JPEG 90 to 98) and labels (paper, any font, 18
    /// to 40 px, worn like the pages). Screenshots are never turned or tilted, labels are never
    /// tilted.
    Label,
    /// Dense paragraphs: book or letter pages 1000 to 1600 px wide, one font, 20 to 30 px,
    /// every line filled to the margin (40 to 110 characters) but a paragraph's last.
    Paragraph,
    /// Camera photos of a sign or notice: 2000 to 3200 px on the long side, shaded background,
    /// 1 to 6 lines of 3 to 30 characters at 3 to 6% of the short side, blurred and noisy. Few
    /// lines on many pixels: decoding and detection are most of the work.
    Photo,
}

impl PageKind {
    /// Every kind, in the order the benchmark prints them.
    pub const ALL: [PageKind; 5] = [
        PageKind::Invoice,
        PageKind::Form,
        PageKind::Label,
        PageKind::Paragraph,
        PageKind::Photo,
    ];

    /// The kind's name: `invoice`, `form`, `label` or `paragraph`.
    pub fn name(self) -> &'static str {
        match self {
            PageKind::Invoice => "invoice",
            PageKind::Form => "form",
            PageKind::Label => "label",
            PageKind::Paragraph => "paragraph",
            PageKind::Photo => "photo",
        }
    }

    /// The kind named `name` (as [`PageKind::name`] gives it).
    pub fn from_name(name: &str) -> Option<PageKind> {
        PageKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A short cell of a form: a word or two, a number, a date, an amount, a code; sometimes a
/// label with a colon.
fn cell(rng: &mut Rng, vocabulary: Vocabulary) -> String {
    let mut text = match rng.u8(..4) {
        0 => token(rng),
        1 => format!("{} {}", word(rng, vocabulary), word(rng, vocabulary)),
        _ => word(rng, vocabulary),
    };
    if rng.u8(..6) == 0 {
        text.push(':');
    }
    text
}

pub(crate) fn form(rng: &mut Rng, vocabulary: Vocabulary, geometry: Geometry) -> accelrt::Result<Document> {
    let short = rng.u32(1240..=1800);
    let long = (short as f32 * 1.414) as u32;
    let (width, height) = if rng.u8(..4) == 0 { (long, short) } else { (short, long) };
    let (paper, ink) = (paper(rng), ink(rng));
    let tilt = tilt(rng, geometry);
    let font = Font::ALL[rng.usize(..Font::ALL.len())];
    let size = 24.0 + rng.f32() * 10.0;
    let margin = rng.u32(60..140) as f32;
    let mut specs = Vec::new();

    // The title, larger.
    let title_size = size * 1.4;
    let target = rng.usize(10..30);
    if let Some((text, _)) = fitted(line(rng, vocabulary, target), font, title_size, width as f32 / 2.0)? {
        specs.push(spec(text, font, title_size, margin, margin, tilt));
    }
    let columns = rng.usize(2..=5);
    let column_width = (width as f32 - 2.0 * margin) / columns as f32;
    // Cells at least two characters apart, so the detector sees them as separate lines.
    let room = column_width - 1.5 * size;
    let pitch = size * (1.7 + rng.f32() * 0.6);
    let mut rows = Vec::new();
    let mut y = margin + title_size * 2.5;
    let cells = rng.usize(40..=120);
    while specs.len() < cells && y + size < height as f32 - margin {
        rows.push(y);
        for c in 0..columns {
            if rng.u8(..6) == 0 {
                continue; // an empty cell
            }
            let text = cell(rng, vocabulary);
            if let Some((text, _)) = fitted(text, font, size, room)? {
                let x = margin + c as f32 * column_width + rng.f32() * size * 0.5;
                specs.push(spec(text, font, size, x, y, tilt));
            }
        }
        y += pitch;
    }
    let (mut image, lines) = render_colored(width, height, paper, ink, &specs)?;
    if rng.bool() {
        // Thin grey rules halfway between rows, across the table.
        let rule = Rgb([paper[0] / 2 + 40, paper[1] / 2 + 40, paper[2] / 2 + 40]);
        for &row in &rows {
            let ry = (row - (pitch - size) / 2.0).max(0.0) as u32;
            for x in margin as u32..(width as f32 - margin) as u32 {
                image.put_pixel(x, ry.min(height - 1), rule);
            }
        }
    }
    Ok(worn(rng, image, lines, geometry))
}

pub(crate) fn label(rng: &mut Rng, vocabulary: Vocabulary, geometry: Geometry) -> accelrt::Result<Document> {
    let screenshot = rng.bool();
    let (font, size) = if screenshot {
        (Font::Sans, 13.0 + rng.f32() * 11.0)
    } else {
        (Font::ALL[rng.usize(..Font::ALL.len())], 18.0 + rng.f32() * 22.0)
    };
    let (background, ink) = if !screenshot {
        (paper(rng), ink(rng))
    } else if rng.u8(..4) == 0 {
        // A dark theme: light text on a dark background.
        (Rgb([rng.u8(20..60); 3]), Rgb([rng.u8(200..=255); 3]))
    } else {
        (Rgb([rng.u8(235..=255); 3]), Rgb([rng.u8(0..80); 3]))
    };
    let count = rng.usize(1..=2);
    let texts: Vec<String> = (0..count)
        .map(|_| {
            let target = rng.usize(3..28);
            line(rng, vocabulary, target)
        })
        .collect();
    let widths = texts
        .iter()
        .map(|t| font.text_width(t, size))
        .collect::<accelrt::Result<Vec<f32>>>()?;
    let (mx, my) = (rng.f32() * size + 4.0, rng.f32() * size * 0.6 + 4.0);
    let pitch = size * (1.3 + rng.f32() * 0.4);
    let width = (widths.iter().fold(0.0f32, |a, &b| a.max(b)) + 2.0 * mx).ceil() as u32;
    let height = (size + pitch * (count - 1) as f32 + 2.0 * my).ceil() as u32;
    let specs: Vec<LineSpec> = texts
        .into_iter()
        .enumerate()
        .map(|(k, text)| spec(text, font, size, mx, my + k as f32 * pitch, 0.0))
        .collect();
    let (mut image, lines) = render_colored(width, height, background, ink, &specs)?;
    if screenshot {
        noise(rng, &mut image, 1);
        return Ok(Document {
            image,
            lines,
            jpeg_quality: rng.u8(90..=98),
        });
    }
    Ok(worn(rng, image, lines, geometry))
}

pub(crate) fn paragraph(rng: &mut Rng, vocabulary: Vocabulary, geometry: Geometry) -> accelrt::Result<Document> {
    let width = rng.u32(1000..=1600);
    let height = (width as f32 * (1.3 + rng.f32() * 0.12)) as u32;
    let (paper, ink) = (paper(rng), ink(rng));
    let tilt = tilt(rng, geometry);
    let font = Font::ALL[rng.usize(..Font::ALL.len())];
    let size = 20.0 + rng.f32() * 10.0;
    let margin = rng.u32(40..120) as f32;
    let room = width as f32 - 2.0 * margin;
    let pitch = size * (1.25 + rng.f32() * 0.35);
    let mut specs = Vec::new();
    let mut y = margin;
    while y + size < height as f32 - margin {
        // A paragraph: 2 to 8 lines filled to the margin, the first indented, the last short.
        let lines = rng.usize(2..=8);
        for k in 0..lines {
            if y + size >= height as f32 - margin {
                break;
            }
            let indent = if k == 0 { size * 2.0 } else { 0.0 };
            let target = if k + 1 == lines { rng.usize(10..60) } else { 130 };
            let text = filled(rng, vocabulary, target);
            if let Some((text, _)) = fitted(text, font, size, room - indent)? {
                specs.push(spec(text, font, size, margin + indent, y, tilt));
            }
            y += pitch;
        }
        y += pitch * 0.6;
    }
    let (image, lines) = render_colored(width, height, paper, ink, &specs)?;
    Ok(worn(rng, image, lines, geometry))
}

pub(crate) fn photo(rng: &mut Rng, vocabulary: Vocabulary, geometry: Geometry) -> accelrt::Result<Document> {
    let long = rng.u32(2000..=3200);
    let short = long * 3 / 4;
    let (width, height) = if rng.bool() { (long, short) } else { (short, long) };
    let (light, ink) = (paper(rng), ink(rng));
    let tilt = tilt(rng, geometry);
    let font = Font::ALL[rng.usize(..Font::ALL.len())];
    let size = short as f32 * (0.03 + rng.f32() * 0.03);
    let count = rng.usize(1..=6);
    let pitch = size * (1.4 + rng.f32() * 0.5);
    let room = width as f32 * 0.85;
    let mut y = (height as f32 - pitch * count as f32) * (0.15 + rng.f32() * 0.5);
    let mut specs = Vec::new();
    for _ in 0..count {
        let target = rng.usize(3..30);
        if let Some((text, w)) = fitted(line(rng, vocabulary, target), font, size, room)? {
            let x = (width as f32 - w) * (0.1 + rng.f32() * 0.8);
            specs.push(spec(text, font, size, x, y, tilt));
        }
        y += pitch;
    }
    let (mut image, lines) = render_colored(width, height, light, ink, &specs)?;
    // Light falling off from one corner, as in a photo taken under a lamp.
    let (cx, cy) = (rng.f32() * width as f32, rng.f32() * height as f32);
    let fall = 0.25 + rng.f32() * 0.2;
    let reach = (width * width + height * height) as f32;
    for (x, y, p) in image.enumerate_pixels_mut() {
        let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)) / reach;
        let k = 1.0 - fall * d;
        for c in p.0.iter_mut() {
            *c = (*c as f32 * k) as u8;
        }
    }
    image = image::imageops::blur(&image, 0.6 + rng.f32() * 0.9);
    let amplitude = rng.i16(4..=12);
    noise(rng, &mut image, amplitude);
    Ok(Document {
        image,
        lines,
        jpeg_quality: rng.u8(70..=92),
    })
}

/// Running text of about `target` characters: words, one in eight a number or date, one in
/// ten followed by a comma or a full stop.
fn filled(rng: &mut Rng, vocabulary: Vocabulary, target: usize) -> String {
    running(rng, vocabulary, target, 8, |rng| {
        (rng.u8(..10) == 0).then(|| if rng.bool() { ',' } else { '.' })
    })
}

fn spec(text: String, font: Font, size: f32, x: f32, y: f32, angle: f32) -> LineSpec {
    LineSpec {
        text,
        font,
        size,
        x,
        y,
        angle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::{page, Split};

    #[test]
    fn every_kind_is_reproducible_fits_its_page_and_differs_between_splits() {
        let g = Geometry::default();
        for kind in PageKind::ALL {
            assert_eq!(PageKind::from_name(kind.name()), Some(kind));
            let a = page(kind, Split::HeldOut, 1, g).unwrap();
            if kind == PageKind::Label {
                // Reproducible (checked on the smallest kind: the unoptimised test build draws
                // big pages slowly; every kind comes from the same seeded stream).
                assert_eq!(a.image, page(kind, Split::HeldOut, 1, g).unwrap().image);
            }
            let texts = |d: &Document| d.lines.iter().map(|l| l.spec.text.clone()).collect::<Vec<_>>();
            let dev = page(kind, Split::Development { seed: 1 }, 1, g).unwrap();
            assert_ne!(texts(&a), texts(&dev), "{kind:?}");
            let (w, h) = (a.image.width() as f32, a.image.height() as f32);
            assert!(!a.lines.is_empty(), "{kind:?}");
            for l in &a.lines {
                assert!(
                    l.ink.x0 >= 0.0 && l.ink.x1 <= w && l.ink.y0 >= 0.0 && l.ink.y1 <= h,
                    "{kind:?}: {l:?}"
                );
            }
            let long = w.max(h);
            let (lines, sides) = (a.lines.len(), long as u32);
            match kind {
                PageKind::Invoice => assert!((640..=1280).contains(&sides)),
                PageKind::Form => assert!(lines >= 30 && (1700..=2600).contains(&sides), "{lines} {sides}"),
                PageKind::Label => assert!(lines <= 2 && sides < 800, "{lines} {sides}"),
                PageKind::Paragraph => {
                    assert!(lines >= 15, "{lines}");
                    assert!(a.lines.iter().any(|l| l.spec.text.len() >= 40));
                }
                PageKind::Photo => assert!(lines <= 6 && (2000..=3200).contains(&sides), "{lines} {sides}"),
            }
        }
        assert_eq!(PageKind::from_name("receipt"), None);
    }
}
