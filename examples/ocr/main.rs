//! Optical character recognition over a set of images with the PP-OCRv4 models, as an accelrt
//! pipeline; with `--bench`, next to the Python tool users would otherwise pick (rapidocr) and
//! a naive sequential Rust loop, from one run.
//!
//! ```text
//! cargo run --release --example ocr                               # 24 held-out pages
//! cargo run --release --example ocr -- --dir scans/               # your own PNG or JPEG files
//! cargo run --release --example ocr -- --bench --images 100 --quiet   # the benchmark
//! ```
//!
//! The first run fetches ONNX Runtime (`onnxruntime==1.31.1`) and the models
//! (`rapidocr-onnxruntime==1.4.4`) from PyPI with `python3 -m pip download` into the cache
//! (`$ACCELRT_CACHE`, else this workspace's `.cache`), and renders its evaluation pages there
//! (`accelrt_ocr::samples::document_set`): invoice-like JPEG pages, 640 to 1280 px, 3 to 12
//! lines of 3 to 60 characters (words in three cases, dates, amounts, codes), DejaVu fonts at
//! 22 to 40 px, coloured paper and ink, blur, noise, JPEG quality 50 to 90. `--set held-out`
//! (the default) is the set measured on and never tuned on; `--set dev --seed N` are the sets
//! to tune on; `--set simple` is the detector example's grey pages. A line counts as read
//! when some recognised line equals it with spaces removed; the table gives that with case
//! kept, with case ignored, and how many misses are only capital O read as zero or back.
//!
//! `--bench` runs, one after another on the same images: (a) the Python peer, rapidocr with its
//! default settings, one image at a time (`examples/ocr/peer.py`), installed by this example
//! the first time into a virtual environment in the cache (`python3 -m venv`; pip from PyPI;
//! `--no-peer` skips it); (b) the naive loop: the same Rust steps one image and one line at a
//! time on three plain sessions with `--naive-threads` intra-op threads each (default: ONNX
//! Runtime's own choice); (c) the accelrt pipeline (`accelrt_ocr::pipeline`), which decodes on
//! `--decoders` threads, detects on `--det-instances` sessions, cuts lines out on
//! `--croppers` threads, then sends every line of every image in flight (`--in-flight`)
//! through one orientation-classifier runtime and one recogniser runtime (`--rec-instances`
//! sessions) that batch up to `--cls-batch` / `--rec-batch` lines of one width across images
//! (recogniser inputs padded to width buckets, `--rec-min-width`, `--rec-step`; the defaults
//! are `OcrSettings::default()`'s, which on a CPU run the recogniser one line at a time).
//!
//! Options: `--images N`, `--dir DIR`, `--set held-out|dev|simple`, `--seed N`, `--tilt DEG`
//! (lines tilted by up to DEG), `--turned` (pages upside down), `--bench`, `--no-peer`,
//! `--rounds N` (with `--bench`: measure the Rust modes N times, keep each one's best),
//! `--quiet` (no per-image lines), `--misses` (print lines not read even ignoring case), `--raw` (the
//! recogniser's reading as it is: no settling of O/0 and same-shape letters by their word), `--det-side PX`,
//! `--rec-min-width PX`, `--rec-step PX`, `--decoders N`, `--croppers N`, `--in-flight N`,
//! `--det-instances N`, `--det-threads N`, `--det-batch N`, `--cls-batch N`, `--rec-instances N`,
//! `--rec-threads N`, `--rec-batch N`, `--timeout-ms N`, `--naive-threads N`.

mod peer;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use accelrt::{dataset, AsyncRuntime};
use accelrt_ocr::samples::{self, Geometry, Split};
use accelrt_ocr::{self as ocr, score_lines, ImageSource, LineScore, OcrOutput, OcrSettings, SequentialOcr};
use accelrt_onnx::models;
use indicatif::{ProgressBar, ProgressStyle};

