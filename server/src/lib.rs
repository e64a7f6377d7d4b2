//! # accelrt-server
//!
//! An inference server that speaks the Open Inference Protocol (KServe v2, Triton's HTTP/REST
//! and gRPC API) over accelrt runtimes, so that `tritonclient`, KServe's clients and curl use
//! it unchanged, and Prometheus metrics under Triton's names.
//!
//! ```no_run
//! use accelrt_server::{Server, ServerConfig};
//!
//! # async fn run() -> Result<(), accelrt_server::ServeError> {
//! // models/<name>/<version>/model.onnx, each with an optional config.pbtxt
//! let server = Server::start(&ServerConfig::new("models")).await?;
//! println!("HTTP on {}, gRPC on {}", server.http_addr(), server.grpc_addr());
//! tokio::signal::ctrl_c().await.ok();
//! server.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! ## Pieces
//! - [`Repository`]: Triton's model repository layout; each [`Model`] is an accelrt `Runtime`
//!   on the ONNX backend, with its [`ModelConfig`] read from `config.pbtxt` (see [`config`] for
//!   what is read and what is ignored) or derived from the model.
//! - [`http`]: the REST API, JSON tensors and the binary tensor data extension.
//! - [`grpc`]: `inference.GRPCInferenceService` (the [`proto`] module is generated at build time
//!   from `proto/grpc_service.proto`, compiled by `protox`: no system `protoc`).
//! - [`metrics`]: Prometheus text on the metrics port.
//! - [`Server`]: the three listeners and graceful shutdown.
#![warn(missing_docs)]

pub mod config;
pub mod datatype;
mod error;
pub mod grpc;
pub mod http;
pub mod infer;
mod metered;
pub mod metrics;
mod model;
pub mod pbtxt;
mod repository;
mod server;

/// Messages and service of `inference.GRPCInferenceService`, generated from
/// `proto/grpc_service.proto`.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("inference");
}

pub use config::ModelConfig;
pub use error::ServeError;
pub use metered::Metered;
pub use model::Model;
pub use repository::Repository;
pub use server::{metadata_json, wire_shape, Server, ServerConfig, Shared, EXTENSIONS, SERVER_NAME};
