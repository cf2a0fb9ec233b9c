//! Channel identities (a WhatsApp phone number, a Messenger PSID) and the other Sunshine-only
//! user facts.

use super::ValidationError;

const FIELD: &str = "identities";

/// A channel-specific id of a user, unique per application: at most one user holds a given
/// channel type and value. Values compare exactly (a PSID is case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    channel_type: String,
    value: String,
}

impl Identity {
    pub const MAX_CHANNEL_TYPE_CHARS: usize = 64;
    pub const MAX_VALUE_CHARS: usize = 1024;
    pub const MAX_PER_USER: usize = 20;

    pub fn parse(channel_type: String, value: String) -> Result<Self, ValidationError> {
        if channel_type.is_empty() || value.is_empty() {
            return Err(ValidationError::Invalid { field: FIELD, reason: "channel type and value must not be empty" });
        }
        if !channel_type.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-') {
            return Err(ValidationError::Invalid {
                field: FIELD,
                reason: "channel types are lowercase letters, digits, '_' and '-'",
            });
        }
        // ASCII only from here, so bytes are characters.
        if channel_type.len() > Self::MAX_CHANNEL_TYPE_CHARS {
            return Err(ValidationError::TooLong { field: FIELD, max: Self::MAX_CHANNEL_TYPE_CHARS });
        }
        if value.contains('\0') {
            return Err(ValidationError::Invalid { field: FIELD, reason: "values must not contain NUL characters" });
        }
        if value.chars().count() > Self::MAX_VALUE_CHARS {
            return Err(ValidationError::TooLong { field: FIELD, max: Self::MAX_VALUE_CHARS });
        }
        Ok(Self { channel_type, value })
    }

    /// A user's identities: duplicates collapse, ordered by channel type then value, at most
    /// `MAX_PER_USER`.
    pub fn parse_all(pairs: Vec<(String, String)>) -> Result<Vec<Self>, ValidationError> {
        let mut identities = pairs.into_iter().map(|(c, v)| Self::parse(c, v)).collect::<Result<Vec<_>, _>>()?;
        identities.sort();
        identities.dedup();
        if identities.len() > Self::MAX_PER_USER {
            return Err(ValidationError::Invalid { field: FIELD, reason: "has more than 20 identities" });
        }
        Ok(identities)
    }

    pub fn channel_type(&self) -> &str {
        &self.channel_type
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

/// An instant in milliseconds that RFC 3339 can write (years 0001 to 9999), so every dialect can
/// render what the registry stores.
pub fn parse_instant(field: &'static str, millis: i64) -> Result<i64, ValidationError> {
    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z.
    const RANGE: std::ops::RangeInclusive<i64> = -62_135_596_800_000..=253_402_300_799_999;
    if RANGE.contains(&millis) {
        Ok(millis)
    } else {
        Err(ValidationError::Invalid { field, reason: "must be between the years 1 and 9999" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: &str, v: &str) -> Result<Identity, ValidationError> {
        Identity::parse(c.to_owned(), v.to_owned())
    }

    #[test]
    fn channel_types_and_values() {
        assert!(id("whatsapp", "+15550100").is_ok());
        assert!(id("line_v2-b", "U4af4980629").is_ok());
        for bad in ["", "WhatsApp", "what app", "wa.v2", "é"] {
            assert!(id(bad, "x").is_err(), "{bad:?}");
        }
        assert!(id("whatsapp", "").is_err());
        assert!(id("whatsapp", "a\0b").is_err());
        assert!(id(&"c".repeat(64), &"é".repeat(1024)).is_ok(), "limits count characters");
        assert_eq!(id(&"c".repeat(65), "x"), Err(ValidationError::TooLong { field: FIELD, max: 64 }));
        assert_eq!(id("c", &"v".repeat(1025)), Err(ValidationError::TooLong { field: FIELD, max: 1024 }));
    }

    #[test]
    fn a_user_holds_at_most_twenty_distinct_identities() {
        let pairs = |n: usize| (0..n).map(|i| ("sms".to_owned(), i.to_string())).collect::<Vec<_>>();
        assert_eq!(Identity::parse_all(pairs(20)).unwrap().len(), 20);
        assert!(Identity::parse_all(pairs(21)).is_err());
        let mut repeated = pairs(20);
        repeated.extend(pairs(20));
        assert_eq!(Identity::parse_all(repeated).unwrap().len(), 20, "duplicates collapse before counting");
        let sorted = Identity::parse_all(vec![("b".into(), "1".into()), ("a".into(), "2".into())]).unwrap();
        assert_eq!(sorted.iter().map(Identity::channel_type).collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn instants_stay_within_rfc3339_years() {
        assert_eq!(parse_instant("signed_up_at", 0), Ok(0));
        assert!(parse_instant("signed_up_at", -62_135_596_800_000).is_ok());
        assert!(parse_instant("signed_up_at", -62_135_596_800_001).is_err());
        assert!(parse_instant("signed_up_at", 253_402_300_799_999).is_ok());
        assert!(parse_instant("signed_up_at", 253_402_300_800_000).is_err());
        assert!(parse_instant("signed_up_at", i64::MAX).is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Channel types: exactly the strings of 1 to 64 characters from [a-z0-9_-].
        #[test]
        fn channel_types_are_exact(c in "\\PC{0,80}") {
            let allowed = c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-');
            let n = c.chars().count();
            prop_assert_eq!(Identity::parse(c, "v".into()).is_ok(), allowed && (1..=64).contains(&n));
        }

        #[test]
        fn valid_channel_types_up_to_the_limit(c in "[a-z0-9_-]{1,80}") {
            prop_assert_eq!(Identity::parse(c.clone(), "v".into()).is_ok(), c.len() <= 64);
        }

        /// Values: exactly the strings of 1 to 1024 characters without NUL, counted in characters.
        #[test]
        fn values_are_exact(v in "(\\PC|\u{0}){0,40}", pad in 0usize..1100, wide in any::<bool>()) {
            let filler = if wide { "界" } else { "v" };
            let value = format!("{v}{}", filler.repeat(pad));
            let n = value.chars().count();
            let ok = !value.contains('\0') && (1..=Identity::MAX_VALUE_CHARS).contains(&n);
            prop_assert_eq!(Identity::parse("sms".into(), value).is_ok(), ok);
        }

        /// Any list: accepted exactly when every pair is valid and at most 20 distinct remain,
        /// which come back sorted without duplicates.
        #[test]
        fn lists_are_bounded_after_collapsing(values in proptest::collection::vec("[a-z]", 0..40)) {
            let pairs: Vec<(String, String)> = values.iter().map(|v| ("sms".to_owned(), v.clone())).collect();
            let mut distinct = values.clone();
            distinct.sort();
            distinct.dedup();
            match Identity::parse_all(pairs) {
                Ok(parsed) => {
                    prop_assert!(distinct.len() <= Identity::MAX_PER_USER);
                    prop_assert_eq!(parsed.iter().map(|i| i.value().to_owned()).collect::<Vec<_>>(), distinct);
                }
                Err(_) => prop_assert!(distinct.len() > Identity::MAX_PER_USER),
            }
        }
    }
}
