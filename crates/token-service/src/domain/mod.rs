//! Applications and their credentials as plain values.

use std::fmt;

mod credentials;
mod tokens;

pub use credentials::{AdminClient, AppKey, JwtRefusal, KeyAlgorithm, KeySecret, PublicKey};

pub use tokens::{
    AccessToken, Connection, ConnectionRefusal, ISSUER, InvalidReason, JwtTime, SessionClaims, TokenKind, UserState,
    ValidToken, Validation,
};

pub use platform::{AppId, ValidationError};

/// A human name for an application or a credential: 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(field: &'static str, value: String) -> Result<Self, ValidationError> {
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(ValidationError::Missing { field });
        }
        if value.contains('\0') {
            return Err(ValidationError::Invalid { field, reason: "must not contain NUL characters" });
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::TooLong { field, max: Self::MAX_CHARS });
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Per-application settings, with the design brief's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSettings {
    pub session_token_ttl_secs: u64,
    pub access_token_limit: u32,
    pub allow_tokenless_users: bool,
    /// 0 turns the unassociated-user reaper off for this application.
    pub unassociated_user_ttl_secs: u64,
    /// 0 means unlimited.
    pub rate_limit_per_second: u32,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            session_token_ttl_secs: 7 * 24 * 3600,
            access_token_limit: 10,
            allow_tokenless_users: false,
            unassociated_user_ttl_secs: 24 * 3600,
            rate_limit_per_second: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: AppId,
    pub name: Name,
    pub settings: AppSettings,
    pub created_at: i64,
}

/// What a credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    App,
    UserManagement,
    SensitiveMetadata,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::UserManagement => "user-management",
            Self::SensitiveMetadata => "sensitive-metadata",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "app" => Self::App,
            "user-management" => Self::UserManagement,
            "sensitive-metadata" => Self::SensitiveMetadata,
            _ => return None,
        })
    }
}

/// A secret shown once to its owner; only its hash is kept. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// 160 random bits as 40 hex characters, the shape of Sendbird's API tokens.
    pub fn generate() -> Self {
        Self(platform::secret::new_secret(20))
    }

    pub fn from_presented(value: String) -> Self {
        Self(value)
    }

    pub fn hash(&self) -> String {
        platform::secret::hash_secret(&self.0)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_exposed(self) -> String {
        self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// An application's API token, as stored: the hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub app_id: AppId,
    pub name: Name,
    pub token_hash: String,
    pub scopes: Vec<Scope>,
    pub created_at: i64,
}

/// Who is calling, once a credential checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub app_id: AppId,
    pub scopes: Vec<Scope>,
    pub credential_id: String,
    /// The application's gateway rate limit (requests per second, 0 unlimited).
    pub rate_limit_per_second: u32,
}

/// A dashboard session: who holds the id (only its SHA-256 is kept) may act on these
/// applications until `expires_at`; forms must carry `csrf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub id_hash: String,
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Signed in to, oldest first; each through an API token still live.
    pub apps: Vec<ConsoleApp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleApp {
    pub app_id: AppId,
    pub api_token_id: String,
    pub added_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let secret = Secret::generate();
        assert_eq!(secret.expose().len(), 40);
        assert!(!format!("{secret:?}").contains(secret.expose()));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("name", "  a  ".into()).expect("valid").as_str(), "a");
        assert!(Name::parse("name", "   ".into()).is_err());
        assert!(Name::parse("name", "x".repeat(101)).is_err());
    }

    #[test]
    fn scopes_round_trip() {
        for scope in [Scope::App, Scope::UserManagement, Scope::SensitiveMetadata] {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
    }
}
