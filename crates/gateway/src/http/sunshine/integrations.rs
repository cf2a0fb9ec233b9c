//! `/v2/apps/{appId}/integrations` (type `custom`) and their webhooks, as the official client's
//! `IntegrationsApi` and `WebhooksApi` model them. Each webhook is an event-service subscription in
//! Sunshine's format; an integration is the group its webhooks share (its id is the group id, its
//! `displayName` kept with each of them). A custom integration is created with exactly one webhook
//! and keeps at least one. A webhook's `secret` is answered when it is created, never again.
//!
//! Every trigger Sunshine documents is accepted and kept; those Roster raises are `user:update`,
//! `user:remove`, `conversation:create`, `conversation:join` and `conversation:leave`.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
};
use proto::events::v1 as events;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{
    SunshineCaller, SunshineError,
    body::{self, Sent, SunshineBody},
    participants::{page_query, window},
    schema::{Empty, Errors},
    webhooks::TRIGGERS,
};
use crate::{
    clients::{Clients, RequestId},
    http::error::incomplete,
};

/// Every trigger Sunshine v2 documents (case-sensitive).
const KNOWN_TRIGGERS: [&str; 25] = [
    "client:add",
    "client:remove",
    "client:update",
    "conversation:create",
    "conversation:join",
    "conversation:leave",
    "conversation:remove",
    "conversation:message",
    "conversation:message:delivery:channel",
    "conversation:message:delivery:failure",
    "conversation:message:delivery:user",
    "conversation:postback",
    "conversation:read",
    "conversation:referral",
    "conversation:typing",
    "switchboard:acceptControl",
    "switchboard:acceptControl:failure",
    "switchboard:offerControl",
    "switchboard:offerControl:failure",
    "switchboard:passControl",
    "switchboard:passControl:failure",
    "switchboard:releaseControl",
    "user:merge",
    "user:update",
    "user:remove",
];

/// A webhook of a custom integration.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::Webhook)]
pub struct Webhook {
    id: String,
    /// Always `v2`.
    version: &'static str,
    target: String,
    triggers: Vec<String>,
    /// Sent as `X-API-Key` with every delivery; answered when the webhook is created, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    include_full_user: bool,
    include_full_source: bool,
}

/// An integration of type `custom`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::Integration)]
pub struct Integration {
    id: String,
    /// Always `custom`.
    r#type: &'static str,
    /// Always `active`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    webhooks: Vec<Webhook>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sunshine::IntegrationAnswer)]
pub struct IntegrationAnswer {
    integration: Integration,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::IntegrationListMeta)]
pub struct ListMeta {
    has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    after_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    before_cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sunshine::IntegrationList)]
pub struct IntegrationList {
    integrations: Vec<Integration>,
    meta: ListMeta,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sunshine::WebhookAnswer)]
pub struct WebhookAnswer {
    pub(super) webhook: Webhook,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sunshine::WebhookList)]
pub struct WebhookList {
    pub(super) webhooks: Vec<Webhook>,
}

/// `POST .../integrations`: `type` `custom`, an optional `displayName` (1 to 100 characters), and
/// exactly one webhook.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::NewIntegration)]
#[allow(dead_code)] // described; read field by field
pub struct NewIntegration {
    r#type: String,
    display_name: Option<String>,
    webhooks: Vec<WebhookWrite>,
}

/// A webhook as written: `target` and `triggers` required on creation, each optional on PATCH.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::WebhookWrite)]
#[allow(dead_code)] // described; read field by field
pub struct WebhookWrite {
    target: Option<String>,
    triggers: Option<Vec<String>>,
    include_full_user: Option<bool>,
    include_full_source: Option<bool>,
}

/// `PATCH .../integrations/{id}`.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::IntegrationUpdate)]
#[allow(dead_code)] // described; read field by field
pub struct IntegrationUpdate {
    display_name: Option<String>,
}

/// A webhook's fields as sent; `None` keeps what is stored.
#[derive(Default)]
pub(super) struct WebhookInput {
    pub(super) target: Option<String>,
    pub(super) triggers: Option<Vec<String>>,
    pub(super) include_full_user: Option<bool>,
    pub(super) include_full_source: Option<bool>,
}

