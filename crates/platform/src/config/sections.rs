//! The sections of `Settings`, each with its defaults.

use std::net::SocketAddr;

use secrecy::SecretString;
use serde::Deserialize;
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsSettings {
    /// Keys that seal what must be read back but never leak with the database (sensitive
    /// metadata), `kid:hexkey` separated by commas, each key exactly 32 bytes (64 hex digits);
    /// the first seals, all open. Unset: a generated key kept in the registry's database.
    pub sealing_keys: Option<SecretString>,
}

/// The registry's deletion of end users never associated with a conversation (each
/// application sets its own window).
/// The SMTP relay that Kore activation emails go through.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// `smtp://[user:password@]host[:port]` (plain, or `?tls=required` for STARTTLS) or
    /// `smtps://...` (TLS from the start). Unset: no email is sent; the events are kept.
    pub url: Option<SecretString>,
    /// The `From` of every email.
    pub from: String,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self { url: None, from: "Roster <no-reply@localhost>".into() }
    }
}

/// Event delivery: how the dispatcher sends webhooks and when event-service retries them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Whether this process sends deliveries (the gateway's dispatcher).
    pub dispatch: bool,
    /// Allow targets on loopback, private, link-local and metadata addresses (tests, local
    /// stacks); off, such a target is refused at connect time, whatever its name.
    pub allow_private_targets: bool,
    /// PEM certificates trusted for HTTPS targets besides the public roots (an internal CA).
    pub ca_file: Option<std::path::PathBuf>,
    /// Per attempt: connect, send and read the answer.
    pub timeout_ms: u64,
    /// The first retry comes after 0.5 to 1x this; each later one doubles, up to `max_backoff_secs`.
    pub first_retry_ms: u64,
    pub max_backoff_secs: u64,
    /// Failed deliveries older than this are dead-lettered.
    pub max_age_secs: u64,
    /// Deliveries leased per round and sent at once.
    pub batch_size: u32,
    /// How long the dispatcher sleeps when nothing was due.
    pub idle_poll_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            dispatch: true,
            allow_private_targets: false,
            ca_file: None,
            timeout_ms: 5_000,
            first_retry_ms: 5_000,
            max_backoff_secs: 3_600,
            max_age_secs: 3 * 24 * 3_600,
            batch_size: 32,
            idle_poll_ms: 500,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReaperSettings {
    pub enabled: bool,
    /// Seconds between passes.
    pub interval_secs: u64,
    /// Users claimed and deleted per batch.
    pub batch_size: u32,
}

impl Default for ReaperSettings {
    fn default() -> Self {
        Self { enabled: true, interval_secs: 60, batch_size: 100 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Where `GET /metrics` (Prometheus text) is served; `enabled = false` turns it off.
    pub listen: SocketAddr,
    pub enabled: bool,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 9464)), enabled: true }
    }
}

/// What `ValidateToken` does when Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisFailurePolicy {
    /// Refuse session tokens (reason UNAVAILABLE) until Redis answers again. The default.
    Closed,
    /// Read revocation state from the database instead (correct, slower, loads the database).
    Database,
    /// Accept signature-valid session tokens without a revocation check.
    Open,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionSettings {
    /// Session-token signing keys, `kid:hexsecret` separated by commas; the first signs, all
    /// verify, so a new key goes first and an old one stays until its tokens expire. Unset: a
    /// generated key kept in token-service's database.
    pub signing_keys: Option<SecretString>,
    pub redis_failure: RedisFailurePolicy,
    /// How long a replica trusts revocation state it read, in milliseconds.
    pub revocation_cache_ms: u64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self { signing_keys: None, redis_failure: RedisFailurePolicy::Closed, revocation_cache_ms: 1000 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// PostgreSQL or SQLite URL shared by every service (each owns its own tables).
    /// Unset: one SQLite file per service under `data_dir`.
    pub url: Option<SecretString>,
    pub max_connections: u32,
    /// Apply pending migrations when a service starts (`roster migrate` does it explicitly).
    pub auto_migrate: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://host:port/db` for one node; `redis+cluster://host1:port,host2:port` for a cluster.
    /// Unset: an in-process cache, fine for one process only.
    pub url: Option<SecretString>,
    /// Every key starts with this, then `:<service>:<entity>:<id>`.
    pub key_prefix: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceSettings {
    /// Address this service's gRPC server binds (port 0 picks a free one).
    pub listen: SocketAddr,
    /// How other services reach it.
    pub endpoint: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySettings {
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Deadline for each gRPC call the gateway makes, in milliseconds.
    pub upstream_timeout_ms: u64,
    /// The gateway's public base URL (`https://chat.example.com`), for links it hands out such as
    /// uploaded profile images. Unset: taken from each request's `Host`.
    pub public_url: Option<String>,
    /// How long a client may take to send a request's head, in milliseconds; also how long an
    /// idle keep-alive connection is kept.
    pub header_read_timeout_ms: u64,
    /// How long the gateway waits for the next part of a request body, in milliseconds.
    pub body_read_timeout_ms: u64,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How long a replica keeps a caller token-service accepted, in milliseconds: a repeated
    /// credential then costs no hop, and a revoked one is refused everywhere within this bound.
    /// 0 asks token-service on every request.
    pub caller_cache_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    pub format: LogFormat,
    /// `tracing` env-filter directives; `RUST_LOG` wins when set.
    pub filter: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownSettings {
    /// How long in-flight requests may take to finish after a shutdown signal, in seconds.
    pub drain_timeout_secs: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: None, max_connections: 10, auto_migrate: true }
    }
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self { url: None, key_prefix: "roster".into() }
    }
}

impl ServiceSettings {
    pub(super) fn local(port: u16) -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], port)), endpoint: format!("http://127.0.0.1:{port}") }
    }
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self::local(0)
    }
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 6 * 1024 * 1024,
            upstream_timeout_ms: 10_000,
            public_url: None,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            max_connections: 4_096,
            caller_cache_ms: 1_000,
        }
    }
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self { format: LogFormat::Human, filter: "info".into() }
    }
}

impl Default for ShutdownSettings {
    fn default() -> Self {
        Self { drain_timeout_secs: 20 }
    }
}

/// Limits of every gRPC listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpcSettings {
    /// An idle connection is pinged this often (HTTP/2 PING, and TCP keep-alive)...
    pub keepalive_interval_secs: u64,
    /// ...and dropped when a ping is not answered within this.
    pub keepalive_timeout_secs: u64,
    /// Calls in flight at once on one connection; more wait for a free stream.
    pub max_concurrent_streams: u32,
}

impl Default for GrpcSettings {
    fn default() -> Self {
        Self { keepalive_interval_secs: 30, keepalive_timeout_secs: 10, max_concurrent_streams: 1_024 }
    }
}
