//! The Open Inference Protocol's HTTP/REST API (KServe v2 / Triton), on axum.
//!
//! ```text
//! GET  /v2/health/live                             200 while the process serves
//! GET  /v2/health/ready                            200 when ready, 400 while shutting down
//! GET  /v2                                         server metadata
//! GET  /v2/models/{m}[/versions/{v}]               model metadata
//! GET  /v2/models/{m}[/versions/{v}]/ready         200 / 400
//! POST /v2/models/{m}[/versions/{v}]/infer         JSON tensors or the binary tensor data extension
//! ```
//!
//! Readiness answers as the protocol specifies (200 true, a 4xx false) and as Triton does (400).
//! Errors are `{"error": "..."}` with 400 (malformed or not fitting the model), 404 (unknown
//! model or version), 413 (body over the size limit), 503 (queue full, timed out in the
//! queue, shutting down) or 500 (the model failed).

mod json;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::datatype::wire_name;
use crate::server::Shared;
use crate::{Model, ServeError};

/// The header that carries the JSON part's length in the binary tensor data extension.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// The REST API's routes; bodies above `max_body` bytes get 413.
pub fn router(shared: Arc<Shared>, max_body: usize) -> Router {
    Router::new()
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/v2", get(server_metadata))
        .route("/v2/models/{model}", get(model_metadata))
        .route("/v2/models/{model}/versions/{version}", get(model_metadata))
        .route("/v2/models/{model}/ready", get(model_ready))
        .route("/v2/models/{model}/versions/{version}/ready", get(model_ready))
        .route("/v2/models/{model}/infer", post(infer))
        .route("/v2/models/{model}/versions/{version}/infer", post(infer))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(shared)
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

async fn live() -> StatusCode {
    StatusCode::OK
}

async fn ready(State(s): State<Arc<Shared>>) -> StatusCode {
    if s.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    }
}

async fn server_metadata() -> Json<serde_json::Value> {
    Json(crate::server::metadata_json())
}

fn lookup<'a>(s: &'a Shared, path: &HashMap<String, String>) -> Result<&'a Arc<Model>, ServeError> {
    let name = path.get("model").map_or("", String::as_str);
    s.repository().get(name, path.get("version").map(String::as_str))
}

async fn model_metadata(
    State(s): State<Arc<Shared>>,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ServeError> {
    let model = lookup(&s, &path)?;
    let tensors = |specs: &[accelrt::TensorSpec]| -> Vec<serde_json::Value> {
        specs
            .iter()
            .map(|t| json!({ "name": t.name, "datatype": wire_name(t.dtype), "shape": crate::server::wire_shape(t) }))
            .collect()
    };
    Ok(Json(json!({
        "name": model.name(),
        "versions": [model.version()],
        "platform": "onnxruntime_onnx",
        "inputs": tensors(&model.spec().inputs),
        "outputs": tensors(&model.spec().outputs),
    })))
}

async fn model_ready(
    State(s): State<Arc<Shared>>,
    Path(path): Path<HashMap<String, String>>,
) -> Result<StatusCode, ServeError> {
    lookup(&s, &path)?;
    Ok(if s.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    })
}

async fn infer(
    State(s): State<Arc<Shared>>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServeError> {
    let model = lookup(&s, &path)?;
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ServeError::TooLarge(format!(
            "request body larger than the server's limit of {} bytes (--max-request-size)",
            s.max_body()
        )),
        _ => ServeError::invalid(format!("cannot read the request body: {e}")),
    })?;
    if let Some(enc) = headers.get(header::CONTENT_ENCODING).filter(|v| *v != "identity") {
        return Err(ServeError::invalid(format!(
            "unsupported Content-Encoding {enc:?}: expected an uncompressed body"
        )));
    }
    let header_len = match headers.get(HEADER_LENGTH) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    ServeError::invalid(format!(
                        "Inference-Header-Content-Length: expected a byte count, got {v:?}"
                    ))
                })?,
        ),
    };
    let decoded =
        json::decode(body, header_len, model.priorities()).inspect_err(|e| model.counters.fail(e.failure_reason()))?;
    let response = model.infer(decoded.request).await?;
    let encoded = json::encode(&response, &decoded.binary)?;
    let mut resp = encoded.body.into_response();
    let h = resp.headers_mut();
    match encoded.header_len {
        Some(n) => {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            h.insert(HEADER_LENGTH, HeaderValue::from(n));
        }
        None => {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
    }
    Ok(resp)
}
