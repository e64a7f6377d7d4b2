//! `accelrt serve` next to Seldon's MLServer and next to accelrt in-process, on the same model
//! and the same client load.
//!
//! ```text
//! cargo run --release -p accelrt-server --example serve_bench [-- --concurrency 1,4,16,64 --seconds 8 --size 96]
//! ```
//!
//! The model is the PP-OCRv4 text detector on `1x3xSIZExSIZE` images. Every system batches up
//! to 8 requests, waiting at most 2 ms for a batch to fill: accelrt serve from a Triton
//! `config.pbtxt`, accelrt in-process from the same config, MLServer (`mlserver==1.7.1`, from
//! PyPI into a virtual environment in the cache) with its adaptive batching and a custom
//! onnxruntime model (`benches/mlserver/onnx_runtime.py`). The load generator is this program:
//! `concurrency` clients, each with its own gRPC connection, each sending its next request
//! (`raw_input_contents`) when the previous one is answered, for `seconds` per point; the
//! in-process runs keep the same number of requests in flight on the runtime directly. It
//! prints throughput and p50/p99 latency per system and concurrency, and the ratios the issue
//! asks about.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use accelrt::{AsyncRuntime, Tensor};
use accelrt_onnx::{models, OnnxBackend};
use accelrt_server::proto::grpc_inference_service_client::GrpcInferenceServiceClient;
use accelrt_server::proto::model_infer_request::InferInputTensor;
use accelrt_server::proto::{ModelInferRequest, ServerReadyRequest};
use accelrt_server::{ModelConfig, Server, ServerConfig};
use futures::stream::{FuturesUnordered, StreamExt};

const CONFIG: &str = r#"
max_batch_size: 8
dynamic_batching { max_queue_delay_microseconds: 2000 }
"#;

struct Args {
    concurrency: Vec<usize>,
    seconds: u64,
    size: usize,
    skip_mlserver: bool,
}

fn args() -> Args {
    let mut a = Args {
        concurrency: vec![1, 4, 16, 64],
        seconds: 8,
        size: 96,
        skip_mlserver: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--concurrency" => a.concurrency = value().split(',').map(|c| c.parse().expect("a number")).collect(),
            "--seconds" => a.seconds = value().parse().expect("seconds"),
            "--size" => a.size = value().parse().expect("pixels"),
            "--skip-mlserver" => a.skip_mlserver = true,
            other => panic!("unknown flag {other}: expected --concurrency, --seconds, --size, --skip-mlserver"),
        }
    }
    a
}

/// Throughput and latency of one run.
#[derive(Debug, Clone, Copy, Default)]
struct Point {
    throughput: f64,
    p50: Duration,
    p99: Duration,
    failed: u64,
}

fn point(mut latencies: Vec<Duration>, failed: u64, wall: Duration) -> Point {
    latencies.sort();
    let q = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Point {
        throughput: latencies.len() as f64 / wall.as_secs_f64(),
        p50: q(0.5),
        p99: q(0.99),
        failed,
    }
}

/// `concurrency` gRPC clients, each on its own connection, for `seconds`.
async fn grpc_load(url: &str, model: &str, x: &Tensor, concurrency: usize, seconds: u64) -> Point {
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        let channel = tonic::transport::Endpoint::from_shared(url.to_string())
            .expect("a URL")
            .connect()
            .await
            .expect("the server accepts connections");
        clients.push(GrpcInferenceServiceClient::new(channel).max_decoding_message_size(usize::MAX));
    }
    let request = ModelInferRequest {
        model_name: model.into(),
        inputs: vec![InferInputTensor {
            name: "x".into(),
            datatype: "FP32".into(),
            shape: x.shape().iter().map(|&d| d as i64).collect(),
            ..Default::default()
        }],
        raw_input_contents: vec![x.bytes().clone()],
        ..Default::default()
    };
    // Warm-up: one request per client.
    for c in &mut clients {
        let _ = c.model_infer(request.clone()).await;
    }
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            let request = request.clone();
            tokio::spawn(async move {
                let (mut lat, mut failed) = (Vec::new(), 0u64);
                while Instant::now() < end {
                    let t = Instant::now();
                    match c.model_infer(request.clone()).await {
                        Ok(_) => lat.push(t.elapsed()),
                        Err(_) => failed += 1,
                    }
                }
                (lat, failed)
            })
        })
        .collect();
    let (mut all, mut failed) = (Vec::new(), 0);
    for t in tasks {
        let (lat, f) = t.await.expect("a client task");
        all.extend(lat);
        failed += f;
    }
    point(all, failed, start.elapsed())
}

