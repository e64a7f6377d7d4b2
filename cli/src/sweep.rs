//! `accelrt sweep`: a short benchmark per combination of settings, then the best one.

use std::io::Write;

use crate::args::SweepArgs;
use crate::error::CliError;
use crate::load::{Load, Measured, Stop};
use crate::report::{duration, table};
use crate::settings::Settings;
use crate::target::Target;

/// Runs every combination, printing a row as each finishes, then the best by throughput
/// (among runs without failures and within `--max-p99`).
pub fn sweep(args: &SweepArgs) -> Result<(), CliError> {
    let target = Target::from_args(&args.target)?;
    let load = Load {
        stop: args.duration.map_or(Stop::Requests(args.requests), Stop::Duration),
        warmup: args.warmup,
        progress: true,
    };
    let grid = grid(args);
    println!("accelrt sweep: {}, {} combinations", target.describe(), grid.len());
    let header = [
        "parallel",
        "depth",
        "instances",
        "max-batch",
        "timeout",
        "concurrency",
        "throughput",
        "p50",
        "p99",
        "batch",
        "failed",
    ];
    // Every column is padded to its header width or the widest value expected, so rows can be
    // printed as they finish and still line up.
    let widths = [8, 5, 9, 9, 8, 11, 16, 9, 9, 5, 6];
    let row = |cells: &[String]| {
        let line: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", line.join("  ").trim_end());
        // Rows appear one by one during a long sweep, also when piped.
        let _ = std::io::stdout().flush();
    };
    row(&header.map(String::from));
    let mut results: Vec<(Settings, Measured)> = Vec::new();
    for settings in grid {
        let m = target.measure(&settings, &load, None)?;
        let s = &m.stats;
        row(&[
            settings.parallel.to_string(),
            settings.depth.to_string(),
            settings.instances.to_string(),
            settings.max_batch.to_string(),
            duration(settings.batch_timeout),
            settings.concurrency.to_string(),
            format!("{:.1} infer/s", m.throughput()),
            duration(s.latency.p50),
            duration(s.latency.p99),
            format!("{:.2}", s.mean_batch),
            m.failed.to_string(),
        ]);
        results.push((settings, m));
    }
    let eligible = |m: &Measured| m.failed == 0 && args.max_p99.is_none_or(|limit| m.stats.latency.p99 <= limit);
    let best = results
        .iter()
        .filter(|(_, m)| eligible(m))
        .max_by(|a, b| a.1.throughput().total_cmp(&b.1.throughput()));
    println!();
    match best {
        Some((s, m)) => {
            println!("best: {s}");
            print!(
                "{}",
                table(
                    &["Throughput", "p50", "p90", "p99", "Mean batch"],
                    &[vec![
                        format!("{:.1} infer/s", m.throughput()),
                        duration(m.stats.latency.p50),
                        duration(m.stats.latency.p90),
                        duration(m.stats.latency.p99),
                        format!("{:.2}", m.stats.mean_batch),
                    ]]
                )
            );
        }
        None => println!("best: none (every combination failed requests or exceeded --max-p99)"),
    }
    Ok(())
}

/// Every combination, varying the last setting fastest.
fn grid(args: &SweepArgs) -> Vec<Settings> {
    let mut out = Vec::new();
    for &parallel in &args.parallel {
        for &depth in &args.depth {
            for &instances in &args.instances {
                for &max_batch in &args.max_batch {
                    for &batch_timeout in &args.batch_timeout {
                        for &concurrency in &args.concurrency {
                            out.push(Settings {
                                parallel,
                                depth,
                                instances,
                                max_batch,
                                batch_timeout,
                                queue_capacity: 1024,
                                concurrency,
                            });
                        }
                    }
                }
            }
        }
    }
    out
}
