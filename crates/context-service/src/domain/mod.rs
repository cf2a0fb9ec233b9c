//! The agent context object as plain values.

use std::collections::BTreeMap;

pub use platform::{AppId, ValidationError, validation::bounded};

/// Whose context: one object per (application, user, agent).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContextKey {
    pub app_id: AppId,
    pub user_id: String,
    pub agent_id: String,
}

impl ContextKey {
    pub fn parse(app_id: String, user_id: String, agent_id: String) -> Result<Self, ValidationError> {
        let app_id = AppId::parse(app_id)?;
        if user_id.is_empty() {
            return Err(ValidationError::Missing { field: "user_id" });
        }
        if agent_id.is_empty() {
            return Err(ValidationError::Missing { field: "agent_id" });
        }
        Ok(Self { app_id, user_id: bounded("user_id", user_id, 80)?, agent_id: bounded("agent_id", agent_id, 80)? })
    }
}

/// A BCP 47 language tag, checked for shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language(String);

impl Language {
    pub fn parse(value: String) -> Result<Self, ValidationError> {
        platform::validation::language_tag("language", value).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country(String);

impl Country {
    pub fn parse(value: String) -> Result<Self, ValidationError> {
        if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ValidationError::Invalid {
                field: "country",
                reason: "must be an ISO 3166-1 alpha-2 code such as US",
            });
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// String keys to string values, bounded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContextValues(BTreeMap<String, String>);

impl ContextValues {
    pub const MAX_KEYS: usize = 100;
    pub const MAX_KEY_CHARS: usize = 128;
    pub const MAX_BYTES: usize = 8 * 1024;

    pub fn parse(values: BTreeMap<String, String>) -> Result<Self, ValidationError> {
        if values.len() > Self::MAX_KEYS {
            return Err(ValidationError::Invalid { field: "context", reason: "has more than 100 keys" });
        }
        let mut bytes = 0;
        for (key, value) in &values {
            if key.is_empty() {
                return Err(ValidationError::Invalid { field: "context", reason: "keys must not be empty" });
            }
            if key.chars().count() > Self::MAX_KEY_CHARS {
                return Err(ValidationError::TooLong { field: "context key", max: Self::MAX_KEY_CHARS });
            }
            bytes += key.len() + value.len();
        }
        if bytes > Self::MAX_BYTES {
            return Err(ValidationError::Invalid { field: "context", reason: "is larger than 8 KB" });
        }
        Ok(Self(values))
    }

    pub fn entries(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub key: ContextKey,
    pub language: Option<Language>,
    pub country: Option<Country>,
    pub values: ContextValues,
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes() {
        assert!(Country::parse("US".into()).is_ok());
        for bad in ["us", "USA", "U", ""] {
            assert!(Country::parse(bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn context_values_are_bounded() {
        let ok: BTreeMap<_, _> = [("tier".to_owned(), "premium".to_owned())].into();
        assert!(ContextValues::parse(ok).is_ok());
        let big: BTreeMap<_, _> = [("k".to_owned(), "v".repeat(9 * 1024))].into();
        assert!(ContextValues::parse(big).is_err());
    }
}
