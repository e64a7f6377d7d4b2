//! Compiles the Open Inference Protocol's .proto with `protox` (pure Rust, so no system `protoc`
//! is needed) and generates the tonic service and prost messages from its descriptors.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/grpc_service.proto");
    let fds = protox::compile(["grpc_service.proto"], ["proto"])?;
    // The client is generated too: the integration tests talk to the server through it.
    // Tensor data as `bytes::Bytes`: requests become tensors and tensors become responses
    // without copying.
    tonic_prost_build::configure()
        .bytes(".inference")
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
