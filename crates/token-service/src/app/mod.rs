//! Token-service use cases, written against `TokenStore`, `KvCache`, the signing key set and a
//! clock. Split by concern: applications and API tokens here, user tokens in `access` and
//! `sessions`, the hot path in `validate`.

mod access;
mod credentials;
mod sessions;
mod store;
mod validate;

pub use credentials::{Login, UserDirectory};
pub use store::{
    ApplicationStore, CredentialStore, SealedCredential, SigningKeyStore, StoreError, TokenStore, UserTokenStore,
};

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use platform::{Clock, config::RedisFailurePolicy, seal::Sealer};

use crate::{
    domain::{AccessToken, ApiToken, AppId, AppSettings, Application, Caller, Name, Scope, Secret},
    error::TokenError,
    jwt::KeySet,
    store::MemoryKv,
};

/// A string cache with expiry: Redis (single node or cluster) for many replicas, in-process for
/// one. Keys here are relative; the Redis side adds `<prefix>:token:`.
#[async_trait]
pub trait KvCache: Send + Sync {
    async fn get(&self, key: &str) -> anyhow::Result<Option<String>>;
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()>;
    async fn delete(&self, keys: &[String]) -> anyhow::Result<()>;
}

/// How long a looked-up credential or token is trusted without reading the database again.
/// Revocation removes the entry at once; this bounds staleness should that removal fail.
pub const CREDENTIAL_TTL: Duration = Duration::from_secs(300);

fn api_token_key(hash: &str) -> String {
    format!("api_token:{hash}")
}

/// An application created together with its first API token (shown once).
#[derive(Debug)]
pub struct CreatedApplication {
    pub application: Application,
    pub api_token: Option<(ApiToken, Secret)>,
}

/// Everything a `Tokens` needs besides its store and caches.
pub struct TokenConfig {
    pub keys: KeySet,
    /// Seals app-key secrets (kept to verify HS256 signatures, so they cannot be hashed).
    pub sealer: Sealer,
    /// Where JWT login finds or creates its user.
    pub directory: Arc<dyn UserDirectory>,
    pub redis_failure: RedisFailurePolicy,
    /// How long this replica trusts revocation state it read.
    pub revocation_cache: Duration,
}

#[derive(Clone)]
pub struct Tokens {
    store: Arc<dyn TokenStore>,
    cache: Arc<dyn KvCache>,
    /// A short in-process layer over `cache` for revocation state, read on every validation.
    hot: Arc<MemoryKv>,
    config: Arc<TokenConfig>,
    clock: Arc<dyn Clock>,
}

impl Tokens {
    pub fn new(
        store: Arc<dyn TokenStore>,
        cache: Arc<dyn KvCache>,
        config: TokenConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { store, cache, hot: Arc::new(MemoryKv::new(100_000)), config: Arc::new(config), clock }
    }

    pub async fn create_application(
        &self,
        name: Name,
        settings: AppSettings,
        with_api_token: bool,
    ) -> Result<CreatedApplication, TokenError> {
        let now = self.clock.now_millis();
        let application = Application { id: AppId::generate(), name, settings, created_at: now };
        let api_token = with_api_token.then(|| {
            let name = Name::parse("name", "default".into()).expect("constant name is valid");
            new_api_token(&application.id, name, vec![Scope::App], now)
        });
        self.store.create_application(&application, api_token.as_ref().map(|(token, _)| token)).await?;
        tracing::info!(app.id = application.id.as_str(), "application created");
        Ok(CreatedApplication { application, api_token })
    }

    pub async fn get_application(&self, id: &AppId) -> Result<Application, TokenError> {
        self.store.find_application(id).await?.ok_or(TokenError::ApplicationNotFound)
    }

    pub async fn list_applications(&self, after: Option<&AppId>, limit: u64) -> Result<Vec<Application>, TokenError> {
        Ok(self.store.list_applications(after, limit).await?)
    }

    /// A new name and/or settings. Gateways see a new rate limit when their cached credential
    /// lookup expires (at most `CREDENTIAL_TTL`).
    pub async fn update_application(
        &self,
        id: &AppId,
        name: Option<Name>,
        settings: Option<AppSettings>,
    ) -> Result<Application, TokenError> {
        let mut app = self.get_application(id).await?;
        if let Some(name) = name {
            app.name = name;
        }
        if let Some(settings) = settings {
            app.settings = settings;
        }
        if !self.store.update_application(&app).await? {
            return Err(TokenError::ApplicationNotFound);
        }
        tracing::info!(app.id = id.as_str(), "application updated");
        Ok(app)
    }

    pub async fn create_api_token(
        &self,
        app_id: AppId,
        name: Name,
        scopes: Vec<Scope>,
    ) -> Result<(ApiToken, Secret), TokenError> {
        let scopes = if scopes.is_empty() { vec![Scope::App] } else { scopes };
        let (token, secret) = new_api_token(&app_id, name, scopes, self.clock.now_millis());
        self.store.create_api_token(&token).await?;
        tracing::info!(app.id = app_id.as_str(), credential.id = token.id, "API token created");
        Ok((token, secret))
    }

