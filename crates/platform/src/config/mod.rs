//! Layered configuration: built-in defaults, then an optional TOML file, then `ROSTER_*`
//! environment variables (`ROSTER_DATABASE__URL`, `__` separating sections), then the
//! conventional `DATABASE_URL` and `REDIS_URL`. Every problem is collected and reported at once.

mod sections;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use figment::{
    Figment, Provider,
    providers::{Env, Format, Toml},
};
use secrecy::ExposeSecret;
use serde::Deserialize;

pub use sections::*;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the embedded default keeps its SQLite files.
    pub data_dir: PathBuf,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub registry: ServiceSettings,
    pub token: ServiceSettings,
    pub context: ServiceSettings,
    pub events: ServiceSettings,
    pub gateway: GatewaySettings,
    pub grpc: GrpcSettings,
    pub telemetry: TelemetrySettings,
    pub shutdown: ShutdownSettings,
    pub session: SessionSettings,
    pub metrics: MetricsSettings,
    pub secrets: SecretsSettings,
    pub reaper: ReaperSettings,
    pub webhooks: WebhookSettings,
    pub smtp: SmtpSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            database: DatabaseSettings::default(),
            redis: RedisSettings::default(),
            registry: ServiceSettings::local(50051),
            token: ServiceSettings::local(50052),
            context: ServiceSettings::local(50053),
            events: ServiceSettings::local(50054),
            gateway: GatewaySettings::default(),
            grpc: GrpcSettings::default(),
            telemetry: TelemetrySettings::default(),
            shutdown: ShutdownSettings::default(),
            session: SessionSettings::default(),
            metrics: MetricsSettings::default(),
            secrets: SecretsSettings::default(),
            reaper: ReaperSettings::default(),
            webhooks: WebhookSettings::default(),
            smtp: SmtpSettings::default(),
        }
    }
}

/// Every problem found in the configuration, reported together.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .problems.join("\n  - "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Settings {
    /// Reads defaults, then `file` (when given, it must exist), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(file))
    }

    fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::new();
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment
            .merge(Env::prefixed("ROSTER_").split("__"))
            .merge(Env::raw().only(&["DATABASE_URL", "REDIS_URL"]).map(|key| key.as_str().replace('_', ".").into()))
    }

    /// Extracts each section on its own so that one bad section does not hide the others.
    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let mut settings = Settings::default();
        macro_rules! section {
            ($($field:ident),*) => {$(
                if figment.contains(stringify!($field)) {
                    match figment.extract_inner(stringify!($field)) {
                        Ok(value) => settings.$field = value,
                        Err(errors) => problems.extend(errors.into_iter().map(|e| e.to_string())),
                    }
                }
            )*};
        }
        section!(
            data_dir, database, redis, registry, token, context, events, gateway, telemetry, shutdown, session,
            metrics, secrets, reaper, webhooks, smtp
        );
        match figment.data() {
            Ok(dict) => {
                for key in dict.values().flat_map(|d| d.keys()) {
                    if !KNOWN_SECTIONS.contains(&key.as_str()) {
                        problems.push(format!("unknown setting `{key}`"));
                    }
                }
            }
            // A missing or unparsable file: nothing else can be trusted.
            Err(errors) => {
                return Err(ConfigError { problems: errors.into_iter().map(|e| e.to_string()).collect() });
            }
        }
        problems.extend(settings.validate());
        if problems.is_empty() { Ok(settings) } else { Err(ConfigError { problems }) }
    }

    fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(url) = &self.database.url {
            let url = url.expose_secret();
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:")) {
                problems.push("database.url must start with postgres://, postgresql:// or sqlite:".into());
            }
        }
        if self.database.max_connections == 0 {
            problems.push("database.max_connections must be at least 1".into());
        }
        if let Some(url) = &self.redis.url {
            let url = url.expose_secret();
            if !["redis://", "rediss://", "redis+cluster://", "rediss+cluster://"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
            {
                problems.push("redis.url must start with redis://, rediss:// or redis+cluster://".into());
            }
        }
        if self.redis.key_prefix.is_empty() || self.redis.key_prefix.contains(char::is_whitespace) {
            problems.push("redis.key_prefix must be non-empty and contain no spaces".into());
        }
        for (name, service) in
            [("registry", &self.registry), ("token", &self.token), ("context", &self.context), ("events", &self.events)]
        {
            if !(service.endpoint.starts_with("http://") || service.endpoint.starts_with("https://")) {
                problems.push(format!("{name}.endpoint must be an http:// or https:// URL"));
            }
        }
        if self.gateway.max_body_bytes < 1024 {
            problems.push("gateway.max_body_bytes must be at least 1024".into());
        }
        if let Some(url) = &self.gateway.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problems.push("gateway.public_url must be an http:// or https:// URL".into());
        }
        if self.gateway.upstream_timeout_ms == 0 {
            problems.push("gateway.upstream_timeout_ms must be at least 1".into());
        }
        if let Some(keys) = &self.session.signing_keys
            && let Err(problem) = crate::keys::parse_signing_keys(keys.expose_secret())
        {
            problems.push(format!("session.signing_keys: {problem}"));
        }
        if let Some(keys) = &self.secrets.sealing_keys
            && let Err(problem) = crate::seal::parse_sealing_keys(keys.expose_secret())
        {
            problems.push(format!("secrets.sealing_keys: {problem}"));
        }
        if self.reaper.interval_secs == 0 || self.reaper.batch_size == 0 {
            problems.push("reaper.interval_secs and reaper.batch_size must be at least 1".into());
        }
        let w = &self.webhooks;
        if w.timeout_ms == 0
            || w.first_retry_ms == 0
            || w.max_backoff_secs == 0
            || w.batch_size == 0
            || w.idle_poll_ms == 0
        {
            problems.push(
                "webhooks.timeout_ms, first_retry_ms, max_backoff_secs, batch_size and idle_poll_ms must be at least 1"
                    .into(),
            );
        }
        if let Some(url) = &self.smtp.url
            && !(url.expose_secret().starts_with("smtp://") || url.expose_secret().starts_with("smtps://"))
        {
            problems.push("smtp.url must start with smtp:// or smtps://".into());
        }
        if !self.smtp.from.contains('@') {
            problems.push("smtp.from must be an email address (`Name <address>` or `address`)".into());
        }
        if tracing_subscriber::EnvFilter::try_new(&self.telemetry.filter).is_err() {
            problems.push(format!("telemetry.filter `{}` is not a valid filter", self.telemetry.filter));
        }
        problems
    }

    /// The database URL a service uses: the shared one, or its own SQLite file.
    pub fn database_url(&self, service: &str) -> String {
        match &self.database.url {
            Some(url) => url.expose_secret().to_owned(),
            None => format!("sqlite://{}/{service}.db?mode=rwc", self.data_dir.display()),
        }
    }

    pub fn smtp_url(&self) -> Option<&str> {
        self.smtp.url.as_ref().map(|u| u.expose_secret())
    }

    pub fn redis_url(&self) -> Option<&str> {
        self.redis.url.as_ref().map(|u| u.expose_secret())
    }
}

const KNOWN_SECTIONS: &[&str] = &[
    "data_dir",
    "database",
    "redis",
    "registry",
    "token",
    "context",
    "events",
    "gateway",
    "grpc",
    "telemetry",
    "shutdown",
    "session",
    "metrics",
    "secrets",
    "reaper",
    "webhooks",
    "smtp",
    // read by the CLI (`--config`), not a section
    "config",
];
