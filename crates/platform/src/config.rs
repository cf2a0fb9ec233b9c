//! Layered configuration: built-in defaults, then an optional TOML file, then `ROSTER_*`
//! environment variables (`ROSTER_DATABASE__URL`, `__` separating sections), then the
//! conventional `DATABASE_URL` and `REDIS_URL`. Every problem is collected and reported at once.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use figment::{
    Figment, Provider,
    providers::{Env, Format, Toml},
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

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
    pub gateway: GatewaySettings,
    pub telemetry: TelemetrySettings,
    pub shutdown: ShutdownSettings,
    pub session: SessionSettings,
    pub metrics: MetricsSettings,
    pub secrets: SecretsSettings,
    pub reaper: ReaperSettings,
}

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
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReaperSettings {
    pub enabled: bool,
    /// Seconds between passes.
    pub interval_secs: u64,
    /// Users deleted per transaction.
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

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            database: DatabaseSettings::default(),
            redis: RedisSettings::default(),
            registry: ServiceSettings::local(50051),
            token: ServiceSettings::local(50052),
            context: ServiceSettings::local(50053),
            gateway: GatewaySettings::default(),
            telemetry: TelemetrySettings::default(),
            shutdown: ShutdownSettings::default(),
            session: SessionSettings::default(),
            metrics: MetricsSettings::default(),
            secrets: SecretsSettings::default(),
            reaper: ReaperSettings::default(),
        }
    }
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
    fn local(port: u16) -> Self {
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
            data_dir, database, redis, registry, token, context, gateway, telemetry, shutdown, session, metrics,
            secrets, reaper
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
        for (name, service) in [("registry", &self.registry), ("token", &self.token), ("context", &self.context)] {
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
            && let Err(problem) = parse_signing_keys(keys.expose_secret())
        {
            problems.push(format!("session.signing_keys: {problem}"));
        }
        if let Some(keys) = &self.secrets.sealing_keys
            && let Err(problem) = parse_sealing_keys(keys.expose_secret())
        {
            problems.push(format!("secrets.sealing_keys: {problem}"));
        }
        if self.reaper.interval_secs == 0 || self.reaper.batch_size == 0 {
            problems.push("reaper.interval_secs and reaper.batch_size must be at least 1".into());
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

    pub fn redis_url(&self) -> Option<&str> {
        self.redis.url.as_ref().map(|u| u.expose_secret())
    }
}

/// `kid:hexsecret,kid:hexsecret` -> (kid, secret bytes), in order. Secrets are at least 32 bytes.
pub fn parse_signing_keys(value: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut keys: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (kid, secret) = entry.split_once(':').ok_or("each key is kid:hexsecret")?;
        if kid.is_empty() || kid.len() > 64 || !kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("a kid is 1 to 64 letters, digits, - or _".into());
        }
        let secret = hex::decode(secret).map_err(|_| format!("the secret of {kid} is not hex"))?;
        if secret.len() < 32 {
            return Err(format!("the secret of {kid} is shorter than 32 bytes"));
        }
        if keys.iter().any(|(k, _)| k == kid) {
            return Err(format!("kid {kid} appears twice"));
        }
        keys.push((kid.to_owned(), secret));
    }
    if keys.is_empty() {
        return Err("no keys given".into());
    }
    Ok(keys)
}

/// `kid:hexkey,kid:hexkey` -> (kid, key bytes), in order; each key exactly 32 bytes.
pub fn parse_sealing_keys(value: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let keys = parse_signing_keys(value)?;
    if let Some((kid, _)) = keys.iter().find(|(_, key)| key.len() != crate::seal::KEY_LEN) {
        return Err(format!("the key of {kid} is not exactly 32 bytes (64 hex digits)"));
    }
    Ok(keys)
}

const KNOWN_SECTIONS: &[&str] = &[
    "data_dir",
    "database",
    "redis",
    "registry",
    "token",
    "context",
    "gateway",
    "telemetry",
    "shutdown",
    "session",
    "metrics",
    "secrets",
    "reaper",
    // read by the CLI (`--config`), not a section
    "config",
];

