//! Credentials customers sign JWTs with: app keys (Sunshine's `id:secret`) and public keys an
//! application registers for RS256/ES256 login tokens.

use std::fmt;

use super::{AppId, Name, ValidationError};

/// The signature algorithms a key may be used with; each key is pinned to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// App keys: HMAC with the key's secret.
    Hs256,
    Rs256,
    Es256,
}

impl KeyAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    /// The algorithms a registered public key may have.
    pub fn parse_public(value: &str) -> Result<Self, ValidationError> {
        match value {
            "RS256" => Ok(Self::Rs256),
            "ES256" => Ok(Self::Es256),
            _ => Err(ValidationError::Invalid { field: "algorithm", reason: "must be RS256 or ES256" }),
        }
    }
}

/// An app key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppKey {
    /// `app_` and 24 hex characters, Sunshine's shape; the `kid` of the JWTs it signs.
    pub id: String,
    pub app_id: AppId,
    pub display_name: Name,
    pub created_at: i64,
}

impl AppKey {
    pub fn new_id() -> String {
        format!("app_{}", platform::ids::new_id())
    }
}

/// An app key's secret: 32 random bytes as 64 hex characters (Sunshine shows 86 base64-ish
/// characters; any client treats it as an opaque string). `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySecret(String);

impl KeySecret {
    pub fn generate() -> Self {
        Self(platform::secret::new_secret(32))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> anyhow::Result<Self> {
        Ok(Self(String::from_utf8(bytes)?))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a presented secret.
    pub fn matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        // Lengths are not secret (every generated secret has the same one).
        self.0.len() == presented.len() && bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }
}

impl fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeySecret(..)")
    }
}

/// An admin client (Kore.ai's admin API app): signs HS256 JWTs naming itself in `appId`; what
/// it may do is its scopes. Its secret is sealed, never listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminClient {
    /// `cs-` and a UUID-shaped random id, Kore's shape.
    pub id: String,
    pub app_id: AppId,
    pub name: Name,
    pub scopes: Vec<super::Scope>,
    pub created_at: i64,
}

impl AdminClient {
    pub fn new_id() -> String {
        let hex = platform::secret::new_secret(16);
        format!("cs-{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
    }
}

/// A public key an application registered for its login JWTs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// `pk_` and 24 hex characters: the `kid` of the JWTs it verifies.
    pub id: String,
    pub app_id: AppId,
    pub algorithm: KeyAlgorithm,
    pub pem: String,
    pub created_at: i64,
}

impl PublicKey {
    pub const MAX_PEM_BYTES: usize = 8 * 1024;

    pub fn new_id() -> String {
        format!("pk_{}", platform::ids::new_id())
    }

    /// The PEM blocks a public key may come in: a key of `algorithm` (parsing the key itself is
    /// `customer_jwt::public_key`'s). A private key is refused by its label before anything else.
    pub fn check_pem(algorithm: KeyAlgorithm, pem: &str) -> Result<(), ValidationError> {
        if pem.len() > Self::MAX_PEM_BYTES {
            return Err(ValidationError::TooLong { field: "pem", max: Self::MAX_PEM_BYTES });
        }
        let labels: Vec<&str> =
            pem.lines().filter_map(|line| line.trim().strip_prefix("-----BEGIN ")?.strip_suffix("-----")).collect();
        if labels.iter().any(|label| label.contains("PRIVATE")) {
            return Err(ValidationError::Invalid {
                field: "pem",
                reason: "is a private key: register the public key only (keep the private key where the JWTs are signed)",
            });
        }
        let allowed: &[&str] = match algorithm {
            KeyAlgorithm::Rs256 => &["PUBLIC KEY", "RSA PUBLIC KEY"],
            KeyAlgorithm::Es256 => &["PUBLIC KEY"],
            KeyAlgorithm::Hs256 => &[],
        };
        if labels.len() != 1 || !allowed.contains(&labels[0]) {
            return Err(ValidationError::Invalid {
                field: "pem",
                reason: "is not one PEM public key of that algorithm",
            });
        }
        Ok(())
    }
}

/// Why a customer-signed JWT was refused; the message is safe to show the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtRefusal {
    #[error("the JWT is malformed")]
    Malformed,
    #[error("the JWT header has no kid")]
    MissingKid,
    #[error("the JWT's kid names no key of this application")]
    UnknownKey,
    #[error("the JWT's algorithm is not the one its key is registered for")]
    WrongAlgorithm,
    #[error("the JWT's signature is invalid")]
    BadSignature,
    #[error("the JWT has expired")]
    Expired,
    #[error("the JWT is not valid yet")]
    NotYetValid,
    #[error("the JWT's scope does not allow this call")]
    WrongScope,
    #[error("the JWT has no external_id")]
    MissingExternalId,
    #[error("the JWT's appId names no admin client of this application")]
    UnknownClient,
    #[error("the JWT names no key: a kid header (app keys) or an appId claim (admin clients)")]
    NoKeyNamed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_secrets_compare_exactly_and_never_debug() {
        let secret = KeySecret::generate();
        assert_eq!(secret.expose().len(), 64);
        assert!(secret.matches(secret.expose()));
        assert!(!secret.matches(&secret.expose()[1..]));
        let mut other = secret.expose().to_owned();
        other.replace_range(63..64, if other.ends_with('0') { "1" } else { "0" });
        assert!(!secret.matches(&other));
        assert!(!format!("{secret:?}").contains(secret.expose()));
        assert!(AppKey::new_id().starts_with("app_") && AppKey::new_id().len() == 28);
    }

    #[test]
    fn public_keys_must_parse_as_their_algorithm() {
        assert!(KeyAlgorithm::parse_public("HS256").is_err(), "no HMAC secret posing as a public key");
        assert!(KeyAlgorithm::parse_public("none").is_err());
        assert!(PublicKey::check_pem(KeyAlgorithm::Rs256, "not a pem").is_err());
        let pem = |label: &str| format!("-----BEGIN {label}-----\nMIIB\n-----END {label}-----\n");
        for private in ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"] {
            let refused = PublicKey::check_pem(KeyAlgorithm::Rs256, &pem(private)).unwrap_err();
            assert!(refused.to_string().contains("private key"), "{private}: {refused}");
        }
        assert!(PublicKey::check_pem(KeyAlgorithm::Rs256, &pem("RSA PUBLIC KEY")).is_ok());
        assert!(PublicKey::check_pem(KeyAlgorithm::Es256, &pem("RSA PUBLIC KEY")).is_err());
        let two = format!("{}{}", pem("PUBLIC KEY"), pem("PRIVATE KEY"));
        assert!(PublicKey::check_pem(KeyAlgorithm::Es256, &two).is_err(), "a public key beside a private one");
    }
}
