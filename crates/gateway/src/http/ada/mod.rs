//! Ada API v2 dialect (`/api/v2`): end users, channels and conversations, authenticated by
//! `Authorization: Bearer <API token>`, Ada's error body, and every path with or without its
//! trailing slash.

mod channels;
mod conversations;
mod end_users;
mod error;
mod privacy;
mod webhook_api;
mod webhooks;

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request},
    http::{StatusCode, request::Parts},
};
use platform::{ApiError, ErrorCode};
use serde::Serialize;
use serde_json::{Map, Value};

pub use error::AdaError;
use utoipa_axum::{router::OpenApiRouter, routes};
pub use webhooks::delivery_body;

use crate::{
    auth::{self, Caller},
    clients::{Clients, RequestId},
};

/// Ada refuses larger payloads with 413 before reading them whole.
const MAX_BODY: usize = 4 * 1024;

/// Ada's paths with a trailing slash (as Ada writes most of them) reach these too: the gateway
/// drops it before routing (`http::canonical_path`).
pub fn routes() -> OpenApiRouter<Clients> {
    OpenApiRouter::new()
        .routes(routes!(end_users::list, end_users::create))
        .routes(routes!(end_users::view, end_users::update))
        .routes(routes!(channels::list, channels::create))
        .routes(routes!(channels::view))
        .routes(routes!(conversations::create))
        .routes(routes!(conversations::view))
        .routes(routes!(conversations::end))
        .routes(routes!(privacy::erase))
        .routes(routes!(webhook_api::list, webhook_api::create))
        .routes(routes!(webhook_api::event_types_list))
        .routes(routes!(webhook_api::view, webhook_api::update, webhook_api::delete))
        .routes(routes!(webhook_api::secret))
        .routes(routes!(webhook_api::rotate))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(crate::http::error::json_rejections::<AdaError>))
}

/// The application behind `Authorization: Bearer <token>`.
pub struct AdaCaller(pub Caller);

impl FromRequestParts<Clients> for AdaCaller {
    type Rejection = AdaError;

    async fn from_request_parts(parts: &mut Parts, clients: &Clients) -> Result<Self, Self::Rejection> {
        let request_id = RequestId::from_request_parts(parts, clients).await.unwrap_or_default();
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
        Ok(Self(auth::api_token(clients, &request_id, token).await?))
    }
}

/// A request body that is a JSON object (an empty body is `{}`), read field by field into Ada's
/// `validation_error`s; over 4 KB it is 413.
#[derive(Debug, Default)]
pub struct AdaBody(Map<String, Value>);

impl FromRequest<Clients> for AdaBody {
    type Rejection = AdaError;

    async fn from_request(request: Request, clients: &Clients) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, clients).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AdaError::too_large()
            } else {
                AdaError::validation("body", "body", "the body could not be read")
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            _ => Err(AdaError::validation("body", "body", "the body must be a JSON object")),
        }
    }
}

impl AdaBody {
    /// `null` counts as absent.
    pub fn optional_string(&self, key: &str) -> Result<Option<String>, AdaError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(AdaError::validation(key, "body", format!("{key} must be a string"))),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    pub fn required_string(&self, key: &str) -> Result<String, AdaError> {
        self.optional_string(key)?.ok_or_else(|| AdaError::validation(key, "body", format!("{key} is required")))
    }

    /// `metadata` as JSON text for the services (`""` when absent): an object of string, number
    /// and boolean values.
    pub fn metadata(&self) -> Result<String, AdaError> {
        match self.0.get("metadata") {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::Object(map)) => {
                if let Some((key, _)) = map.iter().find(|(_, v)| v.is_object() || v.is_array() || v.is_null()) {
                    return Err(AdaError::validation(
                        &format!("metadata.{key}"),
                        "body",
                        "metadata values must be strings, numbers or booleans",
                    ));
                }
                Ok(Value::Object(map.clone()).to_string())
            }
            Some(_) => Err(AdaError::validation("metadata", "body", "metadata must be an object")),
        }
    }

    #[cfg(test)]
    pub fn from_value(value: Value) -> Self {
        Self(value.as_object().cloned().unwrap_or_default())
    }
}

/// A list's query string and its `limit` (1 to 100, `default` when absent).
pub fn page_query(raw: Option<&str>, default: u32) -> Result<(HashMap<String, String>, u32), AdaError> {
    let query: HashMap<String, String> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|_| AdaError::validation("query", "query", "the query string is malformed"))?;
    let limit = match query.get("limit") {
        None => default,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| AdaError::validation("limit", "query", "limit must be 1 to 100"))?,
    };
    Ok((query, limit))
}

/// The paging of a list: the next page's absolute URL, `null` on the last page.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ada::PageMeta)]
pub struct PageMeta {
    pub next_page_url: Option<String>,
}

/// A service's refusal, its field named as in the body (channels and conversations have no
/// `profile` to map fields into, unlike end users).
pub fn refused(status: tonic::Status) -> AdaError {
    let error = ApiError::from_status(&status);
    match error.code {
        ErrorCode::MissingField | ErrorCode::ValueTooLong | ErrorCode::InvalidArgument => {
            AdaError::validation(error.field.as_deref().unwrap_or("body"), "body", error.message)
        }
        _ => error.into(),
    }
}

/// Metadata JSON text from a service as a JSON object; the service checked it when it was stored.
pub fn metadata_value(json: &str) -> Value {
    serde_json::from_str::<Value>(json).ok().filter(Value::is_object).unwrap_or_else(|| Value::Object(Map::new()))
}

/// A timestamp as Ada prints it: ISO 8601 with offset.
pub fn time(timestamp: Option<proto::Timestamp>) -> Option<String> {
    timestamp.map(|t| platform::time::iso8601_offset(proto::timestamp_to_millis(&t)))
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("\\PC{0,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// `metadata` is accepted exactly when it is absent, null, or an object of strings,
        /// numbers and booleans; what is accepted is the same object, as JSON text.
        #[test]
        fn metadata_is_a_flat_object_or_a_validation_error(metadata in json_value()) {
            let body = AdaBody::from_value(json!({ "metadata": metadata.clone() }));
            let flat = metadata.as_object().is_some_and(|m| m.values().all(|v| v.is_string() || v.is_number() || v.is_boolean()));
            match body.metadata() {
                Ok(text) if metadata.is_null() => prop_assert_eq!(text, ""),
                Ok(text) => {
                    prop_assert!(flat);
                    prop_assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), metadata);
                }
                Err(err) => {
                    prop_assert!(!flat && !metadata.is_null());
                    prop_assert_eq!(err.status, StatusCode::BAD_REQUEST);
                }
            }
        }
    }
}
