//! Context-service gRPC server.

mod convert;

use proto::context::v1::{self as pb, context_service_server::ContextService};
use tonic::{Request, Response, Status};

use crate::{
    app::Contexts,
    domain::{AgentSpec, ContextKey},
    error::ContextError,
};

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
        let user_id = crate::domain::bounded("user_id", user_id, 80).map_err(ContextError::from)?;
        self.contexts.delete_user_data(&convert::app_id(app_id)?, &user_id).await?;
        Ok(Response::new(pb::DeleteUserDataResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn patch_context(
        &self,
        request: Request<pb::PatchContextRequest>,
    ) -> Result<Response<pb::PatchContextResponse>, Status> {
        let pb::PatchContextRequest {
            key,
            language,
            country,
            set_values,
            remove_keys,
            clear_language,
            clear_country,
            replace_values,
        } = request.into_inner();
        let key = convert::key(key)?;
        let patch =
            convert::patch(language, country, set_values, remove_keys, clear_language, clear_country, replace_values)?;
        let context = self.contexts.patch(&key, &patch).await?;
        Ok(Response::new(pb::PatchContextResponse { context: Some(context.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_agent(
        &self,
        request: Request<pb::CreateAgentRequest>,
    ) -> Result<Response<pb::CreateAgentResponse>, Status> {
        let pb::CreateAgentRequest { app_id, agent_id, spec } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        let agent_id = agent_id_of(agent_id)?;
        let spec = AgentSpec::try_from(spec.unwrap_or_default())?;
        let agent = self.contexts.create_agent(app_id, agent_id, spec).await?;
        Ok(Response::new(pb::CreateAgentResponse { agent: Some(agent.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_agent(&self, request: Request<pb::GetAgentRequest>) -> Result<Response<pb::GetAgentResponse>, Status> {
        let pb::GetAgentRequest { app_id, agent_id } = request.into_inner();
        let agent = self.contexts.get_agent(&convert::app_id(app_id)?, &agent_id_of(agent_id)?).await?;
        Ok(Response::new(pb::GetAgentResponse { agent: Some(agent.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        let pb::ListAgentsRequest { app_id, page_token, page_size } = request.into_inner();
        let after = if page_token.is_empty() {
            None
        } else {
            let decoded = hex::decode(&page_token).ok().and_then(|b| String::from_utf8(b).ok());
            let after =
                decoded.and_then(|s| s.strip_prefix("a1:").map(str::to_owned)).ok_or(ContextError::InvalidPageToken)?;
            Some(agent_id_of(after).map_err(|_| ContextError::InvalidPageToken)?)
        };
        let page = self.contexts.list_agents(&convert::app_id(app_id)?, after.as_deref(), page_size).await?;
        Ok(Response::new(pb::ListAgentsResponse {
            agents: page.agents.into_iter().map(Into::into).collect(),
            next_page_token: page.next.map(|id| hex::encode(format!("a1:{id}"))).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_agent(
        &self,
        request: Request<pb::UpdateAgentRequest>,
    ) -> Result<Response<pb::UpdateAgentResponse>, Status> {
        let pb::UpdateAgentRequest { app_id, agent_id, spec } = request.into_inner();
        let spec = AgentSpec::try_from(spec.unwrap_or_default())?;
        let agent = self.contexts.update_agent(&convert::app_id(app_id)?, &agent_id_of(agent_id)?, spec).await?;
        Ok(Response::new(pb::UpdateAgentResponse { agent: Some(agent.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_agent(
        &self,
        request: Request<pb::DeleteAgentRequest>,
    ) -> Result<Response<pb::DeleteAgentResponse>, Status> {
        let pb::DeleteAgentRequest { app_id, agent_id } = request.into_inner();
        self.contexts.delete_agent(&convert::app_id(app_id)?, &agent_id_of(agent_id)?).await?;
        Ok(Response::new(pb::DeleteAgentResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn open_messenger_channel(
        &self,
        request: Request<pb::OpenMessengerChannelRequest>,
    ) -> Result<Response<pb::OpenMessengerChannelResponse>, Status> {
        let pb::OpenMessengerChannelRequest { app_id, agent_id, user_id, language, country, values } =
            request.into_inner();
        let key = ContextKey::parse(app_id, user_id, agent_id).map_err(ContextError::from)?;
        let patch = convert::patch(language, country, values, Vec::new(), false, false, false)?;
        let opened = self.contexts.open_messenger_channel(key, &patch).await?;
        Ok(Response::new(pb::OpenMessengerChannelResponse {
            channel: Some(opened.channel.into()),
            agent: Some(opened.agent.into()),
            context: Some(opened.context.into()),
            created: opened.created,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_messenger_channel(
        &self,
        request: Request<pb::GetMessengerChannelRequest>,
    ) -> Result<Response<pb::GetMessengerChannelResponse>, Status> {
        let pb::GetMessengerChannelRequest { app_id, channel_url } = request.into_inner();
        let channel_url = crate::domain::bounded("channel_url", channel_url, 200).map_err(ContextError::from)?;
        let channel = self.contexts.get_messenger_channel(&convert::app_id(app_id)?, &channel_url).await?;
        Ok(Response::new(pb::GetMessengerChannelResponse { channel: Some(channel.into()) }))
    }
}

fn agent_id_of(value: String) -> Result<String, ContextError> {
    Ok(crate::domain::agent_id(value)?)
}
