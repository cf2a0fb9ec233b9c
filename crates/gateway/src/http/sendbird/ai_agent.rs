//! `/v3/ai_agent`: the messenger channel of an AI agent and a user, and its context object
//! (`language`, `country`, string-valued `context`) that the agent reads from its first turn.

use std::collections::BTreeMap;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State, rejection::BytesRejection},
};
use proto::{context::v1 as cpb, registry::v1 as rpb, token::v1 as tpb};
use serde::Serialize;

use super::{
    SendbirdCaller,
    body::JsonBody,
    error::{self as codes, SendbirdError},
    resource::by_user_id,
};
use crate::http::error::incomplete;
use crate::{
    auth::Caller,
    clients::{Clients, RequestId},
};

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::MessengerUser)]
struct UserState {
    is_active: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::AutoCreatedUser)]
struct AutoCreatedUser {
    user_id: String,
    session_token: String,
    /// Milliseconds.
    expired_at: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::ActiveChannel)]
struct ActiveChannel {
    channel_url: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::BotSummary)]
struct BotSummary {
    bot_userid: String,
    bot_nickname: String,
    bot_profile_url: String,
    bot_type: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::Messenger)]
pub struct MessengerResponse {
    user: UserState,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_created_user: Option<AutoCreatedUser>,
    active_channel: ActiveChannel,
    bot: BotSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<String>,
    context: BTreeMap<String, String>,
}

/// The messenger context fields of a body; values of `context` must be strings.
struct ContextFields {
    language: Option<String>,
    country: Option<String>,
    context: Option<BTreeMap<String, String>>,
}

impl ContextFields {
    /// Checked here too, so a bad field never leaves an auto-created user behind.
    fn read(body: &JsonBody) -> Result<Self, SendbirdError> {
        let language = body.optional_string("language")?;
        let country = body.optional_string("country")?;
        if let Some(language) = &language {
            platform::validation::language_tag("language", language.clone()).map_err(platform::ApiError::from)?;
        }
        if let Some(country) = &country {
            platform::validation::country_code("country", country.clone()).map_err(platform::ApiError::from)?;
        }
        Ok(Self { language, country, context: body.optional_string_map("context")? })
    }
}

async fn agent(
    clients: &Clients,
    request_id: &RequestId,
    caller: &Caller,
    bot_userid: String,
) -> Result<cpb::Agent, SendbirdError> {
    let request = cpb::GetAgentRequest { app_id: caller.app_id.as_str().to_owned(), agent_id: bot_userid };
    let agent = clients.context.clone().get_agent(request_id.grpc(request)).await?;
    Ok(agent.into_inner().agent.ok_or_else(incomplete)?)
}

/// A user created for a visitor who has none yet, with a session token to log in with.
async fn auto_create_user(
    clients: &Clients,
    request_id: &RequestId,
    caller: &Caller,
) -> Result<(rpb::User, AutoCreatedUser), SendbirdError> {
    let request = rpb::CreateUserRequest {
        app_id: caller.app_id.as_str().to_owned(),
        user: Some(rpb::NewUser { origin: rpb::Origin::Api.into(), ..Default::default() }),
    };
    let user = clients.registry.clone().create_user(request_id.grpc(request)).await?;
    let user = user.into_inner().user.ok_or_else(incomplete)?;
    let request = tpb::IssueSessionTokenRequest {
        app_id: caller.app_id.as_str().to_owned(),
        user_id: user.id.clone(),
        expires_at: None,
    };
    let issued = clients.token.clone().issue_session_token(request_id.grpc(request)).await?.into_inner();
    let created = AutoCreatedUser {
        user_id: user.user_id.clone(),
        session_token: issued.token,
        expired_at: issued.expires_at.as_ref().map_or(0, proto::timestamp_to_millis),
    };
    Ok((user, created))
}

/// `POST /v3/ai_agent/ai_agents/{bot_userid}/messenger`: the channel of this agent and the
/// given user (created when `user_id` is absent), its context updated with what is sent.
#[utoipa::path(post, path = "/v3/ai_agent/ai_agents/{bot_userid}/messenger", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("bot_userid" = String, Path, description = "The bot's id")),
    request_body(content = Option<super::schema::OpenMessenger>, content_type = "application/json"),
    responses((status = 200, description = "The channel of the agent and the user, with its context", body = MessengerResponse), super::schema::Errors))]
