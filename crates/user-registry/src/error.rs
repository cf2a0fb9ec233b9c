use platform::{ApiError, ErrorCode};

use crate::domain::ValidationError;

/// Everything the registry can answer instead of a result.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("user not found")]
    UserNotFound,
    #[error("user_id is already taken")]
    UserIdTaken,
    #[error("external_id is already taken")]
    ExternalIdTaken,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<RegistryError> for ApiError {
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::Invalid(invalid) => invalid.into(),
            RegistryError::UserNotFound => ApiError::new(ErrorCode::UserNotFound, err.to_string()),
            RegistryError::UserIdTaken => {
                ApiError::new(ErrorCode::UserIdTaken, err.to_string()).with_field("user_id")
            }
            RegistryError::ExternalIdTaken => {
                ApiError::new(ErrorCode::ExternalIdTaken, err.to_string()).with_field("external_id")
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
