//! How well the OCR pipeline reads, on the real PP-OCRv4 models: a slice of the held-out
//! evaluation set, a few held-out pages of every other kind (forms, labels, paragraphs,
//! photos), pages with tilted lines, pages upside down, and a line far longer than a fixed
//! recogniser width would hold. The models and ONNX Runtime come from PyPI into the
//! workspace's `.cache` (the first run needs network access to PyPI); the pages are rendered
//! there.
//!
//! A line counts as read when a recognised line equals it with spaces and case ignored
//! (PP-OCR drops spaces between words, and several letters differ from their capitals only in
//! size); the case-kept rate is printed beside it.

use std::sync::OnceLock;

use accelrt::{dataset, AsyncRuntime};
use accelrt_ocr::samples::{self, document_set, page_set, Font, Geometry, LineSpec, PageKind, Sample, Split};
use accelrt_ocr::{
    self as ocr, score_lines, score_transcript, ImageSource, LineScore, OcrOutput, OcrPipeline, OcrSettings,
};
use accelrt_onnx::models;

/// The held-out pages the test reads: the first 16 (about 120 lines, so one miss is allowed
/// under 99%); the benchmark measures the whole set.
const HELD_OUT_SLICE: usize = 16;

fn setup() {
    accelrt_onnx::set_cache_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.cache"));
}

/// One pipeline for all tests, sized for a 2-core CI machine.
fn pipeline() -> &'static OcrPipeline {
    static PIPELINE: OnceLock<OcrPipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        setup();
        let s = OcrSettings {
            images_in_flight: 4,
            ..OcrSettings::default()
        };
        ocr::pipeline(&models::ocr().expect("fetching the PP-OCR models"), &s).expect("building the OCR pipeline")
    })
}

/// Runs `set` through the pipeline; the score over all its lines and each page's output.
fn read(set: &[Sample]) -> (LineScore, Vec<OcrOutput>) {
    let sources = set.iter().map(|s| ImageSource::Path(s.path.clone()));
    let outputs: Vec<OcrOutput> = dataset::ordered_blocking(pipeline(), sources, 8)
        .map(|r| r.expect("reading a page"))
        .collect();
    let mut score = LineScore::default();
    for (sample, out) in set.iter().zip(&outputs) {
        let want: Vec<String> = sample.lines.iter().map(|l| l.spec.text.clone()).collect();
        let got: Vec<String> = out.lines.iter().map(|l| l.text.clone()).collect();
        let s = score_lines(&want, &got);
        if s.ignoring_case < s.lines {
            eprintln!("{}: drawn {want:?}\n  read {got:?}", sample.path.display());
        }
        score += s;
    }
    eprintln!(
        "{} lines: {:.1}% read ignoring case, {:.1}% with case kept",
        score.lines,
        100.0 * score.ignoring_case_rate(),
        100.0 * score.exact_rate()
    );
    (score, outputs)
}

/// At least `percent` of the lines read, spaces and case ignored.
fn assert_read(score: &LineScore, percent: usize, what: &str) {
    assert!(score.lines >= 20, "{what}: only {} lines", score.lines);
    assert!(
        score.ignoring_case * 100 >= score.lines * percent,
        "{what}: read {} of {} lines; expected at least {percent}%",
        score.ignoring_case,
        score.lines
    );
}

#[test]
fn reads_99_percent_of_the_held_out_lines() {
    setup();
    let set = document_set(Split::HeldOut, HELD_OUT_SLICE, Geometry::default()).expect("rendering the held-out pages");
    let (score, outputs) = read(&set);
    assert_read(&score, 99, "held-out pages");
    assert!(outputs.iter().flat_map(|o| &o.lines).all(|l| !l.turned));
}

/// A few held-out pages of every other kind, through the default (adaptive) pipeline: each
/// kind moves the work to another stage, and each must be read as well as invoices are.
#[test]
fn reads_forms_labels_paragraphs_and_photos() {
    setup();
    // Kept small for the unoptimised test build: one big page each, labels by the dozen.
    for (kind, pages) in [
        (PageKind::Form, 1),
        (PageKind::Label, 12),
        (PageKind::Paragraph, 1),
        (PageKind::Photo, 2),
    ] {
        let set = page_set(kind, Split::HeldOut, pages, Geometry::default()).expect("rendering");
        let (score, _) = read(&set);
        let what = format!("held-out {} pages", kind.name());
        if kind == PageKind::Photo {
            // Photos hold few lines: all must be read.
            assert_eq!(score.ignoring_case, score.lines, "{what}");
        } else {
            assert_read(&score, 95, &what);
        }
    }
}

