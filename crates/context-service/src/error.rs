use platform::{ApiError, ErrorCode};

use crate::domain::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("context not found")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<ContextError> for ApiError {
    fn from(err: ContextError) -> Self {
        match err {
            ContextError::Invalid(invalid) => invalid.into(),
            ContextError::NotFound => ApiError::new(ErrorCode::NotFound, err.to_string()),
            ContextError::Unexpected(cause) => ApiError::internal(&cause),
        }
    }
}

impl From<ContextError> for tonic::Status {
    fn from(err: ContextError) -> Self {
        ApiError::from(err).into()
    }
}
