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
}

/// The answer of a validation: never an error for a bad token, only for a broken service.
pub type Validation = Result<ValidToken, InvalidReason>;
