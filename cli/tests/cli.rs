//! The `accelrt` binary end to end: the simulator, a tiny ONNX model from the onnxruntime wheel
//! (fetched into the workspace's `.cache` on first use), and the errors a user can make.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;
use serde_json::Value;

/// The workspace cache, shared with the other ONNX tests.
fn cache() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(".cache")
}

/// `mul_1.onnx`: X f32 [3, 2] → Y = X * [[1, 2], [3, 4], [5, 6]].
fn mul_1() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        accelrt_onnx::set_cache_dir(cache());
        accelrt_onnx::models::datasets()
            .expect("fetching the onnxruntime test models")
            .mul_1
    })
}

/// The binary, finding ONNX Runtime in the same cache as the tests.
fn accelrt() -> Command {
    let mut cmd = Command::cargo_bin("accelrt").expect("the accelrt binary is built");
    cmd.env(accelrt_onnx::CACHE_ENV, cache());
    cmd
}

/// A fresh scratch directory for output files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("accelrt-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `args`, expects exit code 2 and exactly one `error: ...` line on stderr; returns it.
fn usage_error(args: &[&str]) -> String {
    let out = accelrt().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {err}");
    assert!(out.stdout.is_empty(), "{args:?} printed {}", stdout(&out));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: expected one line, got {err:?}");
    assert!(lines[0].starts_with("error: "), "{err}");
    lines[0].to_string()
}

#[test]
fn sim_bench_prints_the_table_and_writes_trace_and_plot() {
    let dir = scratch("bench");
    let (trace, plot) = (dir.join("trace.json"), dir.join("timeline.svg"));
    let out = accelrt()
        .args(["bench", "--backend", "sim", "--sim-stages", "0.3,0.2,0.5,0.2"])
        .args([
            "--parallel",
            "2",
            "--depth",
            "3",
            "--max-batch",
            "4",
            "--batch-timeout",
            "1ms",
        ])
        .args(["--concurrency", "8", "--requests", "60", "--warmup", "4"])
        .arg("--trace")
        .arg(&trace)
        .arg("--plot")
        .arg(&plot)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    for expected in [
        "Throughput",
        "infer/s",
        "p50",
        "p99",
        "queue",
        "prepare",
        "h2d",
        "compute",
        "d2h",
        "busy:",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    // The summary row: 8 in flight, 60 completed, none failed.
    let row = text.lines().find(|l| l.starts_with("8 ")).expect("a summary row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..3], &["8", "60", "0"], "{row}");

    // The trace holds the measured run only: one queued event per request, after the warm-up.
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    let queued = events.iter().filter(|e| e["name"] == "queued").count();
    assert_eq!(queued, 60);
    let compute: usize = events
        .iter()
        .filter(|e| e["name"] == "compute")
        .map(|e| e["args"]["requests"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(compute, 60, "every request went through one compute event");

    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for label in ["prepare worker 1", "engine compute", "instance 0 complete", "time (ms)"] {
        assert!(svg.contains(label), "the picture has no {label:?}");
    }
    assert!(svg.matches("<rect").count() > 20, "the picture has too few bars");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sim_bench_runs_for_a_duration() {
    let out = accelrt()
        .args([
            "bench",
            "--backend",
            "sim",
            "--sim-stages",
            "0,0.1,0.2,0.1",
            "--duration",
            "200ms",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    let row = text.lines().find(|l| l.starts_with("16 ")).expect("a summary row");
    let completed: u64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(completed > 0, "{text}");
}

#[test]
fn sim_sweep_prints_every_combination_and_the_best() {
    let out = accelrt()
        .args([
            "sweep",
            "--backend",
            "sim",
            "--sim-stages",
            "0.2,0.2,0.4,0.2",
            "--requests",
            "40",
        ])
        .args([
            "--warmup",
            "2",
            "--parallel",
            "1,2",
            "--depth",
            "1,3",
            "--max-batch",
            "1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    assert!(text.contains("4 combinations"), "{text}");
    let rows = text.lines().filter(|l| l.contains("infer/s")).count();
    // Four combinations, then the best one's row.
    assert_eq!(rows, 5, "{text}");
    let best = text.lines().find(|l| l.starts_with("best: ")).expect("a best line");
    assert!(best.contains("parallel") && best.contains("depth"), "{best}");
}

#[test]
fn info_shows_inputs_and_outputs_of_an_onnx_model() {
    let out = accelrt().arg("info").arg(mul_1()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    let row = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name} in\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("X"), "X f32 [3, 2]");
    assert_eq!(row("Y"), "Y f32 [3, 2]");
}

#[test]
fn bench_runs_an_onnx_model() {
    let out = accelrt()
        .arg("bench")
        .arg(mul_1())
        .args([
            "--parallel",
            "2",
            "--max-batch",
            "4",
            "--requests",
            "50",
            "--concurrency",
            "4",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    let row = text.lines().find(|l| l.starts_with("4 ")).expect("a summary row");
    assert_eq!(
        &row.split_whitespace().collect::<Vec<_>>()[..3],
        &["4", "50", "0"],
        "{text}"
    );
    assert!(text.contains("no device times"), "{text}");
}

#[test]
fn bad_arguments_are_one_line_and_exit_code_2() {
    let e = usage_error(&["bench", "no-such-model.onnx"]);
    assert!(e.contains("model file not found: no-such-model.onnx"), "{e}");
    let e = usage_error(&["info", "no-such-model.onnx"]);
    assert!(e.contains("model file not found"), "{e}");
    let e = usage_error(&["bench", "--backend", "sim", "--input-shape", "1x3xAx4"]);
    assert!(e.contains("1x3xAx4") && e.contains("\"A\" is not a size"), "{e}");
    let e = usage_error(&["bench", "--backend", "sim", "--dept", "2"]);
    assert!(e.contains("--dept") && e.contains("--depth"), "{e}");
    let e = usage_error(&["bench", "--backend", "sim", "--sim-stages", "1,2"]);
    assert!(e.contains("got 2 value(s)"), "{e}");
    let e = usage_error(&["bench", "--backend", "sim", "--batch-timeout", "soon"]);
    assert!(e.contains("soon"), "{e}");
    let e = usage_error(&["bench"]);
    assert!(e.contains("no model given"), "{e}");
    let e = usage_error(&["bench", "--backend", "sim", "--depth", "0"]);
    assert!(e.contains("depth"), "{e}");
    let e = usage_error(&["bench", "--backend", "sim", "--requests", "10", "--duration", "1s"]);
    assert!(e.contains("--duration"), "{e}");
}

#[test]
fn a_shape_the_model_rejects_is_a_usage_error() {
    let model = mul_1().to_str().unwrap().to_string();
    let e = usage_error(&["bench", &model, "--input-shape", "1x5"]);
    assert!(e.contains("expected f32 [3, 2], got f32 [1, 5]"), "{e}");
    let e = usage_error(&["bench", &model, "--input-shape", "Z:3x2"]);
    assert!(e.contains("no input \"Z\""), "{e}");
}
