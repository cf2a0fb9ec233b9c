use platform::{ApiError, ErrorCode};

use crate::domain::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("context not found")]
    NotFound,
    #[error("agent not found")]
    AgentNotFound,
    #[error("an agent with this id already exists")]
    AgentExists,
    #[error("messenger channel not found")]
    ChannelNotFound,
    #[error("the page token is not valid")]
    InvalidPageToken,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<ContextError> for ApiError {
    fn from(err: ContextError) -> Self {
        let message = err.to_string();
        match err {
            ContextError::Invalid(invalid) => invalid.into(),
            ContextError::NotFound | ContextError::AgentNotFound | ContextError::ChannelNotFound => {
                ApiError::new(ErrorCode::NotFound, message)
            }
            ContextError::AgentExists => ApiError::new(ErrorCode::AlreadyExists, message).with_field("agent_id"),
            ContextError::InvalidPageToken => {
                ApiError::new(ErrorCode::InvalidPageToken, message).with_field("page_token")
            }
            ContextError::Unexpected(cause) => ApiError::internal(&cause),
        }
    }
}

impl From<ContextError> for tonic::Status {
    fn from(err: ContextError) -> Self {
        ApiError::from(err).into()
    }
}
