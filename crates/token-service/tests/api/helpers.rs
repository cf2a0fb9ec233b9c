use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use async_trait::async_trait;

use platform::Shutdown;
use proto::token::v1::token_service_client::TokenServiceClient;
use sea_orm_migration::MigratorTrait;
use test_support::{Backend, TestDatabase};
use token_service::{
    app::{DirectoryUser, TokenStore, UserDirectory},
    domain::{ApiToken, AppId, AppSettings, Application, Name, Scope, Secret},
    error::TokenError,
    migration::Migrator,
    store::SeaTokenStore,
};
use tonic::transport::Channel;

pub async fn store(backend: Backend) -> (Arc<dyn TokenStore>, TestDatabase) {
    test_support::init_logging();
    let db = TestDatabase::new(backend).await;
    let conn = platform::db::connect(&db.url, 5).await.expect("connect");
    Migrator::up(&conn, None).await.expect("migrate");
    (Arc::new(SeaTokenStore::new(conn)), db)
}

pub fn application(name: &str) -> Application {
    Application {
        id: AppId::generate(),
        name: Name::parse("name", name.to_owned()).unwrap(),
        settings: AppSettings::default(),
        created_at: platform::now_millis(),
    }
}

pub fn api_token(app: &AppId) -> (ApiToken, Secret) {
    let secret = Secret::generate();
    let token = ApiToken {
        id: platform::ids::new_id(),
        app_id: app.clone(),
        name: Name::parse("name", "ci".into()).unwrap(),
        token_hash: secret.hash(),
        scopes: vec![Scope::App],
        created_at: platform::now_millis(),
    };
    (token, secret)
}

pub struct TestTokenService {
    pub addr: SocketAddr,
    pub client: TokenServiceClient<Channel>,
    pub shutdown: Shutdown,
    pub db: Option<TestDatabase>,
}

/// token-service on port 0, SQLite, and the real Redis when `with_redis`.
pub async fn spawn_token_service(with_redis: bool) -> TestTokenService {
    let db = TestDatabase::sqlite();
    let settings = test_support::settings(&db, with_redis);
    let mut service = spawn_with(&settings).await;
    service.db = Some(db);
    service
}

/// The registry as token-service sees it, for the tests of token-service alone (the whole
/// stack's tests in `tests/api` use the real one): every Roster id names an active user except
/// those in `absent`; `finds` counts the questions asked.
#[derive(Default)]
pub struct TestDirectory {
    pub absent: Vec<String>,
    pub finds: AtomicUsize,
}

#[async_trait]
impl UserDirectory for TestDirectory {
    async fn login(&self, _: &AppId, _: &str) -> Result<(DirectoryUser, bool), TokenError> {
        Err(TokenError::Unexpected(anyhow::anyhow!("no login in token-service's own tests")))
    }

    async fn find(&self, _: &AppId, user: &str) -> Result<Option<DirectoryUser>, TokenError> {
        self.finds.fetch_add(1, Ordering::SeqCst);
        let exists = platform::ids::is_id(user) && !self.absent.iter().any(|a| a == user);
        Ok(exists.then(|| DirectoryUser { id: user.to_owned(), is_active: true }))
    }
}

/// token-service with the given settings; the caller keeps the database alive.
pub async fn spawn_with(settings: &platform::Settings) -> TestTokenService {
    spawn_with_directory(settings, Arc::new(TestDirectory::default())).await
}

/// token-service finding its users in `directory`.
pub async fn spawn_with_directory(
    settings: &platform::Settings,
    directory: Arc<dyn UserDirectory>,
) -> TestTokenService {
    test_support::init_logging();
    let app = token_service::Application::bind(settings).await.expect("bind").with_directory(directory);
    let addr = app.local_addr();
    let shutdown = Shutdown::new();
    tokio::spawn(app.run(shutdown.clone()));
    let client = TokenServiceClient::new(test_support::channel(addr).await);
    TestTokenService { addr, client, shutdown, db: None }
}

impl TestTokenService {
    pub async fn create_app(&mut self) -> String {
        let request =
            proto::token::v1::CreateApplicationRequest { name: "app".into(), settings: None, with_api_token: false };
        self.client.create_application(request).await.expect("created").into_inner().application.expect("app").id
    }

    pub async fn validate(&mut self, token: &str) -> proto::token::v1::ValidateTokenResponse {
        let request = proto::token::v1::ValidateTokenRequest { token: token.into(), app_id: None };
        self.client.validate_token(request).await.expect("validation answers").into_inner()
    }

    pub async fn session_token(&mut self, app_id: &str, user_id: &str) -> String {
        let request = proto::token::v1::IssueSessionTokenRequest {
            app_id: app_id.into(),
            user_id: user_id.into(),
            expires_at: None,
        };
        self.client.issue_session_token(request).await.expect("issued").into_inner().token
    }

    pub async fn access_token(&mut self, app_id: &str, user_id: &str) -> String {
        let request = proto::token::v1::IssueAccessTokenRequest { app_id: app_id.into(), user_id: user_id.into() };
        self.client.issue_access_token(request).await.expect("issued").into_inner().token
    }
}

impl Drop for TestTokenService {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// A Redis server of this test's own, so it can be stopped and started again.
pub struct OwnRedis {
    pub port: u16,
    child: std::process::Child,
}

impl OwnRedis {
    pub fn start(port: u16) -> Self {
        Self::start_with(port, &[])
    }

    pub fn start_with(port: u16, extra: &[&str]) -> Self {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed by scripts/test");
        Self { port, child }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn ready(&self) {
        test_support::until_listening(self.port).await;
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

pub use test_support::free_port;

/// A replica of token-service on `clock`: its own in-process cache in front of `shared`.
pub fn replica(
    store: Arc<dyn TokenStore>,
    shared: Arc<token_service::store::MemoryKv>,
    clock: &platform::ManualClock,
) -> token_service::app::Tokens {
    use token_service::{
        app::{TokenCache, TokenConfig, Tokens},
        jwt::KeySet,
        store::MemoryKv,
    };
    let local = Arc::new(MemoryKv::with_clock(100, Arc::new(clock.clone())));
    let config = TokenConfig {
        keys: Box::new(KeySet::new(&[("k".into(), vec![7; 32])]).expect("a key")),
        sealer: platform::seal::Sealer::new(vec![("seal".into(), vec![3; 32])]).expect("a sealer"),
        directory: Arc::new(TestDirectory::default()),
        redis_failure: platform::config::RedisFailurePolicy::Closed,
    };
    let cache = TokenCache::new(shared, local, std::time::Duration::from_secs(1));
    Tokens::new(store, cache, config, Arc::new(clock.clone()))
}
