//! Applications (the tenants) and their API tokens: opaque secrets shown once and stored as a
//! hash, each answering "which application is calling, with which scopes".

use super::Tokens;
use crate::{
    domain::{ApiToken, AppId, AppSettings, Application, Caller, Name, Scope, Secret},
    error::TokenError,
};

/// An application created together with its first API token (shown once).
#[derive(Debug)]
pub struct CreatedApplication {
    pub application: Application,
    pub api_token: Option<(ApiToken, Secret)>,
}

impl Tokens {
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

    /// The application as this replica read it lately: settings changed on another replica are
    /// seen here within the local cache's bound (`session.revocation_cache_ms`), on this one at
    /// once.
    pub async fn get_application(&self, id: &AppId) -> Result<Application, TokenError> {
        if let Some(app) = self.applications.get(id.as_str()) {
            return Ok(app);
        }
        let app = self.store.find_application(id).await?.ok_or(TokenError::ApplicationNotFound)?;
        self.applications.put(id.as_str(), app.clone());
        Ok(app)
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
        let mut app = self.store.find_application(id).await?.ok_or(TokenError::ApplicationNotFound)?;
        if let Some(name) = name {
            app.name = name;
        }
        if let Some(settings) = settings {
            app.settings = settings;
        }
        if !self.store.update_application(&app).await? {
            return Err(TokenError::ApplicationNotFound);
        }
        self.applications.forget(id.as_str());
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

    /// The application's live API tokens (ids, names, scopes; never values).
    pub async fn list_api_tokens(&self, app_id: &AppId) -> Result<Vec<ApiToken>, TokenError> {
        self.get_application(app_id).await?;
        Ok(self.store.list_api_tokens(app_id).await?)
    }

    pub async fn revoke_api_token(&self, app_id: &AppId, id: &str) -> Result<(), TokenError> {
        let hash = self
            .store
            .revoke_api_token(app_id, id, self.clock.now_millis())
            .await?
            .ok_or(TokenError::ApiTokenNotFound)?;
        // The cache must not outlive the revocation; a failure here is a server fault.
        self.cache.forget_api_token(&hash).await?;
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
        let cached = self.cache.caller(&hash).await.unwrap_or_else(|err| {
            tracing::warn!(error = format!("{err:#}"), "cache unavailable; reading the database");
            None
        });
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
                if let Err(err) = self.cache.put_caller(&hash, &caller).await {
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
