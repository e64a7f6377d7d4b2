//! Graceful shutdown: readiness turns false first, the request in flight finishes, then the
//! listeners close.

use std::time::Duration;

use accelrt_server::Server;
use serde_json::json;

use crate::common::{local_config, model_files, repository};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readiness_goes_false_and_in_flight_requests_finish() {
    let (_, det) = model_files();
    let repo = repository("shutdown", &[("det", &det, Some("max_batch_size: 1"))]);
    let config = accelrt_server::ServerConfig {
        drain_delay: Duration::from_secs(2),
        ..local_config(repo)
    };
    let server = Server::start(&config).await.unwrap();
    let base = format!("http://{}", server.http_addr());
    let metrics = format!("http://{}/metrics", server.metrics_addr());

    // A large request, so that it is still running when the shutdown begins.
    let x = vec![0.5f32; 3 * 640 * 640];
    let mut body = json!({"inputs": [{"name": "x", "shape": [1, 3, 640, 640], "datatype": "FP32", "data": x}]});
    // All outputs, as binary: a smaller response than JSON numbers.
    body["parameters"] = json!({"binary_data_output": true});
    let client = reqwest::Client::new();
    let in_flight = tokio::spawn({
        let (client, url) = (client.clone(), format!("{base}/v2/models/det/infer"));
        async move { client.post(url).json(&body).send().await.map(|r| r.status().as_u16()) }
    });
    // Wait until the server counts it as pending.
    loop {
        let text = client.get(&metrics).send().await.unwrap().text().await.unwrap();
        if text.contains("nv_inference_pending_request_count{model=\"det\",version=\"1\"} 1") {
            break;
        }
        if in_flight.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let shutdown = tokio::spawn(server.shutdown());
    // During the drain delay the server answers, but is not ready.
    let mut saw_not_ready = false;
    for _ in 0..100 {
        match client.get(format!("{base}/v2/health/ready")).send().await {
            Ok(r) if r.status() == 400 => {
                saw_not_ready = true;
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            Err(_) => break,
        }
    }
    assert!(
        saw_not_ready,
        "readiness never reported 400 (not ready) during the drain delay"
    );
    assert_eq!(in_flight.await.unwrap().unwrap(), 200, "the request in flight finished");
    shutdown.await.unwrap().unwrap();
    // The listeners are closed.
    assert!(client.get(format!("{base}/v2/health/live")).send().await.is_err());
}
