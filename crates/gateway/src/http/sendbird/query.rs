//! Query-string parameters in Sendbird's terms. The SDK spells booleans `True`/`False` and
//! joins lists with commas.

use std::collections::HashMap;

use super::error::{self as codes, SendbirdError};

pub struct QueryParams(HashMap<String, String>);

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Result<Self, SendbirdError> {
        let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or_default())
            .map_err(|_| SendbirdError::bad_request(codes::INVALID_VALUE, "The query string is malformed."))?;
        Ok(Self(pairs.into_iter().collect()))
    }

    pub fn string(&self, key: &str) -> Option<String> {
        self.0.get(key).filter(|v| !v.is_empty()).cloned()
    }

    pub fn list(&self, key: &str) -> Vec<String> {
        self.string(key)
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// A boolean, absent when the key is; an empty value is no boolean.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, SendbirdError> {
        match self.0.get(key) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(invalid(key)),
        }
    }

    /// An integer within `range`, or `default` when the key is absent; an empty value is no
    /// integer.
    pub fn int(&self, key: &str, range: std::ops::RangeInclusive<u32>, default: u32) -> Result<u32, SendbirdError> {
        match self.0.get(key) {
            None => Ok(default),
            Some(v) => v.parse::<u32>().ok().filter(|n| range.contains(n)).ok_or_else(|| invalid(key)),
        }
    }

    pub fn one_of(&self, key: &str, allowed: &[&str], default: &str) -> Result<String, SendbirdError> {
        let value = self.string(key).unwrap_or_else(|| default.to_owned());
        if allowed.contains(&value.as_str()) { Ok(value) } else { Err(invalid(key)) }
    }
}

pub fn invalid(key: &str) -> SendbirdError {
    SendbirdError::bad_request(codes::INVALID_VALUE, format!("Invalid value: \"{key}\"."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_spellings_are_understood() {
        let q = QueryParams::parse(Some("show_bot=False&limit=20&user_ids=a%2Cb,c&token=&x=True")).unwrap();
        assert_eq!(q.bool("show_bot").unwrap(), Some(false));
        assert_eq!(q.bool("x").unwrap(), Some(true));
        assert_eq!(q.int("limit", 1..=100, 10).unwrap(), 20);
        assert_eq!(q.list("user_ids"), ["a", "b", "c"]);
        assert_eq!(q.string("token"), None);
        assert!(QueryParams::parse(Some("limit=0")).unwrap().int("limit", 1..=100, 10).is_err());
        assert!(QueryParams::parse(Some("b=yes")).unwrap().bool("b").is_err());
        assert!(QueryParams::parse(Some("limit=")).unwrap().int("limit", 1..=100, 10).is_err());
        assert!(QueryParams::parse(Some("b=")).unwrap().bool("b").is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_query_string_parses_or_gets_a_client_error(raw in "\\PC{0,80}") {
            if let Ok(query) = QueryParams::parse(Some(&raw)) {
                if let Err(err) = query.int("limit", 1..=100, 10) {
                    prop_assert_eq!(err.code, crate::http::sendbird::error::INVALID_VALUE);
                }
                let _ = query.bool("show_bot");
                let _ = query.list("user_ids");
            }
        }
    }
}
