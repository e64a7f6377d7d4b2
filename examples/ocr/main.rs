//! Optical character recognition over a set of images with the PP-OCRv4 models, as an accelrt
//! pipeline; with `--bench`, next to the Python tool users would otherwise pick (rapidocr), a
//! naive sequential Rust loop and the pipeline's former fixed layout, on every kind of page,
//! from one run.
//!
//! ```text
//! cargo run --release --example ocr                               # 24 held-out invoice pages
//! cargo run --release --example ocr -- --kind form                # 24 held-out forms
//! cargo run --release --example ocr -- --dir scans/               # your own PNG or JPEG files
//! cargo run --release --example ocr -- --bench                    # the benchmark, every kind
//! ```
//!
//! The first run fetches ONNX Runtime (`onnxruntime==1.31.1`) and the models
//! (`rapidocr-onnxruntime==1.4.4`) from PyPI with `python3 -m pip download` into the cache
//! (`$ACCELRT_CACHE`, else this workspace's `.cache`), and renders its evaluation pages there
//! (`accelrt_ocr::samples::page_set`), one set per kind (`--kind`): `invoice` (640 to 1280 px,
//! 3 to 12 lines of 3 to 60 characters), `form` (1240 to 1800 px scans, 40 to 120 short cells
//! in columns), `label` (one or two lines: cropped screenshots and labels), `paragraph` (1000
//! to 1600 px pages of full-width running text); DejaVu fonts, coloured paper and ink, blur,
//! noise, JPEG. `--set held-out` (the default) is the set measured on and never tuned on;
//! `--set dev --seed N` are the sets to tune on; `--set simple` is the detector example's grey
//! pages. A line counts as read when some recognised line equals it with spaces removed; the
//! tables give that with case kept and with case ignored.
//!
//! `--bench` runs, for each kind of `--kinds` (default: all five, then `real`), on the same pages: (a) the
//! Python peer, rapidocr with its default settings, one image at a time
//! (`examples/ocr/peer.py`), installed by this example the first time into a virtual
//! environment in the cache (`python3 -m venv`; pip from PyPI; `--no-peer` skips it); (b) the
//! naive loop: the same Rust steps one image and one line at a time on three plain sessions
//! with `--naive-threads` intra-op threads each (default: ONNX Runtime's own choice); (c) the
//! fixed layout that was the default before (`OcrSettings::for_cores`) and (d) the adaptive
//! pipeline (`OcrSettings::default()`, or what the options below set), in `--rounds`
//! interleaved rounds (default 3), alternating which goes first. It prints one row per kind
//! (images/s and lines read per mode, adaptive ÷ rapidocr, adaptive ÷ fixed as the median of the
//! rounds' ratios), both layouts, and where the adaptive pipeline's cores went. `real` (in
//! `--kinds`; on by default) adds one row per real scan (`accelrt_ocr::samples::real_scans`:
//! two pages from the test resources of `ocrmypdf==17.13.0` on PyPI, each read several times
//! per pass), scored against its transcript by lines reproduced and character error rate.
//!
//! Options: `--images N` (per kind; `--bench` defaults: 60 invoices, 24 forms, 60 labels, 8
//! paragraphs, 16 photos), `--dir DIR`, `--set held-out|dev|simple`, `--kind KIND`, `--kinds K1,K2`,
//! `--seed N`, `--tilt DEG` (lines tilted by up to DEG), `--turned` (pages upside down),
//! `--bench`, `--no-peer`, `--no-naive`, `--rounds N`, `--cores N` (the cores both layouts are sized for;
//! default: those this process may use), `--fixed` (without `--bench`: run the fixed layout),
//! `--quiet` (no per-image lines), `--misses` (print lines not read even ignoring case),
//! `--raw` (the recogniser's reading as it is: no settling of O/0 and same-shape letters by
//! their word), `--det-side PX`, `--rec-min-width PX`, `--rec-step PX`, `--decoders N`,
//! `--croppers N`, `--in-flight N`, `--det-instances N`, `--det-threads N`, `--det-batch N`,
//! `--cls-batch N`, `--rec-instances N`, `--rec-threads N`, `--rec-batch N`, `--timeout-ms N`,
//! `--shared-cores N|off`, `--naive-threads N`.

mod bench;
mod peer;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use accelrt::{dataset, AsyncRuntime};
use accelrt_ocr::samples::{self, Geometry, PageKind, Split};
use accelrt_ocr::{self as ocr, score_lines, ImageSource, LineScore, OcrOutput, OcrSettings};
use accelrt_onnx::models;
use indicatif::{ProgressBar, ProgressStyle};

struct Args {
    images: Option<usize>,
    dir: Option<PathBuf>,
    set: String,
    kind: PageKind,
    kinds: Vec<PageKind>,
    /// `--bench`: the real scans' rows too.
    real: bool,
    seed: u64,
    geometry: Geometry,
    bench: bool,
    peer: bool,
    naive: bool,
    rounds: usize,
    cores: usize,
    fixed: bool,
    quiet: bool,
    misses: bool,
    naive_threads: Option<usize>,
    settings: OcrSettings,
}

