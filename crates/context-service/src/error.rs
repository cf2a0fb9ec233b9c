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
    MessengerChannelNotFound,
    #[error("channel not found")]
    ChannelNotFound,
    #[error("conversation not found")]
    ConversationNotFound,
    /// A participant reference names no user of the application.
    #[error("participant not found")]
    ParticipantNotFound,
    #[error("the user registry is unavailable")]
    RegistryUnavailable,
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
            ContextError::NotFound
            | ContextError::AgentNotFound
            | ContextError::MessengerChannelNotFound
            | ContextError::ConversationNotFound => ApiError::new(ErrorCode::NotFound, message),
            // The field tells a reference inside a request (the gateway's 422) from the resource
            // a request is about (404).
            ContextError::ChannelNotFound => ApiError::new(ErrorCode::NotFound, message).with_field("channel_id"),
            ContextError::ParticipantNotFound => {
                ApiError::new(ErrorCode::UserNotFound, message).with_field("participants")
            }
            ContextError::RegistryUnavailable => ApiError::new(ErrorCode::Unavailable, message),
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
