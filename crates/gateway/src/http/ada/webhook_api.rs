//! Ada's Webhooks API (`/api/v2/webhooks/`): endpoints an application's events are posted to,
//! signed Svix-style with a `whsec_` secret. Each endpoint is an event-service subscription in
//! Ada's format; `event_filters` of `[]` means every event Ada names.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
};
use proto::events::v1 as events;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{AdaBody, AdaCaller, AdaError, PageMeta, page_query, webhooks::EVENT_TYPES};
use crate::{
    clients::{Clients, PublicBase, RequestId},
    http::error::incomplete,
};

/// An endpoint events are posted to.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ada::Webhook)]
pub struct Webhook {
    id: String,
    url: String,
    description: String,
    /// Event names delivered; `[]` is all of them.
    event_filters: Vec<String>,
    enabled: bool,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ada::WebhookPage)]
pub struct WebhookPage {
    data: Vec<Webhook>,
    meta: PageMeta,
}

/// `POST` / `PATCH`: `url` required on creation.
#[derive(utoipa::ToSchema)]
#[schema(as = ada::WebhookWrite)]
#[allow(dead_code)] // described; read field by field
pub struct WebhookWrite {
    url: Option<String>,
    description: Option<String>,
    event_filters: Option<Vec<String>>,
    enabled: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ada::WebhookSecret)]
pub struct WebhookSecret {
    /// `whsec_` and the base64 key.
    key: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ada::EventType)]
pub struct EventType {
    name: &'static str,
    description: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ada::EventTypes)]
pub struct EventTypes {
    data: Vec<EventType>,
}

/// event-service's refusal of a write, its field named as Ada's body names it.
fn refused(status: tonic::Status) -> AdaError {
    let error = platform::ApiError::from_status(&status);
    match (error.code, error.field.as_deref()) {
        (platform::ErrorCode::InvalidArgument | platform::ErrorCode::MissingField, Some("target")) => {
            AdaError::validation("url", "body", error.message.replacen("target", "url", 1))
        }
        _ => super::refused(status),
    }
}

fn webhook(subscription: events::Subscription) -> Webhook {
    let attributes: Map<String, Value> = serde_json::from_str(&subscription.attributes_json).unwrap_or_default();
    let filters = attributes
        .get("event_filters")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    Webhook {
        id: subscription.id,
        url: subscription.target,
        description: attributes.get("description").and_then(Value::as_str).unwrap_or_default().to_owned(),
        event_filters: filters,
        enabled: subscription.enabled,
        created_at: platform::time::iso8601_offset(subscription.created_at),
        updated_at: platform::time::iso8601_offset(subscription.updated_at),
    }
}

/// The fields a write sets, checked in Ada's terms.
struct Write {
    url: Option<String>,
    description: Option<String>,
    event_filters: Option<Vec<String>>,
    enabled: Option<bool>,
}

fn read(body: &AdaBody, allow_private: bool) -> Result<Write, AdaError> {
    let url = body.optional_string("url")?;
    if let Some(url) = &url
        && crate::webhooks::guard::check_target(url, allow_private).is_err()
    {
        return Err(AdaError::validation("url", "body", "url must be an http(s) URL that is not a private address"));
    }
    let description = body.optional_string("description")?;
    if description.as_ref().is_some_and(|d| d.chars().count() > 1000) {
        return Err(AdaError::validation("description", "body", "description is longer than 1000 characters"));
    }
    let event_filters = match body.get("event_filters") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|item| match item.as_str() {
                    Some(name) if EVENT_TYPES.iter().any(|(n, _)| *n == name) => Ok(name.to_owned()),
                    _ => {
                        Err(AdaError::validation("event_filters", "body", "event_filters holds an unknown event type"))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(AdaError::validation("event_filters", "body", "event_filters must be a list")),
    };
    let enabled = match body.get("enabled") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(AdaError::validation("enabled", "body", "enabled must be a boolean")),
    };
    Ok(Write { url, description, event_filters, enabled })
}

/// Roster event types for Ada's `event_filters` (`[]`: every one Ada names).
fn event_types(filters: &[String]) -> Vec<String> {
    EVENT_TYPES
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| f == name))
        .map(|(_, t)| (*t).to_owned())
        .collect()
}