    pub async fn revoke_api_token(&self, app_id: &AppId, id: &str) -> Result<(), TokenError> {
        let hash = self
            .store
            .revoke_api_token(app_id, id, self.clock.now_millis())
            .await?
            .ok_or(TokenError::ApiTokenNotFound)?;
        // The cache must not outlive the revocation; a failure here is a server fault.
        self.cache.delete(&[api_token_key(&hash)]).await?;
        tracing::info!(app.id = app_id.as_str(), credential.id = id, "API token revoked");
        Ok(())
    }

    /// An API token -> who is calling. `expected_app`, when given, must be the token's application.
    pub async fn authenticate_api_token(
        &self,
        presented: Secret,
        expected_app: Option<&AppId>,
    ) -> Result<Caller, TokenError> {
        if presented.expose().is_empty() {
            return Err(TokenError::CredentialMissing);
        }
        // SHA-256 once per call: it keys both the cache and the database lookup.
        let hash = presented.hash();
        let key = api_token_key(&hash);
        let cached = match self.cache.get(&key).await {
            Ok(value) => {
                let caller = value.and_then(|v| decode_caller(&v));
                validate::cache_result("api_token", if caller.is_some() { "hit" } else { "miss" });
                caller
            }
            Err(err) => {
                validate::cache_result("api_token", "error");
                tracing::warn!(error = format!("{err:#}"), "cache unavailable; reading the database");
                None
            }
        };
        let caller = match cached {
            Some(caller) => caller,
            None => {
                let token = self.store.find_api_token(&hash).await?.ok_or(TokenError::CredentialInvalid)?;
                let rate_limit_per_second = self.get_application(&token.app_id).await?.settings.rate_limit_per_second;
                let caller = Caller {
                    app_id: token.app_id,
                    scopes: token.scopes,
                    credential_id: token.id,
                    rate_limit_per_second,
                };
                if let Err(err) = self.cache.set(&key, &encode_caller(&caller), CREDENTIAL_TTL).await {
                    tracing::warn!(error = format!("{err:#}"), "cache unavailable; not cached");
                }
                caller
            }
        };
        if expected_app.is_some_and(|app| *app != caller.app_id) {
            return Err(TokenError::CredentialInvalid);
        }
        Ok(caller)
    }
}

fn new_api_token(app_id: &AppId, name: Name, scopes: Vec<Scope>, now: i64) -> (ApiToken, Secret) {
    let secret = Secret::generate();
    let token = ApiToken {
        id: platform::ids::new_id(),
        app_id: app_id.clone(),
        name,
        token_hash: secret.hash(),
        scopes,
        created_at: now,
    };
    (token, secret)
}

/// `app_id|scope,scope|rate_limit|credential_id`
fn encode_caller(caller: &Caller) -> String {
    let scopes: Vec<&str> = caller.scopes.iter().map(|s| s.as_str()).collect();
    format!("{}|{}|{}|{}", caller.app_id.as_str(), scopes.join(","), caller.rate_limit_per_second, caller.credential_id)
}

/// A cached value that does not parse is ignored (and re-read from the database).
fn decode_caller(value: &str) -> Option<Caller> {
    let mut parts = value.splitn(4, '|');
    let (app_id, scopes, rate, credential_id) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let scopes = scopes.split(',').filter(|s| !s.is_empty()).map(Scope::parse).collect::<Option<_>>()?;
    Some(Caller {
        app_id: AppId::parse(app_id.to_owned()).ok()?,
        scopes,
        credential_id: credential_id.to_owned(),
        rate_limit_per_second: rate.parse().ok()?,
    })
}

/// `app_id|user_id|token_id`
fn encode_access(token: &AccessToken) -> String {
    format!("{}|{}|{}", token.app_id.as_str(), token.user_id, token.id)
}

fn decode_access(value: &str) -> Option<(AppId, String)> {
    let mut parts = value.splitn(3, '|');
    let (app_id, user_id) = (parts.next()?, parts.next()?);
    Some((AppId::parse(app_id.to_owned()).ok()?, user_id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_values_round_trip_and_garbage_is_ignored() {
        let caller = Caller {
            app_id: AppId::generate(),
            scopes: vec![Scope::App, Scope::UserManagement],
            credential_id: "c".into(),
            rate_limit_per_second: 5,
        };
        assert_eq!(decode_caller(&encode_caller(&caller)), Some(caller));
        assert_eq!(decode_caller("nonsense"), None);
        let token = AccessToken {
            id: "t".into(),
            app_id: AppId::generate(),
            user_id: "u".into(),
            token_hash: "h".into(),
            created_at: 1,
        };
        assert_eq!(decode_access(&encode_access(&token)), Some((token.app_id.clone(), "u".into())));
    }
}
