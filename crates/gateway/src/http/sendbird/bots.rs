//! `/v3/bots`: the application's AI agents, as Sendbird's bot calls (the SDK's `BotApi`) see them.

use std::collections::BTreeMap;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, RawQuery, State, rejection::BytesRejection},
};
use proto::context::v1 as pb;
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    SendbirdCaller,
    body::JsonBody,
    query::{QueryParams, invalid},
};
use crate::clients::{Clients, RequestId};
use crate::http::error::incomplete;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::BotIdentity)]
pub struct BotIdentity {
    /// Roster issues no bot tokens; the SDK's model wants a string.
    bot_token: String,
    bot_userid: String,
    bot_nickname: String,
    bot_profile_url: String,
    bot_type: String,
    bot_metadata: BTreeMap<String, String>,
}

/// Sendbird's bot resource.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::Bot)]
pub struct BotResource {
    bot: BotIdentity,
    bot_callback_url: String,
    enable_mark_as_read: bool,
    is_privacy_mode: bool,
    show_member: bool,
    channel_invitation_preference: i32,
    /// Seconds.
    created_at: i64,
}

impl BotResource {
    pub fn new(agent: pb::Agent) -> Self {
        Self {
            bot: BotIdentity {
                bot_token: String::new(),
                bot_userid: agent.agent_id,
                bot_nickname: agent.nickname,
                bot_profile_url: agent.profile_url,
                bot_type: agent.agent_type,
                bot_metadata: agent.metadata.into_iter().collect(),
            },
            bot_callback_url: agent.callback_url,
            enable_mark_as_read: agent.enable_mark_as_read,
            is_privacy_mode: agent.is_privacy_mode,
            show_member: agent.show_member,
            channel_invitation_preference: agent.channel_invitation_preference,
            created_at: agent.created_at.map_or(0, |t| t.seconds),
        }
    }
}

fn required_bool(body: &JsonBody, key: &str) -> Result<bool, super::SendbirdError> {
    body.optional_bool(key)?.ok_or_else(|| {
        super::SendbirdError::bad_request(super::error::MISSING_REQUIRED_PARAMETER, format!("\"{key}\" is required."))
    })
}

fn optional_i32(body: &JsonBody, key: &str) -> Result<Option<i32>, super::SendbirdError> {
    body.optional_i64(key)?.map(|v| i32::try_from(v).map_err(|_| invalid(key))).transpose()
}

/// `POST /v3/bots`
#[utoipa::path(post, path = "/v3/bots", tag = "Sendbird", security(("sendbird_api_token" = [])),
    request_body(content = super::schema::CreateBot, content_type = "application/json"),
    responses((status = 200, description = "The new bot", body = BotResource), super::schema::Errors))]
pub async fn create(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BotResource>, super::SendbirdError> {
    let body = JsonBody::parse(body)?;
    let agent_id = body.required_string("bot_userid")?;
    let spec = pb::AgentSpec {
        nickname: body.required_string("bot_nickname")?,
        profile_url: body.required_string("bot_profile_url")?,
        agent_type: body.required_string("bot_type")?,
        callback_url: body.required_string("bot_callback_url")?,
        is_privacy_mode: required_bool(&body, "is_privacy_mode")?,
        enable_mark_as_read: body.optional_bool("enable_mark_as_read")?.unwrap_or(true),
        show_member: body.optional_bool("show_member")?.unwrap_or(false),
        channel_invitation_preference: optional_i32(&body, "channel_invitation_preference")?.unwrap_or(0),
        metadata: body.optional_string_map("bot_metadata")?.unwrap_or_default().into_iter().collect(),
    };
    let request = pb::CreateAgentRequest { app_id: caller.app_id.as_str().to_owned(), agent_id, spec: Some(spec) };
    let created = clients.context.clone().create_agent(request_id.grpc(request)).await?;
    Ok(Json(BotResource::new(created.into_inner().agent.ok_or_else(incomplete)?)))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::BotList)]
pub struct BotList {
    bots: Vec<BotResource>,
    next: String,
}

/// `GET /v3/bots`
#[utoipa::path(get, path = "/v3/bots", tag = "Sendbird", security(("sendbird_api_token" = [])),
    params(
        ("token" = Option<String>, Query, description = "The page token a previous page answered in `next`"),
        ("limit" = Option<u32>, Query, description = "Bots per page, 1 to 100 (default 10)", minimum = 1, maximum = 100),
    ),
    responses((status = 200, description = "A page of bots", body = BotList), super::schema::Errors))]
