use platform::{ApiError, ErrorCode};

use crate::domain::ValidationError;

/// Everything the registry can answer instead of a result.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("user not found")]
    UserNotFound,
    #[error("application not found")]
    ApplicationNotFound,
    #[error("user_id is already taken")]
    UserIdTaken,
    #[error("external_id is already taken")]
    ExternalIdTaken,
    #[error("a discovery key is already taken by another user")]
    DiscoveryKeyTaken,
    #[error("an identity is already held by another user")]
    IdentityTaken,
    #[error("email_id already belongs to a member")]
    MemberEmailTaken,
    #[error("org_user_id already belongs to a member")]
    OrgUserIdTaken,
    /// A key an earlier user of the same batch or import already claimed.
    #[error("{field} repeats an earlier user of this request")]
    RepeatedInRequest { field: &'static str },
    #[error("users: more than {max} in one request")]
    TooManyUsers { max: usize },
    #[error("{field}: more than {max} in one request")]
    TooMany { field: &'static str, max: usize },
    #[error("app_id must be the same in every message of an import")]
    ImportAppChanged,
    /// A key clashed with a user written or deleted concurrently; trying again settles it.
    #[error("a key of this user clashed with a concurrent write; try again")]
    ConcurrentConflict,
    /// RestoreUsers: another user has this Roster id (of another application, or one being
    /// deleted).
    #[error("the Roster id belongs to another user (of another application, or one being deleted)")]
    IdTakenElsewhere,
    #[error("metadata key \"{0}\" already exists")]
    MetadataKeyExists(String),
    #[error("metadata key \"{0}\" not found")]
    MetadataKeyNotFound(String),
    #[error("the page token is not valid")]
    InvalidPageToken,
    #[error("profile image not found")]
    ProfileImageNotFound,
    #[error("privacy request not found")]
    PrivacyRequestNotFound,
    #[error("the privacy request is being carried out or has ended: it can no longer be cancelled")]
    PrivacyRequestNotCancellable,
    #[error("reading sensitive metadata needs an API token of this application with the sensitive-metadata scope")]
    SensitiveScopeRequired,
    /// Another service this call must tell could not be reached; nothing the caller did wrong.
    #[error("a service the registry calls is unavailable")]
    ServiceUnavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<RegistryError> for ApiError {
    fn from(err: RegistryError) -> Self {
        let message = err.to_string();
        match err {
            RegistryError::Invalid(invalid) => invalid.into(),
            RegistryError::UserNotFound => ApiError::new(ErrorCode::UserNotFound, message),
            RegistryError::ApplicationNotFound => ApiError::new(ErrorCode::ApplicationNotFound, message),
            RegistryError::UserIdTaken => ApiError::new(ErrorCode::UserIdTaken, message).with_field("user_id"),
            RegistryError::ExternalIdTaken => {
                ApiError::new(ErrorCode::ExternalIdTaken, message).with_field("external_id")
            }
            RegistryError::DiscoveryKeyTaken => {
                ApiError::new(ErrorCode::AlreadyExists, message).with_field("discovery_keys")
            }
            RegistryError::IdentityTaken => ApiError::new(ErrorCode::AlreadyExists, message).with_field("identities"),
            RegistryError::MemberEmailTaken => ApiError::new(ErrorCode::AlreadyExists, message).with_field("email_id"),
            RegistryError::OrgUserIdTaken => ApiError::new(ErrorCode::AlreadyExists, message).with_field("org_user_id"),
            RegistryError::RepeatedInRequest { field } => {
                ApiError::new(ErrorCode::AlreadyExists, message).with_field(field)
            }
            RegistryError::TooManyUsers { .. } => {
                ApiError::new(ErrorCode::InvalidArgument, message).with_field("users")
            }
            RegistryError::TooMany { field, .. } => {
                ApiError::new(ErrorCode::InvalidArgument, message).with_field(field)
            }
            RegistryError::ImportAppChanged => ApiError::new(ErrorCode::InvalidArgument, message).with_field("app_id"),
            RegistryError::ConcurrentConflict => ApiError::new(ErrorCode::AlreadyExists, message),
            RegistryError::IdTakenElsewhere => ApiError::new(ErrorCode::AlreadyExists, message).with_field("id"),
            RegistryError::MetadataKeyExists(key) => ApiError::new(ErrorCode::AlreadyExists, message).with_field(key),
            RegistryError::MetadataKeyNotFound(key) => ApiError::new(ErrorCode::NotFound, message).with_field(key),
            RegistryError::InvalidPageToken => {
                ApiError::new(ErrorCode::InvalidPageToken, message).with_field("page_token")
            }
            RegistryError::ProfileImageNotFound | RegistryError::PrivacyRequestNotFound => {
                ApiError::new(ErrorCode::NotFound, message)
            }
            RegistryError::PrivacyRequestNotCancellable => ApiError::new(ErrorCode::InvalidArgument, message),
            RegistryError::SensitiveScopeRequired => ApiError::new(ErrorCode::PermissionDenied, message),
            RegistryError::ServiceUnavailable(cause) => {
                tracing::error!(error = format!("{cause:#}"), "a service the registry calls is unavailable");
                ApiError::new(ErrorCode::Unavailable, message)
            }
            RegistryError::Unexpected(cause) => ApiError::internal(&cause),
        }
    }
}

impl From<RegistryError> for tonic::Status {
    fn from(err: RegistryError) -> Self {
        ApiError::from(err).into()
    }
}
