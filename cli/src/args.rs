//! The command line, as clap parses it. Values whose syntax clap can check (numbers, durations,
//! shapes, stage times) are parsed here, so a typo is a usage error with exit code 2.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::shape::InputShape;
use crate::sim::SimStages;

/// accelrt: inspect ONNX models, benchmark the runtime's overlap, and sweep its settings.
#[derive(Debug, Parser)]
#[command(name = "accelrt", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a model's inputs and outputs: names, dtypes and shapes.
    Info {
        /// The ONNX model file.
        model: PathBuf,
    },
    /// Run requests through one runtime configuration and print throughput, latency
    /// percentiles and where the time went.
    Bench(BenchArgs),
    /// Run a short benchmark for every combination of settings and print the best.
    Sweep(SweepArgs),
    /// Serve a Triton-layout model repository over the Open Inference Protocol (HTTP/REST and
    /// gRPC, what `tritonclient` and KServe speak) with Prometheus metrics; stops gracefully on
    /// SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Read the text in every PNG and JPEG image of a folder (PP-OCRv4 models, fetched from
    /// PyPI into the cache on first use): one block of lines per image, or one JSON object
    /// per image with `--json`.
    Ocr(OcrArgs),
}

/// `accelrt serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The model repository: `DIR/<model>/<version>/model.onnx`, each model with an optional
    /// `config.pbtxt`.
    #[arg(long, value_name = "DIR")]
    pub model_repository: PathBuf,
    /// The address to listen on.
    #[arg(long, value_name = "IP", default_value = "0.0.0.0")]
    pub address: std::net::IpAddr,
    /// HTTP/REST port.
    #[arg(long, value_name = "PORT", default_value_t = 8000)]
    pub http_port: u16,
    /// gRPC port.
    #[arg(long, value_name = "PORT", default_value_t = 8001)]
    pub grpc_port: u16,
    /// Prometheus metrics port (`/metrics`).
    #[arg(long, value_name = "PORT", default_value_t = 8002)]
    pub metrics_port: u16,
    /// The largest request accepted, in MiB (HTTP body, gRPC message); larger ones get 413 /
    /// RESOURCE_EXHAUSTED.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub max_request_mib: usize,
    /// On SIGTERM, how long readiness reports false before the listeners stop accepting (give a
    /// load balancer time to notice), e.g. `5s`.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub drain_delay: Duration,
}

/// What `accelrt ocr` reads and how it prints it.
#[derive(Debug, Args)]
pub struct OcrArgs {
    /// The folder of PNG and JPEG images (read in name order; subfolders are not searched).
    pub dir: PathBuf,
    /// One JSON object per image and line of output: file, width, height, and its lines with
    /// text, score, box corners and whether the line was upside down.
    #[arg(long)]
    pub json: bool,
    /// Read at most this many images.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Images in flight through the pipeline at once (default: 4 per core, at least 8).
    #[arg(long, value_name = "N")]
    pub in_flight: Option<usize>,
    /// Print on stderr the layout the pipeline chose for this machine and why, and at the end
    /// where its cores went.
    #[arg(long, short)]
    pub verbose: bool,
}

/// Which backend and model a benchmark runs, and what inputs it sends.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The ONNX model file (not used with `--backend sim`).
    pub model: Option<PathBuf>,
    /// `onnx` runs MODEL on ONNX Runtime (CPU); `sim` runs the simulated accelerator, no model
    /// needed.
    #[arg(long, value_enum, default_value_t = BackendKind::Onnx)]
    pub backend: BackendKind,
    /// Simulated per-batch times in milliseconds: prepare,h2d,compute,d2h.
    #[arg(long, value_name = "MS,MS,MS,MS", default_value = "1,1,2,1")]
    pub sim_stages: SimStages,
    /// Simulated compute engines (NPU cores); instance i uses engine i % N.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub sim_compute_units: usize,
    /// Input shapes, e.g. `1x3x224x224`, or `NAME:1x3x224x224` per input (repeat the flag or
    /// separate with commas). Fills the model's dynamic dimensions; a dynamic first dimension
    /// defaults to 1. With `--backend sim`: `1xLEN` (default 1x4).
    #[arg(long, value_name = "SHAPE", value_delimiter = ',')]
    pub input_shape: Vec<InputShape>,
    /// ONNX Runtime intra-op threads per instance (default: cores / instances).
    #[arg(long, value_name = "N")]
    pub intra_threads: Option<usize>,
}

