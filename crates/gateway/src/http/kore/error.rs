//! Kore's whole-request error body, `{ "errors": [ { "msg", "code" } ] }` with `code` the HTTP
//! status; per-user failures are not errors (they ride in a 200's `failedUserDetails`, see
//! `failure`).

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use platform::{ApiError, ErrorCode};
use serde_json::json;

use crate::http::error::{DialectError, respond};

#[derive(Debug, Clone, PartialEq)]
pub struct KoreError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl KoreError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.into(), retry_after: None }
    }
}

impl From<ApiError> for KoreError {
    fn from(err: ApiError) -> Self {
        let retry_after = err.retry_after_secs();
        let (status, message) = match err.code {
            ErrorCode::CredentialMissing | ErrorCode::CredentialInvalid => (StatusCode::UNAUTHORIZED, err.message),
            ErrorCode::PermissionDenied => (StatusCode::FORBIDDEN, err.message),
            ErrorCode::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "Too many requests.".into()),
            ErrorCode::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.".into()),
            ErrorCode::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "Unexpected error.".into()),
            ErrorCode::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Service temporarily unavailable.".into()),
            _ => (StatusCode::BAD_REQUEST, err.message),
        };
        Self { status, message, retry_after }
    }
}

crate::http::error::from_status!(KoreError);

/// Kore's whole-request error body.
#[derive(utoipa::ToSchema)]
#[schema(as = kore::Error)]
#[allow(dead_code)] // described; rendered with `json!` below
pub struct ErrorBody {
    /// One entry: `{ "msg": "<text>", "code": <HTTP status> }`.
    #[schema(value_type = Vec<Object>)]
    errors: Vec<serde_json::Value>,
}

/// Every whole-request failure of the Kore dialect.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // described, not built
pub enum Errors {
    /// Malformed JSON, or a request refused whole: no `users`, more than 1,000 users or ids,
    /// both `deleteEmailIds` and `orgUserIds`, a bad `status`, `limit` or `roleType`.
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    /// No `auth` header, or a JWT that is forged, expired or names no admin client.
    #[response(status = 401)]
    Unauthorized(#[to_schema] ErrorBody),
    /// The admin client lacks the user-management scope.
    #[response(status = 403)]
    Forbidden(#[to_schema] ErrorBody),
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

impl IntoResponse for KoreError {
    fn into_response(self) -> Response {
        let body = json!({ "errors": [ { "msg": self.message, "code": self.status.as_u16() } ] });
        respond(self.status, self.status.as_u16(), body, self.retry_after)
    }
}

/// axum's own rejections (body over the limit, wrong method) in Kore's shape.
impl DialectError for KoreError {
    fn rejection(status: StatusCode) -> Self {
        let message = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "The request body is too large.",
            _ => status.canonical_reason().unwrap_or("Bad request"),
        };
        Self { status, message: message.into(), retry_after: None }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use axum::http::header::RETRY_AFTER;

    use super::*;

    /// Every whole-request error body, pinned.
    #[test]
    fn error_bodies() {
        let cases: Vec<(&str, KoreError)> = vec![
            ("too many users", KoreError::bad_request("at most 1000 users per request; this one has 1001")),
            ("missing auth", ApiError::new(ErrorCode::CredentialMissing, "the auth header is missing").into()),
            ("bad jwt", ApiError::new(ErrorCode::CredentialInvalid, "the JWT's signature is invalid").into()),
            (
                "no scope",
                ApiError::new(ErrorCode::PermissionDenied, "the admin client lacks the user-management scope").into(),
            ),
            (
                "rate limited",
                ApiError::new(ErrorCode::RateLimited, "x").with_retry_after(std::time::Duration::from_secs(2)).into(),
            ),
            ("internal", ApiError::new(ErrorCode::Internal, "db down").into()),
        ];
        let rendered: Vec<Value> = cases
            .into_iter()
            .map(|(case, err)| {
                let response = err.into_response();
                let status = response.status().as_u16();
                let retry_after = response.headers().get(RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
                json!({ "case": case, "status": status, "retry_after": retry_after, "body": crate::http::body_json(response) })
            })
            .collect();
        insta::assert_json_snapshot!(rendered);
    }
}
