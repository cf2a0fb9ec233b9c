//! Tells token-service and context-service about a user's deletion, and token-service about its
//! deactivation, over their gRPC APIs.

use std::time::Duration;

use async_trait::async_trait;
use platform::Settings;
use proto::{
    context::v1::{self as context_pb, context_service_client::ContextServiceClient},
    token::v1::{self as token_pb, token_service_client::TokenServiceClient},
};
use tonic::transport::Channel;

use crate::{
    app::UserLifecycle,
    domain::{AppId, RosterId},
};

#[derive(Clone)]
pub struct GrpcLifecycle {
    token: TokenServiceClient<Channel>,
    context: ContextServiceClient<Channel>,
}

impl GrpcLifecycle {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let timeout = Duration::from_secs(10);
        Ok(Self {
            token: TokenServiceClient::new(platform::grpc::channel(&settings.token.endpoint, timeout)?),
            context: ContextServiceClient::new(platform::grpc::channel(&settings.context.endpoint, timeout)?),
        })
    }
}

#[async_trait]
impl UserLifecycle for GrpcLifecycle {
    async fn before_delete(&self, app_id: &AppId, id: &RosterId) -> anyhow::Result<()> {
        let (app_id, user_id) = (app_id.as_str().to_owned(), id.as_str().to_owned());
        self.token
            .clone()
            .revoke_user_tokens(traced(token_pb::RevokeUserTokensRequest {
                app_id: app_id.clone(),
                user_id: user_id.clone(),
            }))
            .await
            .map_err(|s| anyhow::anyhow!("token-service could not revoke the user's tokens: {}", s.message()))?;
        self.context
            .clone()
            .delete_user_data(traced(context_pb::DeleteUserDataRequest { app_id, user_id }))
            .await
            .map_err(|s| anyhow::anyhow!("context-service could not delete the user's data: {}", s.message()))?;
        Ok(())
    }

    async fn set_active(&self, app_id: &AppId, id: &RosterId, active: bool) -> anyhow::Result<()> {
        let request = token_pb::SetUserActiveRequest {
            app_id: app_id.as_str().to_owned(),
            user_id: id.as_str().to_owned(),
            active,
        };
        self.token
            .clone()
            .set_user_active(traced(request))
            .await
            .map_err(|s| anyhow::anyhow!("token-service could not record the user's activation: {}", s.message()))?;
        Ok(())
    }

    async fn unassociated_lifetimes(&self) -> anyhow::Result<Vec<(AppId, i64)>> {
        let mut lifetimes = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .token
                .clone()
                .list_applications(traced(token_pb::ListApplicationsRequest { page_token, page_size: 100 }))
                .await
                .map_err(|s| anyhow::anyhow!("token-service could not list applications: {}", s.message()))?
                .into_inner();
            for app in page.applications {
                let secs = app.settings.map(|s| s.unassociated_user_ttl_seconds).unwrap_or_default();
                if secs > 0 {
                    let millis = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
                    lifetimes.push((AppId::parse(app.id)?, millis));
                }
            }
            if page.next_page_token.is_empty() {
                return Ok(lifetimes);
            }
            page_token = page.next_page_token;
        }
    }

    async fn application_exists(&self, app_id: &AppId) -> anyhow::Result<bool> {
        let request = token_pb::GetApplicationRequest { app_id: app_id.as_str().to_owned() };
        match self.token.clone().get_application(traced(request)).await {
            Ok(_) => Ok(true),
            Err(status) => match platform::ApiError::from_status(&status).code {
                platform::ErrorCode::ApplicationNotFound | platform::ErrorCode::NotFound => Ok(false),
                _ => Err(anyhow::anyhow!("token-service could not be asked for the application: {}", status.message())),
            },
        }
    }

    async fn may_read_sensitive(&self, app_id: &AppId, api_token: &str) -> anyhow::Result<bool> {
        let request = token_pb::AuthenticateCallerRequest {
            credential: Some(token_pb::authenticate_caller_request::Credential::ApiToken(api_token.to_owned())),
            app_id: Some(app_id.as_str().to_owned()),
        };
        match self.token.clone().authenticate_caller(traced(request)).await {
            Ok(answer) => {
                let answer = answer.into_inner();
                Ok(answer.app_id == app_id.as_str()
                    && answer.scopes.contains(&(token_pb::Scope::SensitiveMetadata as i32)))
            }
            Err(status) if matches!(status.code(), tonic::Code::Unauthenticated | tonic::Code::PermissionDenied) => {
                Ok(false)
            }
            Err(status) => Err(anyhow::anyhow!("token-service could not check the caller: {}", status.message())),
        }
    }
}

/// A request carrying the current trace context.
fn traced<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    platform::telemetry::inject(request.metadata_mut());
    request
}
