//! Request bodies: a JSON object (an empty body is `{}`), read field by field with Sunshine's
//! limits. Every field may be absent, an explicit `null` (the official client sends one for
//! fields set to `None`; on PATCH it clears) or a value.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::StatusCode,
};
use proto::registry::v1 as pb;
use serde_json::{Map, Value};

use super::SunshineError;
use crate::clients::Clients;

/// Sunshine's limit on metadata, written out as compact JSON.
pub const MAX_METADATA_BYTES: usize = 4 * 1024;

/// A field as sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent<T> {
    Absent,
    Null,
    Value(T),
}

impl<T> Sent<T> {
    /// The value, with `null` counting as absent (creates).
    pub fn value(self) -> Option<T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Absent | Self::Null => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct SunshineBody(pub Map<String, Value>);

impl FromRequest<Clients> for SunshineBody {
    type Rejection = SunshineError;

    async fn from_request(request: Request, clients: &Clients) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, clients).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                SunshineError::too_large()
            } else {
                SunshineError::bad_request("The request body could not be read.")
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            _ => Err(SunshineError::bad_request("The request body must be a JSON object.")),
        }
    }
}

/// A string of 1 to `max` characters without NUL (which no database column holds), or `null`.
pub fn string(map: &Map<String, Value>, path: &str, key: &str, max: usize) -> Result<Sent<String>, SunshineError> {
    match map.get(key) {
        None => Ok(Sent::Absent),
        Some(Value::Null) => Ok(Sent::Null),
        Some(Value::String(s)) if s.contains('\0') => {
            Err(SunshineError::bad_request(format!("{path} must not contain NUL characters")))
        }
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= max => Ok(Sent::Value(s.clone())),
        Some(_) => Err(SunshineError::bad_request(format!("{path} must be a string of 1 to {max} characters"))),
    }
}

pub fn boolean(map: &Map<String, Value>, key: &str) -> Result<Sent<bool>, SunshineError> {
    match map.get(key) {
        None => Ok(Sent::Absent),
        Some(Value::Null) => Ok(Sent::Null),
        Some(Value::Bool(b)) => Ok(Sent::Value(*b)),
        Some(_) => Err(SunshineError::bad_request(format!("{key} must be a boolean"))),
    }
}

/// `signedUpAt`: ISO 8601 (`YYYY-MM-DDThh:mm:ss.sssZ`), as milliseconds; 422 otherwise.
pub fn signed_up_at(map: &Map<String, Value>) -> Result<Sent<proto::Timestamp>, SunshineError> {
    match map.get("signedUpAt") {
        None => Ok(Sent::Absent),
        Some(Value::Null) => Ok(Sent::Null),
        Some(Value::String(s)) => platform::time::parse_rfc3339(s)
            .map(|ms| Sent::Value(proto::timestamp_from_millis(ms)))
            .ok_or_else(|| SunshineError::unprocessable("signedUpAt must be ISO 8601: YYYY-MM-DDThh:mm:ss.sssZ")),
        Some(_) => Err(SunshineError::unprocessable("signedUpAt must be an ISO 8601 string")),
    }
}

/// `metadata`: a flat object (string, number and boolean values) of at most 4 KB written out;
/// a nested or oversized one is 422.
pub fn metadata(map: &Map<String, Value>) -> Result<Sent<Map<String, Value>>, SunshineError> {
    let metadata = match map.get("metadata") {
        None => return Ok(Sent::Absent),
        Some(Value::Null) => return Ok(Sent::Null),
        Some(Value::Object(metadata)) => metadata,
        Some(_) => return Err(SunshineError::bad_request("metadata must be an object")),
    };
    if let Some((key, _)) =
        metadata.iter().find(|(_, v)| !matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)))
    {
        return Err(SunshineError::unprocessable(format!(
            "metadata must be flat: metadata.{key} is not a string, number or boolean"
        )));
    }
    if Value::Object(metadata.clone()).to_string().len() > MAX_METADATA_BYTES {
        return Err(SunshineError::unprocessable("metadata is larger than 4 KB"));
    }
    Ok(Sent::Value(metadata.clone()))
}

/// Flat metadata as the registry stores it.
pub fn registry_metadata(metadata: Map<String, Value>) -> HashMap<String, pb::MetadataValue> {
    use pb::metadata_value::Kind;
    metadata
        .into_iter()
        .filter_map(|(key, value)| {
            let kind = match value {
                Value::String(s) => Kind::StringValue(s),
                Value::Bool(b) => Kind::BoolValue(b),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => Kind::IntValue(i),
                    None => Kind::DoubleValue(n.as_f64()?),
                },
                _ => return None,
            };
            Some((key, pb::MetadataValue { kind: Some(kind) }))
        })
        .collect()
}

/// The profile fields Sunshine has: JSON name, Roster name, longest value.
const PROFILE_FIELDS: [(&str, &str, usize); 5] = [
    ("givenName", "given_name", 128),
    ("surname", "surname", 128),
    ("email", "email", 128),
    ("avatarUrl", "avatar_url", 2048),
    ("locale", "language", 64),
];