struct Args {
    images: usize,
    dir: Option<PathBuf>,
    set: String,
    seed: u64,
    geometry: Geometry,
    bench: bool,
    peer: bool,
    rounds: usize,
    quiet: bool,
    misses: bool,
    naive_threads: Option<usize>,
    settings: OcrSettings,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        images: 24,
        dir: None,
        set: "held-out".into(),
        seed: 1,
        geometry: Geometry::default(),
        bench: false,
        peer: true,
        rounds: 1,
        quiet: false,
        misses: false,
        naive_threads: None,
        settings: OcrSettings::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let mut number = || -> Result<usize, String> {
            let v = value()?;
            v.parse().map_err(|_| format!("{flag}: expected a number, got {v:?}"))
        };
        let s = &mut a.settings;
        match flag.as_str() {
            "--images" => a.images = number()?,
            "--dir" => a.dir = Some(value()?.into()),
            "--set" => a.set = value()?,
            "--seed" => a.seed = number()? as u64,
            "--tilt" => a.geometry.max_tilt = number()? as f32,
            "--turned" => a.geometry.upside_down = true,
            "--bench" => a.bench = true,
            "--no-peer" => a.peer = false,
            "--rounds" => a.rounds = number()?.max(1),
            "--quiet" => a.quiet = true,
            "--misses" => a.misses = true,
            "--raw" => s.settle_confusables = false,
            "--naive-threads" => a.naive_threads = Some(number()?),
            "--det-side" => s.det_side = number()? as u32,
            "--rec-min-width" => s.rec_widths.min = number()? as u32,
            "--rec-step" => s.rec_widths.step = number()? as u32,
            "--decoders" => s.decoders = number()?,
            "--croppers" => s.croppers = number()?,
            "--in-flight" => s.images_in_flight = number()?,
            "--det-instances" => s.det.instances = number()?,
            "--det-threads" => s.det.threads = number()?,
            "--det-batch" => s.det.max_batch = number()?,
            "--cls-batch" => s.cls.max_batch = number()?,
            "--rec-instances" => s.rec.instances = number()?,
            "--rec-threads" => s.rec.threads = number()?,
            "--rec-batch" => s.rec.max_batch = number()?,
            "--timeout-ms" => s.batch_timeout = Duration::from_millis(number()? as u64),
            "--help" | "-h" => return Err("see the header of examples/ocr/main.rs for the options".into()),
            other => {
                return Err(format!(
                    "unknown option {other:?}; see the header of examples/ocr/main.rs"
                ))
            }
        }
    }
    Ok(a)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Per image: the file and, for rendered images, the lines drawn on it.
type Inputs = (Vec<PathBuf>, Vec<Option<Vec<String>>>);

fn inputs(args: &Args) -> Result<Inputs, Box<dyn std::error::Error>> {
    if let Some(dir) = &args.dir {
        let paths = ocr::image_files(dir, args.images)?;
        let n = paths.len();
        return Ok((paths, vec![None; n]));
    }
    let set = match args.set.as_str() {
        "held-out" => samples::document_set(Split::HeldOut, args.images, args.geometry)?,
        "dev" => samples::document_set(Split::Development { seed: args.seed }, args.images, args.geometry)?,
        "simple" => samples::sample_set(args.images)?,
        other => return Err(format!("--set: expected held-out, dev or simple, got {other:?}").into()),
    };
    Ok(set
        .into_iter()
        .map(|s| (s.path, Some(s.lines.into_iter().map(|l| l.spec.text).collect())))
        .unzip())
}

/// One measured mode: its name, time and what it read per image.
struct Row {
    name: String,
    took: Duration,
    texts: Vec<Option<Vec<String>>>,
}

