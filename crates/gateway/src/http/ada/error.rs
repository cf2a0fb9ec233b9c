//! Ada's error body: `{ "errors": [ { "type", "message", "details" } ] }`; for a
//! `validation_error`, `details` lists `{ "parameter", "location", "message" }`.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use platform::{ApiError, ErrorCode};
use serde_json::{Value, json};

use crate::http::error::{DialectError, respond};

#[derive(Debug, Clone, PartialEq)]
pub struct AdaError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
}

impl AdaError {
    /// A caller mistake in one parameter, located in `body`, `query` or `path`.
    pub fn validation(parameter: &str, location: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "validation_error",
            message: "The request is invalid.".into(),
            details: Some(json!([{ "parameter": parameter, "location": location, "message": message }])),
            retry_after: None,
        }
    }

    pub fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            kind: "not_found",
            message: "Not found.".into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn too_large() -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            kind: "payload_too_large",
            message: "The request body is larger than 4 KB.".into(),
            details: None,
            retry_after: None,
        }
    }
}

/// Registry field names as Ada's JSON paths.
fn parameter(field: &str) -> String {
    match field {
        "given_name" => "profile.first_name".into(),
        "surname" => "profile.last_name".into(),
        "display_name" => "profile.display_name".into(),
        "avatar_url" => "profile.avatar".into(),
        "email" | "language" => format!("profile.{field}"),
        "metadata" | "metadata key" => "profile.metadata".into(),
        "sensitive_metadata" => "profile.sensitive_metadata.fields".into(),
        other => other.to_owned(),
    }
}

impl From<ApiError> for AdaError {
    fn from(err: ApiError) -> Self {
        let retry_after = err.retry_after_secs();
        let plain =
            |status, kind, message: &str| Self { status, kind, message: message.into(), details: None, retry_after };
        match err.code {
            ErrorCode::MissingField
            | ErrorCode::ValueTooLong
            | ErrorCode::InvalidArgument
            | ErrorCode::InvalidPageToken => {
                let field = err.field.as_deref().unwrap_or("body");
                Self::validation(&parameter(field), "body", err.message)
            }
            ErrorCode::PayloadTooLarge => Self::too_large(),
            ErrorCode::UserNotFound | ErrorCode::NotFound | ErrorCode::ApplicationNotFound => Self::not_found(),
            ErrorCode::UserIdTaken | ErrorCode::ExternalIdTaken | ErrorCode::AlreadyExists => {
                plain(StatusCode::CONFLICT, "conflict", "Another end user has this external_id.")
            }
            ErrorCode::CredentialMissing | ErrorCode::CredentialInvalid => {
                plain(StatusCode::UNAUTHORIZED, "unauthorized", "Missing or invalid bearer token.")
            }
            ErrorCode::PermissionDenied => plain(StatusCode::FORBIDDEN, "forbidden", "Not allowed."),
            ErrorCode::UserDeactivated => plain(StatusCode::FORBIDDEN, "forbidden", "The end user is deactivated."),
            ErrorCode::RateLimited => plain(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", "Too many requests."),
            ErrorCode::Unavailable => {
                plain(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "Service temporarily unavailable.")
            }
            ErrorCode::Internal => {
                plain(StatusCode::INTERNAL_SERVER_ERROR, "internal_server_error", "Unexpected error.")
            }
        }
    }
}

crate::http::error::from_status!(AdaError);

/// Ada's error body.
#[derive(utoipa::ToSchema)]
#[schema(as = ada::Error)]
#[allow(dead_code)] // described; rendered with `json!` below
pub struct ErrorBody {
    /// One entry: `{ "type", "message", "details" }`; for `validation_error`, `details` lists
    /// `{ "parameter", "location", "message" }`.
    #[schema(value_type = Vec<Object>)]
    errors: Vec<Value>,
}

/// Every failure of an Ada call.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // described, not built
pub enum Errors {
    /// `validation_error`: a parameter named in `details`.
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    #[response(status = 401)]
    Unauthorized(#[to_schema] ErrorBody),
    #[response(status = 403)]
    Forbidden(#[to_schema] ErrorBody),
    #[response(status = 404)]
    NotFound(#[to_schema] ErrorBody),
    /// Another end user has this `external_id`.
    #[response(status = 409)]
    Conflict(#[to_schema] ErrorBody),
    /// Larger than 4 KB.
    #[response(status = 413)]
    TooLarge(#[to_schema] ErrorBody),
    #[response(status = 429, headers(("Retry-After" = u64, description = "Seconds to wait")))]
    RateLimited(#[to_schema] ErrorBody),
    #[response(status = 500)]
    Internal(#[to_schema] ErrorBody),
    /// A service or the database is away for the moment: try again after `Retry-After`.
    #[response(status = 503, headers(("Retry-After" = u64, description = "Seconds to wait")))]
    Unavailable(#[to_schema] ErrorBody),
}

impl IntoResponse for AdaError {
    fn into_response(self) -> Response {
        let mut error = json!({ "type": self.kind, "message": self.message });
        if let Some(details) = self.details {
            error["details"] = details;
        }
        respond(self.status, self.kind, json!({ "errors": [error] }), self.retry_after)
    }
}

/// axum's own rejections (body over 4 KB, bad path, wrong method) in Ada's shape.
impl DialectError for AdaError {
    fn rejection(status: StatusCode) -> Self {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => Self::too_large(),
            StatusCode::NOT_FOUND => Self::not_found(),
            _ => Self {
                status,
                kind: "bad_request",
                message: status.canonical_reason().unwrap_or("Bad request").into(),
                details: None,
                retry_after: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header::RETRY_AFTER;

    use super::*;

    /// Every error body the dialect renders, pinned: status, Retry-After and body.
    #[test]
    fn error_bodies() {
        let cases: Vec<(&str, AdaError)> = vec![
            (
                "validation",
                AdaError::validation("external_id", "body", "external_id must be 1 to 36 characters without < or >"),
            ),
            (
                "invalid field from a service",
                ApiError::new(ErrorCode::InvalidArgument, "email is invalid").with_field("email").into(),
            ),
            ("too large", AdaError::too_large()),
            ("not found", AdaError::not_found()),
            ("conflict", ApiError::new(ErrorCode::ExternalIdTaken, "external_id is already taken").into()),
            ("unauthorized", ApiError::new(ErrorCode::CredentialInvalid, "the credential is not valid").into()),
            (
                "rate limited",
                ApiError::new(ErrorCode::RateLimited, "Too many requests.")
                    .with_retry_after(std::time::Duration::from_millis(1200))
                    .into(),
            ),
            ("internal", ApiError::new(ErrorCode::Internal, "db password wrong").into()),
        ];
        let rendered: Vec<Value> = cases
            .into_iter()
            .map(|(case, err)| {
                let response = err.into_response();
                let status = response.status().as_u16();
                let retry_after = response.headers().get(RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
                let body = crate::http::body_json(response);
                json!({ "case": case, "status": status, "retry_after": retry_after, "body": body })
            })
            .collect();
        insta::assert_json_snapshot!(rendered);
    }
}