/// `profile` as sent: absent, `null` (every field cleared), or the fields it names.
#[derive(Debug, Clone, PartialEq)]
pub enum ProfileInput {
    Absent,
    Cleared,
    Fields(HashMap<&'static str, Option<String>>),
}

pub fn profile(map: &Map<String, Value>) -> Result<ProfileInput, SunshineError> {
    let profile = match map.get("profile") {
        None => return Ok(ProfileInput::Absent),
        Some(Value::Null) => return Ok(ProfileInput::Cleared),
        Some(Value::Object(profile)) => profile,
        Some(_) => return Err(SunshineError::bad_request("profile must be an object")),
    };
    let mut fields = HashMap::new();
    for (json, ours, max) in PROFILE_FIELDS {
        match string(profile, &format!("profile.{json}"), json, max)? {
            Sent::Absent => {}
            Sent::Null => {
                fields.insert(ours, None);
            }
            Sent::Value(v) => {
                fields.insert(ours, Some(v));
            }
        }
    }
    Ok(ProfileInput::Fields(fields))
}

impl ProfileInput {
    /// `current` with the input applied. Fields Sunshine does not have (`display_name`) stay.
    pub fn apply(&self, current: pb::Profile) -> pb::Profile {
        let fields = match self {
            Self::Absent => return current,
            Self::Cleared => &HashMap::new(),
            Self::Fields(fields) => fields,
        };
        let cleared = matches!(self, Self::Cleared);
        let pick = |name: &str, current: Option<String>| match fields.get(name) {
            Some(value) => value.clone(),
            None if cleared => None,
            None => current,
        };
        pb::Profile {
            given_name: pick("given_name", current.given_name),
            surname: pick("surname", current.surname),
            display_name: current.display_name,
            email: pick("email", current.email),
            language: pick("language", current.language),
            avatar_url: pick("avatar_url", current.avatar_url),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn profile_patches_replace_clear_or_keep_each_field() {
        let current = pb::Profile {
            given_name: Some("Ada".into()),
            surname: Some("Lovelace".into()),
            display_name: Some("Countess".into()),
            email: Some("ada@example.com".into()),
            language: Some("en-GB".into()),
            avatar_url: None,
        };
        let input = profile(&object(json!({ "profile": { "givenName": "Augusta", "email": null } }))).unwrap();
        let patched = input.apply(current.clone());
        assert_eq!(patched.given_name.as_deref(), Some("Augusta"));
        assert_eq!(patched.email, None, "an explicit null clears");
        assert_eq!(patched.surname.as_deref(), Some("Lovelace"), "absent keeps");
        let cleared = profile(&object(json!({ "profile": null }))).unwrap().apply(current.clone());
        assert_eq!((cleared.given_name, cleared.surname, cleared.email, cleared.language), (None, None, None, None));
        assert_eq!(cleared.display_name.as_deref(), Some("Countess"), "not Sunshine's to clear");
        assert_eq!(profile(&object(json!({}))).unwrap().apply(current.clone()), current);
    }

    #[test]
    fn limits_and_types() {
        let refused = |body: Value| profile(&object(body)).unwrap_err().status;
        assert_eq!(refused(json!({ "profile": { "givenName": "g".repeat(129) } })), StatusCode::BAD_REQUEST);
        assert_eq!(refused(json!({ "profile": { "locale": "" } })), StatusCode::BAD_REQUEST);
        assert_eq!(refused(json!({ "profile": { "avatarUrl": 7 } })), StatusCode::BAD_REQUEST);
        assert_eq!(refused(json!({ "profile": "x" })), StatusCode::BAD_REQUEST);
        assert!(profile(&object(json!({ "profile": { "avatarUrl": "u".repeat(2048) } }))).is_ok());
        assert_eq!(refused(json!({ "profile": { "surname": "a\u{0}b" } })), StatusCode::BAD_REQUEST);

        let meta = |body: Value| metadata(&object(body));
        assert_eq!(
            meta(json!({ "metadata": { "a": { "b": 1 } } })).unwrap_err().status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(meta(json!({ "metadata": { "a": [1] } })).unwrap_err().status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(meta(json!({ "metadata": { "a": null } })).unwrap_err().status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(meta(json!({ "metadata": [1] })).unwrap_err().status, StatusCode::BAD_REQUEST);
        assert_eq!(meta(json!({ "metadata": null })).unwrap(), Sent::Null);
        let converted = registry_metadata(object(json!({ "s": "v", "i": 2, "f": 1.5, "b": true })));
        use pb::metadata_value::Kind;
        assert_eq!(converted["i"].kind, Some(Kind::IntValue(2)));
        assert_eq!(converted["f"].kind, Some(Kind::DoubleValue(1.5)));
        assert_eq!(converted["b"].kind, Some(Kind::BoolValue(true)));

        let signed = |body: Value| signed_up_at(&object(body));
        assert_eq!(signed(json!({ "signedUpAt": "yesterday" })).unwrap_err().status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(signed(json!({ "signedUpAt": 5 })).unwrap_err().status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            signed(json!({ "signedUpAt": "2020-09-20T10:11:12.345Z" })).unwrap(),
            Sent::Value(proto::timestamp_from_millis(1_600_596_672_345))
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    proptest! {
        /// Exactly Sunshine's 4 KB, counted on the compact JSON of the whole object.
        #[test]
        fn metadata_is_refused_exactly_over_4_kb(len in 4000usize..4200) {
            let body = json!({ "metadata": { "k": "v".repeat(len) } });
            let written = json!({ "k": "v".repeat(len) }).to_string().len();
            let result = metadata(body.as_object().unwrap());
            prop_assert_eq!(result.is_ok(), written <= MAX_METADATA_BYTES);
        }

        /// Profile strings: 1 to the field's maximum characters, counted as characters.
        #[test]
        fn profile_strings_are_bounded_in_characters(s in "\\PC{0,140}") {
            let n = s.chars().count();
            let result = profile(json!({ "profile": { "surname": s } }).as_object().unwrap());
            prop_assert_eq!(result.is_ok(), (1..=128).contains(&n) && !s.contains('\0'));
        }
    }
}