#[cfg(test)]
// figment's Jail closures return its (large) error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;

    use super::*;

    #[test]
    fn defaults_describe_the_embedded_stack() {
        let settings = Settings::default();
        assert_eq!(settings.gateway.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database_url("registry"), "sqlite://./data/registry.db?mode=rwc");
        assert!(settings.redis_url().is_none());
        assert!(settings.validate().is_empty());
    }

    #[test]
    fn file_then_env_then_conventional_urls() {
        Jail::expect_with(|jail| {
            jail.create_file("roster.toml", "[gateway]\nlisten = \"0.0.0.0:9000\"\n[redis]\nkey_prefix = \"file\"\n")?;
            jail.set_env("ROSTER_REDIS__KEY_PREFIX", "env");
            jail.set_env("DATABASE_URL", "postgres://u@h/db");
            jail.set_env("REDIS_URL", "redis://127.0.0.1:6379");
            let settings = Settings::load(Some(Path::new("roster.toml"))).expect("valid");
            assert_eq!(settings.gateway.listen.to_string(), "0.0.0.0:9000");
            assert_eq!(settings.redis.key_prefix, "env");
            assert_eq!(settings.database_url("token"), "postgres://u@h/db");
            assert_eq!(settings.redis_url(), Some("redis://127.0.0.1:6379"));
            Ok(())
        });
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        Jail::expect_with(|jail| {
            jail.set_env("ROSTER_GATEWAY__LISTEN", "not an address");
            jail.set_env("ROSTER_DATABASE__URL", "mysql://nope");
            jail.set_env("ROSTER_SHUTDOWN__DRAIN_TIMEOUT_SECS", "soon");
            jail.set_env("ROSTER_TELEMETRY__FILTER", "[[[");
            jail.set_env("ROSTER_NOPE", "1");
            let err = Settings::load(None).expect_err("invalid");
            let text = err.to_string().to_lowercase();
            assert_eq!(err.problems.len(), 5, "{text}");
            for needle in ["listen", "database.url", "drain_timeout_secs", "telemetry.filter", "nope"] {
                assert!(text.contains(needle), "{needle} missing from {text}");
            }
            Ok(())
        });
    }

    #[test]
    fn signing_keys_parse_in_order_and_refuse_weak_secrets() {
        let strong = "ab".repeat(32);
        let keys = parse_signing_keys(&format!("new:{strong}, old:{strong}")).expect("valid");
        assert_eq!(keys.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["new", "old"]);
        assert_eq!(keys[0].1.len(), 32);
        assert!(parse_signing_keys("k:abcd").is_err(), "too short");
        assert!(parse_signing_keys(&format!("k:{strong},k:{strong}")).is_err(), "duplicate kid");
        assert!(parse_signing_keys("nokey").is_err());
        assert!(parse_signing_keys("").is_err());
    }

    #[test]
    fn every_section_is_settable_from_the_environment() {
        Jail::expect_with(|jail| {
            let key = "cd".repeat(32);
            jail.set_env("ROSTER_SESSION__REDIS_FAILURE", "open");
            jail.set_env("ROSTER_METRICS__ENABLED", "false");
            jail.set_env("ROSTER_SECRETS__SEALING_KEYS", format!("k2:{key},k1:{key}"));
            jail.set_env("ROSTER_REAPER__INTERVAL_SECS", "5");
            let settings = Settings::load(None).expect("valid");
            assert_eq!(settings.session.redis_failure, RedisFailurePolicy::Open);
            assert!(!settings.metrics.enabled);
            assert_eq!(settings.reaper.interval_secs, 5);
            let keys = parse_sealing_keys(settings.secrets.sealing_keys.as_ref().unwrap().expose_secret()).unwrap();
            assert_eq!(keys[0].0, "k2");
            Ok(())
        });
    }

    /// Every `ROSTER_*` variable the compose file and the Kubernetes manifests set names a
    /// setting that exists (an unknown one stops the service at start).
    #[test]
    fn deploy_files_set_only_known_settings() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = vec![root.join("docker-compose.yml")];
        for dir in ["deploy/k8s/base", "deploy/k8s/overlays/dev", "deploy/k8s/overlays/prod"] {
            for entry in std::fs::read_dir(root.join(dir)).expect("deploy dir") {
                files.push(entry.expect("entry").path());
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "yml" || e == "yaml")) {
            let text = std::fs::read_to_string(file).expect("readable");
            for (at, _) in text.match_indices("ROSTER_") {
                let name: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                names.insert(name);
            }
        }
        assert!(
            names.contains("ROSTER_METRICS__LISTEN") && names.contains("ROSTER_SESSION__SIGNING_KEYS"),
            "{names:?}"
        );
        Jail::expect_with(|jail| {
            for name in &names {
                jail.set_env(name, "1");
            }
            let problems = Settings::load(None).err().map(|e| e.problems).unwrap_or_default();
            let unknown: Vec<_> = problems.iter().filter(|p| p.contains("unknown")).collect();
            assert!(unknown.is_empty(), "{unknown:?}");
            Ok(())
        });
    }

    #[test]
    fn sealing_keys_are_exactly_32_bytes() {
        assert!(parse_sealing_keys(&"ab".repeat(32)).is_err(), "no kid");
        assert!(parse_sealing_keys(&format!("k:{}", "ab".repeat(32))).is_ok());
        assert!(parse_sealing_keys(&format!("k:{}", "ab".repeat(33))).is_err());
        assert!(parse_sealing_keys(&format!("k:{}", "ab".repeat(16))).is_err());
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        Jail::expect_with(|_| {
            assert!(Settings::load(Some(Path::new("absent.toml"))).is_err());
            Ok(())
        });
    }
}
