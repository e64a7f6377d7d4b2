//! Many clients at once: requests share batches (the metrics show fewer executions than
//! requests), every caller gets its own result, and a full queue answers 503 / UNAVAILABLE.

use accelrt::{DType, Tensor};
use serde_json::{json, Value};

use crate::common::{det_case, live, max_diff};

fn metric(text: &str, name: &str, model: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l.contains(&format!("model=\"{model}\"")) && !l.contains("reason="))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} for {model} in\n{text}"))
}

pub async fn infer_binary(url: &str, x: &Tensor) -> (u16, Vec<u8>, Option<usize>) {
    let head = serde_json::to_vec(&json!({
        "inputs": [{"name": "x", "shape": x.shape(), "datatype": "FP32", "parameters": {"binary_data_size": x.bytes().len()}}],
        "parameters": {"binary_data_output": true},
    }))
    .unwrap();
    let mut body = head.clone();
    body.extend_from_slice(x.bytes());
    let resp = reqwest::Client::new()
        .post(url)
        .header("Inference-Header-Content-Length", head.len())
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let n = resp
        .headers()
        .get("inference-header-content-length")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, resp.bytes().await.unwrap().to_vec(), n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_are_batched_and_get_their_own_results() {
    let live = live();
    let before = live.metrics().await;
    let (exec0, ok0) = (
        metric(&before, "nv_inference_exec_count", "det"),
        metric(&before, "nv_inference_request_success", "det"),
    );
    const CLIENTS: u32 = 24;
    let cases: Vec<(Tensor, Tensor)> = (0..CLIENTS).map(|i| det_case(1, 100 + i)).collect();
    let url = live.url("/v2/models/det/infer");
    let tasks: Vec<_> = cases
        .iter()
        .map(|(x, _)| {
            let (url, x) = (url.clone(), x.clone());
            tokio::spawn(async move { infer_binary(&url, &x).await })
        })
        .collect();
    for ((_, expected), task) in cases.iter().zip(tasks) {
        let (status, body, n) = task.await.unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let n = n.unwrap();
        let got = Tensor::from_bytes(DType::F32, expected.shape(), body[n..].to_vec().into()).unwrap();
        // Each caller's output is the direct run of its own input (inputs all differ).
        assert!(max_diff(&got.to_vec::<f32>().unwrap(), &expected.to_vec::<f32>().unwrap()) < 1e-4);
    }
    let after = live.metrics().await;
    let requests = metric(&after, "nv_inference_request_success", "det") - ok0;
    let execs = metric(&after, "nv_inference_exec_count", "det") - exec0;
    assert!(requests >= f64::from(CLIENTS), "{requests} successes counted");
    assert!(
        execs < requests,
        "{requests} requests ran in {execs} batches: none were batched"
    );
    assert!(
        after.contains("accelrt_batch_size_mean{model=\"det\",version=\"1\"}"),
        "{after}"
    );
    assert!(
        after.contains("accelrt_instance_busy_fraction{instance=\"0\",model=\"det\",version=\"1\"}"),
        "{after}"
    );
    assert!(
        after.contains("nv_inference_queue_duration_us{model=\"det\",version=\"1\"}"),
        "{after}"
    );
    assert!(after.contains("accelrt_request_duration_seconds_bucket"), "{after}");
    // The batch size histogram saw batches of more than one request.
    let single = after
        .lines()
        .find(|l| l.starts_with("accelrt_batch_size_bucket{model=\"det\",version=\"1\",le=\"1\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no batch size histogram for det in\n{after}"));
    let all = metric(&after, "accelrt_batch_size_count", "det");
    assert!(single < all, "{all} batches, all of one request:\n{after}");
}

/// `busy` runs one request at a time with one queue place: a burst of large requests gets
/// some 503s with a protocol error body, the rest succeed, and nothing else happens.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_queue_answers_503() {
    let live = live();
    let url = live.url("/v2/models/busy/infer");
    let x = Tensor::new([1, 3, 320, 320], vec![0.25f32; 3 * 320 * 320]).unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (url, x) = (url.clone(), x.clone());
            tokio::spawn(async move { infer_binary(&url, &x).await })
        })
        .collect();
    let mut rejected = 0;
    for t in tasks {
        let (status, body, _) = t.await.unwrap();
        match status {
            200 => {}
            503 => {
                let err: Value = serde_json::from_slice(&body).unwrap();
                assert!(err["error"].as_str().unwrap().contains("queue full"), "{err}");
                rejected += 1;
            }
            other => panic!("status {other}: {}", String::from_utf8_lossy(&body)),
        }
    }
    assert!(
        rejected > 0,
        "8 concurrent requests into one queue place: expected some 503s"
    );
    let text = live.metrics().await;
    assert!(
        text.contains("nv_inference_request_failure{model=\"busy\",reason=\"REJECTED\",version=\"1\"}"),
        "{text}"
    );
}

