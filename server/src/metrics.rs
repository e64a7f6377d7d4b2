//! Prometheus metrics: Triton's names where the meaning is the same, so existing dashboards
//! work, plus accelrt's own.
//!
//! Per model (labels `model`, `version`):
//! - `nv_inference_request_success`, `nv_inference_request_failure` (+ `reason`: REJECTED,
//!   CANCELED, BACKEND, OTHER): requests, counted by the server.
//! - `nv_inference_count`: inferences (rows of the batch dimension; 1 per request without one).
//! - `nv_inference_exec_count`: batches the runtime ran.
//! - `nv_inference_request_duration_us`: cumulative time from receipt to response.
//! - `nv_inference_queue_duration_us`, `nv_inference_compute_input_duration_us`,
//!   `nv_inference_compute_infer_duration_us`: cumulative queue, preparation and run time, from
//!   the runtime's [`Stats`](accelrt::Stats).
//! - `nv_inference_pending_request_count`: requests in the server now.
//! - `accelrt_batch_size`: a histogram of requests per batch; `accelrt_batch_size_mean`: their
//!   mean; `accelrt_instance_busy_fraction`
//!   (+ `instance`): share of the time each instance had a batch in flight;
//!   `accelrt_request_duration_seconds`: a histogram of request latency as the server sees it.
//!
//! Counters come from atomics and the runtime's stats at scrape time, so recording a request
//! costs a few atomic adds.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::Repository;

const REASONS: [&str; 4] = ["REJECTED", "CANCELED", "BACKEND", "OTHER"];

/// A model's request counters.
#[derive(Debug)]
pub struct Counters {
    success: AtomicU64,
    failure: [AtomicU64; 4],
    inferences: AtomicU64,
    duration_us: AtomicU64,
    pending: AtomicI64,
    latency: Histogram,
    /// Requests per batch, observed by the model's [`Metered`](crate::Metered) backend.
    pub batch_sizes: Histogram,
}

impl Counters {
    /// Counters for one model version whose batches hold up to `max_batch` requests.
    pub fn new(model: &str, version: &str, max_batch: usize) -> Self {
        // Buckets from 100 µs to about 6.5 s, doubling. Constant labels let the registry merge
        // every model's histogram into one family at scrape time.
        let opts = HistogramOpts::new(
            "accelrt_request_duration_seconds",
            "Request latency as the server sees it",
        )
        .const_label("model", model)
        .const_label("version", version)
        .buckets(prometheus::exponential_buckets(1e-4, 2.0, 17).unwrap_or_default());
        // One bucket per batch size up to 16, then doubling up to max_batch.
        let mut buckets: Vec<f64> = (1..=max_batch.clamp(1, 16)).map(|b| b as f64).collect();
        let mut b = 32;
        while b <= max_batch {
            buckets.push(b as f64);
            b *= 2;
        }
        let sizes = HistogramOpts::new("accelrt_batch_size", "Requests per batch the runtime ran")
            .const_label("model", model)
            .const_label("version", version)
            .buckets(buckets);
        Counters {
            batch_sizes: Histogram::with_opts(sizes).unwrap_or_else(|_| {
                Histogram::with_opts(HistogramOpts::new("accelrt_batch_size", "requests per batch"))
                    .expect("constant options are valid")
            }),
            success: AtomicU64::new(0),
            failure: Default::default(),
            inferences: AtomicU64::new(0),
            duration_us: AtomicU64::new(0),
            pending: AtomicI64::new(0),
            latency: Histogram::with_opts(opts).unwrap_or_else(|_| {
                // Only an invalid label value fails, and names from the file system are valid
                // UTF-8 strings; fall back to an unlabelled histogram rather than fail a load.
                Histogram::with_opts(HistogramOpts::new(
                    "accelrt_request_duration_seconds",
                    "request latency",
                ))
                .expect("constant options are valid")
            }),
        }
    }
}

impl Counters {
    /// Counts a request in; the guard counts it out, as cancelled if dropped unfinished (the
    /// client went away).
    pub fn begin(&self) -> RequestGuard<'_> {
        self.pending.fetch_add(1, Relaxed);
        RequestGuard {
            counters: self,
            done: false,
        }
    }
}

/// One request in flight; see [`Counters::begin`].
#[derive(Debug)]
pub struct RequestGuard<'a> {
    counters: &'a Counters,
    done: bool,
}

impl RequestGuard<'_> {
    /// Records the outcome: success with `rows` inferences, or failure with a reason label.
    pub fn finish(mut self, outcome: Result<(), &'static str>, rows: usize, took: Duration) {
        let c = self.counters;
        match outcome {
            Ok(()) => {
                c.success.fetch_add(1, Relaxed);
                c.inferences.fetch_add(rows as u64, Relaxed);
            }
            Err(reason) => c.fail(reason),
        }
        c.duration_us.fetch_add(took.as_micros() as u64, Relaxed);
        c.latency.observe(took.as_secs_f64());
        self.done = true;
    }
}

