//! The error every `parse` constructor returns, and the bounded-string check they share.

use crate::{ApiError, ErrorCode};

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("{field} is required")]
    Missing { field: &'static str },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: &'static str },
}

impl ValidationError {
    pub fn field(&self) -> &'static str {
        match self {
            Self::Missing { field } | Self::TooLong { field, .. } | Self::Invalid { field, .. } => field,
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        let code = match err {
            ValidationError::Missing { .. } => ErrorCode::MissingField,
            ValidationError::TooLong { .. } => ErrorCode::ValueTooLong,
            ValidationError::Invalid { .. } => ErrorCode::InvalidArgument,
        };
        ApiError::new(code, err.to_string()).with_field(err.field())
    }
}

/// `value` when it has at most `max` characters (Unicode scalar values, as the dialects count)
/// and no NUL, which no database text column can hold.
pub fn bounded(field: &'static str, value: String, max: usize) -> Result<String, ValidationError> {
    if value.chars().count() > max {
        return Err(ValidationError::TooLong { field, max });
    }
    no_nul(field, value)
}

/// `value` when it holds no NUL character.
pub fn no_nul(field: &'static str, value: String) -> Result<String, ValidationError> {
    if value.contains('\0') {
        return Err(ValidationError::Invalid { field, reason: "must not contain NUL characters" });
    }
    Ok(value)
}

/// `value` when it has the shape of a BCP 47 language tag (`en`, `en-US`, `zh-Hant-TW`,
/// `es-419`): a primary subtag of 2-3 or 5-8 letters, then subtags of 1-8 letters or digits.
pub fn language_tag(field: &'static str, value: String) -> Result<String, ValidationError> {
    let invalid = ValidationError::Invalid { field, reason: "must be a BCP 47 language tag" };
    let mut subtags = value.split('-');
    let primary = subtags.next().unwrap_or_default();
    if !matches!(primary.len(), 2..=3 | 5..=8) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(invalid);
    }
    if !subtags.all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Err(invalid);
    }
    Ok(value)
}

/// The 249 officially assigned ISO 3166-1 alpha-2 codes, sorted (for a binary search).
const ISO_3166_ALPHA_2: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
    "ZM", "ZW",
];

/// `value` when it is an officially assigned ISO 3166-1 alpha-2 code (upper case).
pub fn country_code(field: &'static str, value: String) -> Result<String, ValidationError> {
    if ISO_3166_ALPHA_2.binary_search(&value.as_str()).is_err() {
        return Err(ValidationError::Invalid { field, reason: "must be an ISO 3166-1 alpha-2 code such as US" });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        for ok in ["en", "en-US", "zh-Hant-TW", "pt-BR", "es-419"] {
            assert!(language_tag("language", ok.into()).is_ok(), "{ok}");
        }
        for bad in ["", "e", "englishlanguage", "en-toolongsubtag", "en_US", "en--US", "1a"] {
            assert!(language_tag("language", bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn country_codes_are_the_assigned_ones() {
        assert!(ISO_3166_ALPHA_2.windows(2).all(|w| w[0] < w[1]), "sorted for binary search");
        assert_eq!(ISO_3166_ALPHA_2.len(), 249);
        for ok in ["US", "KR", "BR", "DE"] {
            assert!(country_code("country", ok.into()).is_ok(), "{ok}");
        }
        for bad in ["us", "USA", "U", "", "XX", "ZZ"] {
            assert!(country_code("country", bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn bounded_counts_characters() {
        assert!(bounded("f", "é".repeat(3), 3).is_ok());
        assert_eq!(bounded("f", "abcd".into(), 3), Err(ValidationError::TooLong { field: "f", max: 3 }));
        assert!(bounded("f", "a\0b".into(), 3).is_err(), "NUL never reaches a database");
        let api = ApiError::from(ValidationError::Missing { field: "user_id" });
        assert_eq!((api.code, api.field.as_deref()), (ErrorCode::MissingField, Some("user_id")));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn bounded_accepts_exactly_up_to_the_limit(s in "\\PC{0,64}", max in 0usize..64) {
            prop_assert_eq!(bounded("f", s.clone(), max).is_ok(), s.chars().count() <= max && !s.contains('\0'));
        }

        #[test]
        fn well_formed_language_tags_pass(primary in "[a-z]{2,3}", region in proptest::option::of("[A-Z]{2}|[0-9]{3}")) {
            let tag = match region { Some(r) => format!("{primary}-{r}"), None => primary };
            prop_assert!(language_tag("language", tag).is_ok());
        }

        #[test]
        fn language_tags_never_contain_anything_but_letters_digits_and_hyphens(s in "\\PC{0,20}") {
            if let Ok(tag) = language_tag("language", s) {
                prop_assert!(tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
            }
        }

        #[test]
        fn only_listed_countries_pass(code in "[A-Za-z]{0,3}") {
            prop_assert_eq!(country_code("country", code.clone()).is_ok(), ISO_3166_ALPHA_2.contains(&code.as_str()));
        }
    }
}