async fn find(
    clients: &Clients,
    request_id: &RequestId,
    app_id: &str,
    id: String,
) -> Result<events::Subscription, AdaError> {
    let request = events::GetSubscriptionRequest { app_id: app_id.to_owned(), id };
    let found = clients.events.clone().get_subscription(request_id.grpc(request)).await?.into_inner();
    found.subscription.filter(|s| s.format() == events::Format::Ada).ok_or_else(AdaError::not_found)
}

/// `POST /api/v2/webhooks/`
#[utoipa::path(post, path = "/api/v2/webhooks", tag = "Ada", security(("ada_bearer" = [])),
    request_body(content = WebhookWrite, content_type = "application/json"),
    responses((status = 201, description = "The endpoint (its secret: `GET .../secret`)", body = Webhook), super::error::Errors))]
pub async fn create(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    body: AdaBody,
) -> Result<(StatusCode, Json<Webhook>), AdaError> {
    let write = read(&body, clients.allow_private_targets)?;
    let url = write.url.ok_or_else(|| AdaError::validation("url", "body", "url is required"))?;
    let filters = write.event_filters.unwrap_or_default();
    let attributes = json!({ "description": write.description.unwrap_or_default(), "event_filters": filters });
    let subscription = events::Subscription {
        app_id: caller.app_id.as_str().to_owned(),
        format: events::Format::Ada.into(),
        target: url,
        event_types: event_types(&filters),
        enabled: write.enabled.unwrap_or(true),
        attributes_json: attributes.to_string(),
        ..Default::default()
    };
    let request = events::CreateSubscriptionRequest { subscription: Some(subscription) };
    let created = clients.events.clone().create_subscription(request_id.grpc(request)).await.map_err(refused)?;
    Ok((StatusCode::CREATED, Json(webhook(created.into_inner().subscription.ok_or_else(incomplete)?))))
}

/// `GET /api/v2/webhooks/`
#[utoipa::path(get, path = "/api/v2/webhooks", tag = "Ada", security(("ada_bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "1 to 100 (default 100)"),
        ("cursor" = Option<String>, Query, description = "The `next_page_url`'s cursor"),
    ),
    responses((status = 200, description = "The application's endpoints, oldest first", body = WebhookPage), super::error::Errors))]
pub async fn list(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    RawQuery(raw): RawQuery,
) -> Result<Json<WebhookPage>, AdaError> {
    let (query, limit) = page_query(raw.as_deref(), 100)?;
    let request = events::ListSubscriptionsRequest {
        app_id: caller.app_id.as_str().to_owned(),
        format: events::Format::Ada.into(),
        group_id: String::new(),
    };
    let all = clients.events.clone().list_subscriptions(request_id.grpc(request)).await?.into_inner().subscriptions;
    let start = match query.get("cursor") {
        None => 0,
        Some(cursor) => all
            .iter()
            .position(|s| &s.id == cursor)
            .map(|i| i + 1)
            .ok_or_else(|| AdaError::validation("cursor", "query", "the cursor is not valid"))?,
    };
    let page: Vec<events::Subscription> = all.iter().skip(start).take(limit as usize).cloned().collect();
    let next_page_url = (start + page.len() < all.len())
        .then(|| page.last().map(|last| format!("{}/api/v2/webhooks/?limit={limit}&cursor={}", base.0, last.id)))
        .flatten();
    Ok(Json(WebhookPage { data: page.into_iter().map(webhook).collect(), meta: PageMeta { next_page_url } }))
}

/// `GET /api/v2/webhooks/{id}`
#[utoipa::path(get, path = "/api/v2/webhooks/{id}", tag = "Ada", security(("ada_bearer" = [])),
    params(("id" = String, Path, description = "The endpoint")),
    responses((status = 200, description = "The endpoint", body = Webhook), super::error::Errors))]
pub async fn view(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, AdaError> {
    Ok(Json(webhook(find(&clients, &request_id, caller.app_id.as_str(), id).await?)))
}

/// `PATCH /api/v2/webhooks/{id}`
#[utoipa::path(patch, path = "/api/v2/webhooks/{id}", tag = "Ada", security(("ada_bearer" = [])),
    params(("id" = String, Path, description = "The endpoint")),
    request_body(content = WebhookWrite, content_type = "application/json"),
    responses((status = 200, description = "The endpoint", body = Webhook), super::error::Errors))]