/// Which backend runs the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// ONNX Runtime on the CPU.
    Onnx,
    /// The simulated accelerator with separate H2D, compute and D2H engines.
    Sim,
}

/// How much load a benchmark offers.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Requests to run, counted after the warm-up (default 1000 unless --duration is given).
    #[arg(long, value_name = "N", conflicts_with = "duration")]
    pub requests: Option<u64>,
    /// Run for this long instead of a request count, e.g. `10s`, `500ms`.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Requests run before measuring; stats and the timeline are reset after them.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub warmup: u64,
}

/// `accelrt bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Input-preparation workers.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub parallel: usize,
    /// Batches in flight per instance (slots).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub depth: usize,
    /// Model instances.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub instances: usize,
    /// Most requests per batch.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub max_batch: usize,
    /// How long a batch may wait to fill while the device is busy, e.g. `2ms`.
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "0ms")]
    pub batch_timeout: Duration,
    /// Requests kept in flight by the load generator.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,
    /// Requests that may wait in the runtime's queue.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub queue_capacity: usize,
    /// Record the timeline and write it as Chrome trace JSON (open in ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Record the timeline and draw its first batches as an SVG picture.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Batches the picture shows (from the start of the measured run).
    #[arg(long, value_name = "N", default_value_t = 24)]
    pub plot_batches: usize,
}

/// `accelrt sweep`: every setting takes a comma-separated list.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Requests per combination, counted after the warm-up.
    #[arg(long, value_name = "N", default_value_t = 300, conflicts_with = "duration")]
    pub requests: u64,
    /// Run each combination for this long instead of a request count.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Requests run before measuring each combination.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub warmup: u64,
    /// Input-preparation workers to try.
    #[arg(long, value_name = "N,..", value_delimiter = ',', default_value = "1,2")]
    pub parallel: Vec<usize>,
    /// Slots per instance to try.
    #[arg(long, value_name = "N,..", value_delimiter = ',', default_value = "1,2,3")]
    pub depth: Vec<usize>,
    /// Instance counts to try.
    #[arg(long, value_name = "N,..", value_delimiter = ',', default_value = "1")]
    pub instances: Vec<usize>,
    /// Batch limits to try.
    #[arg(long, value_name = "N,..", value_delimiter = ',', default_value = "1,4")]
    pub max_batch: Vec<usize>,
    /// Batch timeouts to try.
    #[arg(long, value_name = "TIME,..", value_delimiter = ',', value_parser = parse_duration, default_value = "0ms")]
    pub batch_timeout: Vec<Duration>,
    /// Load-generator concurrencies to try.
    #[arg(long, value_name = "N,..", value_delimiter = ',', default_value = "16")]
    pub concurrency: Vec<usize>,
    /// Only combinations whose p99 latency is at most this count as best, e.g. `50ms`.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub max_p99: Option<Duration>,
}

/// Parses `10s`, `250ms`, `500us`, `1.5s`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic() || c == 'µ').unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("\"{s}\" is not a duration (expected a number with s, ms or us, like 10s or 2ms)"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        "m" | "min" => value * 60.0,
        _ => return Err(format!("\"{s}\": unknown unit \"{unit}\" (use s, ms or us)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("\"{s}\" is not a non-negative, finite duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2ms"), Ok(Duration::from_millis(2)));
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