/// Whether the metrics show `n` requests pending on `model`.
pub fn pending(model: &str, n: u32) -> impl Fn(&str) -> bool {
    let line = format!("nv_inference_pending_request_count{{model=\"{model}\",version=\"1\"}} {n}");
    move |t: &str| t.contains(&line)
}

/// Sends `model` one long request per entry of `sizes` (that many 640x640 images), each once
/// the one before is pending, so that they take the instance's slots in order; returns their
/// HTTP statuses to await.
pub async fn occupy(live: &crate::common::Live, model: &str, sizes: &[usize]) -> Vec<tokio::task::JoinHandle<u16>> {
    let url = live.url(&format!("/v2/models/{model}/infer"));
    let mut running = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let a = Tensor::new([n, 3, 640, 640], vec![0.5f32; n * 3 * 640 * 640]).unwrap();
        let url = url.clone();
        running.push(tokio::spawn(async move { infer_binary(&url, &a).await.0 }));
        wait_for(live, "a long request pending", pending(model, i as u32 + 1)).await;
    }
    running
}

pub async fn wait_for(live: &crate::common::Live, what: &str, f: impl Fn(&str) -> bool) -> String {
    for _ in 0..2000 {
        let text = live.metrics().await;
        if f(&text) {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A client that disconnects while its request waits in the queue: the server drops the
/// request's future, which drops its accelrt task, which takes the request out of the queue
/// (it never runs), and counts it as CANCELED.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dropped_connection_cancels_its_queued_request() {
    use tokio::io::AsyncWriteExt;

    let live = live();
    let before = live.metrics().await;
    let exec0 = metric(&before, "nv_inference_exec_count", "solo");
    // A1: four 640x640 images in one request, long enough to still run while B is dropped.
    // A2: one more, which takes the instance's second slot (the engine prepares the next batch
    // while one runs), so that B waits in the queue proper.
    let running = occupy(&live, "solo", &[4, 1]).await;

    // B, written by hand on a raw connection that is then closed.
    let (b, _) = det_case(1, 5);
    let head = serde_json::to_vec(&json!({
        "inputs": [{"name": "x", "shape": b.shape(), "datatype": "FP32", "parameters": {"binary_data_size": b.bytes().len()}}],
    }))
    .unwrap();
    let mut stream = tokio::net::TcpStream::connect(live.http).await.unwrap();
    let request = format!(
        "POST /v2/models/solo/infer HTTP/1.1\r\nHost: test\r\nInference-Header-Content-Length: {}\r\nContent-Length: {}\r\n\r\n",
        head.len(),
        head.len() + b.bytes().len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(&head).await.unwrap();
    stream.write_all(b.bytes()).await.unwrap();
    wait_for(&live, "B pending", pending("solo", 3)).await;
    drop(stream);

    let text = wait_for(&live, "B cancelled", |t| {
        t.contains("nv_inference_request_failure{model=\"solo\",reason=\"CANCELED\",version=\"1\"} 1")
    })
    .await;
    assert!(
        pending("solo", 2)(&text),
        "A1 and A2 are still in when B is cancelled:\n{text}"
    );
    for a in running {
        assert_eq!(a.await.unwrap(), 200);
    }
    let after = wait_for(&live, "A done", pending("solo", 0)).await;
    assert_eq!(
        metric(&after, "nv_inference_exec_count", "solo") - exec0,
        2.0,
        "only A1 and A2 ran; B left the queue when its client went away"
    );
}
