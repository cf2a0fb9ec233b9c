//! token-service integration tests: the store and cache contracts (SQLite, PostgreSQL, real
//! Redis) and the gRPC server on a real port.
#![allow(clippy::unwrap_used)] // a test's unwrap is its assertion

mod cache;
mod clock;
mod console;
mod credential_store;
mod credentials;
mod grpc;
mod helpers;
mod sessions;
mod store;
