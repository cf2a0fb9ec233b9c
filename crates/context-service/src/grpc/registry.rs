//! The registry over its gRPC API: participants are upserted and marked associated there.

use std::time::Duration;

use async_trait::async_trait;
use platform::{ApiError, ErrorCode};
use proto::registry::v1::{self as pb, registry_service_client::RegistryServiceClient, user_lookup::Key};
use tonic::transport::Channel;

use crate::{
    app::UserDirectory,
    domain::{AppId, ParticipantRef, ValidationError},
    error::ContextError,
};

#[derive(Clone)]
pub struct GrpcRegistry {
    client: RegistryServiceClient<Channel>,
}

impl GrpcRegistry {
    /// A lazily connecting client: the registry may start after this service.
    pub fn new(endpoint: &str) -> anyhow::Result<Self> {
        let channel = platform::grpc::channel(endpoint, Duration::from_secs(10))?;
        Ok(Self { client: RegistryServiceClient::new(channel) })
    }

    async fn upsert(&self, app_id: &AppId, external_id: &str) -> Result<String, ContextError> {
        let user = pb::NewUser {
            external_id: Some(external_id.to_owned()),
            origin: pb::Origin::Conversation.into(),
            ..Default::default()
        };
        let request = pb::UpsertUserByExternalIdRequest {
            app_id: app_id.as_str().to_owned(),
            user: Some(user),
            mark_authenticated: false,
        };
        let answer = self.client.clone().upsert_user_by_external_id(traced(request)).await.map_err(refused)?;
        let user = answer.into_inner().user.ok_or_else(|| anyhow::anyhow!("the registry answered no user"))?;
        Ok(user.id)
    }

    async fn mark(&self, app_id: &AppId, id: String) -> Result<String, ContextError> {
        let request = pb::MarkAssociatedRequest {
            app_id: app_id.as_str().to_owned(),
            lookup: Some(pb::UserLookup { key: Some(Key::Id(id)) }),
        };
        let answer = self.client.clone().mark_associated(traced(request)).await.map_err(refused)?;
        let user = answer.into_inner().user.ok_or_else(|| anyhow::anyhow!("the registry answered no user"))?;
        Ok(user.id)
    }
}

#[async_trait]
impl UserDirectory for GrpcRegistry {
    async fn associate(&self, app_id: &AppId, participant: &ParticipantRef) -> Result<String, ContextError> {
        let id = match participant {
            // Not the shape of a Roster id: it names nobody, and the registry need not be asked.
            ParticipantRef::UserId(id) if !platform::ids::is_id(id) => return Err(ContextError::ParticipantNotFound),
            ParticipantRef::UserId(id) => id.clone(),
            ParticipantRef::ExternalId(external_id) => self.upsert(app_id, external_id).await?,
        };
        self.mark(app_id, id).await
    }

    async fn resolve(&self, app_id: &AppId, participant: &ParticipantRef) -> Result<String, ContextError> {
        let key = match participant {
            ParticipantRef::UserId(id) if !platform::ids::is_id(id) => return Err(ContextError::ParticipantNotFound),
            ParticipantRef::UserId(id) => Key::Id(id.clone()),
            ParticipantRef::ExternalId(external_id) => Key::ExternalId(external_id.clone()),
        };
        let request =
            pb::GetUserRequest { app_id: app_id.as_str().to_owned(), lookup: Some(pb::UserLookup { key: Some(key) }) };
        let answer = self.client.clone().get_user(traced(request)).await.map_err(refused)?;
        Ok(answer.into_inner().user.ok_or_else(|| anyhow::anyhow!("the registry answered no user"))?.id)
    }
}

/// The registry's answer in this service's terms; its message is never passed on, as it can
/// quote what the caller sent.
fn refused(status: tonic::Status) -> ContextError {
    let error = ApiError::from_status(&status);
    match error.code {
        ErrorCode::UserNotFound | ErrorCode::NotFound => ContextError::ParticipantNotFound,
        ErrorCode::InvalidArgument | ErrorCode::MissingField | ErrorCode::ValueTooLong => {
            ValidationError::Invalid { field: "participants", reason: "refused by the user registry" }.into()
        }
        ErrorCode::Unavailable => ContextError::RegistryUnavailable,
        code => anyhow::anyhow!("the registry answered {} ({:?})", code.as_str(), status.code()).into(),
    }
}

/// A request carrying the current trace context.
fn traced<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    platform::telemetry::inject(request.metadata_mut());
    request
}
