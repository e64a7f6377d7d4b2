//! Compiles the Open Inference Protocol's .proto with `protox` (pure Rust, so no system `protoc`
//! is needed) and generates the tonic service and prost messages from its descriptors.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/grpc_service.proto");
    let fds = protox::compile(["grpc_service.proto"], ["proto"])?;
    // The client is generated too: the integration tests talk to the server through it.
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