pub(super) fn read_webhook(
    map: &Map<String, Value>,
    path: &str,
    allow_private: bool,
) -> Result<WebhookInput, SunshineError> {
    let target = match body::string(map, &format!("{path}.target"), "target", 2048)? {
        Sent::Value(target) => {
            if crate::webhooks::guard::check_target(&target, allow_private).is_err() {
                return Err(SunshineError::bad_request(format!(
                    "{path}.target must be an http(s) URL that is not a private address"
                )));
            }
            Some(target)
        }
        Sent::Absent => None,
        Sent::Null => return Err(SunshineError::bad_request(format!("{path}.target must not be null"))),
    };
    let triggers = match map.get("triggers") {
        None => None,
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut triggers = Vec::with_capacity(items.len());
            for item in items {
                match item.as_str() {
                    Some(t) if KNOWN_TRIGGERS.contains(&t) => {
                        if !triggers.iter().any(|k: &String| k == t) {
                            triggers.push(t.to_owned());
                        }
                    }
                    _ => return Err(SunshineError::bad_request(format!("{path}.triggers holds an unknown trigger"))),
                }
            }
            Some(triggers)
        }
        Some(_) => return Err(SunshineError::bad_request(format!("{path}.triggers must be a non-empty list"))),
    };
    let flag = |key: &str| match body::boolean(map, key)? {
        Sent::Value(b) => Ok(Some(b)),
        Sent::Absent => Ok(None),
        Sent::Null => Err(SunshineError::bad_request(format!("{path}.{key} must be a boolean"))),
    };
    Ok(WebhookInput {
        target,
        triggers,
        include_full_user: flag("includeFullUser")?,
        include_full_source: flag("includeFullSource")?,
    })
}

pub(super) fn event_types(triggers: &[String]) -> Vec<String> {
    TRIGGERS.iter().filter(|(t, _)| triggers.iter().any(|g| g == t)).map(|(_, e)| (*e).to_owned()).collect()
}

pub(super) fn attributes(subscription: &events::Subscription) -> Map<String, Value> {
    serde_json::from_str(&subscription.attributes_json).unwrap_or_default()
}

pub(super) fn webhook(subscription: &events::Subscription, secret: Option<String>) -> Webhook {
    let attributes = attributes(subscription);
    let triggers = attributes
        .get("triggers")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let flag = |key: &str| attributes.get(key).and_then(Value::as_bool).unwrap_or(false);
    Webhook {
        id: subscription.id.clone(),
        version: "v2",
        target: subscription.target.clone(),
        triggers,
        secret,
        include_full_user: flag("includeFullUser"),
        include_full_source: flag("includeFullSource"),
    }
}

fn integration(id: String, webhooks: &[events::Subscription]) -> Integration {
    let display_name =
        webhooks.first().and_then(|w| attributes(w).get("displayName").and_then(Value::as_str).map(str::to_owned));
    Integration {
        id,
        r#type: "custom",
        status: "active",
        display_name,
        // The official client's `Custom` model holds exactly one webhook: the first. The others
        // are listed by `.../webhooks`.
        webhooks: webhooks.iter().take(1).map(|w| webhook(w, None)).collect(),
    }
}

pub(super) fn integration_not_found() -> SunshineError {
    SunshineError::not_found("Integration not found.")
}

/// The application's custom integrations, each with its webhooks, oldest first.
async fn all(
    clients: &Clients,
    request_id: &RequestId,
    app_id: &str,
    group: &str,
) -> Result<Vec<(String, Vec<events::Subscription>)>, SunshineError> {
    let request = events::ListSubscriptionsRequest {
        app_id: app_id.to_owned(),
        format: events::Format::Sunshine.into(),
        group_id: group.to_owned(),
    };
    let found = clients.events.clone().list_subscriptions(request_id.grpc(request)).await?.into_inner();
    let mut order = Vec::new();
    let mut groups: BTreeMap<String, Vec<events::Subscription>> = BTreeMap::new();
    for subscription in found.subscriptions {
        if !groups.contains_key(&subscription.group_id) {
            order.push(subscription.group_id.clone());
        }
        groups.entry(subscription.group_id.clone()).or_default().push(subscription);
    }
    Ok(order
        .into_iter()
        .map(|id| {
            let webhooks = groups.remove(&id).unwrap_or_default();
            (id, webhooks)
        })
        .collect())
}

pub(super) async fn one(
    clients: &Clients,
    request_id: &RequestId,
    app_id: &str,
    integration_id: &str,
) -> Result<Vec<events::Subscription>, SunshineError> {
    if !platform::ids::is_id(integration_id) {
        return Err(integration_not_found());
    }
    let mut found = all(clients, request_id, app_id, integration_id).await?;
    found.pop().map(|(_, webhooks)| webhooks).ok_or_else(integration_not_found)
}

