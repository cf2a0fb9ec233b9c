//! `/api/v2/channels`: create, get, list. Ada's custom channels, kept by context-service.
//!
//! Where Ada's reference says more than the brief, decided here: `type` is always `custom` (Roster
//! has no native channels, so `?type=native` lists none); `modality` is `messaging` when absent
//! (Ada's schema requires it, Ada's guide only asks for it); pages default to and stop at 100, as
//! Ada's, and `?modality=` filters them.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use platform::{ApiError, ErrorCode};
use proto::context::v1 as pb;
use serde::Serialize;
use serde_json::Value;

use super::{AdaBody, AdaCaller, AdaError, metadata_value, page_query, refused, time};
use crate::clients::{Clients, PublicBase, RequestId};
use crate::http::error::incomplete;

fn modality(value: &str, location: &str) -> Result<pb::ChannelModality, AdaError> {
    match value {
        "messaging" => Ok(pb::ChannelModality::Messaging),
        "email" => Ok(pb::ChannelModality::Email),
        _ => Err(AdaError::validation("modality", location, "modality must be messaging or email")),
    }
}

/// The create request a body asks for, checked in Ada's terms.
pub(super) fn new_channel(app_id: &str, body: &AdaBody) -> Result<pb::CreateChannelRequest, AdaError> {
    let name = body.required_string("name")?;
    let description = body.optional_string("description")?;
    let modality = match body.optional_string("modality")? {
        None => pb::ChannelModality::Messaging,
        Some(value) => modality(&value, "body")?,
    };
    Ok(pb::CreateChannelRequest {
        app_id: app_id.to_owned(),
        name,
        description,
        modality: modality.into(),
        metadata_json: body.metadata()?,
    })
}

/// Ada's channel resource.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ada::Channel)]
pub struct Channel {
    id: String,
    /// Always `custom`.
    r#type: &'static str,
    name: String,
    description: Option<String>,
    /// `messaging` or `email`.
    modality: &'static str,
    #[schema(value_type = Object)]
    metadata: Value,
    /// ISO 8601 with offset.
    created_at: Option<String>,
    updated_at: Option<String>,
}

/// A page of channels.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ada::ChannelPage)]
pub struct ChannelPage {
    data: Vec<Channel>,
    meta: super::PageMeta,
}

/// `POST /api/v2/channels`.
#[derive(utoipa::ToSchema)]
#[schema(as = ada::NewChannel)]
#[allow(dead_code)] // described; read by `new_channel`
pub struct NewChannel {
    name: String,
    description: Option<String>,
    /// `messaging` (default) or `email`.
    modality: Option<String>,
    /// Flat: string, number and boolean values.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

fn resource(channel: pb::Channel) -> Channel {
    let modality = match channel.modality() {
        pb::ChannelModality::Email => "email",
        _ => "messaging",
    };
    Channel {
        id: channel.id,
        r#type: "custom",
        name: channel.name,
        description: channel.description,
        modality,
        metadata: metadata_value(&channel.metadata_json),
        created_at: time(channel.created_at),
        updated_at: time(channel.updated_at),
    }
}

/// `POST /api/v2/channels/`: 201 with the new channel.
#[utoipa::path(post, path = "/api/v2/channels", tag = "Ada", security(("ada_bearer" = [])),
    request_body(content = NewChannel, content_type = "application/json"),
    responses((status = 201, description = "The new channel", body = Channel), super::error::Errors))]
pub async fn create(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    body: AdaBody,
) -> Result<Response, AdaError> {
    let request = new_channel(caller.app_id.as_str(), &body)?;
    let answer = clients.context.clone().create_channel(request_id.grpc(request)).await.map_err(refused)?;
    let channel = answer.into_inner().channel.ok_or_else(incomplete)?;
    Ok((StatusCode::CREATED, Json(resource(channel))).into_response())
}

/// `GET /api/v2/channels/{channel_id}`
#[utoipa::path(get, path = "/api/v2/channels/{channel_id}", tag = "Ada", security(("ada_bearer" = [])), params(("channel_id" = String, Path, description = "The channel's id")),
    responses((status = 200, description = "The channel", body = Channel), super::error::Errors))]
pub async fn view(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(channel_id): Path<String>,
) -> Result<Json<Channel>, AdaError> {
    let request = pb::GetChannelRequest { app_id: caller.app_id.as_str().to_owned(), channel_id };
    let answer = clients.context.clone().get_channel(request_id.grpc(request)).await.map_err(refused)?;
    Ok(Json(resource(answer.into_inner().channel.ok_or_else(AdaError::not_found)?)))
}

/// `GET /api/v2/channels/?limit=N&cursor=C&modality=M&type=custom`: `{ "data", "meta": {
/// "next_page_url" } }`, the next page's absolute URL or `null`.
#[utoipa::path(get, path = "/api/v2/channels", tag = "Ada", security(("ada_bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "1 to 100 (default 100)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "From the previous page's `next_page_url`"),
        ("modality" = Option<String>, Query, description = "`messaging` or `email`"),
        ("type" = Option<String>, Query, description = "`custom` (every Roster channel) or `native` (none)"),
    ),
    responses((status = 200, description = "A page of channels", body = ChannelPage), super::error::Errors))]
pub async fn list(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    RawQuery(raw): RawQuery,
) -> Result<Json<ChannelPage>, AdaError> {
    let (query, limit) = page_query(raw.as_deref(), 100)?;
    let wanted = query.get("modality").map(|m| modality(m, "query")).transpose()?;
    match query.get("type").map(String::as_str) {
        None | Some("custom") => {}
        Some("native") => {
            return Ok(Json(ChannelPage { data: Vec::new(), meta: super::PageMeta { next_page_url: None } }));
        }
        Some(_) => return Err(AdaError::validation("type", "query", "type must be custom or native")),
    }
    let request = pb::ListChannelsRequest {
        app_id: caller.app_id.as_str().to_owned(),
        page_token: query.get("cursor").cloned().unwrap_or_default(),
        page_size: limit,
        modality: wanted.unwrap_or(pb::ChannelModality::Unspecified).into(),
    };
    let page = clients.context.clone().list_channels(request_id.grpc(request)).await.map_err(|status| {
        match ApiError::from_status(&status).code {
            ErrorCode::InvalidPageToken => AdaError::validation("cursor", "query", "the cursor is not valid"),
            _ => refused(status),
        }
    })?;
    let page = page.into_inner();
    let next = (!page.next_page_token.is_empty()).then(|| {
        let mut next = format!("{}/api/v2/channels/?limit={limit}&cursor={}", base.0, page.next_page_token);
        if let Some(m) = query.get("modality") {
            next.push_str("&modality=");
            next.push_str(m);
        }
        next
    });
    let data = page.channels.into_iter().map(resource).collect();
    Ok(Json(ChannelPage { data, meta: super::PageMeta { next_page_url: next } }))
}
