//! Text detection over a folder of images with the PP-OCRv4 detector, through accelrt, next to
//! a naive sequential loop over one ONNX Runtime session, in the same run.
//!
//! ```text
//! cargo run --release --example detect                  # 24 rendered text images
//! cargo run --release --example detect -- --images 100  # the benchmark
//! cargo run --release --example detect -- --dir photos/ --side 960
//! ```
//!
//! The first run fetches ONNX Runtime (`onnxruntime==1.31.1`) and the models
//! (`rapidocr-onnxruntime==1.4.4`) from PyPI with `python3 -m pip download` into the cache
//! (`$ACCELRT_CACHE`, else this workspace's `.cache`), and renders its own text images there:
//! 1600 × 1200 pages with 1 to 4 known lines and light scanner-like noise, so decoding and
//! resizing cost what they cost on real pages.
//!
//! Both modes do the same work per image: decode the image, resize and normalise, run the
//! detector, threshold its probability map at 0.3 and count connected regions (text boxes).
//! The naive loop does it one image after another. accelrt decodes on `--decoders` threads,
//! runs the model on `--instances` sessions of `--threads` intra-op threads each, batching up
//! to `--max-batch` requests, and post-processes as results arrive.
//!
//! Options: `--images N`, `--dir DIR`, `--side PX` (longer side of the detector input, default 640),
//! `--instances N`, `--threads N`, `--parallel N`, `--max-batch N`, `--decoders N`,
//! `--rounds N` (measure both modes N times, alternating, and keep each mode's best: other
//! load on the machine then penalises neither), `--no-naive`, `--quiet` (no per-image lines).
//!
//! With `--dir`, images of different sizes give detector inputs of different sizes; the backend
//! runs those as separate sub-batches (see `accelrt_onnx::MixedShapes`).
//!
//! The defaults are the fastest settings found on a 2-core machine: two instances of one
//! intra-op thread each, so each session computes on one core and decoding slots in between
//! (one session of two threads gains nothing: decoding then steals a core from a thread pool
//! whose threads wait for each other); two preparation workers; no batching (batches of this
//! model run slower per image on a CPU); one decoder thread (a second one only competes for the
//! same two cores).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use accelrt::{AsyncRuntime, Task, Tensor};
use accelrt_ocr::detect::{det_input, load_image, text_boxes, Fit};
use accelrt_ocr::samples;
use accelrt_onnx::{models, OnnxBackend};
use indicatif::{ProgressBar, ProgressStyle};

/// PP-OCR's binarisation threshold for the probability map.
const THRESHOLD: f32 = 0.3;
/// Regions smaller than this (in map pixels) are noise, not text.
const MIN_PIXELS: usize = 10;

struct Args {
    images: usize,
    dir: Option<PathBuf>,
    side: u32,
    instances: usize,
    threads: Option<usize>,
    parallel: usize,
    max_batch: usize,
    decoders: usize,
    naive: bool,
    quiet: bool,
    rounds: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        images: 24,
        dir: None,
        side: 640,
        instances: 2,
        threads: None,
        parallel: 2,
        max_batch: 1,
        decoders: 1,
        naive: true,
        quiet: false,
        rounds: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{name}: expected a number, got {v:?}"))
        };
        match flag.as_str() {
            "--images" => a.images = number("--images", value("--images")?)?,
            "--dir" => a.dir = Some(value("--dir")?.into()),
            "--side" => a.side = number("--side", value("--side")?)? as u32,
            "--instances" => a.instances = number("--instances", value("--instances")?)?,
            "--threads" => a.threads = Some(number("--threads", value("--threads")?)?),
            "--parallel" => a.parallel = number("--parallel", value("--parallel")?)?,
            "--max-batch" => a.max_batch = number("--max-batch", value("--max-batch")?)?,
            "--decoders" => a.decoders = number("--decoders", value("--decoders")?)?.max(1),
            "--rounds" => a.rounds = number("--rounds", value("--rounds")?)?.max(1),
            "--no-naive" => a.naive = false,
            "--quiet" => a.quiet = true,
            "--help" | "-h" => return Err("see the header of examples/detect.rs for the options".into()),
            other => {
                return Err(format!(
                    "unknown option {other:?}; see the header of examples/detect.rs"
                ))
            }
        }
    }
    Ok(a)
}

