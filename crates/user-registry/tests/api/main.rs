//! user-registry integration tests: the store contract on SQLite and PostgreSQL, and the gRPC
//! server on a real port.

mod grpc;
mod helpers;
mod lifecycle;
mod store;
mod store_writes;
mod sunshine;
mod sunshine_grpc;