impl Counters {
    /// Counts a failure of a request that never reached the runtime (it could not be decoded).
    pub fn fail(&self, reason: &str) {
        let i = REASONS.iter().position(|r| *r == reason).unwrap_or(REASONS.len() - 1);
        self.failure[i].fetch_add(1, Relaxed);
    }
}

impl Drop for RequestGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.counters.fail("CANCELED");
        }
        self.counters.pending.fetch_sub(1, Relaxed);
    }
}

/// The metrics of every model in `repo`, in Prometheus' text format.
pub fn render(repo: &Repository) -> String {
    match gather(repo) {
        Ok(text) => text,
        Err(e) => format!("# error gathering metrics: {e}\n"),
    }
}

fn gather(repo: &Repository) -> prometheus::Result<String> {
    let registry = Registry::new();
    let labels = &["model", "version"];
    let counter = |name: &str, help: &str| -> prometheus::Result<IntCounterVec> {
        let c = IntCounterVec::new(Opts::new(name, help), labels)?;
        registry.register(Box::new(c.clone()))?;
        Ok(c)
    };
    let success = counter(
        "nv_inference_request_success",
        "Number of successful inference requests",
    )?;
    let failure = IntCounterVec::new(
        Opts::new("nv_inference_request_failure", "Number of failed inference requests"),
        &["model", "version", "reason"],
    )?;
    registry.register(Box::new(failure.clone()))?;
    let count = counter(
        "nv_inference_count",
        "Number of inferences performed (rows of the batch dimension)",
    )?;
    let exec = counter("nv_inference_exec_count", "Number of batches the model ran")?;
    let request_us = counter(
        "nv_inference_request_duration_us",
        "Cumulative inference request duration in microseconds",
    )?;
    let queue_us = counter(
        "nv_inference_queue_duration_us",
        "Cumulative inference queuing duration in microseconds",
    )?;
    let input_us = counter(
        "nv_inference_compute_input_duration_us",
        "Cumulative input preparation (batch assembly) duration in microseconds",
    )?;
    let infer_us = counter(
        "nv_inference_compute_infer_duration_us",
        "Cumulative model run duration in microseconds",
    )?;
    let pending = IntGaugeVec::new(
        Opts::new(
            "nv_inference_pending_request_count",
            "Inference requests in the server now",
        ),
        labels,
    )?;
    registry.register(Box::new(pending.clone()))?;
    let mean_batch = GaugeVec::new(Opts::new("accelrt_batch_size_mean", "Mean requests per batch"), labels)?;
    registry.register(Box::new(mean_batch.clone()))?;
    let busy = GaugeVec::new(
        Opts::new(
            "accelrt_instance_busy_fraction",
            "Share of the time the instance had a batch in flight",
        ),
        &["model", "version", "instance"],
    )?;
    registry.register(Box::new(busy.clone()))?;
    for model in repo.models() {
        let l = [model.name(), model.version()];
        let c = &model.counters;
        success.with_label_values(&l).inc_by(c.success.load(Relaxed));
        for (reason, n) in REASONS.iter().zip(&c.failure) {
            failure
                .with_label_values(&[model.name(), model.version(), reason])
                .inc_by(n.load(Relaxed));
        }
        count.with_label_values(&l).inc_by(c.inferences.load(Relaxed));
        request_us.with_label_values(&l).inc_by(c.duration_us.load(Relaxed));
        pending.with_label_values(&l).set(c.pending.load(Relaxed));
        let s = model.stats();
        let batched = (s.mean_batch * s.batches as f64).round() as u64;
        let us = |d: Duration, n: u64| (d.as_micros() as u64).saturating_mul(n);
        exec.with_label_values(&l).inc_by(s.batches);
        queue_us.with_label_values(&l).inc_by(us(s.phases.queue, batched));
        input_us.with_label_values(&l).inc_by(us(s.phases.prepare, s.batches));
        // ONNX Runtime on the CPU runs in `submit`; device backends finish in `complete`.
        infer_us
            .with_label_values(&l)
            .inc_by(us(s.phases.submit + s.phases.complete, s.batches));
        mean_batch.with_label_values(&l).set(s.mean_batch);
        for (i, f) in s.instance_busy_fraction.iter().enumerate() {
            busy.with_label_values(&[model.name(), model.version(), &i.to_string()])
                .set(*f);
        }
        registry.register(Box::new(c.latency.clone()))?;
        registry.register(Box::new(c.batch_sizes.clone()))?;
    }
    let mut buf = Vec::new();
    TextEncoder::new().encode(&registry.gather(), &mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
