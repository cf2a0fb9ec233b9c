//! user-registry: owns the users an AI agent talks to (ids, profiles, metadata, identities) and
//! everything that hangs off them, reached only through its gRPC API.

pub mod app;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod migration;
pub mod startup;
pub mod store;

pub use startup::Application;
