//! Builds token-service from settings: database (migrated when configured), credential cache (Redis when
//! configured, in-process otherwise), listener; then serves until shutdown. The clock, the
//! caches and the session signing keys are chosen here and injected into `Tokens`.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use platform::{Clock, Settings, Shutdown, SystemClock, seal::Sealer};
use tonic::{server::NamedService, service::Routes};

use crate::{
    app::{KvCache, LOCAL_CAPACITY, TokenCache, TokenConfig, TokenStore, Tokens, UserDirectory, redis_key_prefix},
    grpc::{GrpcDirectory, TokenGrpc, TokenServiceServer},
    jwt::KeySet,
    migration::Migrator,
    store::{MemoryKv, RedisKv, SeaTokenStore},
};

pub const SERVICE: &str = "token";

pub struct Application {
    listener: platform::grpc::Listener,
    tokens: Tokens,
}

/// token-service bound and built except for its registry client, whose address may not be
/// known yet (the registry itself calls token-service).
pub struct Bound {
    listener: platform::grpc::Listener,
    store: Arc<dyn TokenStore>,
    cache: Arc<dyn KvCache>,
    keys: KeySet,
    sealer: Sealer,
    clock: Arc<dyn Clock>,
    settings: Settings,
}

impl Bound {
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    /// The service, calling the registry (for JWT login) at `endpoint`.
    pub fn with_registry(self, endpoint: &str) -> anyhow::Result<Application> {
        Ok(self.with_directory(Arc::new(GrpcDirectory::new(endpoint)?)))
    }

    /// The service, finding users in `directory`.
    pub fn with_directory(self, directory: Arc<dyn UserDirectory>) -> Application {
        let Self { listener, store, cache, keys, sealer, clock, settings } = self;
        // Revocation state, which every validation reads, is kept in-process too, briefly.
        let local = Arc::new(MemoryKv::with_clock(LOCAL_CAPACITY, clock.clone()));
        let cache = TokenCache::new(cache, local, Duration::from_millis(settings.session.revocation_cache_ms));
        let config =
            TokenConfig { keys: Box::new(keys), sealer, directory, redis_failure: settings.session.redis_failure };
        let tokens = Tokens::new(store, cache, config, clock);
        Application { listener, tokens }
    }
}

impl Application {
    /// The service, calling the registry at `registry.endpoint`.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        Self::bind(settings).await?.with_registry(&settings.registry.endpoint)
    }

    pub async fn bind(settings: &Settings) -> anyhow::Result<Bound> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let db = platform::db::open::<Migrator>(settings, SERVICE).await?;
        let cache = cache(settings, &clock).await?;
        let listener =
            platform::grpc::listen(SERVICE, settings.token.listen, &settings.grpc).await?.watching(db.clone());
        let sealer = platform::db::sealer(&db, settings, "token_sealing_keys").await?;
        let store: Arc<dyn TokenStore> = Arc::new(SeaTokenStore::new(db));
        let keys = key_set(settings, store.as_ref(), clock.as_ref()).await?;
        Ok(Bound { listener, store, cache, keys, sealer, clock, settings: settings.clone() })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    /// The use cases, for in-process callers such as the CLI.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let server = TokenServiceServer::new(TokenGrpc::new(self.tokens));
        let name = <TokenServiceServer<TokenGrpc> as NamedService>::NAME;
        platform::grpc::serve(self.listener, name, Routes::new(server), shutdown).await
    }
}

/// The cache the replicas share: Redis when configured, in-process otherwise.
async fn cache(settings: &Settings, clock: &Arc<dyn Clock>) -> anyhow::Result<Arc<dyn KvCache>> {
    Ok(match settings.redis_url() {
        Some(url) => {
            let cache = RedisKv::connect(url, &redis_key_prefix(&settings.redis.key_prefix)).await?;
            tracing::info!(policy = ?settings.session.redis_failure, "token-service keeps revocation state and credential lookups in Redis");
            Arc::new(cache)
        }
        None => {
            tracing::info!("no REDIS_URL set: token-service uses an in-process cache (fine for one process only)");
            Arc::new(MemoryKv::with_clock(LOCAL_CAPACITY, clock.clone()))
        }
    })
}

/// The configured keys, or the generated ones kept in the database (one is generated on the
/// first start; replicas racing to do so converge on the newest).
async fn key_set(settings: &Settings, store: &dyn TokenStore, clock: &dyn Clock) -> anyhow::Result<KeySet> {
    if let Some(keys) = &settings.session.signing_keys {
        let keys = platform::keys::parse_signing_keys(secrecy::ExposeSecret::expose_secret(keys))
            .map_err(|problem| anyhow::anyhow!("session.signing_keys: {problem}"))?;
        return KeySet::new(&keys);
    }
    let mut keys = store.signing_keys().await?;
    if keys.is_empty() {
        let kid = format!("k{}", &platform::ids::new_id()[..12]);
        let secret = hex::decode(platform::secret::new_secret(32))?;
        if let Err(err) = store.add_signing_key(&kid, &secret, clock.now_millis()).await {
            tracing::debug!(error = format!("{err:#}"), "another replica generated the signing key first");
        }
        keys = store.signing_keys().await?;
        tracing::info!(
            "session tokens are signed with a generated key kept in the database; set session.signing_keys to manage keys yourself"
        );
    }
    KeySet::new(&keys)
}

/// Applies every pending token-service migration.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    platform::db::migrate::<Migrator>(settings, SERVICE).await
}
