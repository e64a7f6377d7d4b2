//! Integration tests of `accelrt serve` on a live server: the REST API, gRPC, metrics,
//! concurrency, shutdown, and `tritonclient` from Python.

mod common;
mod concurrency;
mod grpc;
mod http;
mod shutdown;
mod timeout;
mod tritonclient;
