//! Generates the bare echo service, the gRPC ceiling: one unary method that takes and answers
//! token-service's own `ValidateToken` messages, so the ceiling moves the same bytes as the real
//! call. tonic's generic (manual) codegen needs no .proto file, and so no protoc run of its own:
//! the message types come from `crates/proto`, generated there as for every service.

use tonic_prost_build::manual::{Builder, Method, Service};

fn main() {
    let echo = Service::builder()
        .name("Echo")
        .package("roster.bench.v1")
        .method(
            Method::builder()
                .name("echo")
                .route_name("Echo")
                .input_type("proto::token::v1::ValidateTokenRequest")
                .output_type("proto::token::v1::ValidateTokenResponse")
                .codec_path("tonic_prost::ProstCodec")
                .build(),
        )
        .build();
    Builder::new().compile(&[echo]);
    // The compiler that built the tool, for the report's versions.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .unwrap_or_default();
    println!("cargo:rustc-env=LOADGEN_RUSTC={}", version.trim());
    println!("cargo:rustc-env=LOADGEN_DEPS={}", locked_versions());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../../Cargo.lock");
}

/// The locked versions of the crates the figures depend on, for the report.
fn locked_versions() -> String {
    const WANTED: &[&str] = &["tokio", "tonic", "prost", "hyper", "axum", "redis", "sea-orm", "sqlx", "jsonwebtoken"];
    let lock = std::fs::read_to_string("../../Cargo.lock").unwrap_or_default();
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut name = "";
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = n.trim_matches('"');
        } else if let Some(v) = line.strip_prefix("version = ")
            && let Some(rank) = WANTED.iter().position(|w| *w == name)
        {
            found.push((rank, format!("{name} {}", v.trim_matches('"'))));
        }
    }
    found.sort();
    found.into_iter().map(|(_, v)| v).collect::<Vec<_>>().join(", ")
}
