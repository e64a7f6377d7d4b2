//! The REST API: health, metadata, inference in JSON and binary, and every kind of bad input
//! answered with a clean error while the server keeps serving.

use accelrt::Tensor;
use serde_json::{json, Value};

use crate::common::{det_case, live, max_diff, mul_expected};

const X: [f32; 6] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];

async fn post(url: &str, body: Vec<u8>, header_len: Option<usize>) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = reqwest::Client::new().post(url).body(body);
    if let Some(n) = header_len {
        req = req.header("Inference-Header-Content-Length", n);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

async fn post_json(url: &str, body: Value) -> (u16, Value) {
    let (status, _, bytes) = post(url, serde_json::to_vec(&body).unwrap(), None).await;
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn health_and_metadata() {
    let live = live();
    for path in [
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/mul/ready",
        "/v2/models/det/versions/1/ready",
    ] {
        let status = reqwest::get(live.url(path)).await.unwrap().status();
        assert_eq!(status, 200, "{path}");
    }
    let server: Value = reqwest::get(live.url("/v2")).await.unwrap().json().await.unwrap();
    assert_eq!(server["name"], "accelrt");
    assert!(server["extensions"]
        .as_array()
        .unwrap()
        .contains(&json!("binary_tensor_data")));

    let meta: Value = reqwest::get(live.url("/v2/models/mul"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta,
        json!({
            "name": "mul", "versions": ["1"], "platform": "onnxruntime_onnx",
            "inputs": [{"name": "X", "datatype": "FP32", "shape": [3, 2]}],
            "outputs": [{"name": "Y", "datatype": "FP32", "shape": [3, 2]}],
        })
    );
    let det: Value = reqwest::get(live.url("/v2/models/det/versions/1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(det["inputs"][0]["shape"], json!([-1, 3, -1, -1]));

    let missing = reqwest::get(live.url("/v2/models/nope")).await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("unknown model \"nope\""),
        "{body}"
    );
    let old = reqwest::get(live.url("/v2/models/mul/versions/7/ready")).await.unwrap();
    assert_eq!(old.status(), 404);
}

#[tokio::test]
async fn infer_json_equals_a_direct_run() {
    let live = live();
    let (status, body) = post_json(
        &live.url("/v2/models/mul/infer"),
        json!({"id": "req-1", "inputs": [{"name": "X", "shape": [3, 2], "datatype": "FP32", "data": [[1, 2], [3, 4], [5, 6]]}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], "req-1");
    assert_eq!(body["model_name"], "mul");
    assert_eq!(body["model_version"], "1");
    let out = &body["outputs"][0];
    assert_eq!(
        (out["name"].as_str(), out["datatype"].as_str()),
        (Some("Y"), Some("FP32"))
    );
    assert_eq!(out["shape"], json!([3, 2]));
    let got: Vec<f32> = serde_json::from_value(out["data"].clone()).unwrap();
    assert_eq!(got, mul_expected(&X));
}

/// The binary tensor data extension, as `tritonclient.http` sends it by default.
#[tokio::test]
async fn infer_binary_equals_a_direct_run() {
    let live = live();
    let (x, expected) = det_case(2, 1);
    let head = serde_json::to_vec(&json!({
        "inputs": [{"name": "x", "shape": [2, 3, 32, 32], "datatype": "FP32", "parameters": {"binary_data_size": x.bytes().len()}}],
        "outputs": [{"name": expected_name(), "parameters": {"binary_data": true}}],
    }))
    .unwrap();
    let mut body = head.clone();
    body.extend_from_slice(x.bytes());
    let (status, headers, bytes) = post(&live.url("/v2/models/det/infer"), body, Some(head.len())).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let n: usize = headers["inference-header-content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let json: Value = serde_json::from_slice(&bytes[..n]).unwrap();
    let out = &json["outputs"][0];
    assert_eq!(out["shape"], json!(expected.shape()));
    assert_eq!(out["parameters"]["binary_data_size"], json!(expected.bytes().len()));
    let got = Tensor::from_bytes(accelrt::DType::F32, expected.shape(), bytes[n..].to_vec().into()).unwrap();
    assert!(max_diff(&got.to_vec::<f32>().unwrap(), &expected.to_vec::<f32>().unwrap()) < 1e-4);
}

fn expected_name() -> String {
    let (_, det) = crate::common::model_files();
    accelrt_onnx::OnnxSession::open(det).unwrap().spec().outputs[0]
        .name
        .clone()
}

/// What is wrong, the body, its Inference-Header-Content-Length, the status and a part of the
/// error message expected.
type Case = (&'static str, Vec<u8>, Option<usize>, u16, &'static str);

/// Every malformed request gets a protocol error body and a 4xx status; the server then
/// still answers a good request.
#[tokio::test]
async fn bad_requests_get_clean_errors() {
    let live = live();
    let url = live.url("/v2/models/mul/infer");
    let good_head = |size: usize| {
        serde_json::to_vec(&json!({"inputs": [{"name": "X", "shape": [3, 2], "datatype": "FP32", "parameters": {"binary_data_size": size}}]}))
            .unwrap()
    };
    let input = |shape: Value, datatype: &str, data: Value| json!({"inputs": [{"name": "X", "shape": shape, "datatype": datatype, "data": data}]});
    let raw: Vec<u8> = X.iter().flat_map(|v| v.to_le_bytes()).collect();

    let mut cases: Vec<Case> = vec![
        ("malformed JSON", b"{\"inputs\": [".to_vec(), None, 400, "malformed"),
        ("not an object", b"[1, 2]".to_vec(), None, 400, "malformed"),
    ];
    let mut truncated = good_head(24);
    let head_len = truncated.len();
    truncated.extend_from_slice(&raw[..20]);
    cases.push((
        "truncated binary data",
        truncated,
        Some(head_len),
        400,
        "only 20 bytes of binary data remain",
    ));
    let mut long = good_head(24);
    let long_len = long.len();
    long.extend_from_slice(&raw);
    cases.push((
        "header length past the body",
        long.clone(),
        Some(long_len + 1000),
        400,
        "Inference-Header-Content-Length",
    ));
    cases.push((
        "header length inside the JSON",
        long.clone(),
        Some(long_len - 3),
        400,
        "malformed",
    ));
    let mut extra = long.clone();
    extra.extend_from_slice(&[0; 4]);
    cases.push((
        "unclaimed binary data",
        extra,
        Some(long_len),
        400,
        "no input's binary_data_size",
    ));
    for (what, body, status, msg) in [
        (
            "unknown datatype",
            input(json!([3, 2]), "FP8", json!(X)),
            400,
            "unsupported datatype \"FP8\"",
        ),
        (
            "shape/data mismatch",
            input(json!([3, 3]), "FP32", json!(X)),
            400,
            "expected 9 values",
        ),
        (
            "wrong shape for the model",
            input(json!([2, 3]), "FP32", json!(X)),
            400,
            "invalid input",
        ),
        (
            "wrong dtype for the model",
            input(json!([3, 2]), "INT32", json!([1, 2, 3, 4, 5, 6])),
            400,
            "invalid input",
        ),
        (
            "huge declared size",
            input(json!([1u64 << 40, 1u64 << 40]), "FP32", json!(X)),
            400,
            "too large",
        ),
        (
            "negative dimension",
            input(json!([-3, 2]), "FP32", json!(X)),
            400,
            "dimensions >= 0",
        ),
        (
            "wrong value type",
            input(json!([3, 2]), "FP32", json!(["a", 2, 3, 4, 5, 6])),
            400,
            "expected FP32 values",
        ),
        (
            "unknown input name",
            json!({"inputs": [{"name": "Z", "shape": [3, 2], "datatype": "FP32", "data": X}]}),
            400,
            "input \"Z\": expected one of the inputs [\"X\"]",
        ),
        (
            "unknown output name",
            json!({"inputs": [{"name": "X", "shape": [3, 2], "datatype": "FP32", "data": X}], "outputs": [{"name": "W"}]}),
            400,
            "output \"W\": expected one of the outputs [\"Y\"]",
        ),
    ] {
        cases.push((what, serde_json::to_vec(&body).unwrap(), None, status, msg));
    }
    for (what, body, header_len, status, msg) in cases {
        let (got, _, bytes) = post(&url, body, header_len).await;
        let body: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("{what}: not JSON: {bytes:?}"));
        assert_eq!(got, status, "{what}: {body}");
        let err = body["error"].as_str().unwrap_or_default();
        assert!(err.contains(msg), "{what}: expected {msg:?} in {err:?}");
    }

    // A declared binary size far larger than what was sent.
    let head = good_head(1 << 40);
    let (got, _, _) = post(&url, head.clone(), Some(head.len())).await;
    assert_eq!(got, 400);
    // Unknown model.
    let (got, body) = post_json(
        &live.url("/v2/models/nope/infer"),
        input(json!([3, 2]), "FP32", json!(X)),
    )
    .await;
    assert_eq!(got, 404, "{body}");
    // A body over the limit (32 MiB in the tests).
    let (got, _, bytes) = post(&url, vec![b' '; 33 << 20], None).await;
    assert_eq!(got, 413, "{}", String::from_utf8_lossy(&bytes));

    // And the server still serves.
    let (status, body) = post_json(&url, input(json!([3, 2]), "FP32", json!(X))).await;
    assert_eq!(status, 200, "{body}");
}
