//! The request parameter `timeout` (µs, as Triton's): a request that cannot start in time
//! fails with 503 over HTTP and DEADLINE_EXCEEDED over gRPC, and never runs.

use accelrt_server::proto::grpc_inference_service_client::GrpcInferenceServiceClient;
use accelrt_server::proto::infer_parameter::ParameterChoice;
use accelrt_server::proto::model_infer_request::InferInputTensor;
use accelrt_server::proto::{InferParameter, ModelInferRequest};
use serde_json::{json, Value};

use crate::common::{det_case, live};
use crate::concurrency::occupy;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_that_cannot_start_in_time_fails_cleanly() {
    let live = live();
    let exec = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("nv_inference_exec_count{model=\"slow\""))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let exec0 = exec(&live.metrics().await);
    // Two long requests: one runs, one waits in the instance's second slot; what comes next
    // waits in the queue.
    let url = live.url("/v2/models/slow/infer");
    let running = occupy(&live, "slow", &[4, 2]).await;
    let (x, _) = det_case(1, 9);
    let data = x.to_vec::<f32>().unwrap();
    let resp = reqwest::Client::new()
        .post(&url)
        .json(&json!({
            "parameters": {"timeout": 1000},
            "inputs": [{"name": "x", "shape": x.shape(), "datatype": "FP32", "data": data}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("timeout expired"), "{body}");

    let mut c = GrpcInferenceServiceClient::connect(live.grpc_url()).await.unwrap();
    let status = c
        .model_infer(ModelInferRequest {
            model_name: "slow".into(),
            parameters: [(
                "timeout".to_string(),
                InferParameter {
                    parameter_choice: Some(ParameterChoice::Int64Param(1000)),
                },
            )]
            .into(),
            inputs: vec![InferInputTensor {
                name: "x".into(),
                datatype: "FP32".into(),
                shape: vec![1, 3, 32, 32],
                ..Default::default()
            }],
            raw_input_contents: vec![x.bytes().clone()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    for r in running {
        assert_eq!(r.await.unwrap(), 200);
    }
    let text = live.metrics().await;
    assert!(
        text.contains("nv_inference_request_failure{model=\"slow\",reason=\"REJECTED\",version=\"1\"} 2"),
        "{text}"
    );
    assert_eq!(exec(&text) - exec0, 2, "only the two long requests ran:\n{text}");
}
