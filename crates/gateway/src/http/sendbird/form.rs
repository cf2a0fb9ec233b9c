//! A create or update body as JSON or, with a profile image, as `multipart/form-data` (the
//! `profile_file` part). Form fields are read into the same shape as JSON, so one handler
//! serves both; a form value that should be a boolean, number or list is parsed here.

use axum::{
    body::Bytes,
    extract::{FromRequest, Multipart, Request},
    http::header::CONTENT_TYPE,
};
use serde_json::{Map, Value};

use super::{
    body::JsonBody,
    error::{self as codes, SendbirdError},
};
use crate::clients::Clients;

const BOOLEAN_FIELDS: &[&str] =
    &["issue_access_token", "issue_session_token", "is_active", "leave_all_when_deactivated"];
const INTEGER_FIELDS: &[&str] = &["last_seen_at", "session_token_expires_at"];
const LIST_FIELDS: &[&str] = &["discovery_keys", "preferred_languages"];

pub struct UserForm {
    pub body: JsonBody,
    pub profile_file: Option<Vec<u8>>,
}

impl FromRequest<Clients> for UserForm {
    type Rejection = SendbirdError;

    async fn from_request(request: Request, state: &Clients) -> Result<Self, Self::Rejection> {
        let is_multipart = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        if !is_multipart {
            let bytes = Bytes::from_request(request, state).await;
            return Ok(Self { body: JsonBody::parse(bytes)?, profile_file: None });
        }
        let mut multipart = Multipart::from_request(request, state).await.map_err(|_| malformed())?;
        let mut fields = Map::new();
        let mut profile_file = None;
        while let Some(field) = multipart.next_field().await.map_err(|e| too_large_or_malformed(e.status()))? {
            let name = field.name().unwrap_or_default().to_owned();
            if name == "profile_file" {
                profile_file = Some(field.bytes().await.map_err(|e| too_large_or_malformed(e.status()))?.to_vec());
                continue;
            }
            let text = field.text().await.map_err(|e| too_large_or_malformed(e.status()))?;
            fields.insert(name.clone(), typed(&name, text)?);
        }
        Ok(Self { body: JsonBody::from_map(fields), profile_file })
    }
}

/// A form value in the JSON type its field has.
fn typed(name: &str, text: String) -> Result<Value, SendbirdError> {
    let wrong = |code, expected: &str| SendbirdError::bad_request(code, format!("\"{name}\" must be {expected}."));
    if BOOLEAN_FIELDS.contains(&name) {
        return match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(wrong(codes::UNEXPECTED_PARAMETER_TYPE_BOOLEAN, "a boolean")),
        };
    }
    if INTEGER_FIELDS.contains(&name) {
        return text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| wrong(codes::UNEXPECTED_PARAMETER_TYPE_NUMBER, "an integer"));
    }
    if LIST_FIELDS.contains(&name) {
        // A JSON array, or a comma-separated list.
        return Ok(match serde_json::from_str::<Value>(&text) {
            Ok(list @ Value::Array(_)) => list,
            _ => Value::Array(text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(Value::from).collect()),
        });
    }
    if name == "metadata" {
        return serde_json::from_str(&text).map_err(|_| wrong(codes::UNEXPECTED_PARAMETER_TYPE_JSON, "a JSON object"));
    }
    Ok(Value::String(text))
}

fn malformed() -> SendbirdError {
    SendbirdError::bad_request(codes::INVALID_JSON_BODY, "Invalid multipart request body.")
}

fn too_large_or_malformed(status: axum::http::StatusCode) -> SendbirdError {
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE { SendbirdError::too_large() } else { malformed() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_take_their_fields_types() {
        assert_eq!(typed("issue_access_token", "True".into()).unwrap(), Value::Bool(true));
        assert_eq!(typed("last_seen_at", "12".into()).unwrap(), Value::from(12));
        assert_eq!(typed("discovery_keys", "a, b".into()).unwrap(), serde_json::json!(["a", "b"]));
        assert_eq!(typed("discovery_keys", "[\"a\"]".into()).unwrap(), serde_json::json!(["a"]));
        assert_eq!(typed("metadata", "{\"k\":\"v\"}".into()).unwrap(), serde_json::json!({ "k": "v" }));
        assert_eq!(typed("nickname", "true".into()).unwrap(), Value::from("true"));
        assert_eq!(typed("is_active", "yes".into()).unwrap_err().code, codes::UNEXPECTED_PARAMETER_TYPE_BOOLEAN);
        assert_eq!(typed("metadata", "x".into()).unwrap_err().code, codes::UNEXPECTED_PARAMETER_TYPE_JSON);
    }
}

#[cfg(test)]
mod properties {
    use axum::{body::Body, http::Request};
    use proptest::prelude::*;

    use super::*;

    fn read(content_type: &str, body: Vec<u8>) -> Result<UserForm, SendbirdError> {
        let request = Request::builder().header(CONTENT_TYPE, content_type).body(Body::from(body)).expect("request");
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(async {
            // Lazy: nothing is connected to read a form.
            let clients = Clients::new(&platform::Settings::default()).expect("lazy clients");
            UserForm::from_request(request, &clients).await
        })
    }

    fn part(name: &str, value: &[u8]) -> Vec<u8> {
        let mut part = format!("--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").into_bytes();
        part.extend_from_slice(value);
        part.extend_from_slice(b"\r\n");
        part
    }

    proptest! {
        /// Any bytes sent as a multipart body are a form or Sendbird's 400: never a panic.
        #[test]
        fn any_multipart_body_is_a_form_or_a_client_error(body in any::<Vec<u8>>()) {
            if let Err(err) = read("multipart/form-data; boundary=b", body) {
                prop_assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
            }
        }

        /// Well-formed forms: each field in its type, the image as its bytes, or the field's
        /// type error.
        #[test]
        fn form_fields_arrive_typed(
            fields in proptest::collection::vec(
                (prop_oneof![
                    Just("nickname".to_owned()),
                    Just("is_active".to_owned()),
                    Just("last_seen_at".to_owned()),
                    Just("discovery_keys".to_owned()),
                    Just("metadata".to_owned()),
                    "[a-z_]{1,12}",
                ],
                 "\\PC{0,40}"),
                0..6,
            ),
            image in proptest::option::of(any::<Vec<u8>>()),
        ) {
            let mut body = Vec::new();
            for (name, value) in &fields {
                body.extend(part(name, value.as_bytes()));
            }
            if let Some(image) = &image {
                body.extend(part("profile_file", image));
            }
            body.extend_from_slice(b"--b--\r\n");
            match read("multipart/form-data; boundary=b", body) {
                Ok(form) => prop_assert_eq!(form.profile_file, image),
                Err(err) => {
                    prop_assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
                    prop_assert!((400100..=400104).contains(&err.code) || err.code == codes::INVALID_JSON_BODY, "{}", err.code);
                }
            }
        }
    }
}
