//! user-registry integration tests: the store contract on SQLite and PostgreSQL, and the gRPC
//! server on a real port.
#![allow(clippy::unwrap_used)] // a test's unwrap is its assertion

mod export;
mod grpc;
mod helpers;
mod import;
mod lifecycle;
mod member_updates;
mod members;
mod privacy;
mod reaper;
mod store;
mod store_writes;
mod sunshine;
mod sunshine_grpc;
