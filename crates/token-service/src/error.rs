use platform::{ApiError, ErrorCode};

use crate::domain::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("application not found")]
    ApplicationNotFound,
    #[error("API token not found")]
    ApiTokenNotFound,
    #[error("access token not found")]
    AccessTokenNotFound,
    #[error("user not found")]
    UserDeleted,
    /// The registry does not know the user.
    #[error("user not found")]
    UserNotFound,
    #[error("the user is deactivated")]
    UserDeactivated,
    #[error("no credential was presented")]
    CredentialMissing,
    #[error("the credential is not valid")]
    CredentialInvalid,
    #[error("{0}")]
    JwtRefused(#[from] crate::domain::JwtRefusal),
    #[error("app key not found")]
    AppKeyNotFound,
    #[error("public key not found")]
    PublicKeyNotFound,
    #[error("admin client not found")]
    AdminClientNotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Invalid(invalid) => invalid.into(),
            TokenError::ApplicationNotFound => ApiError::new(ErrorCode::ApplicationNotFound, err.to_string()),
            TokenError::ApiTokenNotFound | TokenError::AccessTokenNotFound => {
                ApiError::new(ErrorCode::NotFound, err.to_string())
            }
            TokenError::UserDeleted | TokenError::UserNotFound => {
                ApiError::new(ErrorCode::UserNotFound, err.to_string())
            }
            TokenError::UserDeactivated => ApiError::new(ErrorCode::UserDeactivated, err.to_string()),
            TokenError::CredentialMissing => ApiError::new(ErrorCode::CredentialMissing, err.to_string()),
            TokenError::CredentialInvalid | TokenError::JwtRefused(_) => {
                ApiError::new(ErrorCode::CredentialInvalid, err.to_string())
            }
            TokenError::AppKeyNotFound | TokenError::PublicKeyNotFound | TokenError::AdminClientNotFound => {
                ApiError::new(ErrorCode::NotFound, err.to_string())
            }
            TokenError::Unexpected(cause) => ApiError::internal(&cause),
        }
    }
}

impl From<TokenError> for tonic::Status {
    fn from(err: TokenError) -> Self {
        ApiError::from(err).into()
    }
}
