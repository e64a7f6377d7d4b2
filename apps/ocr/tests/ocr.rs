//! The OCR pipeline (`accelrt_ocr`) end to end on the real PP-OCRv4 models, through the
//! public API, on text images rendered here with known strings, fonts and sizes. The models
//! and ONNX Runtime come from PyPI into the workspace's `.cache` (the first run needs network
//! access to PyPI).

use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use accelrt::{dataset, AsyncRuntime, Error, Pipeline};
use accelrt_ocr::samples::{self, Font, LineSpec, TextLine};
use accelrt_ocr::{self as ocr, ImageSource, OcrOutput, OcrPipeline, OcrSettings, SequentialOcr};
use accelrt_onnx::models;

/// Strings the PP-OCRv4 Chinese + English recogniser reads: ASCII letters, digits and simple
/// punctuation. No capital O: in DejaVu Sans Mono it is the recogniser's "0" ("0rder").
const STRINGS: &[&str] = &[
    "Shipped 5521 items",
    "Invoice No. 88-301",
    "Call 555-0199 today",
    "Price: 12.50 USD",
    "Open daily 9 to 5",
    "Gate B12, seat 7C",
    "version 2.4.1",
    "Total due: 310.00",
    "hello world",
    "Backup at 03:15",
    "Model PP-v4 ready",
    "Line 3 of 4",
    "async Rust rocks",
    "Queue depth 64",
    "Parcel ID 77X9Q",
    "Welcome home!",
];

/// Test images: small (720 × 480) so the debug build's pre- and post-processing stay quick.
const IMAGES: usize = 16;
const WIDTH: u32 = 720;
const HEIGHT: u32 = 480;

/// A rendered image as the pipeline takes it, and the lines drawn on it.
#[derive(Clone)]
struct Page {
    source: ImageSource,
    lines: Vec<TextLine>,
}

fn setup() {
    accelrt_onnx::set_cache_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.cache"));
}

/// Image `i`: 1 to 4 lines, fonts, sizes (22 to 42 px) and positions varying with `i`, lines
/// 110 px apart, light noise on a light grey background.
fn page(i: usize) -> Page {
    let specs: Vec<LineSpec> = (0..1 + i % 4)
        .map(|k| LineSpec {
            text: STRINGS[(i * 3 + k) % STRINGS.len()].to_string(),
            font: Font::ALL[(i + k) % Font::ALL.len()],
            size: [22.0, 26.0, 30.0, 36.0, 42.0][(i + 2 * k) % 5],
            x: 20.0 + ((i * 13) % 40) as f32,
            y: 20.0 + k as f32 * 110.0 + ((i * 7) % 20) as f32,
            angle: 0.0,
        })
        .collect();
    let (mut img, lines) = samples::render(WIDTH, HEIGHT, 255 - (i % 3) as u8 * 15, &specs).expect("rendering");
    samples::add_noise(&mut img, i as u64, 4);
    Page {
        source: ImageSource::Image(img),
        lines,
    }
}

fn pages() -> &'static [Page] {
    static PAGES: OnceLock<Vec<Page>> = OnceLock::new();
    PAGES.get_or_init(|| (0..IMAGES).map(page).collect())
}

/// Settings for a 2-core CI machine: few threads, batching across images on.
fn settings() -> OcrSettings {
    OcrSettings {
        images_in_flight: 4,
        ..OcrSettings::default()
    }
}

fn new_pipeline(s: &OcrSettings) -> OcrPipeline {
    setup();
    ocr::pipeline(&models::ocr().expect("fetching the PP-OCR models"), s).expect("building the OCR pipeline")
}

/// One pipeline shared by the tests that do not stop it.
fn shared() -> &'static OcrPipeline {
    static PIPELINE: OnceLock<OcrPipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| new_pipeline(&settings()))
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Drawn lines read exactly (spaces ignored), each recognised line used at most once.
fn lines_read(page: &Page, out: &OcrOutput) -> usize {
    let mut got: Vec<String> = out.lines.iter().map(|l| squash(&l.text)).collect();
    page.lines
        .iter()
        .filter(|l| {
            let want = squash(&l.spec.text);
            got.iter()
                .position(|g| *g == want)
                .map(|i| got.swap_remove(i))
                .is_some()
        })
        .count()
}

/// Texts and boxes exactly, scores to 1e-3: batches of different sizes may round differently.
fn assert_same(a: &OcrOutput, b: &OcrOutput, what: &str) {
    assert_eq!(a.texts(), b.texts(), "{what}");
    assert_eq!((a.width, a.height), (b.width, b.height), "{what}");
    for (x, y) in a.lines.iter().zip(&b.lines) {
        assert_eq!(x.quad, y.quad, "{what}");
        assert!((x.score - y.score).abs() < 1e-3, "{what}: {} vs {}", x.score, y.score);
    }
}

