//! Plumbing shared by every Roster service: layered configuration, tracing and OTLP set-up,
//! graceful shutdown, gRPC server and client construction (health and reflection included),
//! database connections, ids and secrets, and the one table of stable error codes.
//! No domain logic lives here.

pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod grpc;
pub mod ids;
pub mod keys;
pub mod metrics;
pub mod outbox;
pub mod seal;
pub mod secret;
pub mod shutdown;
pub mod telemetry;
pub mod time;
pub mod timed_map;
pub mod validation;

pub use clock::{Clock, ManualClock, Stopwatch, SystemClock, now_millis};
pub use config::Settings;
pub use error::{ApiError, ErrorCode};
pub use ids::AppId;
pub use shutdown::Shutdown;
pub use validation::ValidationError;
