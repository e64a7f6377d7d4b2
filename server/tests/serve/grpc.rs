//! gRPC (`inference.GRPCInferenceService`): health, metadata, inference with raw and typed
//! contents, and status codes for bad requests.

use accelrt_server::proto::grpc_inference_service_client::GrpcInferenceServiceClient;
use accelrt_server::proto::model_infer_request::{InferInputTensor, InferRequestedOutputTensor};
use accelrt_server::proto::*;
use tonic::Code;

use crate::common::{det_case, live, max_diff, mul_expected};

const X: [f32; 6] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];

async fn client() -> GrpcInferenceServiceClient<tonic::transport::Channel> {
    GrpcInferenceServiceClient::connect(live().grpc_url()).await.unwrap()
}

fn mul_input(shape: Vec<i64>, datatype: &str) -> InferInputTensor {
    InferInputTensor {
        name: "X".into(),
        datatype: datatype.into(),
        shape,
        ..Default::default()
    }
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[tokio::test]
async fn health_and_metadata() {
    let mut c = client().await;
    assert!(c.server_live(ServerLiveRequest {}).await.unwrap().into_inner().live);
    assert!(c.server_ready(ServerReadyRequest {}).await.unwrap().into_inner().ready);
    let ready = c
        .model_ready(ModelReadyRequest {
            name: "det".into(),
            version: String::new(),
        })
        .await
        .unwrap();
    assert!(ready.into_inner().ready);
    let meta = c.server_metadata(ServerMetadataRequest {}).await.unwrap().into_inner();
    assert_eq!(meta.name, "accelrt");
    let m = c
        .model_metadata(ModelMetadataRequest {
            name: "det".into(),
            version: "1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (m.name.as_str(), m.versions.as_slice()),
        ("det", &["1".to_string()][..])
    );
    assert_eq!(m.inputs[0].name, "x");
    assert_eq!(m.inputs[0].datatype, "FP32");
    assert_eq!(m.inputs[0].shape, [-1, 3, -1, -1]);
    let missing = c
        .model_metadata(ModelMetadataRequest {
            name: "nope".into(),
            version: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn infer_raw_and_typed_equal_a_direct_run() {
    let mut c = client().await;
    // Raw contents, as tritonclient.grpc sends them.
    let (x, expected) = det_case(3, 2);
    let resp = c
        .model_infer(ModelInferRequest {
            model_name: "det".into(),
            id: "g-1".into(),
            inputs: vec![InferInputTensor {
                name: "x".into(),
                datatype: "FP32".into(),
                shape: vec![3, 3, 32, 32],
                ..Default::default()
            }],
            raw_input_contents: vec![x.bytes().clone()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.id, "g-1");
    assert_eq!(
        resp.outputs[0].shape,
        expected.shape().iter().map(|&d| d as i64).collect::<Vec<_>>()
    );
    assert!(max_diff(&f32s(&resp.raw_output_contents[0]), &expected.to_vec::<f32>().unwrap()) < 1e-4);

    // Typed contents, with the output asked for by name.
    let resp = c
        .model_infer(ModelInferRequest {
            model_name: "mul".into(),
            inputs: vec![InferInputTensor {
                contents: Some(InferTensorContents {
                    fp32_contents: X.to_vec(),
                    ..Default::default()
                }),
                ..mul_input(vec![3, 2], "FP32")
            }],
            outputs: vec![InferRequestedOutputTensor {
                name: "Y".into(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.outputs[0].name, "Y");
    assert_eq!(f32s(&resp.raw_output_contents[0]), mul_expected(&X));
}

#[tokio::test]
async fn bad_requests_get_status_codes() {
    let mut c = client().await;
    let raw: Vec<u8> = X.iter().flat_map(|v| v.to_le_bytes()).collect();
    let req = |input: InferInputTensor, raw: Vec<Vec<u8>>| ModelInferRequest {
        model_name: "mul".into(),
        inputs: vec![input],
        raw_input_contents: raw.into_iter().map(Into::into).collect(),
        ..Default::default()
    };
    let cases = [
        (
            "truncated raw data",
            req(mul_input(vec![3, 2], "FP32"), vec![raw[..20].to_vec()]),
            Code::InvalidArgument,
            "expected 24 bytes",
        ),
        (
            "unknown datatype",
            req(mul_input(vec![3, 2], "FP8"), vec![raw.clone()]),
            Code::InvalidArgument,
            "unsupported datatype",
        ),
        (
            "huge shape",
            req(mul_input(vec![1 << 40, 1 << 40], "FP32"), vec![raw.clone()]),
            Code::InvalidArgument,
            "too large",
        ),
        (
            "wrong shape",
            req(mul_input(vec![2, 3], "FP32"), vec![raw.clone()]),
            Code::InvalidArgument,
            "invalid input",
        ),
        (
            "typed count mismatch",
            req(mul_input(vec![3, 2], "FP32"), vec![]),
            Code::InvalidArgument,
            "expected 6 FP32 values",
        ),
        (
            "raw count mismatch",
            req(mul_input(vec![3, 2], "FP32"), vec![raw.clone(), raw.clone()]),
            Code::InvalidArgument,
            "raw_input_contents",
        ),
        (
            "unknown model",
            ModelInferRequest {
                model_name: "nope".into(),
                ..req(mul_input(vec![3, 2], "FP32"), vec![raw.clone()])
            },
            Code::NotFound,
            "unknown model",
        ),
    ];
    for (what, request, code, msg) in cases {
        let status = c.model_infer(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{what}: {status:?}");
        assert!(
            status.message().contains(msg),
            "{what}: expected {msg:?} in {:?}",
            status.message()
        );
    }
    // A message over the size limit (32 MiB in the tests).
    let big = c
        .model_infer(req(mul_input(vec![3, 2], "FP32"), vec![vec![0; 33 << 20]]))
        .await
        .unwrap_err();
    // tonic's decoder answers a message over its limit with OUT_OF_RANGE or RESOURCE_EXHAUSTED.
    assert!(
        matches!(big.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{big:?}"
    );
    // The server still serves.
    let ok = c
        .model_infer(req(mul_input(vec![3, 2], "FP32"), vec![raw]))
        .await
        .unwrap();
    assert_eq!(f32s(&ok.into_inner().raw_output_contents[0]), mul_expected(&X));
}
