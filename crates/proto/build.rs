//! Generates the gRPC code and the descriptor set (for reflection) from `proto/`.

use std::{env, path::PathBuf};

const PROTOS: &[&str] = &[
    "roster/registry/v1/user.proto",
    "roster/registry/v1/registry_service.proto",
    "roster/token/v1/token.proto",
    "roster/token/v1/token_service.proto",
    "roster/context/v1/context.proto",
    "roster/context/v1/context_service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| root.join(p)).collect();
    // tonic 0.14 no longer emits these itself (see qdrant lib/api/build.rs).
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let out = PathBuf::from(env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("roster_descriptor.bin"))
        // RPCs not yet built answer UNIMPLEMENTED instead of needing hand-written stubs.
        .generate_default_stubs(true)
        .compile_protos(&files, &[root])?;
    Ok(())
}