/// The first `n` pages as pipeline inputs.
fn sources(n: usize) -> Vec<ImageSource> {
    pages().iter().take(n).map(|p| p.source.clone()).collect()
}

#[test]
fn reads_rendered_lines_in_input_order() {
    let p = shared();
    let tasks: Vec<_> = sources(IMAGES).into_iter().map(|s| p.run(s)).collect();
    let (mut total, mut read) = (0, 0);
    let mut misread = Vec::new();
    for (i, (task, page)) in tasks.into_iter().zip(pages()).enumerate() {
        let out = task.wait().unwrap();
        assert_eq!((out.width, out.height), (WIDTH, HEIGHT));
        // In input order: image i's result holds image i's strings (at most one line misread).
        let n = lines_read(page, &out);
        eprintln!("image {i}: read {n} of {}: {:?}", page.lines.len(), out.texts());
        assert!(
            n + 1 >= page.lines.len(),
            "image {i}: drawn {:?}, read {:?}",
            page.lines.iter().map(|l| &l.spec.text).collect::<Vec<_>>(),
            out.texts()
        );
        total += page.lines.len();
        read += n;
        if n < page.lines.len() {
            misread.push((
                i,
                page.lines.iter().map(|l| l.spec.text.clone()).collect::<Vec<_>>(),
                out.texts().join(" | "),
            ));
        }
        // Every line read sits where it was drawn.
        for line in &out.lines {
            let (x0, y0, x1, y1) = line.quad.bounds();
            let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
            assert!(
                page.lines.iter().any(|l| l.ink.contains(cx, cy)),
                "image {i}: {:?} at {:?} covers no drawn line",
                line.text,
                line.quad
            );
            assert!(!line.turned, "image {i}: {:?} was turned", line.text);
        }
    }
    assert!(
        read * 100 >= total * 95,
        "read {read} of {total} lines exactly; expected at least 95%; misread (image, drawn, read): {misread:?}"
    );
}

#[test]
fn wait_await_and_dataset_agree() {
    // Half the pages, four ways each: enough to mix batches differently, and quick.
    const AGREE: usize = IMAGES / 2;
    let p = shared();
    let waited: Vec<OcrOutput> = sources(AGREE)
        .into_iter()
        .map(|s| p.run(s))
        .map(|t| t.wait().unwrap())
        .collect();
    let awaited: Vec<OcrOutput> = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let tasks: Vec<_> = sources(AGREE).into_iter().map(|s| p.run(s)).collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        });
    let ordered: Vec<OcrOutput> = dataset::ordered_blocking(p, sources(AGREE), 3)
        .map(Result::unwrap)
        .collect();
    let mut unordered: Vec<(usize, OcrOutput)> = dataset::unordered_blocking(p, sources(AGREE), 5)
        .map(|(i, r)| (i, r.unwrap()))
        .collect();
    unordered.sort_by_key(|(i, _)| *i);
    assert_eq!(waited.len(), AGREE);
    for i in 0..AGREE {
        assert_same(&waited[i], &awaited[i], &format!("image {i}: wait vs await"));
        assert_same(&waited[i], &ordered[i], &format!("image {i}: wait vs ordered"));
        assert_eq!(unordered[i].0, i);
        assert_same(&waited[i], &unordered[i].1, &format!("image {i}: wait vs unordered"));
    }
}

#[test]
fn the_sequential_baseline_gives_the_pipelines_results() {
    setup();
    let mut naive = SequentialOcr::open(&models::ocr().unwrap(), &settings(), Some(1)).unwrap();
    for (i, page) in pages().iter().enumerate().take(4) {
        let want = shared().run(page.source.clone()).wait().unwrap();
        let got = naive.run(page.source.clone()).unwrap();
        assert_same(&want, &got, &format!("image {i}: pipeline vs sequential"));
    }
    let err = naive.run(ImageSource::Encoded(vec![1, 2, 3])).unwrap_err();
    assert!(err.to_string().contains("do not decode"), "{err}");
}

#[test]
fn rendered_files_on_disk_are_read() {
    setup();
    let set = samples::sample_set(2).unwrap();
    let p = shared();
    for s in set {
        let out = p.run(ImageSource::Path(s.path.clone())).wait().unwrap();
        let want: Vec<String> = s.lines.iter().map(|l| squash(&l.spec.text)).collect();
        let got: Vec<String> = out.lines.iter().map(|l| squash(&l.text)).collect();
        assert_eq!(got, want, "{}", s.path.display());
    }
}

