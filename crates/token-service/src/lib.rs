//! token-service: owns applications (the tenants), their credentials (API tokens stored hashed),
//! and the tokens users log in with; answers "who is this caller" for every other service.

pub mod app;
pub mod customer_jwt;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod jwt;
pub mod migration;
pub mod session_token;
pub mod startup;
pub mod store;

pub use startup::Application;
