//! Token-service use cases, written against `TokenStore`, `CredentialCache` and a clock.

use std::sync::Arc;

use async_trait::async_trait;
use platform::Clock;

use crate::{
    domain::{ApiToken, AppId, AppSettings, Application, Caller, Name, Scope, Secret},
    error::TokenError,
};

/// Persistence of applications and credentials.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Creates the application and, when given, its first API token in one transaction.
    async fn create_application(&self, app: &Application, first_token: Option<&ApiToken>) -> anyhow::Result<()>;
    async fn find_application(&self, id: &AppId) -> anyhow::Result<Option<Application>>;
    /// Applications ordered by id, after `after` when given.
    async fn list_applications(&self, after: Option<&AppId>, limit: u64) -> anyhow::Result<Vec<Application>>;
    /// Fails with `ApplicationNotFound` when the application does not exist.
    async fn create_api_token(&self, token: &ApiToken) -> Result<(), TokenError>;
    /// A live (unrevoked) token by its hash.
    async fn find_api_token(&self, token_hash: &str) -> anyhow::Result<Option<ApiToken>>;
    /// Marks the token revoked; returns its hash, or `None` when no live token had that id.
    async fn revoke_api_token(&self, app_id: &AppId, id: &str, now: i64) -> anyhow::Result<Option<String>>;
    /// Records durably that the user's tokens issued before `before` are revoked.
    async fn revoke_user_tokens(&self, app_id: &AppId, user_id: &str, before: i64) -> anyhow::Result<()>;
    async fn find_user_revocation(&self, app_id: &AppId, user_id: &str) -> anyhow::Result<Option<i64>>;
}

/// A short-lived cache of credential lookups, keyed by the credential's hash. Redis in
/// production, in-process for a single process. A failing cache is bypassed, never trusted.
#[async_trait]
pub trait CredentialCache: Send + Sync {
    async fn get(&self, token_hash: &str) -> anyhow::Result<Option<Caller>>;
    async fn put(&self, token_hash: &str, caller: &Caller) -> anyhow::Result<()>;
    async fn remove(&self, token_hash: &str) -> anyhow::Result<()>;
}

/// An application created together with its first API token (shown once).
#[derive(Debug)]
pub struct CreatedApplication {
    pub application: Application,
    pub api_token: Option<(ApiToken, Secret)>,
}

#[derive(Clone)]
pub struct Tokens {
    store: Arc<dyn TokenStore>,
    cache: Arc<dyn CredentialCache>,
    clock: Arc<dyn Clock>,
}

impl Tokens {
    pub fn new(store: Arc<dyn TokenStore>, cache: Arc<dyn CredentialCache>, clock: Arc<dyn Clock>) -> Self {
        Self { store, cache, clock }
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
        self.cache.remove(&hash).await?;
        tracing::info!(app.id = app_id.as_str(), credential.id = id, "API token revoked");
        Ok(())
    }

    /// Every token of the user issued until now stops working (the user was deleted, or asked
    /// to be signed out everywhere).
    pub async fn revoke_user_tokens(&self, app_id: &AppId, user_id: &str) -> Result<(), TokenError> {
        let user_id = platform::validation::bounded("user_id", user_id.to_owned(), 80)?;
        if user_id.is_empty() {
            return Err(crate::domain::ValidationError::Missing { field: "user_id" }.into());
        }
        self.store.revoke_user_tokens(app_id, &user_id, self.clock.now_millis()).await?;
        tracing::info!(app.id = app_id.as_str(), user.id = user_id, "user tokens revoked");
        Ok(())
    }

    /// When the user's tokens were last revoked, if ever.
    pub async fn user_revoked_before(&self, app_id: &AppId, user_id: &str) -> Result<Option<i64>, TokenError> {
        Ok(self.store.find_user_revocation(app_id, user_id).await?)
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
        let hash = presented.hash();
        let caller = match self.cache.get(&hash).await {
            Ok(Some(caller)) => Some(caller),
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(error = format!("{err:#}"), "credential cache unavailable; reading the database");
                None
            }
        };
        let caller = match caller {
            Some(caller) => caller,
            None => {
                let token = self.store.find_api_token(&hash).await?.ok_or(TokenError::CredentialInvalid)?;
                let caller = Caller { app_id: token.app_id, scopes: token.scopes, credential_id: token.id };
                if let Err(err) = self.cache.put(&hash, &caller).await {
                    tracing::warn!(error = format!("{err:#}"), "credential cache unavailable; not cached");
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
