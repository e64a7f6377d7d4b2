//! The load generator: keeps `concurrency` requests in flight (perf_analyzer's concurrency
//! mode) until a request count or a duration is reached, with a progress bar.

use std::time::{Duration, Instant};

use accelrt::{AsyncRuntime, Backend, Runtime, Stats, Timeline};
use futures::stream::{FuturesUnordered, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::CliError;

/// When a measured run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After this many requests resolved.
    Requests(u64),
    /// No new requests after this long; the ones in flight still finish.
    Duration(Duration),
}

/// How much load to offer.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// When the measured run ends.
    pub stop: Stop,
    /// Requests run (and forgotten) before measuring.
    pub warmup: u64,
    /// Draw a progress bar (only ever on a terminal).
    pub progress: bool,
}

/// What one measured run did.
#[derive(Debug)]
pub struct Measured {
    /// The runtime's stats, reset after the warm-up.
    pub stats: Stats,
    /// Wall time of the measured run.
    pub wall: Duration,
    /// Requests that resolved with an output.
    pub completed: u64,
    /// Requests that resolved with an error.
    pub failed: u64,
    /// The first error, to show when requests failed.
    pub first_error: Option<accelrt::Error>,
}

impl Measured {
    /// Completed requests per second of wall time.
    pub fn throughput(&self) -> f64 {
        self.completed as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Warms `rt` up, resets its stats and `timeline`, then runs the measured load.
pub fn measure<B: Backend>(
    rt: &Runtime<B>,
    input: impl Fn() -> B::Input,
    concurrency: usize,
    load: &Load,
    timeline: Option<&Timeline>,
) -> Result<Measured, CliError> {
    if concurrency == 0 {
        return Err(CliError::Usage("--concurrency must be at least 1".into()));
    }
    if load.stop == Stop::Requests(0) {
        return Err(CliError::Usage("--requests must be at least 1".into()));
    }
    if load.warmup > 0 {
        let warm = drive(
            rt,
            &input,
            concurrency,
            Stop::Requests(load.warmup),
            &ProgressBar::hidden(),
        );
        if let (0, Some(e)) = (warm.completed, warm.first_error) {
            // Nothing works (inputs the model rejects, a broken device): say why at once rather
            // than measure a run of failures.
            return Err(e.into());
        }
    }
    rt.reset_stats();
    if let Some(tl) = timeline {
        tl.clear();
    }
    let bar = progress_bar(load);
    let run = drive(rt, &input, concurrency, load.stop, &bar);
    bar.finish_and_clear();
    Ok(Measured {
        stats: rt.stats(),
        wall: run.wall,
        completed: run.completed,
        failed: run.failed,
        first_error: run.first_error,
    })
}

#[derive(Default)]
struct Driven {
    wall: Duration,
    completed: u64,
    failed: u64,
    first_error: Option<accelrt::Error>,
}

/// Issues requests from this thread and awaits them as they resolve: one thread is plenty,
/// since `run` never blocks and the runtime does the work on its own threads.
fn drive<B: Backend>(
    rt: &Runtime<B>,
    input: &impl Fn() -> B::Input,
    concurrency: usize,
    stop: Stop,
    bar: &ProgressBar,
) -> Driven {
    let start = Instant::now();
    let more = |issued: u64| match stop {
        Stop::Requests(n) => issued < n,
        Stop::Duration(d) => start.elapsed() < d,
    };
    let mut out = Driven::default();
    futures::executor::block_on(async {
        let mut in_flight = FuturesUnordered::new();
        let mut issued = 0u64;
        loop {
            while in_flight.len() < concurrency && more(issued) {
                in_flight.push(rt.run(input()));
                issued += 1;
            }
            let Some(result) = in_flight.next().await else {
                break;
            };
            match result {
                Ok(_) => out.completed += 1,
                Err(e) => {
                    out.failed += 1;
                    out.first_error.get_or_insert(e);
                }
            }
            match stop {
                Stop::Requests(_) => bar.inc(1),
                Stop::Duration(d) => bar.set_position(start.elapsed().min(d).as_millis() as u64),
            }
        }
    });
    out.wall = start.elapsed();
    out
}

fn progress_bar(load: &Load) -> ProgressBar {
    if !load.progress {
        return ProgressBar::hidden();
    }
    let (len, template) = match load.stop {
        Stop::Requests(n) => (n, "{bar:40} {pos}/{len} requests, {per_sec}, eta {eta}"),
        Stop::Duration(d) => (d.as_millis() as u64, "{bar:40} {elapsed}/{duration}"),
    };
    // Drawn on stderr, and only when it is a terminal: piped output stays a clean table.
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    // The templates are constants; a bad one would only lose the formatting, not the run.
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar
}
