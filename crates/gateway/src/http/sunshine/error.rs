//! Sunshine's error body: `{ "errors": [ { "code": "<snake_case>", "title": "<text>" } ] }` with
//! the HTTP status; 429 carries `Retry-After`.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use platform::{ApiError, ErrorCode};
use serde_json::json;

use crate::http::error::{DialectError, respond};

#[derive(Debug, Clone, PartialEq)]
pub struct SunshineError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: String,
    pub retry_after: Option<u64>,
}

impl SunshineError {
    fn new(status: StatusCode, code: &'static str, title: impl Into<String>) -> Self {
        Self { status, code, title: title.into(), retry_after: None }
    }

    /// A request Roster cannot read or that breaks a documented limit.
    pub fn bad_request(title: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", title)
    }

    /// Well-formed JSON with a value Sunshine refuses by its meaning: a `signedUpAt` that is not
    /// ISO 8601, metadata that is not flat or over 4 KB.
    pub fn unprocessable(title: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable_entity", title)
    }

    pub fn not_found(title: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", title)
    }

    pub fn too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large.")
    }
}

/// The services' field names as Sunshine's JSON paths, for titles that name what was sent.
fn sunshine_field(field: &str) -> Option<&'static str> {
    Some(match field {
        "given_name" => "profile.givenName",
        "surname" => "profile.surname",
        "email" => "profile.email",
        "avatar_url" => "profile.avatarUrl",
        "language" => "profile.locale",
        "external_id" => "externalId",
        "signed_up_at" => "signedUpAt",
        "display_name" => "displayName",
        "metadata key" => "metadata key",
        _ => return None,
    })
}

/// `message` with the service's field name at its start replaced by Sunshine's.
fn retitled(message: &str, field: Option<&str>) -> String {
    match field.and_then(|f| Some((f, sunshine_field(f)?))) {
        Some((ours, theirs)) if message.starts_with(ours) => format!("{theirs}{}", &message[ours.len()..]),
        _ => message.to_owned(),
    }
}

impl From<ApiError> for SunshineError {
    fn from(err: ApiError) -> Self {
        let retry_after = err.retry_after_secs();
        let title = retitled(&err.message, err.field.as_deref());
        let error = match err.code {
            ErrorCode::MissingField
            | ErrorCode::ValueTooLong
            | ErrorCode::InvalidArgument
            | ErrorCode::InvalidPageToken => Self::bad_request(title),
            ErrorCode::PayloadTooLarge => Self::too_large(),
            ErrorCode::UserNotFound | ErrorCode::NotFound | ErrorCode::ApplicationNotFound => Self::not_found(title),
            ErrorCode::UserIdTaken | ErrorCode::ExternalIdTaken | ErrorCode::AlreadyExists => {
                Self::new(StatusCode::CONFLICT, "conflict", title)
            }
            // token-service says why (expired, bad signature, unknown kid...): safe to show, and
            // what a customer debugging their JWT signing needs.
            ErrorCode::CredentialMissing | ErrorCode::CredentialInvalid => {
                Self::new(StatusCode::UNAUTHORIZED, "unauthorized", title)
            }
            ErrorCode::PermissionDenied => Self::new(StatusCode::FORBIDDEN, "forbidden", title),
            ErrorCode::UserDeactivated => Self::new(StatusCode::FORBIDDEN, "forbidden", "The user is deactivated."),
            ErrorCode::RateLimited => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", "Too many requests.")
            }
            ErrorCode::Unavailable => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "A service is unavailable.")
            }
            ErrorCode::Internal => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_server_error", "Unexpected error.")
            }
        };
        Self { retry_after, ..error }
    }
}

crate::http::error::from_status!(SunshineError);

impl IntoResponse for SunshineError {
    fn into_response(self) -> Response {
        let body = json!({ "errors": [{ "code": self.code, "title": self.title }] });
        respond(self.status, self.code, body, self.retry_after)
    }
}

/// axum's own rejections (a body over the limit, a path segment that is not UTF-8, a wrong
/// method) in Sunshine's shape: the official client crashes on `text/*` answers.
impl DialectError for SunshineError {
    fn rejection(status: StatusCode) -> Self {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => Self::too_large(),
            StatusCode::NOT_FOUND => Self::not_found("Not found."),
            StatusCode::METHOD_NOT_ALLOWED => {
                Self::new(status, "method_not_allowed", "This method is not allowed on this path.")
            }
            _ => Self::new(status, "bad_request", status.canonical_reason().unwrap_or("Bad request")),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use axum::http::header::RETRY_AFTER;

    use super::*;

    /// Every error body the dialect renders, pinned: status, Retry-After and body.
    #[test]
    fn error_bodies() {
        let api = |code, message: &str| ApiError::new(code, message);
        let cases: Vec<(&str, SunshineError)> = vec![
            ("bad request", SunshineError::bad_request("externalId must be a string of 1 to 1024 characters")),
            (
                "registry field renamed",
                api(ErrorCode::InvalidArgument, "email is invalid: must be an email address")
                    .with_field("email")
                    .into(),
            ),
            (
                "registry locale renamed",
                api(ErrorCode::InvalidArgument, "language is invalid: must be a BCP 47 language tag")
                    .with_field("language")
                    .into(),
            ),
            (
                "signedUpAt format",
                SunshineError::unprocessable("signedUpAt must be ISO 8601: YYYY-MM-DDThh:mm:ss.sssZ"),
            ),
            (
                "nested metadata",
                SunshineError::unprocessable("metadata must be flat: metadata.a is not a string, number or boolean"),
            ),
            ("metadata over 4 KB", SunshineError::unprocessable("metadata is larger than 4 KB")),
            ("too large", SunshineError::too_large()),
            ("not found", api(ErrorCode::UserNotFound, "user not found").into()),
            (
                "conflict",
                api(ErrorCode::ExternalIdTaken, "external_id is already taken").with_field("external_id").into(),
            ),
            ("missing credential", api(ErrorCode::CredentialMissing, "Authorization is required").into()),
            ("expired JWT", api(ErrorCode::CredentialInvalid, "the JWT has expired").into()),
            ("forbidden", api(ErrorCode::PermissionDenied, "this API token is not allowed to call the API").into()),
            (
                "rate limited",
                api(ErrorCode::RateLimited, "Too many requests.")
                    .with_retry_after(std::time::Duration::from_millis(1200))
                    .into(),
            ),
            ("unavailable", api(ErrorCode::Unavailable, "tcp connect error 10.0.0.7").into()),
            ("internal", api(ErrorCode::Internal, "db password wrong").into()),
        ];
        let rendered: Vec<Value> = cases
            .into_iter()
            .map(|(case, err)| {
                let response = err.into_response();
                let status = response.status().as_u16();
                let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
                let retry_after = response.headers().get(RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
                let body = crate::http::body_json(response);
                json!({ "case": case, "status": status, "content_type": content_type, "retry_after": retry_after, "body": body })
            })
            .collect();
        insta::assert_json_snapshot!(rendered);
    }
}