#[test]
fn bad_images_fail_alone_naming_the_stage() {
    let p = shared();
    let tasks = vec![
        p.run(pages()[1].source.clone()),
        p.run(ImageSource::Encoded(b"these bytes are not an image".to_vec())),
        p.run(ImageSource::Path("no/such/image.png".into())),
        p.run(ImageSource::Image(samples::render(0, 0, 255, &[]).unwrap().0)),
        p.run(pages()[2].source.clone()),
        // A blank page: no text, no lines, no error.
        p.run(ImageSource::Image(samples::render(300, 200, 255, &[]).unwrap().0)),
    ];
    let results: Vec<_> = tasks.into_iter().map(|t| t.wait()).collect();
    assert_eq!(
        lines_read(&pages()[1], results[0].as_ref().unwrap()),
        pages()[1].lines.len()
    );
    assert_eq!(
        lines_read(&pages()[2], results[4].as_ref().unwrap()),
        pages()[2].lines.len()
    );
    for (i, want) in [(1, "do not decode"), (2, "no/such/image.png"), (3, "0x0")] {
        match &results[i] {
            Err(Error::Stage { stage, source }) => {
                assert_eq!(stage, "decode", "input {i}");
                assert!(source.to_string().contains(want), "input {i}: {source}");
            }
            other => panic!("input {i}: expected a decode-stage error, got {other:?}"),
        }
    }
    assert!(results[1]
        .as_ref()
        .unwrap_err()
        .to_string()
        .starts_with("stage \"decode\""));
    assert!(results[5].as_ref().unwrap().lines.is_empty(), "{:?}", results[5]);
}

#[test]
fn errors_and_panics_around_the_ocr_stages_resolve_every_task() {
    // The OCR pipeline as a stage of an outer pipeline whose own stages fail or panic on some
    // inputs: each such input fails alone, naming the stage, and the rest are read.
    let outer = Pipeline::builder::<(usize, ImageSource)>()
        .stage("inject", 1, |(i, source): (usize, ImageSource)| {
            if i == 2 {
                panic!("injected panic on input {i}");
            }
            Ok(source)
        })
        .runtime("ocr", shared().clone(), 4)
        .stage("check", 1, |out: OcrOutput| {
            if out.lines.is_empty() {
                return Err(Error::invalid_input("an image with text", "none found"));
            }
            Ok(out)
        })
        .build()
        .unwrap();
    let inputs: Vec<(usize, ImageSource)> = vec![
        (0, pages()[3].source.clone()),
        (1, ImageSource::Encoded(vec![0x89, b'P', b'N', b'G', 0, 0])),
        (2, pages()[4].source.clone()),
        (3, ImageSource::Image(samples::render(200, 100, 255, &[]).unwrap().0)),
        (4, pages()[5].source.clone()),
    ];
    let tasks: Vec<_> = inputs.into_iter().map(|x| outer.run(x)).collect();
    let results: Vec<_> = tasks
        .into_iter()
        .map(|mut t| t.wait_timeout(Duration::from_secs(300)).expect("a task hung"))
        .collect();
    assert_eq!(
        lines_read(&pages()[3], results[0].as_ref().unwrap()),
        pages()[3].lines.len()
    );
    assert_eq!(
        lines_read(&pages()[5], results[4].as_ref().unwrap()),
        pages()[5].lines.len()
    );
    let message = |r: &accelrt::Result<OcrOutput>| format!("{:#}", ErrorChain(r.as_ref().unwrap_err()));
    let decode = message(&results[1]);
    assert!(
        decode.starts_with("stage \"ocr\"") && decode.contains("stage \"decode\""),
        "{decode}"
    );
    assert!(
        message(&results[2]).starts_with("stage \"inject\""),
        "{}",
        message(&results[2])
    );
    assert!(
        message(&results[2]).contains("injected panic"),
        "{}",
        message(&results[2])
    );
    assert!(
        message(&results[3]).starts_with("stage \"check\""),
        "{}",
        message(&results[3])
    );
    // The shared OCR pipeline keeps serving.
    let again = shared().run(pages()[3].source.clone()).wait().unwrap();
    assert_same(results[0].as_ref().unwrap(), &again, "after the failures");
}

/// Displays an error and its sources, `: `-separated.
struct ErrorChain<'a>(&'a Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = std::error::Error::source(self.0);
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

