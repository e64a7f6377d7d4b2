//! `--bench`: one row per kind of page, each mode on the same pages in the same run: rapidocr
//! (the Python peer), the naive Rust loop, the fixed layout that was the default before
//! (`OcrSettings::for_cores`) and the adaptive pipeline (`OcrSettings::adaptive`). The two
//! pipelines run in interleaved rounds, alternating which goes first, so a noisy machine
//! slows both alike; their ratio is the median of the rounds' ratios.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use accelrt::dataset;
use accelrt_ocr::samples::{self, PageKind};
use accelrt_ocr::{self as ocr, score_lines, CoreUsage, ImageSource, LineScore, OcrOutput, OcrSettings, SequentialOcr};
use accelrt_onnx::models::OcrModels;

use crate::{peer, spinner, Args};

/// What one mode read on a kind's pages and how fast.
struct Measured {
    images_per_s: f64,
    score: LineScore,
}

/// One kind's row.
struct Row {
    kind: PageKind,
    images: usize,
    lines: usize,
    peer: Option<Measured>,
    naive: Option<Measured>,
    fixed: Measured,
    adaptive: Measured,
    /// Median over the rounds of adaptive ÷ fixed images/s.
    paired: f64,
    fixed_layout: String,
    adaptive_layout: String,
    usage: CoreUsage,
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

fn kind_row(args: &Args, models: &OcrModels, kind: PageKind) -> Result<Row, Box<dyn std::error::Error>> {
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
    let measured = |took: Duration, read: &[Option<Vec<String>>]| Measured {
        images_per_s: paths.len() as f64 / took.as_secs_f64(),
        score: score(&expected, read),
    };

    let peer = if args.peer {
        let bar = spinner(&format!("{}: rapidocr (Python)", kind.name()));
        let run = peer::run_peer(&accelrt_onnx::cache_dir()?, &paths)?;
        bar.finish_and_clear();
        let read: Vec<_> = run.texts.into_iter().map(Some).collect();
        Some(measured(run.took, &read))
    } else {
        None
    };

    let naive = if args.naive {
        let bar = spinner(&format!("{}: naive loop", kind.name()));
        let mut naive = SequentialOcr::open(models, &args.settings, args.naive_threads)?;
        naive.run(ImageSource::Path(paths[0].clone()))?;
        let start = Instant::now();
        let read: Vec<_> = paths
            .iter()
            .map(|p| texts(&naive.run(ImageSource::Path(p.clone()))))
            .collect();
        bar.finish_and_clear();
        Some(measured(start.elapsed(), &read))
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
        let bar = spinner(&format!(
            "{}: pipelines, round {}/{}",
            kind.name(),
            round + 1,
            args.rounds
        ));
        let fixed_pass = || pass(&fixed, &paths, 2 * fixed_settings.images_in_flight);
        let adaptive_pass = || pass(&adaptive, &paths, 2 * adaptive_settings.images_in_flight);
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
    Ok(Row {
        kind,
        images: paths.len(),
        lines: expected.iter().map(Vec::len).sum(),
        peer,
        naive,
        fixed: measured(as_rate(fixed_times), &fixed_read),
        adaptive: measured(as_rate(adaptive_times), &adaptive_read),
        paired: median(ratios),
        fixed_layout: fixed_settings.layout(),
        adaptive_layout: adaptive_settings.layout(),
        usage,
    })
}

/// Runs every kind of `args.kinds` and prints the table.
pub fn run(args: &Args, models: &OcrModels) -> Result<(), Box<dyn std::error::Error>> {
    let mut rows = Vec::new();
    for &kind in &args.kinds {
        rows.push(kind_row(args, models, kind)?);
    }
    let set = if args.set == "dev" {
        format!("development set, seed {}", args.seed)
    } else {
        "held-out sets".into()
    };
    println!();
    println!(
        "images/s ({set}, {} cores; pipelines: median of {} interleaved rounds), lines read with case ignored",
        args.cores, args.rounds
    );
    println!(
        "{:<10} {:>6} {:>6} | {:>15} | {:>15} | {:>15} | {:>15} | {:>9} {:>9}",
        "kind", "images", "lines", "rapidocr", "naive loop", "fixed", "adaptive", "÷rapidocr", "÷fixed"
    );
    let cell = |m: Option<&Measured>| {
        m.map_or("-".into(), |m| {
            format!("{:>6.2} {:>7.1}%", m.images_per_s, 100.0 * m.score.ignoring_case_rate())
        })
    };
    for r in &rows {
        let vs_peer = r.peer.as_ref().map_or("-".into(), |p| {
            format!("{:.2}x", r.adaptive.images_per_s / p.images_per_s)
        });
        println!(
            "{:<10} {:>6} {:>6} | {:>15} | {:>15} | {:>15} | {:>15} | {vs_peer:>9} {:>8.2}x",
            r.kind.name(),
            r.images,
            r.lines,
            cell(r.peer.as_ref()),
            cell(r.naive.as_ref()),
            cell(Some(&r.fixed)),
            cell(Some(&r.adaptive)),
            r.paired,
        );
    }
    println!();
    if let Some(r) = rows.first() {
        println!("fixed:    {}", r.fixed_layout);
        println!("adaptive: {}", r.adaptive_layout);
    }
    for r in &rows {
        let shares: Vec<String> = r
            .usage
            .shares()
            .iter()
            .map(|(s, f)| format!("{} {:.0}%", s.name(), 100.0 * f))
            .collect();
        println!(
            "{:<10} adaptive, where the cores went: {}",
            r.kind.name(),
            shares.join(", ")
        );
    }
    Ok(())
}
