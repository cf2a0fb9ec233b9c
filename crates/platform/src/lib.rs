//! Plumbing shared by every Roster service: layered configuration, tracing and OTLP set-up,
//! graceful shutdown, gRPC server and client construction (health and reflection included),
//! database connections, ids and secrets, and the one table of stable error codes.
//! No domain logic lives here.

pub mod config;
pub mod db;
pub mod error;
pub mod grpc;
pub mod ids;
pub mod metrics;
pub mod seal;
pub mod secret;
pub mod shutdown;
pub mod telemetry;
pub mod time;
pub mod validation;

pub use config::Settings;
pub use error::{ApiError, ErrorCode};
pub use ids::AppId;
pub use shutdown::Shutdown;
pub use validation::ValidationError;

/// Milliseconds since the Unix epoch, the one time unit stored by every service.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// The time source of every service, injected so tests can move it.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_millis(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        now_millis()
    }
}