/// One image's result: how many text boxes were found.
type Counts = Vec<Option<usize>>;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    if std::env::var_os(accelrt_onnx::CACHE_ENV).is_none() {
        accelrt_onnx::set_cache_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.cache"));
    }
    let models = models::ocr()?;
    let (paths, expected): (Vec<PathBuf>, Vec<Option<usize>>) = match &args.dir {
        Some(dir) => {
            let paths = accelrt_ocr::image_files(dir, args.images)?;
            let n = paths.len();
            (paths, vec![None; n])
        }
        None => samples::sample_set(args.images)?
            .into_iter()
            .map(|s| (s.path, Some(s.lines.len())))
            .unzip(),
    };
    if paths.is_empty() {
        return Err("no PNG or JPEG images to run on".into());
    }
    let fit = Fit::Within(args.side);

    let mut builder = OnnxBackend::builder(&models.det).instances(args.instances);
    if let Some(t) = args.threads {
        builder = builder.intra_threads(t);
    }
    let backend = builder.build()?;
    let threads = backend.intra_threads();
    let naive_session = if args.naive {
        Some(backend.new_session(None)?)
    } else {
        None
    };
    let runtime = backend
        .runtime_builder()
        .parallel(args.parallel)
        .depth(2)
        .max_batch(args.max_batch)
        .batch_timeout(Duration::from_millis(2))
        .build()?;

    // Warm up both paths once, so neither timing includes first-run allocation.
    let warm = det_input(&load_image(&paths[0])?, fit)?;
    runtime.run(vec![warm.tensor.clone()]).wait()?;

    let mut naive_session = naive_session;
    if let Some(session) = naive_session.as_mut() {
        session.run(std::slice::from_ref(&warm.tensor))?;
    }
    let mut best_naive: Option<Duration> = None;
    let mut best_accelrt: Option<Duration> = None;
    let mut naive_counts = None;
    let mut counts = Vec::new();
    for round in 1..=args.rounds {
        let suffix = if args.rounds > 1 {
            format!(" {round}/{}", args.rounds)
        } else {
            String::new()
        };
        if let Some(session) = naive_session.as_mut() {
            let bar = progress(paths.len(), format!("naive{suffix}"));
            let start = Instant::now();
            let mut found = Vec::with_capacity(paths.len());
            for path in &paths {
                let x = det_input(&load_image(path)?, fit)?;
                let out = session.run(std::slice::from_ref(&x.tensor))?;
                found.push(count(&out, (x.scale_x, x.scale_y)).ok());
                bar.inc(1);
            }
            let took = start.elapsed();
            bar.finish_and_clear();
            best_naive = Some(best_naive.map_or(took, |b| b.min(took)));
            naive_counts = Some(found);
        }
        let bar = progress(paths.len(), format!("accelrt{suffix}"));
        let start = Instant::now();
        counts = detect_concurrently(&runtime, &paths, fit, args.decoders, &bar)?;
        let took = start.elapsed();
        bar.finish_and_clear();
        best_accelrt = Some(best_accelrt.map_or(took, |b| b.min(took)));
    }
    let mut rows = Vec::new();
    if let Some(took) = best_naive {
        rows.push(("naive loop (1 session, ORT default threads)".to_string(), took));
    }
    if let Some(took) = best_accelrt {
        rows.push((
            format!(
                "accelrt ({} inst x {threads} thr, parallel {}, max_batch {}, decoders {})",
                args.instances, args.parallel, args.max_batch, args.decoders
            ),
            took,
        ));
    }

    let mut wrong = 0;
    for (i, path) in paths.iter().enumerate() {
        let found = counts[i];
        let agree = naive_counts.as_ref().is_none_or(|n| n[i] == found);
        let ok = expected[i].is_none_or(|e| Some(e) == found) && agree;
        wrong += usize::from(!ok);
        if !args.quiet || !ok {
            let name = path
                .file_name()
                .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
            let found = found.map_or("error".to_string(), |n| format!("{n} text boxes"));
            let expected = expected[i].map_or(String::new(), |e| format!(" (expected {e})"));
            let disagree = if agree { "" } else { "  naive loop disagrees" };
            println!("{name}: {found}{expected}{disagree}");
        }
    }

    println!();
    println!(
        "{:<70} {:>7} {:>9} {:>9} {:>8}",
        "mode", "images", "seconds", "images/s", "speed-up"
    );
    let base = rows[0].1.as_secs_f64();
    for (name, took) in &rows {
        let s = took.as_secs_f64();
        println!(
            "{name:<70} {:>7} {s:>9.2} {:>9.2} {:>7.2}x",
            paths.len(),
            paths.len() as f64 / s,
            base / s
        );
    }
    if args.rounds > 1 {
        println!("(best of {} rounds per mode)", args.rounds);
    }
    let stats = runtime.stats();
    println!(
        "accelrt runtime: {} batches, mean batch {:.2}, busy per instance {:?}",
        stats.batches, stats.mean_batch, stats.instance_busy
    );
    if wrong > 0 {
        return Err(format!("{wrong} image(s) gave unexpected box counts").into());
    }
    Ok(())
}

