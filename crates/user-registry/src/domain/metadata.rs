use std::collections::BTreeMap;

use super::ValidationError;

/// A scalar metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    String(String),
    Int(i64),
    Double(f64),
    Bool(bool),
}

/// String keys to scalar values, bounded in key length and total size.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata(BTreeMap<String, MetaValue>);

impl Metadata {
    pub const MAX_KEY_CHARS: usize = 128;
    pub const MAX_KEYS: usize = 100;
    /// Total of key and value lengths in bytes.
    pub const MAX_BYTES: usize = 16 * 1024;

    pub fn parse(entries: BTreeMap<String, MetaValue>) -> Result<Self, ValidationError> {
        if entries.len() > Self::MAX_KEYS {
            return Err(ValidationError::Invalid { field: "metadata", reason: "has more than 100 keys" });
        }
        let mut bytes = 0;
        for (key, value) in &entries {
            if key.is_empty() {
                return Err(ValidationError::Invalid { field: "metadata", reason: "keys must not be empty" });
            }
            if key.contains('\0') {
                return Err(ValidationError::Invalid {
                    field: "metadata",
                    reason: "keys must not contain NUL characters",
                });
            }
            if key.chars().count() > Self::MAX_KEY_CHARS {
                return Err(ValidationError::TooLong { field: "metadata key", max: Self::MAX_KEY_CHARS });
            }
            if let MetaValue::Double(d) = value
                && !d.is_finite()
            {
                return Err(ValidationError::Invalid { field: "metadata", reason: "numbers must be finite" });
            }
            bytes += key.len()
                + match value {
                    MetaValue::String(s) => s.len(),
                    _ => 8,
                };
        }
        if bytes > Self::MAX_BYTES {
            return Err(ValidationError::Invalid { field: "metadata", reason: "is larger than 16 KB" });
        }
        Ok(Self(entries))
    }

    pub fn entries(&self) -> &BTreeMap<String, MetaValue> {
        &self.0
    }

    pub fn into_entries(self) -> BTreeMap<String, MetaValue> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        let ok: BTreeMap<_, _> = [("k".to_owned(), MetaValue::String("v".into()))].into();
        assert!(Metadata::parse(ok).is_ok());
        let long_key: BTreeMap<_, _> = [("k".repeat(129), MetaValue::Bool(true))].into();
        assert!(Metadata::parse(long_key).is_err());
        let big: BTreeMap<_, _> = [("k".to_owned(), MetaValue::String("v".repeat(17 * 1024)))].into();
        assert!(Metadata::parse(big).is_err());
        let nan: BTreeMap<_, _> = [("k".to_owned(), MetaValue::Double(f64::NAN))].into();
        assert!(Metadata::parse(nan).is_err());
        let many: BTreeMap<_, _> = (0..101).map(|i| (i.to_string(), MetaValue::Int(i))).collect();
        assert!(Metadata::parse(many).is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn keys_are_bounded_in_characters(key in "\\PC{1,200}") {
            let entries: BTreeMap<_, _> = [(key.clone(), MetaValue::Bool(true))].into();
            prop_assert_eq!(Metadata::parse(entries).is_ok(), key.chars().count() <= Metadata::MAX_KEY_CHARS);
        }
    }
}

/// Write-only fields (Ada's `sensitive_metadata.fields`): string keys to string values, sealed
/// at rest and never part of a `User`. Its `Debug` names the keys, never the values.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SensitiveFields(BTreeMap<String, String>);

impl std::fmt::Debug for SensitiveFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SensitiveFields").field(&self.0.keys().collect::<Vec<_>>()).finish()
    }
}

impl SensitiveFields {
    pub const MAX_KEYS: usize = 50;
    pub const MAX_KEY_CHARS: usize = 128;
    /// Total of key and value lengths in bytes.
    pub const MAX_BYTES: usize = 8 * 1024;
    pub const EMPTY: Self = Self(BTreeMap::new());

    pub fn parse(entries: BTreeMap<String, String>) -> Result<Self, ValidationError> {
        const FIELD: &str = "sensitive_metadata";
        if entries.len() > Self::MAX_KEYS {
            return Err(ValidationError::Invalid { field: FIELD, reason: "has more than 50 fields" });
        }
        let mut bytes = 0;
        for (key, value) in &entries {
            if key.is_empty() || key.contains('\0') || value.contains('\0') {
                return Err(ValidationError::Invalid {
                    field: FIELD,
                    reason: "keys must not be empty and nothing may contain NUL characters",
                });
            }
            if key.chars().count() > Self::MAX_KEY_CHARS {
                return Err(ValidationError::TooLong { field: FIELD, max: Self::MAX_KEY_CHARS });
            }
            bytes += key.len() + value.len();
        }
        if bytes > Self::MAX_BYTES {
            return Err(ValidationError::Invalid { field: FIELD, reason: "is larger than 8 KB" });
        }
        Ok(Self(entries))
    }

    pub fn entries(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn into_entries(self) -> BTreeMap<String, String> {
        self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `self` with `other`'s keys written over it, within the limits.
    pub fn merged(&self, other: &Self) -> Result<Self, ValidationError> {
        let mut entries = self.0.clone();
        entries.extend(other.0.iter().map(|(k, v)| (k.clone(), v.clone())));
        Self::parse(entries)
    }
}

#[cfg(test)]
mod sensitive_tests {
    use super::*;

    #[test]
    fn sensitive_fields_are_bounded_and_never_debug_their_values() {
        let fields = SensitiveFields::parse([("token".to_string(), "s3cr3t".to_string())].into()).unwrap();
        assert!(!format!("{fields:?}").contains("s3cr3t"));
        assert!(SensitiveFields::parse([(String::new(), "v".into())].into()).is_err());
        assert!(SensitiveFields::parse((0..51).map(|i| (i.to_string(), String::new())).collect()).is_err());
        assert!(SensitiveFields::parse([("k".into(), "v".repeat(8 * 1024))].into()).is_err());
        let more = SensitiveFields::parse([("other".to_string(), "x".to_string())].into()).unwrap();
        let merged = fields.merged(&more).unwrap();
        assert_eq!(merged.entries().len(), 2);
    }
}
