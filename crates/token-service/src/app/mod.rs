//! Token-service use cases, written against the store traits (`store`), the caches (`cache`),
//! the session signing keys and a clock, each injected by `startup`. Split by concern:
//! applications and API tokens, credentials customers hold, user tokens in `access` and
//! `sessions`, the hot path in `validate`.

mod access;
mod applications;
mod cache;
mod connections;
mod console;
mod credentials;
mod sessions;
mod store;
mod validate;

pub use applications::CreatedApplication;
pub use cache::{KvCache, LOCAL_CAPACITY, TokenCache, redis_key_prefix};
pub use console::{CONSOLE_SESSION_TTL_MS, StartedConsoleSession};
pub use credentials::{DirectoryUser, Login, UserDirectory};
pub use sessions::{IssuedSessionToken, SessionKeys};
pub use store::{
    ApplicationStore, ConsoleSessionStore, CredentialStore, SealedCredential, SigningKeyStore, StoreError, TokenStore,
    UserTokenStore,
};

use std::sync::Arc;

use cache::Memo;
use platform::{Clock, config::RedisFailurePolicy, seal::Sealer};

use crate::domain::{AdminClient, AppKey, Application, PublicKey};

/// Everything a `Tokens` needs besides its store, caches and clock.
pub struct TokenConfig {
    pub keys: Box<dyn SessionKeys>,
    /// Seals app-key and admin-client secrets (kept to verify HS256 signatures, so they cannot
    /// be hashed).
    pub sealer: Sealer,
    /// Where JWT login finds or creates its user.
    pub directory: Arc<dyn UserDirectory>,
    pub redis_failure: RedisFailurePolicy,
}

#[derive(Clone)]
pub struct Tokens {
    store: Arc<dyn TokenStore>,
    cache: TokenCache,
    config: Arc<TokenConfig>,
    clock: Arc<dyn Clock>,
    /// What this replica read lately, trusted for `session.revocation_cache_ms` and forgotten at
    /// once when this replica changes or deletes it: applications (the hot paths' settings) and
    /// the customer credentials that sign JWTs and Basic logins, opened.
    applications: Arc<Memo<Application>>,
    app_keys: Arc<Memo<(AppKey, Arc<[u8]>)>>,
    admin_clients: Arc<Memo<(AdminClient, Arc<[u8]>)>>,
    public_keys: Arc<Memo<PublicKey>>,
}

impl Tokens {
    pub fn new(store: Arc<dyn TokenStore>, cache: TokenCache, config: TokenConfig, clock: Arc<dyn Clock>) -> Self {
        let ttl = cache.local_ttl();
        Self {
            applications: Arc::new(Memo::new(ttl, clock.clone())),
            app_keys: Arc::new(Memo::new(ttl, clock.clone())),
            admin_clients: Arc::new(Memo::new(ttl, clock.clone())),
            public_keys: Arc::new(Memo::new(ttl, clock.clone())),
            store,
            cache,
            config: Arc::new(config),
            clock,
        }
    }
}
