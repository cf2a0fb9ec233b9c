use std::{net::SocketAddr, sync::Arc};

use platform::{Settings, Shutdown, seal::Sealer};
use proto::{
    registry::v1::registry_service_client::RegistryServiceClient,
    token::v1::{CreateApplicationRequest, token_service_client::TokenServiceClient},
};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use sea_orm_migration::MigratorTrait;
use test_support::{Backend, TestDatabase};
use tonic::transport::Channel;
use user_registry::{
    app::UserStore,
    domain::{AppId, Metadata, NewUser, Nickname, Origin, Profile, ProfileUrl, SensitiveFields, User, UserId},
    migration::Migrator,
    store::SeaUserStore,
};

/// A migrated store on a throwaway database.
pub async fn store(backend: Backend) -> (Arc<dyn UserStore>, TestDatabase) {
    let (store, _, db) = store_and_connection(backend, test_sealer()).await;
    (store, db)
}

/// The test's sealing keys: `current` seals, `old` still opens.
pub fn test_sealer() -> Sealer {
    Sealer::new(vec![("current".into(), vec![7; 32]), ("old".into(), vec![3; 32])]).expect("keys")
}

/// A migrated store sealing with `sealer`, and a raw connection to its database.
pub async fn store_and_connection(
    backend: Backend,
    sealer: Sealer,
) -> (Arc<SeaUserStore>, DatabaseConnection, TestDatabase) {
    store_on_pool(backend, sealer, 5).await
}

/// A migrated store whose pool holds `connections` connections, and a handle to that pool.
pub async fn store_on_pool(
    backend: Backend,
    sealer: Sealer,
    connections: u32,
) -> (Arc<SeaUserStore>, DatabaseConnection, TestDatabase) {
    test_support::init_logging();
    let db = TestDatabase::new(backend).await;
    let conn = platform::db::connect(&db.url, connections).await.expect("connect");
    Migrator::up(&conn, None).await.expect("migrate");
    // Reads through the reader pool, as the service has them (on SQLite a second pool).
    let reads = platform::db::connect_reader(&db.url, connections, &conn).await.expect("reader");
    (Arc::new(SeaUserStore::new(conn.clone(), sealer).with_reader(reads)), conn, db)
}

/// The one number `sql` answers (a `COUNT(*)`).
pub async fn count(conn: &DatabaseConnection, sql: &str) -> i64 {
    let row = conn
        .query_one(Statement::from_string(conn.get_database_backend(), sql.to_owned()))
        .await
        .expect("query")
        .expect("row");
    row.try_get_by_index::<i64>(0).expect("count")
}

pub fn app() -> AppId {
    AppId::generate()
}

pub fn new_user(user_id: &str) -> NewUser {
    NewUser {
        user_id: Some(UserId::parse(user_id.to_owned()).expect("valid user id")),
        external_id: None,
        nickname: Nickname::parse("Nick".into()).expect("valid"),
        profile_url: ProfileUrl::default(),
        profile: Profile::default(),
        metadata: Metadata::default(),
        discovery_keys: Vec::new(),
        preferred_languages: Vec::new(),
        origin: Origin::Api,
        profile_image: None,
        sensitive: SensitiveFields::default(),
        expires_unassociated: false,
        signed_up_at: None,
        to_be_retained: false,
        identities: Vec::new(),
        member: None,
    }
}

pub fn user(app: &AppId, user_id: &str) -> User {
    User::new(app.clone(), new_user(user_id), platform::now_millis()).0
}

/// The registry serving on port 0 against a throwaway database, and the token-service it asks
/// whether an application exists (on SQLite of its own).
pub struct TestRegistry {
    pub addr: SocketAddr,
    pub client: RegistryServiceClient<Channel>,
    pub token: TokenServiceClient<Channel>,
    pub shutdown: Shutdown,
    pub db: TestDatabase,
    token_service: Option<(Shutdown, tokio::task::JoinHandle<anyhow::Result<()>>)>,
    _token_db: TestDatabase,
}

impl TestRegistry {
    /// A new application in token-service: the only kind the registry creates users in.
    pub async fn app(&self) -> String {
        let request = CreateApplicationRequest { name: "app".into(), settings: None, with_api_token: false };
        self.token.clone().create_application(request).await.expect("created").into_inner().application.expect("app").id
    }

    pub async fn app_id(&self) -> AppId {
        AppId::parse(self.app().await).expect("an application id")
    }

    /// Stops token-service and waits until it no longer answers.
    pub async fn stop_token_service(&mut self) {
        let (shutdown, serving) = self.token_service.take().expect("token-service runs");
        shutdown.trigger();
        serving.await.expect("joined").expect("stopped cleanly");
    }

    /// A raw connection to the registry's database, for what the API does not show.
    pub async fn connection(&self) -> DatabaseConnection {
        platform::db::connect(&self.db.url, 2).await.expect("connect")
    }
}

pub async fn spawn_registry() -> TestRegistry {
    spawn_registry_on(Backend::Sqlite).await
}

/// PostgreSQL when the suite has one (`TEST_DATABASE_URL`, as `scripts/test` sets), else SQLite:
/// for the tests too heavy to run on both.
pub fn preferred_backend() -> Backend {
    if std::env::var_os("TEST_DATABASE_URL").is_some() { Backend::Postgres } else { Backend::Sqlite }
}

pub async fn spawn_registry_on(backend: Backend) -> TestRegistry {
    test_support::init_logging();
    let token_db = TestDatabase::sqlite();
    let token_service =
        token_service::Application::build(&test_support::settings(&token_db, false)).await.expect("build");
    let token_addr = token_service.local_addr();
    let token_shutdown = Shutdown::new();
    let token_serving = tokio::spawn(token_service.run(token_shutdown.clone()));

    let db = TestDatabase::new(backend).await;
    let mut settings: Settings = test_support::settings(&db, false);
    settings.token.endpoint = format!("http://{token_addr}");
    let app = user_registry::Application::build(&settings).await.expect("build");
    let addr = app.local_addr();
    let shutdown = Shutdown::new();
    tokio::spawn(app.run(shutdown.clone()));
    let client = RegistryServiceClient::new(test_support::channel(addr).await);
    let token = TokenServiceClient::new(test_support::channel(token_addr).await);
    let token_service = Some((token_shutdown, token_serving));
    TestRegistry { addr, client, token, shutdown, db, token_service, _token_db: token_db }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.shutdown.trigger();
        if let Some((token_shutdown, _)) = &self.token_service {
            token_shutdown.trigger();
        }
    }
}
