//! Context-service gRPC server.

mod convert;

use proto::context::v1::{self as pb, context_service_server::ContextService};
use tonic::{Request, Response, Status};

use crate::app::Contexts;

pub use pb::context_service_server::ContextServiceServer;

pub struct ContextGrpc {
    contexts: Contexts,
}

impl ContextGrpc {
    pub fn new(contexts: Contexts) -> Self {
        Self { contexts }
    }
}

#[tonic::async_trait]
impl ContextService for ContextGrpc {
    #[tracing::instrument(skip_all)]
    async fn set_context(
        &self,
        request: Request<pb::SetContextRequest>,
    ) -> Result<Response<pb::SetContextResponse>, Status> {
        let pb::SetContextRequest { key, language, country, values } = request.into_inner();
        let (language, country, values) = convert::fields(language, country, values)?;
        let context = self.contexts.set(convert::key(key)?, language, country, values).await?;
        Ok(Response::new(pb::SetContextResponse { context: Some(context.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_context(
        &self,
        request: Request<pb::GetContextRequest>,
    ) -> Result<Response<pb::GetContextResponse>, Status> {
        let pb::GetContextRequest { key } = request.into_inner();
        let context = self.contexts.get(&convert::key(key)?).await?;
        Ok(Response::new(pb::GetContextResponse { context: Some(context.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_context(
        &self,
        request: Request<pb::DeleteContextRequest>,
    ) -> Result<Response<pb::DeleteContextResponse>, Status> {
        let pb::DeleteContextRequest { key } = request.into_inner();
        self.contexts.delete(&convert::key(key)?).await?;
        Ok(Response::new(pb::DeleteContextResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_user_data(
        &self,
        request: Request<pb::DeleteUserDataRequest>,
    ) -> Result<Response<pb::DeleteUserDataResponse>, Status> {
        let pb::DeleteUserDataRequest { app_id, user_id } = request.into_inner();
        let app_id = crate::domain::AppId::parse(app_id).map_err(crate::error::ContextError::from)?;
        self.contexts.delete_user_data(&app_id, &user_id).await?;
        Ok(Response::new(pb::DeleteUserDataResponse {}))
    }
}
