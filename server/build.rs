//! Compiles the gRPC contract (`contract/proto/shutdown/v1/probe.proto`, and the standard
//! health-checking service it also serves, `contract/proto/grpc/health/v1/health.proto`) into
//! Rust.
//!
//! The .proto is parsed by protox, in Rust, rather than by `protoc`: no machine this project
//! builds on has protoc, and only crates.io can be reached. tonic-prost-build then generates the
//! messages, the server and the client from the parsed descriptors.

use std::path::Path;

const PROTO_ROOT: &str = "contract/proto";
const PROTOS: [&str; 2] = [
    "contract/proto/shutdown/v1/probe.proto",
    "contract/proto/grpc/health/v1/health.proto",
];

fn main() {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = match protox::compile(PROTOS, [PROTO_ROOT]) {
        Ok(descriptors) => descriptors,
        Err(error) => fail(&format!(
            "cannot parse {}: {error}; fix the .proto file",
            PROTOS
                .map(|p| Path::new(p).display().to_string())
                .join(" or ")
        )),
    };
    if let Err(error) = tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // The server links no transport (it serves through its own hyper connections); the
        // generated client takes any channel, tonic's included.
        .build_transport(false)
        .compile_fds(descriptors)
    {
        fail(&format!("cannot generate the gRPC code: {error}"));
    }
}

/// Stops the build with `message` (a build script reports errors by exiting non-zero).
fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
