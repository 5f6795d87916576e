//! Compiles the server's gRPC contract (`server/contract/proto/shutdown/v1/probe.proto`) into a
//! client for the gRPC observer (`src/protocol/grpc.rs`).
//!
//! The same file the server compiles, read in place, so both sides agree on the wire by
//! construction. protox parses it in Rust: no machine this builds on has `protoc`.

use std::path::Path;

const PROTO_ROOT: &str = "../server/contract/proto";
const PROTO: &str = "../server/contract/proto/shutdown/v1/probe.proto";

fn main() {
    println!("cargo:rerun-if-changed={PROTO}");
    let descriptors = match protox::compile([PROTO], [PROTO_ROOT]) {
        Ok(descriptors) => descriptors,
        Err(error) => fail(&format!(
            "cannot parse {}: {error}; fix the .proto file",
            Path::new(PROTO).display()
        )),
    };
    if let Err(error) = tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        // The client is given tonic's channel by the observer, which makes its own connections.
        .build_transport(false)
        .compile_fds(descriptors)
    {
        fail(&format!("cannot generate the gRPC client: {error}"));
    }
}

/// Stops the build with `message` (a build script reports errors by exiting non-zero).
fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
