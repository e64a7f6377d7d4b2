//! `accelrt ocr DIR`: the text of every image in a folder, through the `accelrt-ocr` pipeline.
//!
//! Results are printed in name order as they come (the pipeline keeps several images in
//! flight and batches their lines together). A progress bar shows on stderr when it is a
//! terminal. An image that cannot be read is reported on its own (stderr, or an `error` object
//! with `--json`) and the others go on; the command then exits with code 1.
//!
//! The pipeline is `OcrSettings::default()`'s: sized to the cores this process may use, every
//! stage able to fill them and all sharing one pool of them, so the cores go to whichever
//! stage the images make the bottleneck. `--verbose` says so on stderr, with the layout, and at
//! the end where the cores went.

use std::io::Write;
use std::path::Path;

use accelrt::dataset;
use accelrt_ocr::{available_cores, image_files, CoreUsage, ImageSource, OcrOutput, OcrSettings};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::args::OcrArgs;
use crate::error::CliError;

/// Runs the command.
pub fn ocr(args: &OcrArgs) -> Result<(), CliError> {
    if args.in_flight == Some(0) {
        return Err(CliError::Usage("--in-flight is 0; expected at least 1".into()));
    }
    let paths = image_files(&args.dir, args.limit.unwrap_or(usize::MAX))?;
    if paths.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: expected a folder with PNG or JPEG images, found none",
            args.dir.display()
        )));
    }
    let cores = available_cores();
    let mut settings = OcrSettings::adaptive(cores);
    if let Some(n) = args.in_flight {
        settings.images_in_flight = n;
    }
    let (pipeline, pool) = accelrt_ocr::pipeline_with_cores(&accelrt_onnx::models::ocr()?, &settings)?;
    if args.verbose {
        eprintln!("layout: {}", settings.layout());
        eprintln!(
            "why: {cores} cores available to this process and no GPU in use, so every stage (decode, \
             detect, crop, recognise) gets enough single-threaded sessions or threads to fill all {cores} \
             cores by itself (parallel sessions beat intra-op threads on a CPU) and the cores go to \
             whichever stage these images make the bottleneck; the recogniser runs one line at a time \
             (on a CPU a batch of lines costs more per line than single lines)"
        );
    }

    // Drawn on stderr, and only when that is a terminal (indicatif hides it otherwise), so
    // piped output stays clean.
    let bar = ProgressBar::new(paths.len() as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} images, {per_sec}, {eta} left") {
        bar.set_style(style.progress_chars("=> "));
    }
    let sources = paths.iter().map(|p| ImageSource::Path(p.clone()));
    let mut failed = 0;
    let stdout = std::io::stdout();
    for (path, result) in paths.iter().zip(dataset::ordered_blocking(
        &pipeline,
        sources,
        2 * settings.images_in_flight,
    )) {
        let name = file_name(path);
        bar.suspend(|| -> Result<(), CliError> {
            let mut out = stdout.lock();
            let written = match (&result, args.json) {
                (Ok(page), false) => write_text(&mut out, &name, page),
                (Ok(page), true) => writeln!(out, "{}", page_json(&name, page)),
                (Err(e), true) => writeln!(out, "{}", json!({ "file": name, "error": e.to_string() })),
                (Err(e), false) => {
                    eprintln!("{name}: error: {e}");
                    Ok(())
                }
            };
            // A closed pipe (`| head`) ends the output; that is not the command failing.
            match written {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.map_err(|source| CliError::Write {
                    path: "standard output".into(),
                    source,
                }),
            }
        })?;
        failed += usize::from(result.is_err());
        bar.inc(1);
    }
    bar.finish_and_clear();
    if args.verbose {
        eprintln!("{}", where_cores_went(&pool.usage()));
    }
    if failed > 0 {
        return Err(CliError::Partial(format!(
            "{failed} of {} images could not be read",
            paths.len()
        )));
    }
    Ok(())
}

/// One line: each step's share of the pool's core time, and how long steps waited for a core.
fn where_cores_went(u: &CoreUsage) -> String {
    let shares: Vec<String> = u
        .shares()
        .iter()
        .map(|(step, f)| format!("{} {:.0}%", step.name(), 100.0 * f))
        .collect();
    let waited: std::time::Duration = u.steps.iter().map(|s| s.2).sum();
    format!(
        "cores went to: {} of {} cores over {:.1} s (steps waited {:.1} s for a core in all)",
        shares.join(", "),
        u.cores,
        u.elapsed.as_secs_f64(),
        waited.as_secs_f64()
    )
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// The file's name, then each line's text indented.
fn write_text(out: &mut impl Write, name: &str, page: &OcrOutput) -> std::io::Result<()> {
    writeln!(out, "{name}")?;
    for line in &page.lines {
        writeln!(out, "    {}", line.text)?;
    }
    Ok(())
}

fn page_json(name: &str, page: &OcrOutput) -> serde_json::Value {
    let lines: Vec<_> = page
        .lines
        .iter()
        .map(|l| {
            json!({
                "text": l.text,
                "score": l.score,
                "box": l.quad.0.iter().map(|&(x, y)| [x, y]).collect::<Vec<_>>(),
                "turned": l.turned,
            })
        })
        .collect();
    json!({ "file": name, "width": page.width, "height": page.height, "lines": lines })
}
