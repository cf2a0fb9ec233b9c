//! What the four dialects' errors share: one renderer (logging, JSON, `Retry-After`), axum's own
//! rejections re-rendered in the dialect's shape, and the conversions from a service's answer.
//! Each dialect's `error.rs` keeps only its body and its mapping of Roster's error codes.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
};
use platform::ApiError;
use serde::Serialize;

/// A dialect's error type: made from Roster's codes, and from the bare statuses axum answers
/// itself (a path or method it cannot route, a body over the limit).
pub trait DialectError: From<ApiError> + IntoResponse {
    fn rejection(status: StatusCode) -> Self;
}

/// The error response of every dialect. Server faults log at error, refusals at warn; never the
/// message, which can quote what the caller sent (an id, a metadata key). `label` is the
/// dialect's own code for the error.
pub fn respond(
    status: StatusCode,
    label: impl std::fmt::Display,
    body: impl Serialize,
    retry_after: Option<u64>,
) -> Response {
    if status.is_server_error() {
        tracing::error!(code = %label, status = status.as_u16(), "request failed");
    } else {
        tracing::warn!(code = %label, status = status.as_u16(), "request refused");
    }
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS || (status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_some()) {
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after.unwrap_or(1)));
    }
    response
}

/// Turns a client error that is not already JSON (axum's path, method and body-limit
/// rejections) into the dialect's body, so every answer of the dialect has one shape.
pub async fn json_rejections<E: DialectError>(response: Response) -> Response {
    let Some(status) = crate::http::bare_client_error(&response) else {
        return response;
    };
    let mut rendered = E::rejection(status).into_response();
    // A 405 names the methods the path does take (RFC 9110).
    if let Some(allow) = response.headers().get(axum::http::header::ALLOW) {
        rendered.headers_mut().insert(axum::http::header::ALLOW, allow.clone());
    }
    rendered
}

/// A status the gateway answers before routing (a URI or a head too large), in the shape of the
/// dialect the path belongs to.
pub fn rejection_for(path: &str, status: StatusCode) -> Response {
    use crate::http::{ada::AdaError, kore::KoreError, sendbird::SendbirdError, sunshine::SunshineError};
    if path.starts_with("/v3/") {
        SendbirdError::rejection(status).into_response()
    } else if path.starts_with("/v2/apps/") || path.starts_with("/sc/v2/apps/") {
        SunshineError::rejection(status).into_response()
    } else if path.starts_with("/api/public/") {
        KoreError::rejection(status).into_response()
    } else if path.starts_with("/api/") {
        AdaError::rejection(status).into_response()
    } else {
        let message = status.canonical_reason().unwrap_or("Bad request");
        respond(
            status,
            status.as_u16(),
            serde_json::json!({ "error": true, "code": status.as_u16(), "message": message }),
            None,
        )
    }
}

/// A service answered without the resource its answer must carry: a server fault, logged here
/// with what was missing.
pub fn incomplete() -> ApiError {
    ApiError::internal(&anyhow::anyhow!("a service answered without the resource its answer must carry"))
}

/// `From<tonic::Status>` for a dialect's error: the service's refusal in the dialect's terms
/// (a status that no Roster service made is never shown as it is; see `ApiError::from_status`).
macro_rules! from_status {
    ($error:ty) => {
        impl From<tonic::Status> for $error {
            fn from(status: tonic::Status) -> Self {
                platform::ApiError::from_status(&status).into()
            }
        }
    };
}
pub(crate) use from_status;

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::http::StatusCode;

    use super::*;
    use crate::http::{ada::AdaError, kore::KoreError, sendbird::SendbirdError, sunshine::SunshineError};

    /// Log lines written while `f` runs, through a subscriber of this thread only.
    fn logged(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_gateway_made_fault_is_logged_with_its_cause() {
        let lines = logged(|| {
            let err = incomplete();
            assert_eq!(err.code, platform::ErrorCode::Internal);
            assert_eq!(err.message, "internal error");
        });
        assert!(lines.contains("ERROR") && lines.contains("answered without the resource"), "{lines}");
    }

    #[test]
    fn a_status_no_service_made_is_never_shown_and_always_logged() {
        let limit = "message length too large: found 9000000 bytes, the limit is: 4194304 bytes";
        let lines = logged(|| {
            let sendbird = SendbirdError::from(tonic::Status::resource_exhausted(limit));
            assert_eq!(
                (sendbird.status, sendbird.message.as_str()),
                (StatusCode::INTERNAL_SERVER_ERROR, "Unexpected error.")
            );
            let sunshine = SunshineError::from(tonic::Status::resource_exhausted(limit));
            assert_eq!(sunshine.status, StatusCode::INTERNAL_SERVER_ERROR);
            assert!(!sunshine.title.contains("limit"));
            let ada = AdaError::from(tonic::Status::unavailable("tcp connect error: 127.0.0.1:50051"));
            assert!(!ada.message.contains("127.0.0.1"));
            let kore = KoreError::from(tonic::Status::not_found("no route"));
            assert_eq!(kore.status, StatusCode::INTERNAL_SERVER_ERROR);
        });
        assert!(lines.contains("ResourceExhausted") && lines.contains("the limit is"), "{lines}");
    }

    #[test]
    fn rejections_keep_each_dialect_shape() {
        for status in [StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED, StatusCode::PAYLOAD_TOO_LARGE] {
            assert_eq!(SendbirdError::rejection(status).status, status);
            assert_eq!(SunshineError::rejection(status).status, status);
            assert_eq!(AdaError::rejection(status).status, status);
            assert_eq!(KoreError::rejection(status).status, status);
        }
    }
}
