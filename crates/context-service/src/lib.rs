//! context-service: owns what an AI agent needs from its first turn (the context object per
//! application, user and agent) and, as the dialects grow, conversations and their participants.

pub mod app;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod migration;
pub mod startup;
pub mod store;

pub use startup::Application;
