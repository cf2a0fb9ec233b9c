//! Dev-only helpers shared by every crate's integration tests: a throwaway database (a SQLite
//! file, or a fresh PostgreSQL database on the server `scripts/test` started), a Redis URL with a
//! unique key prefix, and settings that bind every listener to port 0.
//!
//! PostgreSQL and Redis come from `TEST_DATABASE_URL` and `TEST_REDIS_URL`, which `scripts/test`
//! sets after starting real servers. A test that needs one fails loudly when it is missing.

mod proxy;

use std::sync::Once;

use rand::RngCore;
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;

pub use platform::Settings;
pub use proxy::FaultProxy;

/// Test output stays silent unless `TEST_LOG=1`.
pub fn init_logging() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("debug,h2=info,hyper=info,tower=info"))
                .with_test_writer()
                .try_init();
        }
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test. SQLite files are removed on drop; PostgreSQL
/// databases live as long as the throwaway server `scripts/test` started.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres().await,
        }
    }

    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
        Self { url, backend: Backend::Sqlite, _dir: Some(dir) }
    }

    pub async fn postgres() -> Self {
        Self::postgres_on(&required_env("TEST_DATABASE_URL")).await
    }

    /// A fresh database on the server `admin_url` names (one `scripts/test` started).
    pub async fn postgres_on(admin_url: &str) -> Self {
        let admin_url = admin_url.to_owned();
        let name = format!("roster_test_{}", random_suffix());
        let admin = Database::connect(admin_url.as_str()).await.expect("connect to TEST_DATABASE_URL");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        admin.close().await.ok();
        let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
        Self { url: format!("{base}/{name}"), backend: Backend::Postgres, _dir: None }
    }
}

/// The real Redis server's URL. Tests share the server and keep apart by key prefix.
pub fn redis_url() -> String {
    required_env("TEST_REDIS_URL")
}

/// A key prefix no other test uses.
pub fn redis_prefix() -> String {
    format!("test{}", random_suffix())
}

/// Settings for a whole stack on port 0 against `db`, with Redis when `with_redis`.
pub fn settings(db: &TestDatabase, with_redis: bool) -> Settings {
    let mut settings = Settings::default();
    settings.database.url = Some(SecretString::from(db.url.clone()));
    settings.database.max_connections = 5;
    if with_redis {
        settings.redis.url = Some(SecretString::from(redis_url()));
        settings.redis.key_prefix = redis_prefix();
    }
    for service in [&mut settings.registry, &mut settings.token, &mut settings.context, &mut settings.events] {
        service.listen = "127.0.0.1:0".parse().expect("addr");
    }
    settings.gateway.listen = "127.0.0.1:0".parse().expect("addr");
    settings.metrics.listen = "127.0.0.1:0".parse().expect("addr");
    settings.shutdown.drain_timeout_secs = 5;
    // Receivers in tests listen on loopback.
    settings.webhooks.allow_private_targets = true;
    settings
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the test suite with scripts/test, which starts PostgreSQL and Redis")
    })
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 6];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A connected gRPC channel to a service under test.
pub async fn channel(addr: std::net::SocketAddr) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("valid URI")
        .connect()
        .await
        .expect("connect")
}

/// Runs each named `async fn(Backend)` as a test against SQLite and again against PostgreSQL:
/// one store contract, both backends.
#[macro_export]
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name($crate::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name($crate::Backend::Postgres).await })*
        }
    };
}

/// A loopback port nothing listens on at the moment of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Until something accepts connections on `port` (bounded: a server that never comes fails the
/// test instead of hanging it).
pub async fn until_listening(port: u16) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {port}");
}
