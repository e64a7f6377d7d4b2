//! Chrome trace export: the JSON parses, names every track, and follows every request through
//! every phase of its batch.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use accelrt::{AsyncRuntime, Runtime, Tensor, Timeline};
use accelrt_sim::{SimBackend, SimConfig};
use serde_json::Value;

/// Runs `n` requests through a batching, double-buffered runtime on the simulator, recording
/// host and device phases on one timeline.
fn recorded_run(n: usize) -> Timeline {
    let us = Duration::from_micros(300);
    let timeline = Timeline::new();
    let config = SimConfig::stages(us, us, 2 * us, us).with_timeline(timeline.clone());
    let rt = Runtime::builder(SimBackend::new(config))
        .parallel(2)
        .depth(3)
        .max_batch(4)
        .timeline(timeline.clone())
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..n)
        .map(|i| rt.run(Tensor::new([1, 4], vec![i as f32; 4]).unwrap()))
        .collect();
    for t in tasks {
        t.wait().unwrap();
    }
    rt.shutdown_blocking();
    timeline
}

fn events(trace: &Value) -> &[Value] {
    trace["traceEvents"].as_array().expect("traceEvents is an array")
}

#[test]
fn trace_holds_one_event_per_phase_per_request() {
    let n = 40;
    let trace: Value = serde_json::from_str(&recorded_run(n).to_chrome_trace()).expect("valid JSON");
    let complete: Vec<&Value> = events(&trace).iter().filter(|e| e["ph"] == "X").collect();

    // Every request waited once, on a queue lane, and names the batch it joined.
    let mut batch_of: BTreeMap<u64, u64> = BTreeMap::new();
    for e in complete.iter().filter(|e| e["name"] == "queued") {
        let request = e["args"]["request"].as_u64().expect("queued events name their request");
        let batch = e["args"]["batch"].as_u64().expect("queued events name their batch");
        assert!(
            batch_of.insert(request, batch).is_none(),
            "request {request} queued twice"
        );
    }
    assert_eq!(batch_of.len(), n);

    // Every batch phase covers each of its requests exactly once.
    for phase in ["prepare", "submit", "h2d", "compute", "d2h", "complete"] {
        let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
        for e in complete.iter().filter(|e| e["name"] == phase) {
            let batch = e["args"]["batch"].as_u64().unwrap();
            for r in e["args"]["requests"]
                .as_array()
                .expect("batch events list their requests")
            {
                let r = r.as_u64().unwrap();
                assert_eq!(
                    batch_of[&r], batch,
                    "{phase}: request {r} is listed under the wrong batch"
                );
                *seen.entry(r).or_default() += 1;
            }
        }
        assert_eq!(seen.len(), n, "{phase}: some requests have no event");
        assert!(
            seen.values().all(|&c| c == 1),
            "{phase}: a request appears twice: {seen:?}"
        );
    }

    // Times are microseconds, non-negative, and a batch is prepared after its requests queued.
    let start_of = |name: &str, batch: u64| {
        complete
            .iter()
            .find(|e| e["name"] == name && e["args"]["batch"] == batch)
            .map(|e| e["ts"].as_f64().unwrap())
            .unwrap()
    };
    for e in &complete {
        assert!(e["ts"].as_f64().unwrap() >= 0.0 && e["dur"].as_f64().unwrap() >= 0.0);
    }
    for (&_, &batch) in batch_of.iter().take(8) {
        assert!(start_of("queued", batch) <= start_of("prepare", batch));
        assert!(start_of("h2d", batch) <= start_of("compute", batch));
        assert!(start_of("compute", batch) <= start_of("d2h", batch));
    }
}

#[test]
fn every_track_is_named_and_queue_lanes_never_overlap() {
    let trace: Value = serde_json::from_str(&recorded_run(24).to_chrome_trace()).unwrap();
    let names: BTreeMap<u64, String> = events(&trace)
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let named: BTreeSet<&str> = names.values().map(String::as_str).collect();
    for track in [
        "prepare worker 0",
        "prepare worker 1",
        "instance 0 submit",
        "instance 0 complete",
        "engine h2d",
        "engine compute",
        "engine d2h",
        "queue 0",
    ] {
        assert!(named.contains(track), "no track named {track:?} in {named:?}");
    }
    let mut by_tid: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    for e in events(&trace).iter().filter(|e| e["ph"] == "X") {
        let tid = e["tid"].as_u64().unwrap();
        assert!(names.contains_key(&tid), "event on unnamed track {tid}");
        let ts = e["ts"].as_f64().unwrap();
        by_tid
            .entry(tid)
            .or_default()
            .push((ts, ts + e["dur"].as_f64().unwrap()));
    }
    // Viewers draw overlapping events on one track badly; no track, queue lanes included, has any.
    for (tid, mut spans) in by_tid {
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0 + 1e-3, "track {} overlaps itself: {w:?}", names[&tid]);
        }
    }
}

#[test]
fn trace_file_matches_the_string() {
    let timeline = recorded_run(8);
    let path = std::env::temp_dir().join(format!("accelrt-trace-test-{}.json", std::process::id()));
    timeline.write_chrome_trace(&path).unwrap();
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    std::fs::remove_file(&path).unwrap();
    let expected: Value = serde_json::from_str(&timeline.to_chrome_trace()).unwrap();
    assert_eq!(written, expected);
    assert_eq!(written["displayTimeUnit"], "ms");
    let missing = std::env::temp_dir().join("accelrt-no-such-dir").join("trace.json");
    assert!(timeline.write_chrome_trace(missing).is_err());
}
