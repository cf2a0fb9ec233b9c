//! Sendbird's error body and codes. Sendbird answers every client error with HTTP 400 and a
//! six-digit code whose first three digits are the status (its "Error codes" page for Chat
//! Platform API v3); Roster keeps that, except 413 and 429, which the dialect page asks for.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use platform::{ApiError, ErrorCode};
use serde::Serialize;

use crate::http::error::{DialectError, respond};

pub const UNEXPECTED_PARAMETER_TYPE_STRING: u32 = 400100;
pub const UNEXPECTED_PARAMETER_TYPE_NUMBER: u32 = 400101;
pub const UNEXPECTED_PARAMETER_TYPE_LIST: u32 = 400102;
pub const UNEXPECTED_PARAMETER_TYPE_JSON: u32 = 400103;
pub const UNEXPECTED_PARAMETER_TYPE_BOOLEAN: u32 = 400104;
pub const MISSING_REQUIRED_PARAMETER: u32 = 400105;
pub const UNAUTHORIZED_REQUEST: u32 = 400108;
pub const PARAMETER_VALUE_LENGTH_EXCEEDED: u32 = 400110;
pub const INVALID_VALUE: u32 = 400111;
pub const RESOURCE_NOT_FOUND: u32 = 400201;
pub const RESOURCE_ALREADY_EXISTS: u32 = 400202;
/// Sendbird's `DeactivatedUserNotAccessible`.
pub const DEACTIVATED_USER: u32 = 400300;
pub const INVALID_API_TOKEN: u32 = 400401;
pub const INVALID_JSON_BODY: u32 = 400403;
pub const RATE_LIMIT_EXCEEDED: u32 = 500910;
pub const UNEXPECTED_ERROR: u32 = 500901;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendbirdError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
    /// Whole seconds for `Retry-After` on 429.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: bool,
    code: u32,
    message: &'a str,
}

impl SendbirdError {
    pub fn bad_request(code: u32, message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, code, message: message.into(), retry_after: None }
    }

    /// A body over the gateway's limit: 413, in Sendbird's shape.
    pub fn too_large() -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: INVALID_VALUE,
            message: "The request body is too large.".into(),
            retry_after: None,
        }
    }
}

impl From<ApiError> for SendbirdError {
    fn from(err: ApiError) -> Self {
        let retry_after = err.retry_after_secs();
        let (status, code, message) = match err.code {
            ErrorCode::MissingField => (400, MISSING_REQUIRED_PARAMETER, err.message),
            ErrorCode::ValueTooLong => (400, PARAMETER_VALUE_LENGTH_EXCEEDED, err.message),
            ErrorCode::InvalidArgument | ErrorCode::InvalidPageToken => (400, INVALID_VALUE, err.message),
            ErrorCode::PayloadTooLarge => (413, INVALID_VALUE, err.message),
            ErrorCode::UserNotFound | ErrorCode::NotFound | ErrorCode::ApplicationNotFound => {
                (400, RESOURCE_NOT_FOUND, err.message)
            }
            ErrorCode::UserIdTaken | ErrorCode::ExternalIdTaken | ErrorCode::AlreadyExists => {
                (400, RESOURCE_ALREADY_EXISTS, err.message)
            }
            ErrorCode::CredentialMissing | ErrorCode::CredentialInvalid => {
                (400, INVALID_API_TOKEN, "Invalid value: \"Api-Token\".".to_owned())
            }
            ErrorCode::PermissionDenied => (400, UNAUTHORIZED_REQUEST, err.message),
            ErrorCode::UserDeactivated => (400, DEACTIVATED_USER, "The user is deactivated.".to_owned()),
            ErrorCode::RateLimited => (429, RATE_LIMIT_EXCEEDED, err.message),
            ErrorCode::Unavailable => (503, UNEXPECTED_ERROR, "Service temporarily unavailable.".to_owned()),
            ErrorCode::Internal => (500, UNEXPECTED_ERROR, "Unexpected error.".to_owned()),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self { status, code, message, retry_after }
    }
}

crate::http::error::from_status!(SendbirdError);

impl DialectError for SendbirdError {
    fn rejection(status: StatusCode) -> Self {
        let code = if status == StatusCode::NOT_FOUND { RESOURCE_NOT_FOUND } else { INVALID_VALUE };
        let message = status.canonical_reason().unwrap_or("Bad request").to_owned();
        Self { status, code, message, retry_after: None }
    }
}

impl IntoResponse for SendbirdError {
    fn into_response(self) -> Response {
        let body = Body { error: true, code: self.code, message: &self.message };
        respond(self.status, self.code, body, self.retry_after)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header::RETRY_AFTER;

    use super::*;

    #[test]
    fn every_error_code_has_a_sendbird_rendering() {
        for code in ErrorCode::ALL {
            let err = SendbirdError::from(ApiError::new(*code, "m"));
            assert_eq!(err.code / 1000, if err.code >= 500000 { 500 } else { 400 });
            assert!(err.status.is_client_error() || err.status.is_server_error());
        }
    }

    /// Every error body the dialect renders, pinned: status, headers that matter, and body.
    #[test]
    fn error_bodies() {
        let cases: Vec<(&str, SendbirdError)> = vec![
            ("missing field", ApiError::new(ErrorCode::MissingField, "\"nickname\" is required.").into()),
            ("too long", ApiError::new(ErrorCode::ValueTooLong, "user_id is longer than 80 characters").into()),
            ("invalid value", ApiError::new(ErrorCode::InvalidArgument, "country is invalid").into()),
            ("bad page token", ApiError::new(ErrorCode::InvalidPageToken, "the page token is not valid").into()),
            ("unknown user", ApiError::new(ErrorCode::UserNotFound, "user not found").into()),
            ("duplicate user_id", ApiError::new(ErrorCode::UserIdTaken, "user_id is already taken").into()),
            ("missing api token", ApiError::new(ErrorCode::CredentialMissing, "API token is missing").into()),
            ("wrong api token", ApiError::new(ErrorCode::CredentialInvalid, "the credential is not valid").into()),
            ("forbidden", ApiError::new(ErrorCode::PermissionDenied, "not allowed").into()),
            (
                "rate limited",
                ApiError::new(ErrorCode::RateLimited, "Too many requests.")
                    .with_retry_after(std::time::Duration::from_millis(1500))
                    .into(),
            ),
            ("body too large", SendbirdError::too_large()),
            (
                "wrong type",
                SendbirdError::bad_request(UNEXPECTED_PARAMETER_TYPE_STRING, "\"user_id\" must be a string."),
            ),
            ("invalid json", SendbirdError::bad_request(INVALID_JSON_BODY, "Invalid JSON request body.")),
            ("unavailable", ApiError::new(ErrorCode::Unavailable, "token-service down").into()),
            ("internal", ApiError::new(ErrorCode::Internal, "db password wrong").into()),
        ];
        let rendered: Vec<serde_json::Value> = cases
            .into_iter()
            .map(|(case, err)| {
                let response = err.into_response();
                let status = response.status().as_u16();
                let retry_after = response.headers().get(RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
                let body = crate::http::body_json(response);
                serde_json::json!({ "case": case, "status": status, "retry_after": retry_after, "body": body })
            })
            .collect();
        insta::assert_json_snapshot!(rendered);
    }

    #[test]
    fn internal_details_never_reach_the_caller() {
        let err = SendbirdError::from(ApiError::new(ErrorCode::Internal, "db password wrong"));
        assert_eq!(err.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!err.message.contains("password"));
    }
}
