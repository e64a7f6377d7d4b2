//! `accelrt bench`: one configuration, a perf_analyzer-like table, and optionally the
//! timeline as a Chrome trace and an SVG picture.

use accelrt::Timeline;

use crate::args::BenchArgs;
use crate::error::CliError;
use crate::load::{Load, Stop};
use crate::plot::write_svg;
use crate::report::bench_report;
use crate::settings::Settings;
use crate::target::Target;

/// Runs the benchmark and prints its report on stdout.
pub fn bench(args: &BenchArgs) -> Result<(), CliError> {
    let target = Target::from_args(&args.target)?;
    let settings = Settings {
        parallel: args.parallel,
        depth: args.depth,
        instances: args.instances,
        max_batch: args.max_batch,
        batch_timeout: args.batch_timeout,
        queue_capacity: args.queue_capacity,
        concurrency: args.concurrency,
    };
    let load = Load {
        stop: match (args.load.requests, args.load.duration) {
            (_, Some(d)) => Stop::Duration(d),
            (n, None) => Stop::Requests(n.unwrap_or(1000)),
        },
        warmup: args.load.warmup,
        progress: true,
    };
    // Recording costs a lock and a push per interval, so it is on only when asked for.
    let timeline = (args.trace.is_some() || args.plot.is_some()).then(Timeline::new);
    let measured = target.measure(&settings, &load, timeline.as_ref())?;
    let mut what = target.describe();
    if timeline.is_some() {
        what.push_str(", timeline recording on");
    }
    print!("{}", bench_report(&what, &settings, &measured));
    if let Some(tl) = &timeline {
        if let Some(path) = &args.trace {
            tl.write_chrome_trace(path).map_err(|source| CliError::Write {
                path: path.clone(),
                source,
            })?;
            println!("trace: {} (open in https://ui.perfetto.dev)", path.display());
        }
        if let Some(path) = &args.plot {
            let title = format!("accelrt timeline: {settings}");
            write_svg(&tl.intervals(), args.plot_batches, &title, path)?;
            println!("plot: {} (first {} batches)", path.display(), args.plot_batches);
        }
    }
    match measured.first_error {
        // Every request failed: the table says so, and the exit code must too.
        Some(e) if measured.completed == 0 => Err(e.into()),
        _ => Ok(()),
    }
}
