//! Optical character recognition over a folder of images with the PP-OCRv4 models, as an
//! accelrt pipeline; with `--bench`, next to a naive sequential loop in the same run.
//!
//! ```text
//! cargo run --release --example ocr                           # 24 rendered text images
//! cargo run --release --example ocr -- --dir scans/           # your own PNG or JPEG files
//! cargo run --release --example ocr -- --bench --images 100   # the benchmark
//! ```
//!
//! The first run fetches ONNX Runtime (`onnxruntime==1.31.1`) and the models
//! (`rapidocr-onnxruntime==1.4.4`) from PyPI with `python3 -m pip download` into the cache
//! (`$ACCELRT_CACHE`, else this workspace's `.cache`), and renders its own text images there:
//! 1600 × 1200 pages with 1 to 4 known lines in four DejaVu fonts at several sizes, so the
//! recognised text can be checked. A line counts as read when some recognised line equals it
//! with spaces removed (PP-OCR drops some spaces between words).
//!
//! The pipeline (`accelrt_onnx::ocr::pipeline`) decodes on `--decoders` threads, detects on
//! `--det-instances` sessions, cuts lines out on `--croppers` threads, then sends every line of
//! every image in flight (`--in-flight`) through one orientation-classifier runtime and one
//! recogniser runtime that batch up to `--cls-batch` / `--rec-batch` lines across images. The
//! naive loop (`--bench`) does the same work one image and one line at a time on three plain
//! sessions with `--naive-threads` intra-op threads each (default: ONNX Runtime's own choice).
//!
//! Options: `--images N`, `--dir DIR`, `--bench`, `--rounds N` (with `--bench`: measure both
//! modes N times, alternating, keep each one's best), `--quiet` (no per-image lines),
//! `--det-side PX`, `--rec-width PX`, `--decoders N`, `--croppers N`, `--in-flight N`,
//! `--det-instances N`, `--det-threads N`, `--det-batch N`, `--cls-batch N`, `--rec-instances N`,
//! `--rec-threads N`, `--rec-batch N`, `--timeout-ms N`, `--naive-threads N`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use accelrt::{dataset, AsyncRuntime};
use accelrt_onnx::ocr::{self, ImageSource, OcrOutput, OcrSettings, SequentialOcr};
use accelrt_onnx::{models, samples};
use indicatif::{ProgressBar, ProgressStyle};

struct Args {
    images: usize,
    dir: Option<PathBuf>,
    bench: bool,
    rounds: usize,
    quiet: bool,
    naive_threads: Option<usize>,
    settings: OcrSettings,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        images: 24,
        dir: None,
        bench: false,
        rounds: 1,
        quiet: false,
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
            "--bench" => a.bench = true,
            "--rounds" => a.rounds = number()?.max(1),
            "--quiet" => a.quiet = true,
            "--naive-threads" => a.naive_threads = Some(number()?),
            "--det-side" => s.det_side = number()? as u32,
            "--rec-width" => s.rec_width = number()? as u32,
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
            "--help" | "-h" => return Err("see the header of examples/ocr.rs for the options".into()),
            other => return Err(format!("unknown option {other:?}; see the header of examples/ocr.rs")),
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
    Ok(match &args.dir {
        Some(dir) => {
            let paths = samples::image_files(dir, args.images)?;
            let n = paths.len();
            (paths, vec![None; n])
        }
        None => samples::sample_set(args.images)?
            .into_iter()
            .map(|s| (s.path, Some(s.lines.into_iter().map(|l| l.spec.text).collect())))
            .unzip(),
    })
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

    let (mut lines, mut read, mut naive_read, mut failed) = (0, 0, 0, 0);
    for (i, path) in paths.iter().enumerate() {
        let name = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
        match &results[i] {
            Ok(out) => {
                if !args.quiet {
                    println!("{name}: {} line(s)", out.lines.len());
                    for l in &out.lines {
                        println!(
                            "    {:<40} {:.3}{}",
                            format!("{:?}", l.text),
                            l.score,
                            if l.turned { " (turned)" } else { "" }
                        );
                    }
                }
            }
            Err(e) => {
                failed += 1;
                println!("{name}: error: {e}");
            }
        }
        if let Some(want) = &expected[i] {
            lines += want.len();
            read += matched(want, results[i].as_ref().ok());
            if let Some(r) = naive_results.get(i) {
                naive_read += matched(want, r.as_ref().ok());
            }
        }
    }
    let accuracy = |n: usize| {
        if lines == 0 {
            "-".to_string()
        } else {
            format!("{:.1}%", 100.0 * n as f64 / lines as f64)
        }
    };
    println!();
    if let [Some(naive_took), Some(took)] = best {
        println!(
            "{:<72} {:>6} {:>8} {:>9} {:>8} {:>9}",
            "mode", "images", "seconds", "images/s", "speed-up", "lines ok"
        );
        let rows = [
            (
                format!(
                    "naive loop (3 sessions, {} threads, 1 image + 1 line at a time)",
                    args.naive_threads.map_or("ORT default".to_string(), |t| t.to_string())
                ),
                naive_took,
                naive_read,
            ),
            (
                format!(
                    "accelrt pipeline (det {}x{}, rec {}x{} batch {}, cls batch {}, dec {}, crop {})",
                    s.det.instances,
                    s.det.threads,
                    s.rec.instances,
                    s.rec.threads,
                    s.rec.max_batch,
                    s.cls.max_batch,
                    s.decoders,
                    s.croppers
                ),
                took,
                read,
            ),
        ];
        for (name, t, ok) in rows {
            let secs = t.as_secs_f64();
            println!(
                "{name:<72} {:>6} {secs:>8.2} {:>9.2} {:>7.2}x {:>9}",
                paths.len(),
                paths.len() as f64 / secs,
                naive_took.as_secs_f64() / secs,
                accuracy(ok)
            );
        }
        if args.rounds > 1 {
            println!("(best of {} rounds per mode)", args.rounds);
        }
    } else if let Some(took) = best[1] {
        println!(
            "{} images in {:.2} s ({:.2} images/s); lines read exactly: {} of {lines} ({})",
            paths.len(),
            took.as_secs_f64(),
            paths.len() as f64 / took.as_secs_f64(),
            read,
            accuracy(read)
        );
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

fn keep_best(best: &mut Option<Duration>, took: Duration) {
    *best = Some(best.map_or(took, |b| b.min(took)));
}

/// How many of the `want` lines some recognised line equals, spaces removed, each recognised
/// line used once.
fn matched(want: &[String], got: Option<&OcrOutput>) -> usize {
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let mut got: Vec<String> = got.map_or_else(Vec::new, |o| o.lines.iter().map(|l| squash(&l.text)).collect());
    want.iter()
        .filter(|w| {
            let w = squash(w);
            got.iter().position(|g| *g == w).map(|i| got.swap_remove(i)).is_some()
        })
        .count()
}

fn progress(n: usize, label: String) -> ProgressBar {
    let bar = ProgressBar::new(n as u64).with_message(label);
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
