//! Context-service gRPC server.

mod convert;
mod registry;

use proto::context::v1::{self as pb, context_service_server::ContextService};
use tonic::{Request, Response, Status};

use crate::{
    app::{Contexts, Conversations},
    domain::{AgentSpec, ContextKey, NewConversation},
    error::ContextError,
};

pub use pb::context_service_server::ContextServiceServer;
pub use registry::GrpcRegistry;

pub struct ContextGrpc {
    contexts: Contexts,
    conversations: Conversations,
}

impl ContextGrpc {
    pub fn new(contexts: Contexts, conversations: Conversations) -> Self {
        Self { contexts, conversations }
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
    async fn list_user_data(
        &self,
        request: Request<pb::ListUserDataRequest>,
    ) -> Result<Response<pb::ListUserDataResponse>, Status> {
        let pb::ListUserDataRequest { app_id, user_id } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        let user_id = crate::domain::bounded("user_id", user_id, 80).map_err(ContextError::from)?;
        let contexts = self.contexts.list_for_user(&app_id, &user_id).await?;
        let conversations = self.conversations.list_for_user(&app_id, &user_id).await?;
        Ok(Response::new(pb::ListUserDataResponse {
            contexts: contexts.into_iter().map(Into::into).collect(),
            conversations: conversations.into_iter().map(Into::into).collect(),
        }))
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
        let after = convert::page_key("a1", &page_token)?
            .map(|after| agent_id_of(after).map_err(|_| ContextError::InvalidPageToken))
            .transpose()?;
        let page = self.contexts.list_agents(&convert::app_id(app_id)?, after.as_deref(), page_size).await?;
        Ok(Response::new(pb::ListAgentsResponse {
            agents: page.agents.into_iter().map(Into::into).collect(),
            next_page_token: page.next.map(|id| convert::page_token("a1", &id)).unwrap_or_default(),
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

    #[tracing::instrument(skip_all)]
    async fn create_conversation(
        &self,
        request: Request<pb::CreateConversationRequest>,
    ) -> Result<Response<pb::CreateConversationResponse>, Status> {
        let new = NewConversation::try_from(request.into_inner())?;
        let (conversation, participants) = self.conversations.create_conversation(new).await?;
        Ok(Response::new(pb::CreateConversationResponse {
            conversation: Some(conversation.into()),
            participants: participants.into_iter().map(Into::into).collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_conversation(
        &self,
        request: Request<pb::GetConversationRequest>,
    ) -> Result<Response<pb::GetConversationResponse>, Status> {
        let pb::GetConversationRequest { app_id, conversation_id } = request.into_inner();
        let conversation = self.conversations.get_conversation(&convert::app_id(app_id)?, &conversation_id).await?;
        Ok(Response::new(pb::GetConversationResponse { conversation: Some(conversation.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn end_conversation(
        &self,
        request: Request<pb::EndConversationRequest>,
    ) -> Result<Response<pb::EndConversationResponse>, Status> {
        let pb::EndConversationRequest { app_id, conversation_id } = request.into_inner();
        let conversation = self.conversations.end_conversation(&convert::app_id(app_id)?, &conversation_id).await?;
        Ok(Response::new(pb::EndConversationResponse { conversation: Some(conversation.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_participants(
        &self,
        request: Request<pb::ListParticipantsRequest>,
    ) -> Result<Response<pb::ListParticipantsResponse>, Status> {
        let pb::ListParticipantsRequest { app_id, conversation_id, page_token, page_size } = request.into_inner();
        let after = convert::page_key("p1", &page_token)?
            .map(|after| after.parse::<u32>().map_err(|_| ContextError::InvalidPageToken))
            .transpose()?;
        let app_id = convert::app_id(app_id)?;
        let page = self.conversations.list_participants(&app_id, &conversation_id, after, page_size).await?;
        Ok(Response::new(pb::ListParticipantsResponse {
            participants: page.participants.into_iter().map(Into::into).collect(),
            next_page_token: page.next.map(|p| convert::page_token("p1", &p.to_string())).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn join_conversation(
        &self,
        request: Request<pb::JoinConversationRequest>,
    ) -> Result<Response<pb::JoinConversationResponse>, Status> {
        let pb::JoinConversationRequest { app_id, conversation_id, participant } = request.into_inner();
        let participant = convert::participant_ref(participant.unwrap_or_default()).map_err(ContextError::from)?;
        let (participant, joined) =
            self.conversations.join_conversation(&convert::app_id(app_id)?, &conversation_id, &participant).await?;
        Ok(Response::new(pb::JoinConversationResponse { participant: Some(participant.into()), joined }))
    }

    #[tracing::instrument(skip_all)]
    async fn leave_conversation(
        &self,
        request: Request<pb::LeaveConversationRequest>,
    ) -> Result<Response<pb::LeaveConversationResponse>, Status> {
        let pb::LeaveConversationRequest { app_id, conversation_id, participant } = request.into_inner();
        let participant = convert::participant_ref(participant.unwrap_or_default()).map_err(ContextError::from)?;
        self.conversations.leave_conversation(&convert::app_id(app_id)?, &conversation_id, &participant).await?;
        Ok(Response::new(pb::LeaveConversationResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn create_channel(
        &self,
        request: Request<pb::CreateChannelRequest>,
    ) -> Result<Response<pb::CreateChannelResponse>, Status> {
        let (app_id, spec) = convert::channel_spec(request.into_inner())?;
        let channel = self.conversations.create_channel(app_id, spec).await?;
        Ok(Response::new(pb::CreateChannelResponse { channel: Some(channel.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_channel(
        &self,
        request: Request<pb::GetChannelRequest>,
    ) -> Result<Response<pb::GetChannelResponse>, Status> {
        let pb::GetChannelRequest { app_id, channel_id } = request.into_inner();
        let channel = self.conversations.get_channel(&convert::app_id(app_id)?, &channel_id).await?;
        Ok(Response::new(pb::GetChannelResponse { channel: Some(channel.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_channels(
        &self,
        request: Request<pb::ListChannelsRequest>,
    ) -> Result<Response<pb::ListChannelsResponse>, Status> {
        let pb::ListChannelsRequest { app_id, page_token, page_size, modality } = request.into_inner();
        let after = convert::page_key("c1", &page_token)?;
        if after.as_deref().is_some_and(|id| !platform::ids::is_id(id)) {
            return Err(ContextError::InvalidPageToken.into());
        }
        let (app_id, modality) = (convert::app_id(app_id)?, convert::modality(modality)?);
        let page = self.conversations.list_channels(&app_id, modality, after.as_deref(), page_size).await?;
        Ok(Response::new(pb::ListChannelsResponse {
            channels: page.channels.into_iter().map(Into::into).collect(),
            next_page_token: page.next.map(|id| convert::page_token("c1", &id)).unwrap_or_default(),
        }))
    }
}

fn agent_id_of(value: String) -> Result<String, ContextError> {
    Ok(crate::domain::agent_id(value)?)
}
