//! [`Server`]: the HTTP, gRPC and metrics listeners over one [`Repository`], and their
//! graceful shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::serve::ListenerExt;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::proto::grpc_inference_service_server::GrpcInferenceServiceServer;
use crate::{grpc, http, metrics, Repository, ServeError};

/// The server's name in its metadata.
pub const SERVER_NAME: &str = "accelrt";

/// Protocol extensions the server supports, as its metadata lists them.
pub const EXTENSIONS: &[&str] = &["binary_tensor_data", "parameters"];

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The model repository (`DIR/<model>/<version>/model.onnx`).
    pub repository: PathBuf,
    /// HTTP/REST address (port 0: any free port).
    pub http: SocketAddr,
    /// gRPC address.
    pub grpc: SocketAddr,
    /// Prometheus metrics address (`/metrics`).
    pub metrics: SocketAddr,
    /// The largest request accepted, in bytes (HTTP body, gRPC message).
    pub max_request_bytes: usize,
    /// On shutdown, how long readiness reports false before the listeners stop taking new
    /// connections, so that a load balancer stops sending first.
    pub drain_delay: Duration,
}

impl ServerConfig {
    /// Triton's ports (8000 HTTP, 8001 gRPC, 8002 metrics) on all interfaces, 64 MiB requests,
    /// no drain delay.
    pub fn new(repository: impl Into<PathBuf>) -> ServerConfig {
        let any = |port| SocketAddr::from(([0, 0, 0, 0], port));
        ServerConfig {
            repository: repository.into(),
            http: any(8000),
            grpc: any(8001),
            metrics: any(8002),
            max_request_bytes: 64 << 20,
            drain_delay: Duration::ZERO,
        }
    }
}

/// What the listeners share.
#[derive(Debug)]
pub struct Shared {
    repository: Repository,
    ready: AtomicBool,
    max_body: usize,
}

impl Shared {
    /// The models.
    pub fn repository(&self) -> &Repository {
        &self.repository
    }

    /// False once shutdown began.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// The request size limit.
    pub fn max_body(&self) -> usize {
        self.max_body
    }
}

/// Server metadata as the REST API returns it.
pub fn metadata_json() -> serde_json::Value {
    json!({ "name": SERVER_NAME, "version": env!("CARGO_PKG_VERSION"), "extensions": EXTENSIONS })
}

/// A tensor spec's shape as the protocol writes it: -1 for a dynamic dimension.
pub fn wire_shape(t: &accelrt::TensorSpec) -> Vec<i64> {
    t.shape
        .iter()
        .map(|d| match d {
            accelrt::Dim::Fixed(n) => *n as i64,
            accelrt::Dim::Dynamic(_) => -1,
        })
        .collect()
}

/// Sends small responses at once instead of waiting for the client's delayed ACK (Nagle's
/// algorithm would add ~40 ms to each request on a kept-alive connection).
fn no_delay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!("TCP_NODELAY: {e}");
    }
}

/// A running server. Dropping it stops nothing; call [`shutdown`](Server::shutdown).
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    http_addr: SocketAddr,
    grpc_addr: SocketAddr,
    metrics_addr: SocketAddr,
    drain_delay: Duration,
    stop: watch::Sender<bool>,
    stop_metrics: watch::Sender<bool>,
    serving: Vec<JoinHandle<Result<(), String>>>,
    metrics_task: JoinHandle<Result<(), String>>,
}

impl Server {
    /// Loads the repository (on a blocking thread: ONNX Runtime loads the models) and starts
    /// serving.
    pub async fn start(config: &ServerConfig) -> Result<Server, ServeError> {
        let dir = config.repository.clone();
        let repository = tokio::task::spawn_blocking(move || Repository::load(&dir))
            .await
            .map_err(|e| ServeError::Internal(format!("loading the model repository: {e}")))??;
        Self::serve(repository, config).await
    }

