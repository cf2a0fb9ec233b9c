//! Session tokens: stateless JWTs, never written to the database. Revoking them records a
//! per-user "revoked before" instant durably (database) and in the cache every replica reads.

use platform::config::RedisFailurePolicy;

use super::{
    Tokens,
    access::{roster_id, user_id},
};
use crate::{
    domain::{AppId, ISSUER, InvalidReason, SessionClaims, ValidationError},
    error::TokenError,
};

/// The keys session tokens are signed and verified with.
pub trait SessionKeys: Send + Sync {
    fn sign(&self, claims: &SessionClaims) -> anyhow::Result<String>;
    /// Signature, algorithm, issuer and expiry at `now_millis` (the caller's clock); revocation
    /// is the caller's next step.
    fn verify(&self, token: &str, now_millis: i64) -> Result<SessionClaims, InvalidReason>;
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
        // The compact token carries the registry's Roster id, as every dialect names users.
        let user = roster_id(user)?;
        // `now` before the check: a deletion after it revokes from an instant past this token's.
        let now = self.clock.now_millis();
        self.ensure_may_hold_tokens(app_id, &user).await?;
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

    /// New tokens are for users the registry has, neither deleted nor deactivated. Whether the
    /// user exists is asked of the registry once per replica (then kept `KNOWN_USER_TTL`);
    /// deletion and deactivation are read from the state the registry reported, every time.
    pub(super) async fn ensure_may_hold_tokens(&self, app_id: &AppId, user: &str) -> Result<(), TokenError> {
        // The state validation reads (this replica's copy, the shared cache, else the database):
        // a token issued past a deletion or deactivation it has not seen yet is refused by
        // validation anyway, which checks the same state.
        // The database policy always answers a state (the cache away, it reads the database).
        let state = self.user_state(app_id, user, RedisFailurePolicy::Database).await?.unwrap_or_default();
        if state.deleted {
            return Err(TokenError::UserDeleted);
        }
        if state.deactivated {
            return Err(TokenError::UserDeactivated);
        }
        if self.cache.is_known_user(app_id, user).await {
            return Ok(());
        }
        match self.config.directory.find(app_id, user).await? {
            None => Err(TokenError::UserNotFound),
            Some(found) if found.id != user => Err(TokenError::UserNotFound),
            Some(found) if !found.is_active => Err(TokenError::UserDeactivated),
            Some(_) => {
                if let Err(err) = self.cache.put_known_user(app_id, user).await {
                    tracing::warn!(error = format!("{err:#}"), "known-user cache unavailable");
                }
                Ok(())
            }
        }
    }

    /// The user's state as stored, published to every replica's cache.
    async fn publish_user_state(&self, app_id: &AppId, user: &str) -> Result<(), TokenError> {
        let state = self.store.find_user_state(app_id, user).await?.unwrap_or_default();
        self.cache.publish_user_state(app_id, user, state).await?;
        Ok(())
    }

    /// The registry deactivated (`active` false) or reactivated the user. Deactivation refuses
    /// every token of the user, within the revocation cache's bound on every replica, and every
    /// new one; reactivation lets the tokens issued before work again, unless revoked.
    pub async fn set_user_active(&self, app_id: &AppId, user: &str, active: bool) -> Result<(), TokenError> {
        let user = user_id(user)?;
        let state = self.store.set_user_active(app_id, &user, active, self.clock.now_millis()).await?;
        self.cache.publish_user_state(app_id, &user, state).await?;
        tracing::info!(app.id = app_id.as_str(), user.id = user, active, "user activation recorded");
        Ok(())
    }

    /// Every session token of the user issued until now stops working; access tokens stay.
    pub async fn revoke_session_tokens(&self, app_id: &AppId, user: &str) -> Result<(), TokenError> {
        let user = user_id(user)?;
        let now = self.clock.now_millis();
        self.store.revoke_session_tokens(app_id, &user, now).await?;
        self.publish_user_state(app_id, &user).await?;
        tracing::info!(app.id = app_id.as_str(), user.id = user, "session tokens revoked");
        Ok(())
    }

    /// Every token of the user stops working: the user was deleted.
    pub async fn revoke_user_tokens(&self, app_id: &AppId, user: &str) -> Result<(), TokenError> {
        let user = user_id(user)?;
        let now = self.clock.now_millis();
        let revoked = self.store.revoke_user_tokens(app_id, &user, now).await?;
        self.cache.forget_access_tokens(&revoked).await?;
        self.publish_user_state(app_id, &user).await?;
        tracing::info!(
            app.id = app_id.as_str(),
            user.id = user,
            access_tokens = revoked.len(),
            "all user tokens revoked"
        );
        Ok(())
    }
}