fn texts(r: &accelrt::Result<OcrOutput>) -> Option<Vec<String>> {
    r.as_ref()
        .ok()
        .map(|o| o.lines.iter().map(|l| l.text.clone()).collect())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    if std::env::var_os(accelrt_onnx::CACHE_ENV).is_none() {
        accelrt_onnx::set_cache_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.cache"));
    }
    let models = models::ocr()?;
    let (paths, expected) = inputs(&args)?;
    if paths.is_empty() {
        return Err("no PNG or JPEG images to run on".into());
    }
    let s = &args.settings;
    let mut rows = Vec::new();

    if args.bench && args.peer {
        let bar = spinner("rapidocr (Python)");
        let peer = peer::run_peer(&accelrt_onnx::cache_dir()?, &paths)?;
        bar.finish_and_clear();
        rows.push(Row {
            name: "rapidocr-onnxruntime 1.4.4 (Python, defaults, 1 image at a time)".into(),
            took: peer.took,
            texts: peer.texts.into_iter().map(Some).collect(),
        });
    }

    let pipeline = ocr::pipeline(&models, s)?;
    let mut naive = if args.bench {
        Some(SequentialOcr::open(&models, s, args.naive_threads)?)
    } else {
        None
    };
    // Warm up both paths once, so neither timing includes first-run allocation.
    pipeline.run(ImageSource::Path(paths[0].clone())).wait()?;
    if let Some(n) = naive.as_mut() {
        n.run(ImageSource::Path(paths[0].clone()))?;
    }

    let mut best: [Option<Duration>; 2] = [None, None];
    let mut naive_results = Vec::new();
    let mut results = Vec::new();
    for round in 1..=args.rounds {
        let suffix = if args.rounds > 1 {
            format!(" {round}/{}", args.rounds)
        } else {
            String::new()
        };
        if let Some(n) = naive.as_mut() {
            let bar = progress(paths.len(), format!("naive{suffix}"));
            let start = Instant::now();
            naive_results = paths
                .iter()
                .map(|p| {
                    let r = n.run(ImageSource::Path(p.clone()));
                    bar.inc(1);
                    r
                })
                .collect();
            keep_best(&mut best[0], start.elapsed());
            bar.finish_and_clear();
        }
        let bar = progress(paths.len(), format!("accelrt{suffix}"));
        let start = Instant::now();
        // A window of twice the images in flight keeps every stage's queue fed.
        let window = 2 * s.images_in_flight;
        let sources = paths.iter().map(|p| ImageSource::Path(p.clone()));
        results = dataset::ordered_blocking(&pipeline, sources, window)
            .inspect(|_| bar.inc(1))
            .collect();
        keep_best(&mut best[1], start.elapsed());
        bar.finish_and_clear();
    }
    if let Some(took) = best[0] {
        rows.push(Row {
            name: format!(
                "naive Rust loop (3 sessions, {} threads, 1 image + 1 line at a time)",
                args.naive_threads.map_or("ORT default".to_string(), |t| t.to_string())
            ),
            took,
            texts: naive_results.iter().map(texts).collect(),
        });
    }
    rows.push(Row {
        name: format!(
            "accelrt pipeline (det {}x{}, cls/rec batch {}/{} across images)",
            s.det.instances, s.det.threads, s.cls.max_batch, s.rec.max_batch
        ),
        took: best[1].unwrap_or_default(),
        texts: results.iter().map(texts).collect(),
    });

    let mut failed = 0;
    for (i, path) in paths.iter().enumerate() {
        let name = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
        match &results[i] {
            Ok(out) if !args.quiet => {
                println!("{name}: {} line(s)", out.lines.len());
                for l in &out.lines {
                    let turned = if l.turned { " (turned)" } else { "" };
                    println!("    {:<50} {:.3}{turned}", format!("{:?}", l.text), l.score);
                }
            }
            Ok(_) => {}
            Err(e) => {
                failed += 1;
                println!("{name}: error: {e}");
            }
        }
        if args.misses {
            if let (Some(want), Some(got)) = (&expected[i], texts(&results[i])) {
                print_misses(&name, want, &got);
            }
        }
    }

    println!();
    println!(
        "{:<72} {:>6} {:>8} {:>9} {:>8} {:>9} {:>9} {:>5}",
        "mode", "images", "seconds", "images/s", "vs first", "lines ok", "any case", "O/0"
    );
    let first = rows[0].took.as_secs_f64();
    for row in &rows {
        let mut score = LineScore::default();
        for (want, got) in expected.iter().zip(&row.texts) {
            if let Some(want) = want {
                score += score_lines(want, got.as_deref().unwrap_or_default());
            }
        }
        let pct = |r: f64| {
            if score.lines == 0 {
                "-".to_string()
            } else {
                format!("{:.1}%", 100.0 * r)
            }
        };
        let secs = row.took.as_secs_f64();
        println!(
            "{:<72} {:>6} {secs:>8.2} {:>9.2} {:>7.2}x {:>9} {:>9} {:>5}",
            row.name,
            paths.len(),
            paths.len() as f64 / secs,
            first / secs,
            pct(score.exact_rate()),
            pct(score.ignoring_case_rate()),
            score.o_zero_only
        );
    }
    let lines: usize = expected.iter().flatten().map(Vec::len).sum();
    if lines > 0 {
        println!(
            "({lines} lines; \"lines ok\": read exactly, spaces ignored, case kept; \"any case\": case ignored \
             too; \"O/0\": lines missed only by capital O read as zero or back)"
        );
    }
    if args.rounds > 1 {
        println!("(Rust modes: best of {} rounds)", args.rounds);
    }
    for st in pipeline.stats().stages {
        println!(
            "stage {:<10} items {:>5}  busy {:>8.2?}  queued {:>8.2?}",
            st.name, st.items, st.busy, st.queue_wait
        );
    }
    if failed > 0 {
        return Err(format!("{failed} image(s) failed").into());
    }
    Ok(())
}

/// Prints each line not read even ignoring case, beside the read line that starts most like it.
fn print_misses(name: &str, want: &[String], got: &[String]) {
    let key = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase()
    };
    for w in want {
        if score_lines(std::slice::from_ref(w), got).ignoring_case == 0 {
            let wk = key(w);
            let closest = got.iter().max_by_key(|g| {
                let gk = key(g);
                wk.chars().zip(gk.chars()).take_while(|(a, b)| a == b).count()
            });
            println!("{name}: missed {w:?}; closest read {closest:?}");
        }
    }
}

fn keep_best(best: &mut Option<Duration>, took: Duration) {
    *best = Some(best.map_or(took, |b| b.min(took)));
}

fn progress(n: usize, label: String) -> ProgressBar {
    let bar = ProgressBar::new(n as u64).with_message(label);
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn spinner(label: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