fn kind(name: &str) -> Result<PageKind, String> {
    PageKind::from_name(name).ok_or_else(|| format!("expected invoice, form, label, paragraph or photo, got {name:?}"))
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        images: None,
        dir: None,
        set: "held-out".into(),
        kind: PageKind::Invoice,
        kinds: PageKind::ALL.to_vec(),
        real: true,
        seed: 1,
        geometry: Geometry::default(),
        bench: false,
        peer: true,
        naive: true,
        rounds: 3,
        cores: ocr::available_cores(),
        fixed: false,
        quiet: false,
        misses: false,
        naive_threads: None,
        settings: OcrSettings::default(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The layouts are sized for `--cores` before any option overrides a field of them.
    if let Some(i) = args.iter().position(|a| a == "--cores") {
        let v = args.get(i + 1).ok_or("--cores needs a value")?;
        a.cores = v
            .parse()
            .map_err(|_| format!("--cores: expected a number, got {v:?}"))?;
        a.settings = OcrSettings::adaptive(a.cores);
    }
    if args.iter().any(|a| a == "--fixed") {
        a.fixed = true;
        a.settings = OcrSettings::for_cores(a.cores);
    }
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let mut number = || -> Result<usize, String> {
            let v = value()?;
            v.parse().map_err(|_| format!("{flag}: expected a number, got {v:?}"))
        };
        let s = &mut a.settings;
        match flag.as_str() {
            "--images" => a.images = Some(number()?),
            "--dir" => a.dir = Some(value()?.into()),
            "--set" => a.set = value()?,
            "--kind" => a.kind = kind(&value()?).map_err(|e| format!("--kind: {e}"))?,
            "--kinds" => {
                let names = value()?;
                a.real = names.split(',').any(|n| n == "real");
                a.kinds = names
                    .split(',')
                    .filter(|n| *n != "real")
                    .map(kind)
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("--kinds: {e} (or real)"))?
            }
            "--cores" => {
                value()?; // read above
            }
            "--fixed" => {}
            "--shared-cores" => {
                let v = value()?;
                s.shared_cores = match v.as_str() {
                    "off" => None,
                    n => Some(
                        n.parse()
                            .map_err(|_| format!("--shared-cores: expected a number or off, got {v:?}"))?,
                    ),
                };
            }
            "--seed" => a.seed = number()? as u64,
            "--tilt" => a.geometry.max_tilt = number()? as f32,
            "--turned" => a.geometry.upside_down = true,
            "--bench" => a.bench = true,
            "--no-peer" => a.peer = false,
            "--no-naive" => a.naive = false,
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
        let paths = ocr::image_files(dir, args.images.unwrap_or(usize::MAX))?;
        let n = paths.len();
        return Ok((paths, vec![None; n]));
    }
    let count = args.images.unwrap_or(24);
    let set = match args.set.as_str() {
        "held-out" => samples::page_set(args.kind, Split::HeldOut, count, args.geometry)?,
        "dev" => samples::page_set(args.kind, Split::Development { seed: args.seed }, count, args.geometry)?,
        "simple" => samples::sample_set(count)?,
        other => return Err(format!("--set: expected held-out, dev or simple, got {other:?}").into()),
    };
    Ok(set
        .into_iter()
        .map(|s| (s.path, Some(s.lines.into_iter().map(|l| l.spec.text).collect())))
        .unzip())
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
    if args.bench {
        return bench::run(&args, &models);
    }
    let (paths, expected) = inputs(&args)?;
    if paths.is_empty() {
        return Err("no PNG or JPEG images to run on".into());
    }
    let s = &args.settings;
    let (pipeline, cores) = ocr::pipeline_with_cores(&models, s)?;
    // Warm up once, so the timing holds no first-run allocation.
    pipeline.run(ImageSource::Path(paths[0].clone())).wait()?;
    let before = cores.usage();
    let bar = progress(paths.len(), "accelrt".into());
    let start = Instant::now();
    // A window of twice the images in flight keeps every stage's queue fed.
    let sources = paths.iter().map(|p| ImageSource::Path(p.clone()));
    let results: Vec<_> = dataset::ordered_blocking(&pipeline, sources, 2 * s.images_in_flight)
        .inspect(|_| bar.inc(1))
        .collect();
    let took = start.elapsed();
    bar.finish_and_clear();

    let mut failed = 0;
    let mut score = LineScore::default();
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
        if let (Some(want), Some(got)) = (&expected[i], texts(&results[i])) {
            score += score_lines(want, &got);
            if args.misses {
                print_misses(&name, want, &got);
            }
        }
    }
    println!();
    println!("layout: {}", s.layout());
    println!(
        "{} images in {:.2} s: {:.2} images/s",
        paths.len(),
        took.as_secs_f64(),
        paths.len() as f64 / took.as_secs_f64()
    );
    if score.lines > 0 {
        println!(
            "{} lines: {:.1}% read exactly (spaces ignored, case kept), {:.1}% with case ignored; {} missed only by O/0",
            score.lines,
            100.0 * score.exact_rate(),
            100.0 * score.ignoring_case_rate(),
            score.o_zero_only
        );
    }
    for st in pipeline.stats().stages {
        println!(
            "stage {:<10} items {:>5}  busy {:>8.2?}  queued {:>8.2?}",
            st.name, st.items, st.busy, st.queue_wait
        );
    }
    let u = cores.usage().since(&before);
    for ((step, held, waited, runs), (_, share)) in u.steps.iter().zip(u.shares()) {
        println!(
            "cores: {:<10} {:>5.1}% of {} cores, {runs:>6} runs, held {held:>8.2?}, waited {waited:.2?} for a core",
            step.name(),
            100.0 * share,
            u.cores
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

fn progress(n: usize, label: String) -> ProgressBar {
    let bar = ProgressBar::new(n as u64).with_message(label);
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

pub(crate) fn spinner(label: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
