//! Generates the gRPC code and the descriptor set (for reflection) from `proto/`.
//!
//! The protos are parsed by `protox`, a protobuf compiler written in Rust, so building Roster
//! needs nothing but cargo: no `protoc` on the machine, and `PROTOC` is never read.

use std::{env, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "roster/registry/v1/user.proto",
    "roster/registry/v1/registry_service.proto",
    "roster/token/v1/token.proto",
    "roster/token/v1/token_service.proto",
    "roster/context/v1/context.proto",
    "roster/context/v1/context_service.proto",
    "roster/events/v1/events.proto",
    "roster/events/v1/event_service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    // tonic 0.14 no longer emits these itself (see qdrant lib/api/build.rs).
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", root.join(proto).display());
    }
    let descriptors = protox::compile(PROTOS, [&root])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(out.join("roster_descriptor.bin"), descriptors.encode_to_vec())?;
    // No default stubs: every RPC is implemented, and a new one must fail the build until it is.
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
