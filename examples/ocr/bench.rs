//! `--bench`: one row per kind of page, each mode on the same pages in the same run: rapidocr
//! (the Python peer), the naive Rust loop, the fixed layout that was the default before
//! (`OcrSettings::for_cores`) and the adaptive pipeline (`OcrSettings::adaptive`). The two
//! pipelines run in interleaved rounds, alternating which goes first, so a noisy machine
//! slows both alike; their ratio is the median of the rounds' ratios. Then one row per real
//! scan (`samples::real_scans`), each page read several times per pass, scored against its
//! transcript (made by OCR) by lines reproduced and character error rate.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use accelrt::dataset;
use accelrt_ocr::samples::{self, PageKind, RealScan};
use accelrt_ocr::{
    self as ocr, score_lines, score_transcript, CoreUsage, ImageSource, LineScore, OcrOutput, OcrSettings,
    SequentialOcr, TranscriptScore,
};
use accelrt_onnx::models::OcrModels;

use crate::{peer, spinner, Args};

/// What one mode read on a set of pages and how fast.
struct Reads {
    images_per_s: f64,
    /// Per page: its lines, or `None` when it failed.
    read: Vec<Option<Vec<String>>>,
}

/// Every mode on one set of pages.
struct Modes {
    peer: Option<Reads>,
    naive: Option<Reads>,
    fixed: Reads,
    adaptive: Reads,
    /// Median over the rounds of adaptive ÷ fixed images/s.
    paired: f64,
    fixed_layout: String,
    adaptive_layout: String,
    usage: CoreUsage,
}

/// A row: what was measured, and the modes' scores (peer, naive, fixed, adaptive).
struct Row<S> {
    name: String,
    images: usize,
    modes: Modes,
    scores: [Option<S>; 4],
}

impl<S> Row<S> {
    fn scored(name: String, modes: Modes, score: impl Fn(&Reads) -> S) -> Row<S> {
        let scores = [
            modes.peer.as_ref().map(&score),
            modes.naive.as_ref().map(&score),
            Some(score(&modes.fixed)),
            Some(score(&modes.adaptive)),
        ];
        Row {
            name,
            images: modes.fixed.read.len(),
            modes,
            scores,
        }
    }

    fn rates(&self) -> [Option<f64>; 4] {
        let m = &self.modes;
        [
            m.peer.as_ref().map(|r| r.images_per_s),
            m.naive.as_ref().map(|r| r.images_per_s),
            Some(m.fixed.images_per_s),
            Some(m.adaptive.images_per_s),
        ]
    }
}

/// The default number of pages per kind: about ten seconds of the slowest Rust mode each.
fn default_images(kind: PageKind) -> usize {
    match kind {
        PageKind::Invoice => 60,
        PageKind::Form => 24,
        PageKind::Label => 60,
        PageKind::Paragraph => 8,
        PageKind::Photo => 16,
    }
}

fn score(expected: &[Vec<String>], got: &[Option<Vec<String>>]) -> LineScore {
    let mut score = LineScore::default();
    for (want, got) in expected.iter().zip(got) {
        score += score_lines(want, got.as_deref().unwrap_or_default());
    }
    score
}

/// How many times each real scan is read per pass, so the pipelines' overlap across images
/// counts as it does on a folder of pages (about ten seconds of the slowest Rust mode).
fn default_copies(scan: &RealScan) -> usize {
    match scan.name {
        "linn" => 4,
        _ => 8,
    }
}