    /// Starts serving `repository` (its models already loaded).
    pub async fn serve(repository: Repository, config: &ServerConfig) -> Result<Server, ServeError> {
        let bind = |addr: SocketAddr, what: &'static str| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|e| ServeError::Internal(format!("{what} address {addr}: {e}")))
        };
        let http_listener = bind(config.http, "HTTP").await?;
        let grpc_listener = bind(config.grpc, "gRPC").await?;
        let metrics_listener = bind(config.metrics, "metrics").await?;
        let local = |l: &TcpListener| l.local_addr().map_err(|e| ServeError::Internal(e.to_string()));
        let (http_addr, grpc_addr, metrics_addr) = (
            local(&http_listener)?,
            local(&grpc_listener)?,
            local(&metrics_listener)?,
        );
        let shared = Arc::new(Shared {
            repository,
            ready: AtomicBool::new(true),
            max_body: config.max_request_bytes,
        });
        let (stop, stop_rx) = watch::channel(false);
        let (stop_metrics, metrics_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            // Either the flag turns true or the sender is gone: both mean stop.
            let _ = rx.wait_for(|s| *s).await;
        };

        let app = http::router(shared.clone(), config.max_request_bytes);
        let http_task = tokio::spawn({
            let done = stopped(stop_rx.clone());
            async move {
                axum::serve(http_listener.tap_io(no_delay), app)
                    .with_graceful_shutdown(done)
                    .await
                    .map_err(|e| format!("HTTP server: {e}"))
            }
        });
        let service = GrpcInferenceServiceServer::new(grpc::Service::new(shared.clone()))
            .max_decoding_message_size(config.max_request_bytes)
            .max_encoding_message_size(usize::MAX);
        let grpc_task = tokio::spawn({
            let done = stopped(stop_rx);
            async move {
                tonic::transport::Server::builder()
                    // Tensors are often larger than HTTP/2's default 64 KiB window: let the
                    // window grow with the bandwidth-delay product instead of stalling on
                    // window updates.
                    .http2_adaptive_window(Some(true))
                    .add_service(service)
                    .serve_with_incoming_shutdown(
                        // Small responses must leave at once, not wait for the client's
                        // delayed ACK (Nagle's algorithm adds ~40 ms per request otherwise).
                        tonic::transport::server::TcpIncoming::from(grpc_listener).with_nodelay(Some(true)),
                        done,
                    )
                    .await
                    .map_err(|e| format!("gRPC server: {e}"))
            }
        });
        let metrics_app = axum::Router::new()
            .route(
                "/metrics",
                get(
                    |axum::extract::State(s): axum::extract::State<Arc<Shared>>| async move {
                        (
                            [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                            metrics::render(s.repository()),
                        )
                    },
                ),
            )
            .with_state(shared.clone());
        let metrics_task = tokio::spawn({
            let done = stopped(metrics_rx);
            async move {
                axum::serve(metrics_listener.tap_io(no_delay), metrics_app)
                    .with_graceful_shutdown(done)
                    .await
                    .map_err(|e| format!("metrics server: {e}"))
            }
        });
        tracing::info!(%http_addr, %grpc_addr, %metrics_addr, "serving");
        Ok(Server {
            shared,
            http_addr,
            grpc_addr,
            metrics_addr,
            drain_delay: config.drain_delay,
            stop,
            stop_metrics,
            serving: vec![http_task, grpc_task],
            metrics_task,
        })
    }

    /// The HTTP/REST address (with the port chosen when 0 was asked for).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The gRPC address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The metrics address.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    /// The models and readiness.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Graceful shutdown, what Kubernetes expects on SIGTERM: readiness turns false at once;
    /// after the drain delay the HTTP and gRPC listeners stop accepting and the requests in
    /// flight finish; then each model's runtime runs what is queued and stops, and last the
    /// metrics listener closes.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        self.shared.ready.store(false, Ordering::SeqCst);
        tracing::info!(drain = ?self.drain_delay, "shutting down: readiness is false");
        tokio::time::sleep(self.drain_delay).await;
        let _ = self.stop.send(true);
        let mut first_error = None;
        for task in self.serving {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(e.to_string());
                }
            }
        }
        // Each runtime runs what it has accepted, then stops; shutdown is async, so no
        // executor thread blocks on it.
        for model in self.shared.repository().models() {
            model.runtime().shutdown().await;
        }
        let _ = self.stop_metrics.send(true);
        let _ = self.metrics_task.await;
        tracing::info!("stopped");
        match first_error {
            Some(e) => Err(ServeError::Internal(e)),
            None => Ok(()),
        }
    }
}
