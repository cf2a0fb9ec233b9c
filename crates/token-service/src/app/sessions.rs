//! Session tokens: stateless JWTs, never written to the database. Revoking them records a
//! per-user "revoked before" instant durably (database) and in the cache every replica reads.

use std::time::Duration;

use super::{
    KvCache, Tokens,
    access::{access_token_key, user_id},
};
use crate::{
    domain::{AppId, ISSUER, SessionClaims, ValidationError},
    error::TokenError,
};

/// How long a cached "revoked before" instant lives; a Redis flush or restart only costs a
/// database read, since the database holds the durable copy.
pub(super) const REVOCATION_TTL: Duration = Duration::from_secs(3600);

pub(super) fn revocation_key(app_id: &AppId, user_id: &str) -> String {
    format!("revoked_before:{}:{user_id}", app_id.as_str())
}

/// A session token and its expiry in milliseconds. No `Debug`: it carries the token.
pub struct IssuedSessionToken {
    pub token: String,
    pub expires_at: i64,
}

impl Tokens {
    /// `expires_at` (milliseconds) must lie in the future; absent, the application's session
    /// lifetime applies (7 days by default).
    pub async fn issue_session_token(
        &self,
        app_id: &AppId,
        user: &str,
        expires_at: Option<i64>,
    ) -> Result<IssuedSessionToken, TokenError> {
        let user = user_id(user)?;
        // `now` before the check: a deletion after it revokes from an instant past this token's.
        let now = self.clock.now_millis();
        if self.store.is_user_deleted(app_id, &user).await? {
            return Err(TokenError::UserDeleted);
        }
        let expires_at = match expires_at {
            Some(ms) if ms <= now => {
                return Err(ValidationError::Invalid { field: "expires_at", reason: "must be in the future" }.into());
            }
            Some(ms) => ms,
            None => {
                let ttl = self.get_application(app_id).await?.settings.session_token_ttl_secs;
                now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX).saturating_mul(1000))
            }
        };
        let claims = SessionClaims {
            iss: ISSUER.to_owned(),
            sub: user,
            app: app_id.as_str().to_owned(),
            iat: now / 1000,
            // Rounded up, so the token lives at least until the `expires_at` the caller was told.
            exp: expires_at.div_euclid(1000) + i64::from(expires_at.rem_euclid(1000) != 0),
            iat_ms: now,
            jti: platform::ids::new_id(),
        };
        let token = self.config.keys.sign(&claims)?;
        Ok(IssuedSessionToken { token, expires_at })
    }

    /// Every session token of the user issued until now stops working; access tokens stay.
    pub async fn revoke_session_tokens(&self, app_id: &AppId, user: &str) -> Result<(), TokenError> {
        let user = user_id(user)?;
        let now = self.clock.now_millis();
        self.store.revoke_session_tokens(app_id, &user, now).await?;
        self.publish_revocation(app_id, &user, now).await?;
        tracing::info!(app.id = app_id.as_str(), user.id = user, "session tokens revoked");
        Ok(())
    }

    /// Every token of the user stops working: the user was deleted.
    pub async fn revoke_user_tokens(&self, app_id: &AppId, user: &str) -> Result<(), TokenError> {
        let user = user_id(user)?;
        let now = self.clock.now_millis();
        let revoked = self.store.revoke_user_tokens(app_id, &user, now).await?;
        let keys: Vec<String> = revoked.iter().map(|t| access_token_key(&t.token_hash)).collect();
        if !keys.is_empty() {
            self.cache.delete(&keys).await?;
        }
        self.publish_revocation(app_id, &user, now).await?;
        tracing::info!(
            app.id = app_id.as_str(),
            user.id = user,
            access_tokens = revoked.len(),
            "all user tokens revoked"
        );
        Ok(())
    }

    /// The durable copy is written first; if the cache cannot take the new instant the call
    /// fails, so the caller retries instead of trusting a stale cache.
    async fn publish_revocation(&self, app_id: &AppId, user: &str, before: i64) -> Result<(), TokenError> {
        let key = revocation_key(app_id, user);
        self.cache.set(&key, &before.to_string(), REVOCATION_TTL).await?;
        self.hot.delete(std::slice::from_ref(&key)).await?;
        Ok(())
    }
}