/// Four pages each, about 25 lines: 95% allows one miss. (On 30 development pages of each
/// kind the example read every line; the 99% target is measured on upright pages.)
/// The real scans from PyPI (`samples::real_scans`): pages nobody here drew, with transcripts
/// made by OCR. Thresholds sit below what the pipeline reads today (linn: 92.7% of the lines
/// reproduced, 1.4% character errors; typewriter: 76.5%, 1.9%), above what a reader that
/// misses a column or misplaces lines would score.
#[test]
fn reads_real_scans_close_to_their_transcripts() {
    setup();
    let scans = samples::real_scans().expect("fetching the real scans from PyPI");
    assert_eq!(scans.len(), 2);
    for scan in &scans {
        let out = pipeline()
            .run(ImageSource::Path(scan.path.clone()))
            .wait()
            .expect("reading a real scan");
        let got: Vec<String> = out.lines.iter().map(|l| l.text.clone()).collect();
        let s = score_transcript(&scan.transcript, &got);
        eprintln!(
            "{} ({}x{}): {} of {} transcript lines reproduced, {:.1}% character errors",
            scan.name,
            scan.width,
            scan.height,
            s.reproduced,
            s.lines,
            100.0 * s.char_error_rate()
        );
        assert!(s.reproduced_rate() >= 0.65, "{}: {s:?}\n  read {got:?}", scan.name);
        assert!(s.char_error_rate() <= 0.05, "{}: {s:?}\n  read {got:?}", scan.name);
    }
}

#[test]
fn reads_tilted_lines_and_pages_upside_down() {
    setup();
    let tilted = Geometry {
        max_tilt: 5.0,
        upside_down: false,
    };
    let set = document_set(Split::HeldOut, 4, tilted).expect("rendering tilted pages");
    assert!(
        set.iter().any(|s| s.lines[0].spec.angle.abs() > 2.0),
        "no page is tilted by more than 2°"
    );
    let (score, outputs) = read(&set);
    assert_read(&score, 95, "tilted pages");
    assert!(outputs.iter().flat_map(|o| &o.lines).all(|l| !l.turned));

    let turned = Geometry {
        max_tilt: 0.0,
        upside_down: true,
    };
    let set = document_set(Split::HeldOut, 4, turned).expect("rendering pages upside down");
    let (score, outputs) = read(&set);
    assert_read(&score, 95, "pages upside down");
    // The orientation classifier turned every line before reading it.
    for l in outputs.iter().flat_map(|o| &o.lines) {
        assert!(l.turned, "{:?} was read without being turned", l.text);
    }
}

#[test]
fn lines_of_different_widths_never_share_a_batch() {
    setup();
    // Big batches that wait long for company: lines of every width from eight pages queue
    // together. The pipeline's backends refuse a batch of mixed shapes, so a single mixed
    // batch would fail its pages.
    let mut s = OcrSettings {
        images_in_flight: 8,
        batch_timeout: std::time::Duration::from_millis(50),
        ..OcrSettings::default()
    };
    // GPU-style settings: coarse width buckets, so lines of several pages meet on one width.
    s.cls.max_batch = 32;
    s.rec.max_batch = 32;
    s.rec_widths.step = 160;
    let pipeline = ocr::pipeline(&models::ocr().expect("fetching the PP-OCR models"), &s).expect("building");
    let set = document_set(Split::Development { seed: 7 }, 8, Geometry::default()).expect("rendering");
    // About 20 px per character at height 48: the lines fall in many 160-px buckets.
    let buckets: std::collections::BTreeSet<usize> = set
        .iter()
        .flat_map(|p| &p.lines)
        .map(|l| l.spec.text.len() * 20 / 160)
        .collect();
    assert!(
        buckets.len() >= 4,
        "the pages' lines span only {} buckets",
        buckets.len()
    );
    let sources = set.iter().map(|p| ImageSource::Path(p.path.clone()));
    let mut score = LineScore::default();
    for (page, out) in set.iter().zip(dataset::ordered_blocking(&pipeline, sources, 16)) {
        let out = out.expect("every page read: no batch mixed widths");
        let want: Vec<String> = page.lines.iter().map(|l| l.spec.text.clone()).collect();
        let got: Vec<String> = out.lines.iter().map(|l| l.text.clone()).collect();
        score += score_lines(&want, &got);
    }
    assert_read(&score, 95, "pages read in big batches");
}

#[test]
fn reads_a_line_far_wider_than_a_fixed_recogniser_width() {
    setup();
    // 72 characters: about 1500 px at the recogniser's height of 48, where a fixed 320-px
    // input would squeeze it more than four-fold.
    let text = "model pipeline due latency number 2024-11-23 TOTAL 1,234.56 EUR paid at 10:30";
    let spec = LineSpec {
        text: text.into(),
        font: Font::Sans,
        size: 26.0,
        x: 20.0,
        y: 40.0,
        angle: 0.0,
    };
    let (img, _) = samples::render(1200, 120, 250, &[spec]).expect("rendering");
    let out = pipeline().run(ImageSource::Image(img)).wait().expect("reading");
    let got: Vec<String> = out.lines.iter().map(|l| l.text.clone()).collect();
    let score = score_lines(&[text.to_string()], &got);
    assert_eq!(score.exact, 1, "read {got:?}");
}
