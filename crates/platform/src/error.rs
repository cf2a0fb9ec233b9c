//! The one table of stable error codes. Each code fixes its gRPC code and HTTP status, crosses
//! the gRPC hop as `google.rpc.ErrorInfo` (reason = code, metadata `field`), and lets the gateway
//! render each dialect's own error body. Append only: a code never changes meaning.

use std::{collections::HashMap, error::Error as _};

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

const DOMAIN: &str = "roster";

macro_rules! error_codes {
    ($($variant:ident => $name:literal, $grpc:ident, $http:literal;)*) => {
        /// A stable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name),* }
            }

            pub fn grpc_code(self) -> Code {
                match self { $(ErrorCode::$variant => Code::$grpc),* }
            }

            pub fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $http),* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    // Input
    InvalidArgument   => "invalid_argument",    InvalidArgument,    400;
    MissingField      => "missing_field",       InvalidArgument,    400;
    ValueTooLong      => "value_too_long",      InvalidArgument,    400;
    InvalidPageToken  => "invalid_page_token",  InvalidArgument,    400;
    PayloadTooLarge   => "payload_too_large",   InvalidArgument,    413;
    // Lookups and uniqueness
    UserNotFound      => "user_not_found",      NotFound,           404;
    ApplicationNotFound => "application_not_found", NotFound,       404;
    NotFound          => "not_found",           NotFound,           404;
    UserIdTaken       => "user_id_taken",       AlreadyExists,      409;
    ExternalIdTaken   => "external_id_taken",   AlreadyExists,      409;
    AlreadyExists     => "already_exists",      AlreadyExists,      409;
    // Callers
    CredentialMissing => "credential_missing",  Unauthenticated,    401;
    CredentialInvalid => "credential_invalid",  Unauthenticated,    401;
    PermissionDenied  => "permission_denied",   PermissionDenied,   403;
    RateLimited       => "rate_limited",        ResourceExhausted,  429;
    UserDeactivated   => "user_deactivated",    FailedPrecondition, 403;
    // Server side
    Unavailable       => "unavailable",         Unavailable,        503;
    Internal          => "internal",            Internal,           500;
}

/// An error as it crosses a service boundary: a code, a message safe to show the caller, and
/// the offending field when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    /// When the caller may try again (rate limits); crosses gRPC as `RetryInfo`.
    pub retry_after: Option<std::time::Duration>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None, retry_after: None }
    }

    pub fn with_retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// Whole seconds for an HTTP `Retry-After`, rounded up: never inviting a retry that is still
    /// too early.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(|wait| (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A server fault: the caller sees a generic message; the cause is logged here, once. A
    /// dependency that could not be reached (the database, Redis) is no fault of the request:
    /// it is answered as unavailable, with a hint to retry.
    pub fn internal(cause: &anyhow::Error) -> Self {
        if unavailable(cause) {
            tracing::warn!(error = format!("{cause:#}"), "a dependency is unavailable");
            return Self::unavailable();
        }
        tracing::error!(error = format!("{cause:#}"), "unexpected error");
        Self::new(ErrorCode::Internal, "internal error")
    }

    /// A service or a dependency is away for the moment: 503 with `Retry-After: 1`.
    pub fn unavailable() -> Self {
        Self::new(ErrorCode::Unavailable, "a service is unavailable; try again shortly")
            .with_retry_after(std::time::Duration::from_secs(1))
    }

    /// Reads the code back from a `Status` made by `From<ApiError>`. A status that no Roster
    /// service made (a transport failure, a deadline, tonic's size limit, a proxy's answer) says
    /// nothing a caller should see or act on: it is logged here with its cause, and answered as
    /// unavailable (the peer could not be reached in time) or as an internal fault.
    pub fn from_status(status: &Status) -> Self {
        let details = status.get_error_details();
        if let Some(info) = details.error_info()
            && info.domain == DOMAIN
            && let Some(code) = ErrorCode::parse(&info.reason)
        {
            return Self {
                code,
                message: status.message().to_owned(),
                field: info.metadata.get("field").cloned(),
                retry_after: details.retry_info().and_then(|r| r.retry_delay),
            };
        }
        tracing::error!(grpc.code = ?status.code(), grpc.message = status.message(), "a call to a service failed");
        match status.code() {
            // `Unknown` without Roster's details is the client's "transport error": a connection
            // that broke mid-call (a service killed or restarted while answering).
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => Self::unavailable(),
            // The HTTP/2 connection itself failed (reset, GOAWAY as a service stops): the peer
            // went away mid-call. tonic made that status here, from its transport's error; a
            // decoding failure, also `Internal`, stays a fault.
            Code::Internal if broken_connection(status) => Self::unavailable(),
            _ => Self::new(ErrorCode::Internal, "internal error"),
        }
    }
}

