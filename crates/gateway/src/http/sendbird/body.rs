//! Reads a Sendbird JSON body field by field, so each kind of mistake gets Sendbird's own code:
//! missing (400105), wrong type (400100-400104), not JSON at all (400403).

use std::collections::BTreeMap;

use axum::{body::Bytes, extract::rejection::BytesRejection, http::StatusCode};
use serde_json::{Map, Value};

use super::error::{self as codes, SendbirdError};

pub struct JsonBody(Map<String, Value>);

impl JsonBody {
    pub fn parse(bytes: Result<Bytes, BytesRejection>) -> Result<Self, SendbirdError> {
        let bytes = bytes.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                SendbirdError::too_large()
            } else {
                SendbirdError::bad_request(codes::INVALID_JSON_BODY, "Invalid JSON request body.")
            }
        })?;
        // The SDK sends an empty body with `Content-Type: application/json` when no request
        // object is given: that is an empty object, not malformed JSON.
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Map::new()));
        }
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => {
                Err(SendbirdError::bad_request(codes::INVALID_JSON_BODY, "The request body must be a JSON object."))
            }
            Err(_) => Err(SendbirdError::bad_request(codes::INVALID_JSON_BODY, "Invalid JSON request body.")),
        }
    }

    pub fn from_map(map: Map<String, Value>) -> Self {
        Self(map)
    }

    /// `null` counts as absent, as Sendbird treats it.
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    pub fn required_string(&self, key: &str) -> Result<String, SendbirdError> {
        self.optional_string(key)?.ok_or_else(|| {
            SendbirdError::bad_request(codes::MISSING_REQUIRED_PARAMETER, format!("\"{key}\" is required."))
        })
    }

    pub fn optional_string(&self, key: &str) -> Result<Option<String>, SendbirdError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(wrong_type(codes::UNEXPECTED_PARAMETER_TYPE_STRING, key, "a string")),
        }
    }

    pub fn optional_bool(&self, key: &str) -> Result<Option<bool>, SendbirdError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(codes::UNEXPECTED_PARAMETER_TYPE_BOOLEAN, key, "a boolean")),
        }
    }

    pub fn optional_i64(&self, key: &str) -> Result<Option<i64>, SendbirdError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(_) => Err(wrong_type(codes::UNEXPECTED_PARAMETER_TYPE_NUMBER, key, "an integer")),
        }
    }

    pub fn optional_string_list(&self, key: &str) -> Result<Option<Vec<String>>, SendbirdError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(wrong_type(codes::UNEXPECTED_PARAMETER_TYPE_STRING, key, "a list of strings")),
                })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(_) => Err(wrong_type(codes::UNEXPECTED_PARAMETER_TYPE_LIST, key, "a list")),
        }
    }

    pub fn optional_string_map(&self, key: &str) -> Result<Option<BTreeMap<String, String>>, SendbirdError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(wrong_type(codes::UNEXPECTED_PARAMETER_TYPE_STRING, key, "an object of strings")),
                })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(_) => Err(wrong_type(codes::UNEXPECTED_PARAMETER_TYPE_JSON, key, "a JSON object")),
        }
    }
}

fn wrong_type(code: u32, key: &str, expected: &str) -> SendbirdError {
    SendbirdError::bad_request(code, format!("\"{key}\" must be {expected}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> JsonBody {
        JsonBody::parse(Ok(Bytes::from(json.to_owned()))).expect("object")
    }

    #[test]
    fn each_mistake_gets_its_own_code() {
        let b = body(r#"{"s": 1, "b": "x", "l": {}, "m": [], "n": null}"#);
        assert_eq!(b.required_string("n").unwrap_err().code, codes::MISSING_REQUIRED_PARAMETER);
        assert_eq!(b.optional_string("s").unwrap_err().code, codes::UNEXPECTED_PARAMETER_TYPE_STRING);
        assert_eq!(b.optional_bool("b").unwrap_err().code, codes::UNEXPECTED_PARAMETER_TYPE_BOOLEAN);
        assert_eq!(b.optional_string_list("l").unwrap_err().code, codes::UNEXPECTED_PARAMETER_TYPE_LIST);
        assert_eq!(b.optional_string_map("m").unwrap_err().code, codes::UNEXPECTED_PARAMETER_TYPE_JSON);
        assert_eq!(b.optional_i64("b").unwrap_err().code, codes::UNEXPECTED_PARAMETER_TYPE_NUMBER);
    }

    #[test]
    fn an_empty_body_is_an_empty_object() {
        let empty = JsonBody::parse(Ok(Bytes::new())).expect("empty is {}");
        assert_eq!(empty.required_string("user_id").unwrap_err().code, codes::MISSING_REQUIRED_PARAMETER);
    }

    #[test]
    fn not_an_object_is_invalid_json() {
        for bad in ["[]", "{", "\"x\""] {
            let err = JsonBody::parse(Ok(Bytes::from(bad))).err().expect("refused");
            assert_eq!(err.code, codes::INVALID_JSON_BODY, "{bad}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever arrives, the answer is a body or a Sendbird 4xx, never a panic.
        #[test]
        fn any_bytes_parse_or_get_a_client_error(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            match JsonBody::parse(Ok(Bytes::from(bytes))) {
                Ok(body) => {
                    for key in ["user_id", "metadata", "discovery_keys", "is_active", "last_seen_at"] {
                        let _ = body.optional_string(key);
                        let _ = body.optional_string_map(key);
                        let _ = body.optional_string_list(key);
                        let _ = body.optional_bool(key);
                        let _ = body.optional_i64(key);
                    }
                }
                Err(err) => prop_assert!(err.status.is_client_error()),
            }
        }
    }
}