pub async fn list(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    RawQuery(raw): RawQuery,
) -> Result<Json<BotList>, super::SendbirdError> {
    let query = QueryParams::parse(raw.as_deref())?;
    let request = pb::ListAgentsRequest {
        app_id: caller.app_id.as_str().to_owned(),
        page_token: query.string("token").unwrap_or_default(),
        page_size: query.int("limit", 1..=100, 10)?,
    };
    let page = clients.context.clone().list_agents(request_id.grpc(request)).await.map_err(|status| {
        match platform::ApiError::from_status(&status).code {
            platform::ErrorCode::InvalidPageToken => invalid("token"),
            _ => status.into(),
        }
    })?;
    let page = page.into_inner();
    Ok(Json(BotList { bots: page.agents.into_iter().map(BotResource::new).collect(), next: page.next_page_token }))
}

async fn get_agent(
    clients: &Clients,
    request_id: &RequestId,
    app_id: &platform::AppId,
    agent_id: String,
) -> Result<pb::Agent, super::SendbirdError> {
    let request = pb::GetAgentRequest { app_id: app_id.as_str().to_owned(), agent_id };
    let agent = clients.context.clone().get_agent(request_id.grpc(request)).await?;
    Ok(agent.into_inner().agent.ok_or_else(incomplete)?)
}

/// `GET /v3/bots/{bot_userid}`
#[utoipa::path(get, path = "/v3/bots/{bot_userid}", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("bot_userid" = String, Path, description = "The bot's id")),
    responses((status = 200, description = "The bot", body = BotResource), super::schema::Errors))]
pub async fn view(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(bot_userid): Path<String>,
) -> Result<Json<BotResource>, super::SendbirdError> {
    Ok(Json(BotResource::new(get_agent(&clients, &request_id, &caller.app_id, bot_userid).await?)))
}

/// `PUT /v3/bots/{bot_userid}`: what is sent changes; the rest stays.
#[utoipa::path(put, path = "/v3/bots/{bot_userid}", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("bot_userid" = String, Path, description = "The bot's id")),
    request_body(content = Option<super::schema::UpdateBot>, content_type = "application/json"),
    responses((status = 200, description = "The bot after the change", body = BotResource), super::schema::Errors))]
pub async fn update(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(bot_userid): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BotResource>, super::SendbirdError> {
    let body = JsonBody::parse(body)?;
    let current = get_agent(&clients, &request_id, &caller.app_id, bot_userid.clone()).await?;
    let spec = pb::AgentSpec {
        nickname: body.optional_string("bot_nickname")?.unwrap_or(current.nickname),
        profile_url: body.optional_string("bot_profile_url")?.unwrap_or(current.profile_url),
        agent_type: body.optional_string("bot_type")?.unwrap_or(current.agent_type),
        callback_url: body.optional_string("bot_callback_url")?.unwrap_or(current.callback_url),
        is_privacy_mode: body.optional_bool("is_privacy_mode")?.unwrap_or(current.is_privacy_mode),
        enable_mark_as_read: body.optional_bool("enable_mark_as_read")?.unwrap_or(current.enable_mark_as_read),
        show_member: body.optional_bool("show_member")?.unwrap_or(current.show_member),
        channel_invitation_preference: optional_i32(&body, "channel_invitation_preference")?
            .unwrap_or(current.channel_invitation_preference),
        metadata: match body.optional_string_map("bot_metadata")? {
            Some(metadata) => metadata.into_iter().collect(),
            None => current.metadata,
        },
    };
    let request =
        pb::UpdateAgentRequest { app_id: caller.app_id.as_str().to_owned(), agent_id: bot_userid, spec: Some(spec) };
    let updated = clients.context.clone().update_agent(request_id.grpc(request)).await?;
    Ok(Json(BotResource::new(updated.into_inner().agent.ok_or_else(incomplete)?)))
}

/// `DELETE /v3/bots/{bot_userid}`: the bot goes with its messenger channels and their contexts.
#[utoipa::path(delete, path = "/v3/bots/{bot_userid}", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("bot_userid" = String, Path, description = "The bot's id")),
    responses((status = 200, description = "Deleted, with its messenger channels and their contexts", body = super::schema::Empty), super::schema::Errors))]
pub async fn delete(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(bot_userid): Path<String>,
) -> Result<Json<Value>, super::SendbirdError> {
    let request = pb::DeleteAgentRequest { app_id: caller.app_id.as_str().to_owned(), agent_id: bot_userid };
    clients.context.clone().delete_agent(request_id.grpc(request)).await?;
    Ok(Json(json!({})))
}