/// The same number of requests in flight on an accelrt runtime, in this process.
async fn in_process(rt: &accelrt::Runtime<OnnxBackend>, x: &Tensor, concurrency: usize, seconds: u64) -> Point {
    for _ in 0..concurrency {
        let _ = rt.run(vec![x.clone()]).await;
    }
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut in_flight = FuturesUnordered::new();
    let (mut lat, mut failed) = (Vec::new(), 0u64);
    let issue = |rt: &accelrt::Runtime<OnnxBackend>| {
        let task = rt.run(vec![x.clone()]);
        let t = Instant::now();
        async move { (task.await, t.elapsed()) }
    };
    for _ in 0..concurrency {
        in_flight.push(issue(rt));
    }
    while let Some((result, took)) = in_flight.next().await {
        match result {
            Ok(_) => lat.push(took),
            Err(_) => failed += 1,
        }
        if Instant::now() < end {
            in_flight.push(issue(rt));
        }
    }
    point(lat, failed, start.elapsed())
}

/// The MLServer virtual environment in the cache, created the first time.
fn mlserver_venv() -> PathBuf {
    let venv = accelrt_onnx::cache_dir()
        .expect("the cache")
        .join("venv-mlserver-1.7.1");
    if !venv.join(".installed").is_file() {
        let _ = std::fs::remove_dir_all(&venv);
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(venv.join("bin/pip"))
                .args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "mlserver==1.7.1",
                    "onnxruntime==1.31.1",
                ])
                .status()
                .is_ok_and(|s| s.success());
        assert!(
            ok,
            "installing mlserver==1.7.1 from PyPI failed (or run with --skip-mlserver)"
        );
        std::fs::write(venv.join(".installed"), "mlserver==1.7.1").expect("the cache is writable");
    }
    venv
}