pub async fn open_messenger(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(bot_userid): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<MessengerResponse>, SendbirdError> {
    let body = JsonBody::parse(body)?;
    let user_id = body.optional_string("user_id")?;
    let fields = ContextFields::read(&body)?;
    // The agent first, so a bad bot id never leaves an auto-created user behind.
    let agent = agent(&clients, &request_id, &caller, bot_userid).await?;
    let (user, auto_created_user) = match user_id {
        Some(user_id) => {
            let request =
                rpb::GetUserRequest { app_id: caller.app_id.as_str().to_owned(), lookup: by_user_id(user_id) };
            let user = clients.registry.clone().get_user(request_id.grpc(request)).await?;
            (user.into_inner().user.ok_or_else(incomplete)?, None)
        }
        None => {
            let (user, created) = auto_create_user(&clients, &request_id, &caller).await?;
            (user, Some(created))
        }
    };
    let request = cpb::OpenMessengerChannelRequest {
        app_id: caller.app_id.as_str().to_owned(),
        agent_id: agent.agent_id.clone(),
        user_id: user.id.clone(),
        language: fields.language,
        country: fields.country,
        values: fields.context.unwrap_or_default().into_iter().collect(),
    };
    let opened = clients.context.clone().open_messenger_channel(request_id.grpc(request)).await?;
    let opened = opened.into_inner();
    let channel = opened.channel.ok_or_else(incomplete)?;
    let context = opened.context.ok_or_else(incomplete)?;
    Ok(Json(MessengerResponse {
        user: UserState { is_active: user.is_active },
        auto_created_user,
        active_channel: ActiveChannel { channel_url: channel.channel_url },
        bot: BotSummary {
            bot_userid: agent.agent_id,
            bot_nickname: agent.nickname,
            bot_profile_url: agent.profile_url,
            bot_type: agent.agent_type,
        },
        language: context.language,
        country: context.country,
        context: context.values.into_iter().collect(),
    }))
}

/// The channel, checked to belong to this agent, and its context key.
async fn channel_key(
    clients: &Clients,
    request_id: &RequestId,
    caller: &Caller,
    bot_userid: &str,
    channel_url: String,
) -> Result<cpb::ContextKey, SendbirdError> {
    let request = cpb::GetMessengerChannelRequest { app_id: caller.app_id.as_str().to_owned(), channel_url };
    let channel = clients.context.clone().get_messenger_channel(request_id.grpc(request)).await?;
    let channel = channel.into_inner().channel.ok_or_else(incomplete)?;
    if channel.agent_id != bot_userid {
        return Err(SendbirdError::bad_request(codes::RESOURCE_NOT_FOUND, "channel not found"));
    }
    Ok(cpb::ContextKey { app_id: channel.app_id, user_id: channel.user_id, agent_id: channel.agent_id })
}

/// The context object: `{ "language", "country", "context" }` with only the fields that are
/// set (or, for a replace, that were sent). The same shape is a replace's body.
#[derive(Default, Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::ContextObject)]
pub struct ContextObject {
    /// BCP 47.
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<String>,
    /// String keys and string values.
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<BTreeMap<String, String>>,
}

impl ContextObject {
    fn new(context: cpb::Context, fields: Option<(bool, bool, bool)>) -> Self {
        let (language, country, values) = fields.unwrap_or((true, true, true));
        Self {
            language: context.language.filter(|_| language),
            country: context.country.filter(|_| country),
            context: (values && (fields.is_some() || !context.values.is_empty()))
                .then(|| context.values.into_iter().collect()),
        }
    }
}

/// `GET /v3/ai_agent/ai_agents/{bot_userid}/channels/{channel_url}/ai_agent_context`
#[utoipa::path(get, path = "/v3/ai_agent/ai_agents/{bot_userid}/channels/{channel_url}/ai_agent_context", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("bot_userid" = String, Path, description = "The bot's id"), ("channel_url" = String, Path, description = "The messenger channel's URL")),
    responses((status = 200, description = "The context object: only the fields that are set", body = ContextObject), super::schema::Errors))]
pub async fn get_context(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((bot_userid, channel_url)): Path<(String, String)>,
) -> Result<Json<ContextObject>, SendbirdError> {
    let key = channel_key(&clients, &request_id, &caller, &bot_userid, channel_url).await?;
    let request = cpb::GetContextRequest { key: Some(key) };
    match clients.context.clone().get_context(request_id.grpc(request)).await {
        Ok(context) => Ok(Json(ContextObject::new(context.into_inner().context.ok_or_else(incomplete)?, None))),
        // A channel whose context was never set has an empty one.
        Err(status) if status.code() == tonic::Code::NotFound => Ok(Json(ContextObject::default())),
        Err(status) => Err(status.into()),
    }
}

/// `PUT /v3/ai_agent/ai_agents/{bot_userid}/channels/{channel_url}/ai_agent_context`: each
/// field sent replaces its value (`context` as a whole); the answer carries those fields.
#[utoipa::path(put, path = "/v3/ai_agent/ai_agents/{bot_userid}/channels/{channel_url}/ai_agent_context", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("bot_userid" = String, Path, description = "The bot's id"), ("channel_url" = String, Path, description = "The messenger channel's URL")),
    request_body(content = Option<ContextObject>, content_type = "application/json"),
    responses((status = 200, description = "The fields that were sent, as stored", body = ContextObject), super::schema::Errors))]
pub async fn replace_context(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((bot_userid, channel_url)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ContextObject>, SendbirdError> {
    let body = JsonBody::parse(body)?;
    let fields = ContextFields::read(&body)?;
    let sent = (fields.language.is_some(), fields.country.is_some(), fields.context.is_some());
    let key = channel_key(&clients, &request_id, &caller, &bot_userid, channel_url).await?;
    let request = cpb::PatchContextRequest {
        key: Some(key),
        language: fields.language,
        country: fields.country,
        replace_values: fields.context.is_some(),
        set_values: fields.context.unwrap_or_default().into_iter().collect(),
        ..Default::default()
    };
    let patched = clients.context.clone().patch_context(request_id.grpc(request)).await?;
    Ok(Json(ContextObject::new(patched.into_inner().context.ok_or_else(incomplete)?, Some(sent))))
}