/// Whether tonic made `status` on this side from its HTTP/2 transport's error: a peer's own
/// answer carries no source.
fn broken_connection(status: &Status) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = status.source().map(|e| e as _);
    while let Some(error) = next {
        if error.is::<h2::Error>() {
            return true;
        }
        next = error.source();
    }
    false
}

/// A dependency that could not be reached, as a cause: `ApiError::internal` answers it as
/// unavailable. Raised by the Redis client and by `db::unexpected` for connection failures.
#[derive(Debug, thiserror::Error)]
#[error("{what} is unavailable")]
pub struct Unavailable {
    pub what: &'static str,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Unavailable {
    pub fn new(what: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self { what, source: Some(Box::new(source)) }
    }
}

/// Whether `cause` is, somewhere in its chain, a dependency that could not be reached.
fn unavailable(cause: &anyhow::Error) -> bool {
    cause.chain().any(|e| e.is::<Unavailable>() || crate::db::is_unreachable(e))
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        let mut metadata = HashMap::new();
        if let Some(field) = err.field {
            metadata.insert("field".to_owned(), field);
        }
        let mut details = ErrorDetails::new();
        details.set_error_info(err.code.as_str(), DOMAIN, metadata);
        if let Some(wait) = err.retry_after {
            details.set_retry_info(Some(wait));
        }
        Status::with_error_details(err.code.grpc_code(), err.message, details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
    }

    #[test]
    fn an_error_survives_the_grpc_hop() {
        let err = ApiError::new(ErrorCode::ValueTooLong, "nickname is longer than 80")
            .with_field("nickname")
            .with_retry_after(std::time::Duration::from_secs(2));
        let status = Status::from(err.clone());
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(ApiError::from_status(&status), err);
    }

    #[test]
    fn foreign_statuses_are_classified_without_leaking_internals() {
        let err = ApiError::from_status(&Status::unavailable("tcp connect error 127.0.0.1:1"));
        assert_eq!(err.code, ErrorCode::Unavailable);
        assert!(!err.message.contains("127.0.0.1"));
        assert_eq!(ApiError::from_status(&Status::deadline_exceeded("timeout")).code, ErrorCode::Unavailable);
        // A connection broken mid-call, as tonic's client reports it.
        let broken = ApiError::from_status(&Status::unknown("transport error"));
        assert_eq!((broken.code, broken.retry_after_secs()), (ErrorCode::Unavailable, Some(1)));
        // The connection reset as a service stopped (seen by the fault suite), as tonic's
        // transport reports it; the same words from a peer are not a broken connection.
        let reset = Status::from_error(Box::new(h2::Error::from(h2::Reason::INTERNAL_ERROR)));
        assert_eq!(reset.code(), Code::Internal);
        assert_eq!(ApiError::from_status(&reset).code, ErrorCode::Unavailable);
        let mimic = ApiError::from_status(&Status::internal("h2 protocol error: http2 error"));
        assert_eq!(mimic.code, ErrorCode::Internal);
        let undecodable = ApiError::from_status(&Status::internal("failed to decode Protobuf message"));
        assert_eq!(undecodable.code, ErrorCode::Internal);
        // Only a Roster service's own code says what the caller did wrong; tonic's decoding
        // limit is not a rate limit, and a proxy's 404 is not a missing user.
        for foreign in [
            Status::resource_exhausted("message length too large: found 9000000 bytes, the limit is: 4194304 bytes"),
            Status::not_found("no route"),
            Status::invalid_argument("h2 protocol error"),
            Status::unauthenticated("proxy says no"),
        ] {
            let err = ApiError::from_status(&foreign);
            assert_eq!(err.code, ErrorCode::Internal, "{foreign:?}");
            assert_eq!(err.message, "internal error");
            assert!(err.field.is_none() && err.retry_after.is_none());
        }
    }
}