#[test]
fn shutdown_mid_dataset_resolves_every_input() {
    let p = new_pipeline(&OcrSettings {
        images_in_flight: 2,
        ..settings()
    });
    let inputs: Vec<ImageSource> = (0..IMAGES).map(|i| pages()[i % 4].source.clone()).collect();
    let (tx, rx) = mpsc::channel();
    let results: Vec<accelrt::Result<OcrOutput>> = std::thread::scope(|scope| {
        let p = &p;
        scope.spawn(move || {
            if rx.recv().is_ok() {
                // Closes admission, then runs what was accepted to the end.
                p.shutdown_blocking();
            }
        });
        dataset::ordered_blocking(p, inputs, 2)
            .enumerate()
            .map(|(i, r)| {
                if i == 0 {
                    let _ = tx.send(());
                }
                r
            })
            .collect()
    });
    assert_eq!(results.len(), IMAGES, "every input resolves");
    let mut shut = 0;
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(out) => assert_eq!(
                lines_read(&pages()[i % 4], out),
                pages()[i % 4].lines.len(),
                "image {i}"
            ),
            Err(Error::ShutDown) => shut += 1,
            Err(e) => panic!("image {i}: {e}"),
        }
    }
    assert!(results[0].is_ok());
    // With a window of 2, at most a few inputs were accepted before the shutdown.
    assert!(shut > 0, "no input was refused after shutdown");
    assert!(matches!(p.run(pages()[0].source.clone()).wait(), Err(Error::ShutDown)));
}

#[test]
fn dropping_the_pipeline_mid_dataset_resolves_every_task() {
    let p = new_pipeline(&OcrSettings {
        images_in_flight: 2,
        ..settings()
    });
    let mut tasks: Vec<_> = (0..8).map(|i| p.run(pages()[i].source.clone())).collect();
    let first = tasks.remove(0).wait().unwrap();
    assert_eq!(lines_read(&pages()[0], &first), pages()[0].lines.len());
    // The last handle: items still queued fail with ShutDown, those in a stage finish.
    drop(p);
    for (k, mut t) in tasks.into_iter().enumerate() {
        match t.wait_timeout(Duration::from_secs(300)).expect("a task hung") {
            Ok(out) => assert_eq!(lines_read(&pages()[k + 1], &out), pages()[k + 1].lines.len()),
            Err(Error::ShutDown) => {}
            Err(e) => panic!("task {}: {e}", k + 1),
        }
    }
}

#[test]
fn every_layout_reads_the_same_and_a_bounded_pool_caps_the_cores() {
    // The layout decides where the cores go, never what is read: the adaptive default, the
    // former fixed layout and one capped at a single core all give the same outputs.
    setup();
    let m = models::ocr().unwrap();
    let want: Vec<OcrOutput> = sources(6)
        .into_iter()
        .map(|s| shared().run(s).wait().unwrap())
        .collect();
    for s in [
        OcrSettings {
            images_in_flight: 4,
            ..OcrSettings::for_cores(2)
        },
        OcrSettings {
            images_in_flight: 4,
            shared_cores: Some(1),
            ..OcrSettings::adaptive(3)
        },
    ] {
        let (p, cores) = ocr::pipeline_with_cores(&m, &s).unwrap();
        assert_eq!(
            (cores.is_bounded(), cores.count()),
            (s.shared_cores.is_some(), s.shared_cores.unwrap_or(cores.count()))
        );
        let got: Vec<OcrOutput> = dataset::ordered_blocking(&p, sources(6), 6)
            .map(Result::unwrap)
            .collect();
        for (i, (a, b)) in want.iter().zip(&got).enumerate() {
            assert_same(a, b, &format!("image {i}: {}", s.layout()));
        }
        // Every step ran through the pool: one decode and crop per image (and the detector
        // once per image), a classifier and recogniser run per line at most.
        let usage = cores.usage();
        let runs = |step: ocr::Step| usage.steps.iter().find(|x| x.0 == step).unwrap().3;
        let lines: usize = want.iter().map(|o| o.lines.len()).sum();
        assert_eq!(
            (runs(ocr::Step::Decode), runs(ocr::Step::Detect), runs(ocr::Step::Crop)),
            (6, 6, 6)
        );
        assert!(runs(ocr::Step::Recognize) as usize >= lines, "{usage:?}");
        assert!(runs(ocr::Step::Classify) >= 1);
        let shares: f64 = usage.shares().iter().map(|s| s.1).sum();
        if cores.is_bounded() {
            // One core: the steps' core time cannot add up to more than the time elapsed.
            assert!(shares <= 1.0 + 1e-6, "{usage:?}");
        }
        assert!(shares > 0.0);
    }
}

#[test]
fn bad_settings_are_refused_at_build_time() {
    setup();
    let m = models::ocr().unwrap();
    for s in [
        OcrSettings {
            det_side: 16,
            ..settings()
        },
        OcrSettings {
            decoders: 0,
            ..settings()
        },
        OcrSettings {
            min_text_score: 2.0,
            ..settings()
        },
        OcrSettings {
            shared_cores: Some(0),
            ..settings()
        },
    ] {
        let err = ocr::pipeline(&m, &s).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }
}