fn texts(r: &accelrt::Result<OcrOutput>) -> Option<Vec<String>> {
    r.as_ref()
        .ok()
        .map(|o| o.lines.iter().map(|l| l.text.clone()).collect())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the pipeline over `paths` once: how long it took and what it read.
fn pass(pipeline: &ocr::OcrPipeline, paths: &[PathBuf], window: usize) -> (Duration, Vec<Option<Vec<String>>>) {
    let start = Instant::now();
    let sources = paths.iter().map(|p| ImageSource::Path(p.clone()));
    let read: Vec<_> = dataset::ordered_blocking(pipeline, sources, window).collect();
    (start.elapsed(), read.iter().map(texts).collect())
}

/// The settings of the two pipelines: the fixed layout and the adaptive one, both with the
/// image-processing settings of `args`.
fn layouts(args: &Args, cores: usize) -> (OcrSettings, OcrSettings) {
    let s = &args.settings;
    let with_processing = |base: OcrSettings| OcrSettings {
        det_side: s.det_side,
        rec_widths: s.rec_widths,
        det_params: s.det_params,
        settle_confusables: s.settle_confusables,
        min_text_score: s.min_text_score,
        ..base
    };
    (
        with_processing(OcrSettings::for_cores(cores)),
        with_processing(args.settings.clone()),
    )
}

fn kind_row(args: &Args, models: &OcrModels, kind: PageKind) -> Result<Row<LineScore>, Box<dyn std::error::Error>> {
    let count = args.images.unwrap_or_else(|| default_images(kind));
    let set = if args.set == "dev" {
        samples::page_set(
            kind,
            samples::Split::Development { seed: args.seed },
            count,
            args.geometry,
        )?
    } else {
        samples::page_set(kind, samples::Split::HeldOut, count, args.geometry)?
    };
    let paths: Vec<PathBuf> = set.iter().map(|s| s.path.clone()).collect();
    let expected: Vec<Vec<String>> = set
        .iter()
        .map(|s| s.lines.iter().map(|l| l.spec.text.clone()).collect())
        .collect();
    let modes = run_modes(args, models, kind.name(), &paths)?;
    Ok(Row::scored(kind.name().into(), modes, |r| score(&expected, &r.read)))
}

/// A real scan's row: the page read `copies` times per pass, scored on the first reading
/// (every mode reads a page the same way each time).
fn real_row(
    args: &Args,
    models: &OcrModels,
    scan: &RealScan,
) -> Result<Row<TranscriptScore>, Box<dyn std::error::Error>> {
    let copies = args.images.unwrap_or_else(|| default_copies(scan));
    let paths = vec![scan.path.clone(); copies];
    let modes = run_modes(args, models, scan.name, &paths)?;
    Ok(Row::scored(scan.name.into(), modes, |r| {
        score_transcript(&scan.transcript, r.read[0].as_deref().unwrap_or_default())
    }))
}

/// Runs every mode over `paths`: the peer and the naive loop once, the two pipelines in
/// interleaved rounds.
fn run_modes(
    args: &Args,
    models: &OcrModels,
    label: &str,
    paths: &[PathBuf],
) -> Result<Modes, Box<dyn std::error::Error>> {
    let reads = |took: Duration, read: Vec<Option<Vec<String>>>| Reads {
        images_per_s: paths.len() as f64 / took.as_secs_f64(),
        read,
    };

    let peer = if args.peer {
        let bar = spinner(&format!("{label}: rapidocr (Python)"));
        let run = peer::run_peer(&accelrt_onnx::cache_dir()?, paths)?;
        bar.finish_and_clear();
        Some(reads(run.took, run.texts.into_iter().map(Some).collect()))
    } else {
        None
    };

    let naive = if args.naive {
        let bar = spinner(&format!("{label}: naive loop"));
        let mut naive = SequentialOcr::open(models, &args.settings, args.naive_threads)?;
        naive.run(ImageSource::Path(paths[0].clone()))?;
        let start = Instant::now();
        let read: Vec<_> = paths
            .iter()
            .map(|p| texts(&naive.run(ImageSource::Path(p.clone()))))
            .collect();
        bar.finish_and_clear();
        Some(reads(start.elapsed(), read))
    } else {
        None
    };

    let (fixed_settings, adaptive_settings) = layouts(args, args.cores);
    let fixed = ocr::pipeline(models, &fixed_settings)?;
    let (adaptive, cores) = ocr::pipeline_with_cores(models, &adaptive_settings)?;
    // Warm both up, so neither timing holds first-run allocation.
    for p in [&fixed, &adaptive] {
        pass(p, &paths[..1], 1);
    }
    let (mut fixed_times, mut adaptive_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut fixed_read, mut adaptive_read) = (Vec::new(), Vec::new());
    // The core shares of the measured rounds only, not of the warm-up.
    let before = cores.usage();
    for round in 0..args.rounds {
        let bar = spinner(&format!("{label}: pipelines, round {}/{}", round + 1, args.rounds));
        let fixed_pass = || pass(&fixed, paths, 2 * fixed_settings.images_in_flight);
        let adaptive_pass = || pass(&adaptive, paths, 2 * adaptive_settings.images_in_flight);
        let (f, a) = if round % 2 == 0 {
            let f = fixed_pass();
            (f, adaptive_pass())
        } else {
            let a = adaptive_pass();
            (fixed_pass(), a)
        };
        bar.finish_and_clear();
        ratios.push(f.0.as_secs_f64() / a.0.as_secs_f64());
        fixed_times.push(f.0.as_secs_f64());
        adaptive_times.push(a.0.as_secs_f64());
        (fixed_read, adaptive_read) = (f.1, a.1);
    }
    let usage = cores.usage().since(&before);
    let as_rate = |t: Vec<f64>| Duration::from_secs_f64(median(t));
    Ok(Modes {
        peer,
        naive,
        fixed: reads(as_rate(fixed_times), fixed_read),
        adaptive: reads(as_rate(adaptive_times), adaptive_read),
        paired: median(ratios),
        fixed_layout: fixed_settings.layout(),
        adaptive_layout: adaptive_settings.layout(),
        usage,
    })
}

/// The columns every row ends with: adaptive ÷ rapidocr and adaptive ÷ fixed.
fn ratios<S>(r: &Row<S>) -> String {
    let m = &r.modes;
    let vs_peer = m.peer.as_ref().map_or("-".into(), |p| {
        format!("{:.2}x", m.adaptive.images_per_s / p.images_per_s)
    });
    format!("{vs_peer:>9} {:>8.2}x", m.paired)
}

/// Runs every kind of `args.kinds` and the real scans, and prints the tables.
pub fn run(args: &Args, models: &OcrModels) -> Result<(), Box<dyn std::error::Error>> {
    let mut rows = Vec::new();
    for &kind in &args.kinds {
        rows.push(kind_row(args, models, kind)?);
    }
    let mut real_rows = Vec::new();
    let scans = if args.real { samples::real_scans()? } else { Vec::new() };
    for scan in &scans {
        real_rows.push(real_row(args, models, scan)?);
    }
    let set = if args.set == "dev" {
        format!("development set, seed {}", args.seed)
    } else {
        "held-out sets".into()
    };
    println!();
    let cell = |rate: Option<f64>, score: Option<&LineScore>| match (rate, score) {
        (Some(rate), Some(s)) => format!("{rate:>6.2} {:>7.1}%", 100.0 * s.ignoring_case_rate()),
        _ => "-".into(),
    };
    if !rows.is_empty() {
        println!(
            "images/s ({set}, {} cores; pipelines: median of {} interleaved rounds), lines read with case ignored",
            args.cores, args.rounds
        );
        println!(
            "{:<10} {:>6} {:>6} | {:>15} | {:>15} | {:>15} | {:>15} | {:>9} {:>9}",
            "kind", "images", "lines", "rapidocr", "naive loop", "fixed", "adaptive", "÷rapidocr", "÷fixed"
        );
    }
    for r in &rows {
        let cells: Vec<String> = r
            .rates()
            .iter()
            .zip(&r.scores)
            .map(|(rate, s)| cell(*rate, s.as_ref()))
            .collect();
        let lines: usize = r.scores[2].map_or(0, |s| s.lines);
        println!(
            "{:<10} {:>6} {lines:>6} | {:>15} | {:>15} | {:>15} | {:>15} | {}",
            r.name,
            r.images,
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            ratios(r),
        );
    }
    if !real_rows.is_empty() {
        println!();
        println!(
            "real scans (test resources of ocrmypdf 17.13.0 from PyPI; each page read N times per pass; {} cores; \
             pipelines: median of {} interleaved rounds): images/s, transcript lines reproduced, character error rate",
            args.cores, args.rounds
        );
        println!(
            "  The transcripts were made by OCR and hold errors of their own: a reference, not ground truth; a \
             perfect reader would not score 100% / 0%."
        );
        println!(
            "  Letters and digits only, case ignored; lines put in the transcript's order before the error rate. \
             No held-out split: nothing was tuned on these pages."
        );
        println!(
            "{:<10} {:>9} {:>2} {:>5} | {:>21} | {:>21} | {:>21} | {:>21} | {:>9} {:>9}",
            "scan", "size", "N", "lines", "rapidocr", "naive loop", "fixed", "adaptive", "÷rapidocr", "÷fixed"
        );
    }
    let real_cell = |rate: Option<f64>, score: Option<&TranscriptScore>| match (rate, score) {
        (Some(rate), Some(s)) => format!(
            "{rate:>6.2} {:>6.1}% {:>6.1}%",
            100.0 * s.reproduced_rate(),
            100.0 * s.char_error_rate()
        ),
        _ => "-".into(),
    };
    for (r, scan) in real_rows.iter().zip(&scans) {
        let cells: Vec<String> = r
            .rates()
            .iter()
            .zip(&r.scores)
            .map(|(rate, s)| real_cell(*rate, s.as_ref()))
            .collect();
        println!(
            "{:<10} {:>9} {:>2} {:>5} | {:>21} | {:>21} | {:>21} | {:>21} | {}",
            r.name,
            format!("{}x{}", scan.width, scan.height),
            r.images,
            r.scores[2].map_or(0, |s| s.lines),
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            ratios(r),
        );
    }
    println!();
    let first = rows.first().map(|r| &r.modes).or(real_rows.first().map(|r| &r.modes));
    if let Some(m) = first {
        println!("fixed:    {}", m.fixed_layout);
        println!("adaptive: {}", m.adaptive_layout);
    }
    let usages = rows
        .iter()
        .map(|r| (&r.name, &r.modes.usage))
        .chain(real_rows.iter().map(|r| (&r.name, &r.modes.usage)));
    for (name, usage) in usages {
        let shares: Vec<String> = usage
            .shares()
            .iter()
            .map(|(s, f)| format!("{} {:.0}%", s.name(), 100.0 * f))
            .collect();
        println!("{name:<10} adaptive, where the cores went: {}", shares.join(", "));
    }
    Ok(())
}