/// Starts MLServer on the model with adaptive batching; returns the process and its gRPC URL.
fn start_mlserver(model: &Path, work: &Path) -> (Child, String) {
    let venv = mlserver_venv();
    let dir = work.join("mlserver");
    let model_dir = dir.join("det");
    std::fs::create_dir_all(&model_dir).expect("a scratch directory");
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/mlserver/onnx_runtime.py");
    std::fs::copy(runtime, model_dir.join("onnx_runtime.py")).expect("the runtime file");
    let (http, grpc, metrics) = (free_port(), free_port(), free_port());
    std::fs::write(
        dir.join("settings.json"),
        format!(r#"{{"http_port": {http}, "grpc_port": {grpc}, "metrics_port": {metrics}, "parallel_workers": 0, "debug": false}}"#),
    )
    .expect("settings.json");
    std::fs::write(
        model_dir.join("model-settings.json"),
        format!(
            r#"{{"name": "det", "implementation": "onnx_runtime.OnnxModel", "max_batch_size": 8, "max_batch_time": 0.002,
                "parameters": {{"uri": "{}"}}}}"#,
            model.display()
        ),
    )
    .expect("model-settings.json");
    let child = Command::new(venv.join("bin/mlserver"))
        .arg("start")
        .arg(&dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                venv.join("bin").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mlserver starts");
    (child, format!("http://127.0.0.1:{grpc}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn wait_ready(url: &str) {
    let start = Instant::now();
    loop {
        if let Ok(mut c) = GrpcInferenceServiceClient::connect(url.to_string()).await {
            if c.server_ready(ServerReadyRequest {})
                .await
                .is_ok_and(|r| r.into_inner().ready)
            {
                return;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(120), "{url} never became ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One table row; `batch` is the mean requests per batch where accelrt ran it.
fn row(system: &str, c: usize, p: &Point, batch: Option<f64>) {
    let batch = batch.map_or_else(|| "-".to_string(), |b| format!("{b:.2}"));
    println!(
        "{system:<20} {c:>11} {:>12.1} {:>10.2} {:>10.2} {:>7} {batch:>10}",
        p.throughput,
        p.p50.as_secs_f64() * 1e3,
        p.p99.as_secs_f64() * 1e3,
        p.failed
    );
}

#[tokio::main]
async fn main() {
    let a = args();
    let det = models::ocr().expect("the PP-OCRv4 models").det;
    let n = 3 * a.size * a.size;
    let x = Tensor::new(
        [1, 3, a.size, a.size],
        (0..n).map(|i| (i % 255) as f32 / 255.0).collect::<Vec<_>>(),
    )
    .expect("an input");
    let work = std::env::temp_dir().join(format!("accelrt-serve-bench-{}", std::process::id()));
    let repo = work.join("models");
    std::fs::create_dir_all(repo.join("det/1")).expect("a scratch directory");
    std::fs::copy(&det, repo.join("det/1/model.onnx")).expect("the model");
    std::fs::write(repo.join("det/config.pbtxt"), CONFIG).expect("the config");

    println!(
        "serve_bench: PP-OCRv4 detector, 1x3x{0}x{0} per request, batches of up to 8 within 2 ms, {1} s per point, {2} cores",
        a.size,
        a.seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<20} {:>11} {:>12} {:>10} {:>10} {:>7} {:>10}",
        "system", "concurrency", "infer/s", "p50 ms", "p99 ms", "failed", "mean batch"
    );
    let mut results: Vec<(&str, usize, Point)> = Vec::new();

    // All three systems stay up, and each concurrency level runs them back to back, so that
    // a machine whose load changes during the run treats them alike.
    let cfg = ModelConfig::parse(CONFIG).expect("the benchmark config");
    let backend = OnnxBackend::builder(&det)
        .instances(cfg.instances)
        .build()
        .expect("the model");
    let rt = cfg.apply(backend.runtime_builder()).build().expect("the runtime");
    let any = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let config = ServerConfig {
        http: any,
        grpc: any,
        metrics: any,
        ..ServerConfig::new(&repo)
    };
    let server = Server::start(&config).await.expect("accelrt serve starts");
    let serve_url = format!("http://{}", server.grpc_addr());
    let mlserver = (!a.skip_mlserver).then(|| start_mlserver(&det, &work));
    if let Some((_, url)) = &mlserver {
        wait_ready(url).await;
    }
    let served = server
        .shared()
        .repository()
        .get("det", None)
        .expect("the model")
        .clone();
    for &c in &a.concurrency {
        rt.reset_stats();
        let p = in_process(&rt, &x, c, a.seconds).await;
        row("accelrt in-process", c, &p, Some(rt.stats().mean_batch));
        results.push(("in-process", c, p));
        served.runtime().reset_stats();
        let p = grpc_load(&serve_url, "det", &x, c, a.seconds).await;
        row("accelrt serve", c, &p, Some(served.stats().mean_batch));
        results.push(("serve", c, p));
        if let Some((_, url)) = &mlserver {
            let p = grpc_load(url, "det", &x, c, a.seconds).await;
            row("MLServer 1.7.1", c, &p, None);
            results.push(("mlserver", c, p));
        }
    }
    server.shutdown().await.expect("a clean shutdown");
    rt.shutdown().await;
    if let Some((mut child, _)) = mlserver {
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let _ = child.wait();
    }

    println!();
    let get = |sys: &str, c: usize| results.iter().find(|r| r.0 == sys && r.1 == c).map(|r| r.2);
    for &c in &a.concurrency {
        if let (Some(s), Some(i)) = (get("serve", c), get("in-process", c)) {
            print!(
                "concurrency {c:>2}: serve / in-process throughput {:.2} (overhead {:.1}%)",
                s.throughput / i.throughput,
                (1.0 - s.throughput / i.throughput) * 100.0
            );
        }
        if let (Some(s), Some(m)) = (get("serve", c), get("mlserver", c)) {
            print!(
                "; serve / MLServer throughput {:.2}, p99 {:.2} vs {:.2} ms",
                s.throughput / m.throughput,
                s.p99.as_secs_f64() * 1e3,
                m.p99.as_secs_f64() * 1e3
            );
        }
        println!();
    }
    let _ = std::fs::remove_dir_all(&work);
}
