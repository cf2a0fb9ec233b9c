//! The registry over gRPC, as JWT login needs it.

use std::time::Duration;

use async_trait::async_trait;
use proto::registry::v1::{self as pb, registry_service_client::RegistryServiceClient};
use tonic::transport::Channel;

use crate::{
    app::{DirectoryUser, UserDirectory},
    domain::AppId,
    error::TokenError,
};

#[derive(Clone)]
pub struct GrpcDirectory {
    registry: RegistryServiceClient<Channel>,
}

impl GrpcDirectory {
    /// Connects lazily: the registry may start after token-service.
    pub fn new(endpoint: &str) -> anyhow::Result<Self> {
        let channel = platform::grpc::channel(endpoint, Duration::from_secs(10))?;
        Ok(Self { registry: RegistryServiceClient::new(channel) })
    }
}

#[async_trait]
impl UserDirectory for GrpcDirectory {
    async fn login(&self, app_id: &AppId, external_id: &str) -> Result<(DirectoryUser, bool), TokenError> {
        let mut request = tonic::Request::new(pb::UpsertUserByExternalIdRequest {
            app_id: app_id.as_str().to_owned(),
            user: Some(pb::NewUser {
                external_id: Some(external_id.to_owned()),
                origin: pb::Origin::Login.into(),
                ..Default::default()
            }),
            mark_authenticated: true,
        });
        platform::telemetry::inject(request.metadata_mut());
        let answer = self.registry.clone().upsert_user_by_external_id(request).await.map_err(|status| {
            let error = platform::ApiError::from_status(&status);
            match error.code {
                platform::ErrorCode::Internal | platform::ErrorCode::Unavailable => {
                    TokenError::Unexpected(anyhow::anyhow!("the registry could not upsert the user: {}", error.message))
                }
                _ => TokenError::Invalid(platform::ValidationError::Invalid {
                    field: "external_id",
                    reason: "is not accepted by the registry",
                }),
            }
        })?;
        let answer = answer.into_inner();
        let user = answer.user.ok_or_else(|| anyhow::anyhow!("the registry answered no user"))?;
        Ok((DirectoryUser { id: user.id, is_active: user.is_active }, answer.created))
    }

    async fn find(&self, app_id: &AppId, user: &str) -> Result<Option<DirectoryUser>, TokenError> {
        use pb::user_lookup::Key;
        let key = if platform::ids::is_id(user) { Key::Id(user.to_owned()) } else { Key::UserId(user.to_owned()) };
        let mut request = tonic::Request::new(pb::GetUserRequest {
            app_id: app_id.as_str().to_owned(),
            lookup: Some(pb::UserLookup { key: Some(key) }),
        });
        platform::telemetry::inject(request.metadata_mut());
        match self.registry.clone().get_user(request).await {
            Ok(answer) => Ok(answer.into_inner().user.map(|u| DirectoryUser { id: u.id, is_active: u.is_active })),
            Err(status) => match platform::ApiError::from_status(&status).code {
                platform::ErrorCode::UserNotFound
                | platform::ErrorCode::NotFound
                | platform::ErrorCode::InvalidArgument
                | platform::ErrorCode::ValueTooLong
                | platform::ErrorCode::MissingField => Ok(None),
                platform::ErrorCode::Unavailable => {
                    Err(TokenError::Unexpected(platform::error::Unavailable::new("the registry", status).into()))
                }
                _ => Err(TokenError::Unexpected(anyhow::anyhow!("the registry could not be asked: {}", status.code()))),
            },
        }
    }
}
