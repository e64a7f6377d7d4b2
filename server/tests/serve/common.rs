//! A live server for the tests: a model repository in the target's temporary directory with
//! real models (the onnxruntime wheel's `mul_1`, the PP-OCRv4 detector), served on 127.0.0.1
//! with ephemeral ports.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use accelrt::Tensor;
use accelrt_onnx::{models, OnnxSession};
use accelrt_server::{Server, ServerConfig};

/// Addresses of a server that runs until the test process ends.
#[derive(Debug, Clone, Copy)]
pub struct Live {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub metrics: SocketAddr,
}

impl Live {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.metrics))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// The detector's config: batches of up to 8, waiting up to 20 ms for a batch to fill, so
/// that concurrent requests visibly share batches.
pub const DET_CONFIG: &str = r#"
name: "det"
backend: "onnxruntime"
max_batch_size: 8
input [ { name: "x", data_type: TYPE_FP32, dims: [ 3, -1, -1 ] } ]
dynamic_batching { max_queue_delay_microseconds: 20000 }
instance_group [ { count: 1, kind: KIND_CPU } ]
model_warmup []
"#;

/// One request at a time, each with its own batch dimension, queue without bound.
pub const SOLO_CONFIG: &str = "max_batch_size: 0";

/// One request at a time and room for one more in the queue: the rest are rejected.
pub const BUSY_CONFIG: &str = r#"
max_batch_size: 1
dynamic_batching { default_queue_policy { max_queue_size: 1 } }
"#;

/// The model files: `mul_1` (`X` f32 [3, 2] → `Y` = X * [[1,2],[3,4],[5,6]]) and the PP-OCRv4
/// detector (`x` f32 [N, 3, H, W]).
pub fn model_files() -> (PathBuf, PathBuf) {
    let data = models::datasets().expect("the onnxruntime wheel's test models");
    let ocr = models::ocr().expect("the PP-OCRv4 models");
    (data.mul_1, ocr.det)
}

/// A repository `name` under the target's temporary directory: `(model, file, config)`.
pub fn repository(name: &str, entries: &[(&str, &Path, Option<&str>)]) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("repositories").join(name);
    let _ = std::fs::remove_dir_all(&root);
    for (model, file, config) in entries {
        let dir = root.join(model).join("1");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(file, dir.join("model.onnx")).unwrap();
        if let Some(c) = config {
            std::fs::write(root.join(model).join("config.pbtxt"), c).unwrap();
        }
    }
    root
}

/// The standard repository: `mul` (no config), `det` ([`DET_CONFIG`]), `busy` ([`BUSY_CONFIG`]),
/// `solo` and `slow` ([`SOLO_CONFIG`]). Tests run in parallel, so each model serves one kind of test.
pub fn standard_repository() -> PathBuf {
    let (mul, det) = model_files();
    repository(
        "standard",
        &[
            ("mul", &mul, None),
            ("det", &det, Some(DET_CONFIG)),
            ("busy", &det, Some(BUSY_CONFIG)),
            ("solo", &det, Some(SOLO_CONFIG)),
            ("slow", &det, Some(SOLO_CONFIG)),
        ],
    )
}

pub fn local_config(repo: PathBuf) -> ServerConfig {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    ServerConfig {
        http: any,
        grpc: any,
        metrics: any,
        max_request_bytes: 32 << 20,
        ..ServerConfig::new(repo)
    }
}

/// The shared server on the standard repository, started once per test process on its own
/// thread and async runtime (each test has its own runtime, which would end with the test).
pub fn live() -> Live {
    static LIVE: OnceLock<Live> = OnceLock::new();
    *LIVE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let server = Server::start(&local_config(standard_repository())).await.unwrap();
                tx.send(Live {
                    http: server.http_addr(),
                    grpc: server.grpc_addr(),
                    metrics: server.metrics_addr(),
                })
                .unwrap();
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("the test server started")
    })
}

/// `mul_1`'s input and what ONNX Runtime answers for it, run directly.
pub fn mul_expected(x: &[f32]) -> Vec<f32> {
    let (mul, _) = model_files();
    let mut s = OnnxSession::open(mul).unwrap();
    let out = s.run(&[Tensor::new([3, 2], x.to_vec()).unwrap()]).unwrap();
    out[0].to_vec::<f32>().unwrap()
}

/// A detector input of `n` images 3x32x32 with values depending on `seed`, and ONNX Runtime's
/// output for it, run directly.
pub fn det_case(n: usize, seed: u32) -> (Tensor, Tensor) {
    let len = n * 3 * 32 * 32;
    let data: Vec<f32> = (0..len)
        .map(|i| (((i as u32).wrapping_mul(2654435761).wrapping_add(seed * 97)) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    let x = Tensor::new([n, 3, 32, 32], data).unwrap();
    (x.clone(), det_direct(&x))
}

pub fn det_direct(x: &Tensor) -> Tensor {
    let (_, det) = model_files();
    let mut s = OnnxSession::open(det).unwrap();
    s.run(std::slice::from_ref(x)).unwrap().remove(0)
}

/// Max absolute difference (batched runs may differ from single runs by float rounding).
pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}