pub async fn update(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(id): Path<String>,
    body: AdaBody,
) -> Result<Json<Webhook>, AdaError> {
    let app_id = caller.app_id.as_str();
    let write = read(&body, clients.allow_private_targets)?;
    let found = find(&clients, &request_id, app_id, id).await?;
    let mut attributes: Map<String, Value> = serde_json::from_str(&found.attributes_json).unwrap_or_default();
    if let Some(description) = write.description {
        attributes.insert("description".into(), description.into());
    }
    if let Some(filters) = &write.event_filters {
        attributes.insert("event_filters".into(), json!(filters));
    }
    let request = events::UpdateSubscriptionRequest {
        app_id: app_id.to_owned(),
        id: found.id,
        target: write.url,
        set_event_types: write.event_filters.is_some(),
        event_types: write.event_filters.as_deref().map(event_types).unwrap_or_default(),
        enabled: write.enabled,
        attributes_json: Some(Value::Object(attributes).to_string()),
    };
    let updated = clients.events.clone().update_subscription(request_id.grpc(request)).await.map_err(refused)?;
    Ok(Json(webhook(updated.into_inner().subscription.ok_or_else(incomplete)?)))
}

/// `DELETE /api/v2/webhooks/{id}`: 204.
#[utoipa::path(delete, path = "/api/v2/webhooks/{id}", tag = "Ada", security(("ada_bearer" = [])),
    params(("id" = String, Path, description = "The endpoint")),
    responses((status = 204, description = "Deleted"), super::error::Errors))]
pub async fn delete(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(id): Path<String>,
) -> Result<StatusCode, AdaError> {
    let app_id = caller.app_id.as_str();
    let found = find(&clients, &request_id, app_id, id).await?;
    let request =
        events::DeleteSubscriptionRequest { app_id: app_id.to_owned(), id: found.id, keep_group_nonempty: false };
    clients.events.clone().delete_subscription(request_id.grpc(request)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v2/webhooks/{id}/secret/`
#[utoipa::path(get, path = "/api/v2/webhooks/{id}/secret", tag = "Ada", security(("ada_bearer" = [])),
    params(("id" = String, Path, description = "The endpoint")),
    responses((status = 200, description = "The signing secret", body = WebhookSecret), super::error::Errors))]
pub async fn secret(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(id): Path<String>,
) -> Result<Json<WebhookSecret>, AdaError> {
    let app_id = caller.app_id.as_str();
    let found = find(&clients, &request_id, app_id, id).await?;
    let request = events::GetSubscriptionSecretRequest { app_id: app_id.to_owned(), id: found.id };
    let key = clients.events.clone().get_subscription_secret(request_id.grpc(request)).await?.into_inner().secret;
    Ok(Json(WebhookSecret { key }))
}

/// `POST /api/v2/webhooks/{id}/secret/rotate/`: a new secret (read it with `GET .../secret`); `{}`.
/// A caller-chosen `key` is refused: secrets are generated.
#[utoipa::path(post, path = "/api/v2/webhooks/{id}/secret/rotate", tag = "Ada", security(("ada_bearer" = [])),
    params(("id" = String, Path, description = "The endpoint")),
    responses((status = 200, description = "Rotated", body = Object), super::error::Errors))]
pub async fn rotate(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(id): Path<String>,
    body: AdaBody,
) -> Result<Json<Value>, AdaError> {
    if body.optional_string("key")?.is_some() {
        return Err(AdaError::validation("key", "body", "a chosen key is not supported: leave it out to generate one"));
    }
    let app_id = caller.app_id.as_str();
    let found = find(&clients, &request_id, app_id, id).await?;
    let request = events::RotateSubscriptionSecretRequest { app_id: app_id.to_owned(), id: found.id };
    clients.events.clone().rotate_subscription_secret(request_id.grpc(request)).await?;
    Ok(Json(json!({})))
}

/// `GET /api/v2/webhooks/event-types/`
#[utoipa::path(get, path = "/api/v2/webhooks/event-types", tag = "Ada", security(("ada_bearer" = [])),
    responses((status = 200, description = "The events an endpoint may filter on", body = EventTypes), super::error::Errors))]
pub async fn event_types_list(AdaCaller(_caller): AdaCaller) -> Json<EventTypes> {
    let describe = |name: &str| match name {
        "v1.end_user.created" => "An end user was created.",
        "v1.end_user.updated" => "An end user's profile changed.",
        "v1.conversation.created" => "A conversation started.",
        _ => "A conversation ended.",
    };
    Json(EventTypes {
        data: EVENT_TYPES.iter().map(|(name, _)| EventType { name, description: describe(name) }).collect(),
    })
}
