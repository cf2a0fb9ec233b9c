//! The registry's gRPC server: authorise nothing (internal API), convert, call, convert back.

mod convert;

use proto::registry::v1::{self as pb, registry_service_server::RegistryService};
use tonic::{Request, Response, Status};

use crate::{app::Registry, domain::NewUser};

pub use pb::registry_service_server::RegistryServiceServer;

pub struct RegistryGrpc {
    registry: Registry,
}

impl RegistryGrpc {
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

#[tonic::async_trait]
impl RegistryService for RegistryGrpc {
    #[tracing::instrument(skip_all, fields(app.id))]
    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::CreateUserResponse>, Status> {
        let pb::CreateUserRequest { app_id, user } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        tracing::Span::current().record("app.id", app_id.as_str());
        let new = NewUser::try_from(user.unwrap_or_default())?;
        let user = self.registry.create_user(app_id, new).await?;
        Ok(Response::new(pb::CreateUserResponse {
            user: Some(user.into()),
        }))
    }

    #[tracing::instrument(skip_all, fields(app.id))]
    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::GetUserResponse>, Status> {
        let pb::GetUserRequest { app_id, lookup } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        tracing::Span::current().record("app.id", app_id.as_str());
        let lookup = convert::lookup(lookup)?;
        let user = self.registry.get_user(&app_id, &lookup).await?;
        Ok(Response::new(pb::GetUserResponse {
            user: Some(user.into()),
        }))
    }
}
