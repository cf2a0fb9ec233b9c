//! The tokens users log in with: opaque access tokens and stateless session tokens.

use serde::{Deserialize, Serialize};

use super::AppId;

/// A user's access token as stored: the hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub id: String,
    pub app_id: AppId,
    /// The registry's immutable user id.
    pub user_id: String,
    pub token_hash: String,
    pub created_at: i64,
}

/// What a session token (a JWT signed HS256, header `kid`) says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    pub iss: String,
    /// The registry's immutable user id.
    pub sub: String,
    pub app: String,
    /// Seconds, as JWT readers expect.
    pub iat: i64,
    pub exp: i64,
    /// Issue instant in milliseconds, compared with a user's "revoked before" instant.
    pub iat_ms: i64,
    pub jti: String,
}

pub const ISSUER: &str = "roster";

/// The instant a JWT's `exp` and `nbf` are judged at: whole seconds since the epoch, with
/// `leeway` seconds of clock skew allowed either side (jsonwebtoken's rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwtTime {
    now: u64,
    leeway: u64,
}

impl JwtTime {
    /// `now_millis` since the epoch (never before it).
    pub fn at(now_millis: i64, leeway_secs: u64) -> Self {
        Self { now: u64::try_from(now_millis.div_euclid(1000)).unwrap_or(0), leeway: leeway_secs }
    }

    /// Whether a token expiring at `exp` has expired.
    pub fn is_past(self, exp: u64) -> bool {
        exp < self.now.saturating_sub(self.leeway)
    }

    /// Whether a token valid from `nbf` is not valid yet.
    pub fn is_before(self, nbf: u64) -> bool {
        nbf > self.now.saturating_add(self.leeway)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Session,
}

/// Who a valid token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidToken {
    pub app_id: AppId,
    pub user_id: String,
    pub kind: TokenKind,
    /// Milliseconds; access tokens never expire.
    pub expires_at: Option<i64>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidReason {
    Malformed,
    Unknown,
    Expired,
    Revoked,
    BadSignature,
    /// Revocation state could not be read (Redis down under the fail-closed policy).
    Unavailable,
    /// The registry deactivated the user.
    UserDeactivated,
}

/// What token-service keeps of a user beside their access tokens, as the registry told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserState {
    /// Milliseconds: the user's session tokens issued before it are revoked; 0 never.
    pub revoked_before: i64,
    /// Deactivated: no token of the user works, no new one is issued.
    pub deactivated: bool,
    /// Deleted: never again a token.
    pub deleted: bool,
}

/// The answer of a validation: never an error for a bad token, only for a broken service.
pub type Validation = Result<ValidToken, InvalidReason>;

/// Why a connection is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionRefusal {
    TokenInvalid(InvalidReason),
    TokenOfAnotherUser,
    TokenRequired,
    UserNotFound,
    UserDeactivated,
}

/// A connection allowed: the user's Roster id and the kind of token presented (none for a
/// tokenless connection); or why not.
pub type Connection = Result<(String, Option<TokenKind>), ConnectionRefusal>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_time_allows_its_leeway_either_side() {
        let now = JwtTime::at(100_999, 5);
        assert!(!now.is_past(95) && now.is_past(94));
        assert!(!now.is_before(105) && now.is_before(106));
        // Before the epoch is the epoch; nothing wraps.
        let epoch = JwtTime::at(-1, 5);
        assert!(!epoch.is_past(0) && !epoch.is_before(5) && epoch.is_before(6));
    }
}
