//! Builds token-service from settings: database (migrated when configured), credential cache (Redis when
//! configured, in-process otherwise), listener; then serves until shutdown.

use std::{net::SocketAddr, sync::Arc};

use platform::{Settings, Shutdown, SystemClock};
use tokio::net::TcpListener;
use tonic::{server::NamedService, service::Routes};

use crate::{
    app::{CredentialCache, Tokens},
    grpc::{TokenGrpc, TokenServiceServer},
    migration::Migrator,
    store::{MemoryCache, RedisCache, SeaTokenStore},
};

pub const SERVICE: &str = "token";

pub struct Application {
    listener: TcpListener,
    tokens: Tokens,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = platform::db::open::<Migrator>(settings, SERVICE).await?;
        let cache = credential_cache(settings).await?;
        let listener = platform::grpc::bind(SERVICE, settings.token.listen).await?;
        let tokens = Tokens::new(Arc::new(SeaTokenStore::new(db)), cache, Arc::new(SystemClock));
        Ok(Self { listener, tokens })
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

async fn credential_cache(settings: &Settings) -> anyhow::Result<Arc<dyn CredentialCache>> {
    Ok(match settings.redis_url() {
        Some(url) => {
            let cache = RedisCache::connect(url, &settings.redis.key_prefix).await?;
            tracing::info!("token-service caches credentials in Redis");
            Arc::new(cache)
        }
        None => {
            tracing::info!("no REDIS_URL set: token-service uses an in-process cache (fine for one process only)");
            Arc::new(MemoryCache::default())
        }
    })
}

/// Applies every pending token-service migration.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    platform::db::migrate::<Migrator>(settings, SERVICE).await
}