/// Creates one webhook of `integration_id` from `input` (target and triggers required).
pub(super) async fn create_webhook(
    clients: &Clients,
    request_id: &RequestId,
    app_id: &str,
    integration_id: &str,
    display_name: Option<&str>,
    input: WebhookInput,
) -> Result<(events::Subscription, String), SunshineError> {
    let target = input.target.ok_or_else(|| SunshineError::bad_request("target is required"))?;
    let triggers = input.triggers.ok_or_else(|| SunshineError::bad_request("triggers is required"))?;
    let mut attributes = json!({
        "triggers": triggers,
        "includeFullUser": input.include_full_user.unwrap_or(false),
        "includeFullSource": input.include_full_source.unwrap_or(false),
    });
    if let Some(name) = display_name {
        attributes["displayName"] = name.into();
    }
    let subscription = events::Subscription {
        app_id: app_id.to_owned(),
        format: events::Format::Sunshine.into(),
        target,
        event_types: event_types(&triggers),
        enabled: true,
        attributes_json: attributes.to_string(),
        group_id: integration_id.to_owned(),
        ..Default::default()
    };
    let request = events::CreateSubscriptionRequest { subscription: Some(subscription) };
    let created = clients.events.clone().create_subscription(request_id.grpc(request)).await?.into_inner();
    Ok((created.subscription.ok_or_else(incomplete)?, created.secret))
}

/// `POST .../integrations`
#[utoipa::path(post, path = "/v2/apps/{app_id}/integrations", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])),
    params(("app_id" = String, Path, description = "The application")),
    request_body(content = NewIntegration, content_type = "application/json"),
    responses((status = 201, description = "The integration; its webhook's `secret` shown once", body = IntegrationAnswer), Errors))]
pub async fn create(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    SunshineBody(body): SunshineBody,
) -> Result<(StatusCode, Json<IntegrationAnswer>), SunshineError> {
    match body.get("type").and_then(Value::as_str) {
        Some("custom") => {}
        None => return Err(SunshineError::bad_request("type is required")),
        Some(_) => return Err(SunshineError::bad_request("Invalid integration type")),
    }
    let display_name = body::string(&body, "displayName", "displayName", 100)?.value();
    let hooks = match body.get("webhooks") {
        Some(Value::Array(hooks)) if hooks.len() == 1 => hooks,
        _ => return Err(SunshineError::bad_request("webhooks must hold exactly one webhook")),
    };
    let Some(hook) = hooks[0].as_object() else {
        return Err(SunshineError::bad_request("webhooks[0] must be an object"));
    };
    let input = read_webhook(hook, "webhooks[0]", clients.allow_private_targets)?;
    let app_id = caller.app_id.as_str();
    let integration_id = platform::ids::new_id();
    let (created, secret) =
        create_webhook(&clients, &request_id, app_id, &integration_id, display_name.as_deref(), input).await?;
    let mut answer = integration(integration_id, std::slice::from_ref(&created));
    answer.webhooks[0].secret = Some(secret);
    Ok((StatusCode::CREATED, Json(IntegrationAnswer { integration: answer })))
}

/// `GET .../integrations`
#[utoipa::path(get, path = "/v2/apps/{app_id}/integrations", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])),
    params(
        ("app_id" = String, Path, description = "The application"),
        ("page[after]" = Option<String>, Query, description = "An integration id"),
        ("page[before]" = Option<String>, Query, description = "An integration id"),
        ("page[size]" = Option<u32>, Query, description = "1 to 100 (default 25)"),
        ("filter[types]" = Option<String>, Query, description = "Comma-separated types; Roster keeps `custom` ones only"),
    ),
    responses((status = 200, description = "The application's custom integrations", body = IntegrationList), Errors))]
