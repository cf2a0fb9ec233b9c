//! The hot path: a token -> who it belongs to, or why not. Session tokens are checked without
//! the database: signature and expiry locally, revocation state from a short in-process cache,
//! then Redis, and the database only on a cache miss. When Redis cannot be reached the
//! configured policy decides for session tokens (fail closed by default); access tokens live in
//! the database, so they are checked there. A failed Redis is not asked again for a second
//! (one probe per interval), and the connection recovers by itself.

use platform::config::RedisFailurePolicy;

use super::Tokens;
use crate::{
    domain::{AppId, InvalidReason, TokenKind, UserState, ValidToken, Validation},
    error::TokenError,
};

impl Tokens {
    /// Only a broken service is an error; a bad token is an `Ok(Err(reason))`.
    pub async fn validate(&self, token: &str, expected_app: Option<&AppId>) -> Result<Validation, TokenError> {
        let session = crate::session_token::is_compact(token) || token.bytes().filter(|b| *b == b'.').count() == 2;
        let outcome = if session { self.validate_session(token).await? } else { self.validate_access(token).await? };
        let outcome = match outcome {
            Ok(valid) if expected_app.is_some_and(|app| *app != valid.app_id) => Err(InvalidReason::Unknown),
            other => other,
        };
        let label = match &outcome {
            Ok(_) => "valid",
            Err(InvalidReason::Malformed) => "malformed",
            Err(InvalidReason::Unknown) => "unknown",
            Err(InvalidReason::Expired) => "expired",
            Err(InvalidReason::Revoked) => "revoked",
            Err(InvalidReason::BadSignature) => "bad_signature",
            Err(InvalidReason::Unavailable) => "unavailable",
            Err(InvalidReason::UserDeactivated) => "user_deactivated",
        };
        let kind = if session { "session" } else { "access" };
        metrics::counter!("roster_token_validations_total", "kind" => kind, "outcome" => label).increment(1);
        Ok(outcome)
    }

    async fn validate_session(&self, token: &str) -> Result<Validation, TokenError> {
        let claims = match self.config.keys.verify(token, self.clock.now_millis()) {
            Ok(claims) => claims,
            Err(reason) => return Ok(Err(reason)),
        };
        let Ok(app_id) = AppId::parse(claims.app) else {
            return Ok(Err(InvalidReason::Malformed));
        };
        Ok(match self.user_state(&app_id, &claims.sub, self.config.redis_failure).await? {
            None => Err(InvalidReason::Unavailable),
            // A deleted user's tokens are all revoked, one issued in the same millisecond too.
            Some(state) if state.deleted => Err(InvalidReason::Revoked),
            Some(state) if state.deactivated => Err(InvalidReason::UserDeactivated),
            Some(state) if claims.iat_ms < state.revoked_before => Err(InvalidReason::Revoked),
            Some(_) => Ok(ValidToken {
                app_id,
                user_id: claims.sub,
                kind: TokenKind::Session,
                expires_at: Some(claims.exp.saturating_mul(1000)),
            }),
        })
    }

    /// The user's state (revocation instant, 0 when never revoked; deactivation), or `None` when
    /// it cannot be known and `on_failure` says to refuse. One in-process read when warm.
    pub(super) async fn user_state(
        &self,
        app_id: &AppId,
        user_id: &str,
        on_failure: RedisFailurePolicy,
    ) -> Result<Option<UserState>, TokenError> {
        if let Some(state) = self.cache.local_user_state(app_id, user_id).await? {
            return Ok(Some(state));
        }
        let state = match self.cache.user_state(app_id, user_id).await {
            Ok(Some(state)) => state,
            Ok(None) => {
                let state = self.store.find_user_state(app_id, user_id).await?.unwrap_or_default();
                if let Err(err) = self.cache.put_user_state(app_id, user_id, state).await {
                    tracing::warn!(error = format!("{err:#}"), "revocation state not cached");
                }
                state
            }
            Err(err) => {
                tracing::warn!(error = format!("{err:#}"), policy = ?on_failure, "cache unavailable");
                match on_failure {
                    RedisFailurePolicy::Closed => return Ok(None),
                    RedisFailurePolicy::Database => {
                        self.store.find_user_state(app_id, user_id).await?.unwrap_or_default()
                    }
                    RedisFailurePolicy::Open => return Ok(Some(UserState::default())),
                }
            }
        };
        self.cache.put_local_user_state(app_id, user_id, state).await?;
        Ok(Some(state))
    }

    async fn validate_access(&self, token: &str) -> Result<Validation, TokenError> {
        if token.len() != 40 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Err(InvalidReason::Malformed));
        }
        let hash = platform::secret::hash_secret(token);
        // Every access token is in the database: when the cache is away, it is read there.
        let cached = match self.cache.access_owner(&hash).await {
            Ok(owner) => owner,
            Err(err) => {
                tracing::warn!(error = format!("{err:#}"), "cache unavailable; reading the database");
                None
            }
        };
        let (app_id, user_id) = match cached {
            Some(owner) => owner,
            None => {
                let Some(stored) = self.store.find_access_token(&hash).await? else {
                    return Ok(Err(InvalidReason::Unknown));
                };
                if let Err(err) = self.cache.put_access_owner(&stored).await {
                    tracing::warn!(error = format!("{err:#}"), "access token not cached");
                }
                (stored.app_id, stored.user_id)
            }
        };
        // Access tokens are revoked one by one in the database; only deactivation is read here,
        // from the database when the cache is away.
        Ok(match self.user_state(&app_id, &user_id, RedisFailurePolicy::Database).await? {
            None => Err(InvalidReason::Unavailable),
            Some(state) if state.deleted => Err(InvalidReason::Revoked),
            Some(state) if state.deactivated => Err(InvalidReason::UserDeactivated),
            Some(_) => Ok(ValidToken { app_id, user_id, kind: TokenKind::Access, expires_at: None }),
        })
    }
}