/// Decodes on `decoders` threads, which queue each image on the runtime as soon as it is ready;
/// this thread post-processes results in image order as they complete.
fn detect_concurrently<R>(
    runtime: &R,
    paths: &[PathBuf],
    fit: Fit,
    decoders: usize,
    bar: &ProgressBar,
) -> accelrt::Result<Counts>
where
    R: AsyncRuntime<Input = Vec<Tensor>, Output = Vec<Tensor>>,
{
    let next = AtomicUsize::new(0);
    let mut pending: Vec<Option<Decoded>> = (0..paths.len()).map(|_| None).collect();
    let mut counts = vec![None; paths.len()];
    std::thread::scope(|scope| -> accelrt::Result<()> {
        // Unbounded: at most one entry per image, and the runtime's own queue bounds the work.
        let (tx, rx) = crossbeam_channel::unbounded();
        for _ in 0..decoders {
            let (tx, next) = (tx.clone(), &next);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = paths.get(i) else { break };
                let item = load_image(path).and_then(|img| det_input(&img, fit)).map(|x| {
                    let scale = (x.scale_x, x.scale_y);
                    (scale, runtime.run(vec![x.tensor]))
                });
                if tx.send((i, item)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut done = 0;
        for (i, item) in rx {
            pending[i] = Some(item?);
            // Post-process every result that is next in image order; this overlaps with the
            // decoders and the runtime, which keep going meanwhile.
            while let Some((scale, task)) = pending.get_mut(done).and_then(Option::take) {
                counts[done] = task.wait().and_then(|out| count(&out, scale)).ok();
                bar.inc(1);
                done += 1;
            }
        }
        Ok(())
    })?;
    Ok(counts)
}

/// An image queued on the runtime: its scale back to image pixels and its task.
type Decoded = ((f32, f32), Task<Vec<Tensor>>);

fn count(out: &[Tensor], scale: (f32, f32)) -> accelrt::Result<usize> {
    let prob = out
        .first()
        .ok_or_else(|| accelrt::Error::Internal("the detector returned no output".into()))?;
    Ok(text_boxes(prob, THRESHOLD, MIN_PIXELS, scale)?.len())
}

fn progress(n: usize, label: String) -> ProgressBar {
    let bar = ProgressBar::new(n as u64).with_message(label);
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
