//! Roster ids: 24 lowercase hex characters, and the application id built on them.

use rand::RngCore;

use crate::validation::ValidationError;

/// A new id whose first 8 characters are the creation second (as Sunshine's and Ada's ids), so
/// ids sort roughly by creation and keyset pages stay local in the index.
pub fn new_id() -> String {
    let secs = (crate::now_millis() / 1000) as u32;
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    rand::rng().fill_bytes(&mut bytes[4..]);
    hex::encode(bytes)
}

/// True when `s` has the shape of a Roster id.
///
/// ```
/// assert!(platform::ids::is_id(&platform::ids::new_id()));
/// assert!(!platform::ids::is_id("5F7E0E2C1E7C7E000F0F9C3A")); // upper case is not an id
/// ```
pub fn is_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The tenant's id. Every row of every service carries one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppId(String);

impl AppId {
    pub fn generate() -> Self {
        Self(new_id())
    }

    pub fn parse(value: String) -> Result<Self, ValidationError> {
        if value.is_empty() {
            return Err(ValidationError::Missing { field: "app_id" });
        }
        if !is_id(&value) {
            return Err(ValidationError::Invalid { field: "app_id", reason: "not an application id" });
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_24_lowercase_hex_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert!(is_id(&a) && is_id(&b), "{a} {b}");
        assert_ne!(a, b);
        assert!(!is_id("ABCDEF0123456789abcdef01"));
        assert!(!is_id("abc"));
    }

    #[test]
    fn app_ids_must_look_like_ids() {
        assert!(AppId::parse(new_id()).is_ok());
        assert_eq!(AppId::parse(String::new()), Err(ValidationError::Missing { field: "app_id" }));
        assert!(AppId::parse("../etc/passwd".into()).is_err());
    }
}
