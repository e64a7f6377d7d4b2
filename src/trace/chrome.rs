//! Chrome trace (Perfetto, `chrome://tracing`) export of a [`Timeline`].
//!
//! The file is the JSON object format of the Trace Event Format: `"X"` (complete) events with a
//! start and a duration in microseconds, and `"M"` metadata events that name each track. Open it
//! at <https://ui.perfetto.dev> or in `chrome://tracing`.
//!
//! - One track (a `tid`) per preparation worker, instance (its submits), completion thread and
//!   device engine, named with [`Track::label`].
//! - Per-request `queued` events go on `queue` lanes: requests wait at the same time, and
//!   viewers draw overlapping events on one track badly, so each lane holds requests whose
//!   waits do not overlap (the fewest lanes a greedy pass finds).
//! - Per-batch events (`prepare`, `submit`, `h2d`, `compute`, `d2h`, `complete`) carry
//!   `args.batch` and `args.requests`, the requests that joined the batch (from the queued
//!   intervals), so every request can be followed through every phase.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::{Interval, Phase, Timeline, Track};

/// All events share one process: the runtime and the device it drives.
const PID: u32 = 1;

impl Track {
    /// The name traces and plots give this track: `queue`, `prepare worker 0`,
    /// `instance 0 submit`, `instance 0 complete`, `engine compute`.
    pub fn label(&self) -> String {
        match self {
            Track::Queue => "queue".to_string(),
            Track::Worker(k) => format!("prepare worker {k}"),
            Track::Instance(i) => format!("instance {i} submit"),
            Track::Completion(i) => format!("instance {i} complete"),
            Track::Engine(name) => format!("engine {name}"),
        }
    }
}

impl Timeline {
    /// Everything recorded so far as Chrome trace JSON, for <https://ui.perfetto.dev> or
    /// `chrome://tracing`.
    ///
    /// One named track per preparation worker, instance (its submits), completion thread and
    /// device engine; per-request `queued` events on `queue` lanes (`args.request`,
    /// `args.batch`); per-batch `prepare`, `submit`, `h2d`, `compute`, `d2h` and `complete`
    /// events whose `args.requests` lists the requests of the batch. Times are microseconds
    /// since the timeline's [`epoch`](Timeline::epoch).
    pub fn to_chrome_trace(&self) -> String {
        chrome_trace(&self.intervals()).to_string()
    }

    /// Writes [`to_chrome_trace`](Timeline::to_chrome_trace) to `path`, replacing the file.
    ///
    /// Fails only when the file cannot be created or written.
    pub fn write_chrome_trace(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        let trace = chrome_trace(&self.intervals());
        let mut out = BufWriter::new(std::fs::File::create(path)?);
        serde_json::to_writer(&mut out, &trace)?;
        out.flush()
    }
}

/// The trace of `intervals` (sorted by start) as a JSON value.
fn chrome_trace(intervals: &[Interval]) -> Value {
    let mut requests: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for i in intervals.iter().filter(|i| i.phase == Phase::Queued) {
        if let Some(r) = i.request {
            requests.entry(i.batch).or_default().push(r);
        }
    }
    let queued: Vec<&Interval> = intervals.iter().filter(|i| i.track == Track::Queue).collect();
    let lanes = queue_lanes(&queued);
    let lane_count = lanes.iter().max().map_or(0, |&l| l + 1);
    // Queue lanes take tids 1..=lane_count; the other tracks follow in the order work flows.
    let mut tracks: Vec<&Track> = intervals
        .iter()
        .map(|i| &i.track)
        .filter(|t| **t != Track::Queue)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    tracks.sort_by_key(|t| flow_order(t));
    let tid_of: BTreeMap<&Track, usize> = tracks
        .iter()
        .enumerate()
        .map(|(k, t)| (*t, lane_count + k + 1))
        .collect();

    let mut events = vec![json!({
        "ph": "M", "name": "process_name", "pid": PID, "args": { "name": "accelrt" }
    })];
    let mut name_track = |tid: usize, name: String| {
        events.push(json!({ "ph": "M", "name": "thread_name", "pid": PID, "tid": tid, "args": { "name": name } }));
        events.push(
            json!({ "ph": "M", "name": "thread_sort_index", "pid": PID, "tid": tid, "args": { "sort_index": tid } }),
        );
    };
    for lane in 0..lane_count {
        name_track(lane + 1, format!("queue {lane}"));
    }
    for track in &tracks {
        name_track(tid_of[track], track.label());
    }
    for (i, lane) in queued.iter().zip(&lanes) {
        let mut args = json!({ "batch": i.batch });
        if let Some(r) = i.request {
            args["request"] = json!(r);
        }
        events.push(complete_event(i, lane + 1, args));
    }
    for i in intervals.iter().filter(|i| i.track != Track::Queue) {
        let mut args = json!({ "batch": i.batch });
        if let Some(members) = requests.get(&i.batch) {
            args["requests"] = json!(members);
        }
        if let Some(r) = i.request {
            args["request"] = json!(r);
        }
        events.push(complete_event(i, tid_of[&i.track], args));
    }
    json!({ "traceEvents": events, "displayTimeUnit": "ms" })
}

/// An `"X"` event for `i` on track `tid`.
fn complete_event(i: &Interval, tid: usize, args: Value) -> Value {
    json!({
        "name": i.phase.name(),
        "cat": i.phase.name(),
        "ph": "X",
        "ts": micros(i.start),
        "dur": micros(i.end.saturating_sub(i.start)),
        "pid": PID,
        "tid": tid,
        "args": args,
    })
}

/// Top to bottom as work flows: workers, instances (submits), engines (copy in, compute,
/// copy out), completion threads.
fn flow_order(track: &Track) -> (u8, usize, u8, &str) {
    match track {
        Track::Queue => (0, 0, 0, ""),
        Track::Worker(k) => (1, *k, 0, ""),
        Track::Instance(i) => (2, *i, 0, ""),
        Track::Engine(name) => {
            let rank = match name.as_str() {
                "h2d" | "dma" => 0,
                n if n.starts_with("compute") => 1,
                "d2h" => 2,
                _ => 3,
            };
            (3, 0, rank, name)
        }
        Track::Completion(i) => (4, *i, 0, ""),
    }
}

/// Fractional microseconds: the unit of `ts` and `dur`.
fn micros(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1000.0
}

/// A lane per interval (sorted by start) such that intervals on one lane never overlap: each
/// goes to the first lane that is free by its start.
fn queue_lanes(sorted: &[&Interval]) -> Vec<usize> {
    let mut lane_end: Vec<Duration> = Vec::new();
    sorted
        .iter()
        .map(|i| match lane_end.iter().position(|&end| end <= i.start) {
            Some(lane) => {
                lane_end[lane] = i.end;
                lane
            }
            None => {
                lane_end.push(i.end);
                lane_end.len() - 1
            }
        })
        .collect()
}
