//! The registry over gRPC, as JWT login needs it.

use std::time::Duration;

use async_trait::async_trait;
use proto::registry::v1::{self as pb, registry_service_client::RegistryServiceClient};
use tonic::transport::Channel;

use crate::{app::UserDirectory, domain::AppId, error::TokenError};

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
    async fn login(&self, app_id: &AppId, external_id: &str) -> Result<(String, bool), TokenError> {
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
        Ok((user.id, answer.created))
    }
}