pub async fn list(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    RawQuery(raw): RawQuery,
) -> Result<Json<IntegrationList>, SunshineError> {
    let page = page_query(raw.as_deref())?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or_default())
        .map_err(|_| SunshineError::bad_request("The query string is malformed."))?;
    // `filter[types]=custom,web`, or `filter={"types": "custom,web"}` as the official client sends it.
    let mut types = None;
    for (key, value) in &pairs {
        match key.as_str() {
            "filter[types]" => types = Some(value.clone()),
            "filter" => {
                let filter: Map<String, Value> = serde_json::from_str(value)
                    .map_err(|_| SunshineError::bad_request("filter must be a JSON object"))?;
                types = filter.get("types").and_then(Value::as_str).map(str::to_owned).or(types);
            }
            _ => {}
        }
    }
    let customs_wanted = types.is_none_or(|types| types.split(',').any(|t| t.trim() == "custom"));
    let found = if customs_wanted { all(&clients, &request_id, caller.app_id.as_str(), "").await? } else { Vec::new() };
    let ids: Vec<String> = found.iter().map(|(id, _)| id.clone()).collect();
    let window = window(&ids, &page)?;
    let meta = ListMeta {
        has_more: window.has_more,
        after_cursor: window.after_cursor.map(|i| ids[i].clone()),
        before_cursor: window.before_cursor.map(|i| ids[i].clone()),
    };
    let integrations = found[window.range].iter().map(|(id, webhooks)| integration(id.clone(), webhooks)).collect();
    Ok(Json(IntegrationList { integrations, meta }))
}

/// `GET .../integrations/{integration_id}`
#[utoipa::path(get, path = "/v2/apps/{app_id}/integrations/{integration_id}", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])),
    params(("app_id" = String, Path, description = "The application"), ("integration_id" = String, Path, description = "The integration")),
    responses((status = 200, description = "The integration", body = IntegrationAnswer), Errors))]
pub async fn view(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, integration_id)): Path<(String, String)>,
) -> Result<Json<IntegrationAnswer>, SunshineError> {
    let webhooks = one(&clients, &request_id, caller.app_id.as_str(), &integration_id).await?;
    Ok(Json(IntegrationAnswer { integration: integration(integration_id, &webhooks) }))
}

/// `PATCH .../integrations/{integration_id}`: `displayName` (1 to 100 characters, or null).
#[utoipa::path(patch, path = "/v2/apps/{app_id}/integrations/{integration_id}", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])),
    params(("app_id" = String, Path, description = "The application"), ("integration_id" = String, Path, description = "The integration")),
    request_body(content = IntegrationUpdate, content_type = "application/json"),
    responses((status = 200, description = "The integration", body = IntegrationAnswer), Errors))]
pub async fn update(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, integration_id)): Path<(String, String)>,
    SunshineBody(body): SunshineBody,
) -> Result<Json<IntegrationAnswer>, SunshineError> {
    let app_id = caller.app_id.as_str();
    let display_name = body::string(&body, "displayName", "displayName", 100)?;
    let mut webhooks = one(&clients, &request_id, app_id, &integration_id).await?;
    if !matches!(display_name, Sent::Absent) {
        for webhook in &mut webhooks {
            let mut attributes = attributes(webhook);
            match &display_name {
                Sent::Value(name) => attributes.insert("displayName".into(), name.clone().into()),
                _ => attributes.remove("displayName"),
            };
            let request = events::UpdateSubscriptionRequest {
                app_id: app_id.to_owned(),
                id: webhook.id.clone(),
                attributes_json: Some(Value::Object(attributes).to_string()),
                ..Default::default()
            };
            let updated = clients.events.clone().update_subscription(request_id.grpc(request)).await?;
            *webhook = updated.into_inner().subscription.ok_or_else(incomplete)?;
        }
    }
    Ok(Json(IntegrationAnswer { integration: integration(integration_id, &webhooks) }))
}

/// `DELETE .../integrations/{integration_id}`: the integration and its webhooks; `{}`.
#[utoipa::path(delete, path = "/v2/apps/{app_id}/integrations/{integration_id}", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])),
    params(("app_id" = String, Path, description = "The application"), ("integration_id" = String, Path, description = "The integration")),
    responses((status = 200, description = "Deleted", body = Empty), Errors))]
pub async fn delete(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, integration_id)): Path<(String, String)>,
) -> Result<Json<Empty>, SunshineError> {
    let app_id = caller.app_id.as_str();
    for webhook in one(&clients, &request_id, app_id, &integration_id).await? {
        let request =
            events::DeleteSubscriptionRequest { app_id: app_id.to_owned(), id: webhook.id, keep_group_nonempty: false };
        match clients.events.clone().delete_subscription(request_id.grpc(request)).await {
            // Deleted meanwhile by another call: what this one wanted.
            Err(status) if status.code() == tonic::Code::NotFound => {}
            other => {
                other?;
            }
        }
    }
    Ok(Json(Empty {}))
}
