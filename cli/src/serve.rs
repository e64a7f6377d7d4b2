//! `accelrt serve`: the Open Inference Protocol server over a model repository, until SIGTERM
//! or Ctrl-C, then a graceful shutdown.

use std::net::SocketAddr;

use accelrt_server::{Server, ServerConfig};

use crate::args::ServeArgs;
use crate::error::CliError;

/// Serves until a termination signal, then shuts down gracefully.
pub fn serve(args: &ServeArgs) -> Result<(), CliError> {
    if !args.model_repository.is_dir() {
        return Err(CliError::Usage(format!(
            "--model-repository: expected a directory, got {}",
            args.model_repository.display()
        )));
    }
    // Logs go to stderr: which models are served, with what settings, what their
    // config.pbtxt holds that is ignored, and the shutdown steps.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_max_level(tracing::Level::INFO)
        .try_init();
    let config = ServerConfig {
        http: SocketAddr::new(args.address, args.http_port),
        grpc: SocketAddr::new(args.address, args.grpc_port),
        metrics: SocketAddr::new(args.address, args.metrics_port),
        max_request_bytes: args.max_request_mib.saturating_mul(1 << 20),
        drain_delay: args.drain_delay,
        ..ServerConfig::new(&args.model_repository)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Serve(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        let server = Server::start(&config)
            .await
            .map_err(|e| CliError::Serve(e.to_string()))?;
        eprintln!(
            "accelrt serve: HTTP {}, gRPC {}, metrics http://{}/metrics",
            server.http_addr(),
            server.grpc_addr(),
            server.metrics_addr()
        );
        terminated().await;
        server.shutdown().await.map_err(|e| CliError::Serve(e.to_string()))
    })
}

/// SIGTERM (what Kubernetes sends) or Ctrl-C.
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
