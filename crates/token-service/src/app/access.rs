//! Access tokens: opaque, shown once, stored as a hash, permanent until revoked, at most the
//! application's limit live per user (issuing one more revokes the oldest).

use super::{Tokens, cache::CREDENTIAL_TTL};
use crate::{
    domain::{AccessToken, AppId, Secret},
    error::TokenError,
};

/// A registry user id: 1 to 80 characters.
pub(super) fn user_id(value: &str) -> Result<String, TokenError> {
    if value.is_empty() {
        return Err(crate::domain::ValidationError::Missing { field: "user_id" }.into());
    }
    Ok(platform::validation::bounded("user_id", value.to_owned(), 80)?)
}

/// The user a new token is for: a Roster id (24 hex characters), as the registry names users and
/// as deletion and deactivation reach token-service.
pub(super) fn roster_id(value: &str) -> Result<String, TokenError> {
    let user = user_id(value)?;
    if !platform::ids::is_id(&user) {
        return Err(crate::domain::ValidationError::Invalid {
            field: "user_id",
            reason: "must be a Roster id (24 hex characters)",
        }
        .into());
    }
    Ok(user)
}

/// A newly issued access token: the stored record, the secret (shown once, redacted in `Debug`),
/// and the ids of the tokens it pushed out.
#[derive(Debug)]
pub struct IssuedAccessToken {
    pub token: AccessToken,
    pub secret: Secret,
    pub revoked_ids: Vec<String>,
}

impl Tokens {
    pub async fn issue_access_token(&self, app_id: &AppId, user: &str) -> Result<IssuedAccessToken, TokenError> {
        let user = roster_id(user)?;
        // A deactivation racing this issue is still safe: validation refuses the token anyway.
        self.ensure_may_hold_tokens(app_id, &user).await?;
        let limit = self.get_application(app_id).await?.settings.access_token_limit;
        let secret = Secret::generate();
        let now = self.clock.now_millis();
        let token = AccessToken {
            id: platform::ids::new_id(),
            app_id: app_id.clone(),
            user_id: user,
            token_hash: secret.hash(),
            created_at: now,
        };
        let revoked = self.store.issue_access_token(&token, limit, now).await?;
        if let Err(err) = self.cache.forget_access_tokens(&revoked).await {
            // Revoked in the database; a cached copy lives at most CREDENTIAL_TTL.
            tracing::error!(error = format!("{err:#}"), ttl_secs = CREDENTIAL_TTL.as_secs(), "cache eviction failed");
        }
        tracing::info!(
            app.id = app_id.as_str(),
            user.id = token.user_id,
            token.id = token.id,
            revoked = revoked.len(),
            "access token issued"
        );
        Ok(IssuedAccessToken { token, secret, revoked_ids: revoked.into_iter().map(|t| t.id).collect() })
    }

    pub async fn list_access_tokens(&self, app_id: &AppId, user: &str) -> Result<Vec<AccessToken>, TokenError> {
        Ok(self.store.list_access_tokens(app_id, &user_id(user)?).await?)
    }

    /// The user's access tokens, revoked ones too (the latest 100), newest first.
    pub async fn access_token_history(
        &self,
        app_id: &AppId,
        user: &str,
    ) -> Result<Vec<(AccessToken, Option<i64>)>, TokenError> {
        Ok(self.store.access_token_history(app_id, &user_id(user)?, 100).await?)
    }

    pub async fn revoke_access_token(&self, app_id: &AppId, id: &str) -> Result<(), TokenError> {
        let token = self
            .store
            .revoke_access_token(app_id, id, self.clock.now_millis())
            .await?
            .ok_or(TokenError::AccessTokenNotFound)?;
        self.cache.forget_access_tokens(std::slice::from_ref(&token)).await?;
        tracing::info!(app.id = app_id.as_str(), token.id = id, "access token revoked");
        Ok(())
    }
}
