//! `GET/PUT /v3/applications/settings/webhook`: the application's one Sendbird webhook, kept by
//! event-service as a subscription in Sendbird's format; and the body of each delivery.
//!
//! Sendbird signs deliveries with the master API token, which Roster never keeps in clear: they are
//! signed with the webhook's own secret instead, shown once in `signing_secret` when the webhook is
//! first saved (and again when `rotate_secret` is true). Sendbird's chat webhooks have no user
//! lifecycle categories; Roster's are `user:create`, `user:update`, `user:deactivate` (Sendbird's
//! own name, from its moderation webhooks), `user:reactivate` and `user:delete`.

use axum::{
    Json,
    body::Bytes,
    extract::{RawQuery, State, rejection::BytesRejection},
};
use proto::events::v1 as events;
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    SendbirdCaller,
    body::JsonBody,
    error::{self as codes, SendbirdError},
    query::{QueryParams, invalid},
    resource::UserResource,
    schema::Errors,
};
use crate::{
    clients::{Clients, PublicBase, RequestId},
    http::error::incomplete,
};

/// Sendbird categories and the Roster events they carry.
pub const CATEGORIES: [(&str, &str); 5] = [
    ("user:create", "user.created"),
    ("user:update", "user.updated"),
    ("user:deactivate", "user.deactivated"),
    ("user:reactivate", "user.reactivated"),
    ("user:delete", "user.deleted"),
];

/// The webhook group every Sendbird-format subscription belongs to: one per application.
const GROUP: &str = "sendbird";

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::WebhookSettings)]
pub struct WebhookSettings {
    enabled: bool,
    url: String,
    include_members: bool,
    /// Categories delivered (`*` on the way in means all of them).
    enabled_events: Vec<String>,
    include_unread_count: bool,
    /// Every category, when `display_all_webhook_categories` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    all_webhook_categories: Option<Vec<String>>,
    /// Roster's own: the key of `x-sendbird-signature` (HMAC-SHA256 of the body, hex), shown when
    /// the webhook is first saved or its secret rotated, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_secret: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::WebhookAnswer)]
pub struct WebhookAnswer {
    webhook: WebhookSettings,
}

/// `PUT /v3/applications/settings/webhook`.
#[derive(utoipa::ToSchema)]
#[schema(as = sendbird::ChooseWebhookEvents)]
#[allow(dead_code)] // described; read field by field
pub struct ChooseWebhookEvents {
    enabled: Option<bool>,
    /// http(s); required to enable.
    url: Option<String>,
    include_members: Option<bool>,
    /// Categories, or `["*"]` for all; `[]` delivers nothing.
    enabled_events: Option<Vec<String>>,
    /// Roster's own: a new signing secret, answered in `signing_secret`.
    rotate_secret: Option<bool>,
}

fn categories_of(types: &[String]) -> Vec<String> {
    CATEGORIES.iter().filter(|(_, t)| types.iter().any(|g| g == t)).map(|(c, _)| (*c).to_owned()).collect()
}

fn settings(subscription: Option<&events::Subscription>, secret: Option<String>, all: bool) -> WebhookAnswer {
    let attributes: Value =
        subscription.and_then(|s| serde_json::from_str(&s.attributes_json).ok()).unwrap_or_default();
    WebhookAnswer {
        webhook: WebhookSettings {
            enabled: subscription.is_some_and(|s| s.enabled),
            url: subscription.map(|s| s.target.clone()).unwrap_or_default(),
            include_members: attributes["include_members"].as_bool().unwrap_or(false),
            enabled_events: subscription.map(|s| categories_of(&s.event_types)).unwrap_or_default(),
            include_unread_count: false,
            all_webhook_categories: all.then(|| CATEGORIES.iter().map(|(c, _)| (*c).to_owned()).collect()),
            signing_secret: secret,
        },
    }
}

async fn current(
    clients: &Clients,
    request_id: &RequestId,
    app_id: &str,
) -> Result<Option<events::Subscription>, SendbirdError> {
    let request = events::ListSubscriptionsRequest {
        app_id: app_id.to_owned(),
        format: events::Format::Sendbird.into(),
        group_id: GROUP.into(),
    };
    let found = clients.events.clone().list_subscriptions(request_id.grpc(request)).await?;
    Ok(found.into_inner().subscriptions.into_iter().next())
}

/// `GET /v3/applications/settings/webhook`
#[utoipa::path(get, path = "/v3/applications/settings/webhook", tag = "Sendbird", security(("sendbird_api_token" = [])),
    params(("display_all_webhook_categories" = Option<bool>, Query, description = "Also list every category")),
    responses((status = 200, description = "The application's webhook", body = WebhookAnswer), Errors))]
pub async fn view(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    RawQuery(raw): RawQuery,
) -> Result<Json<WebhookAnswer>, SendbirdError> {
    let query = QueryParams::parse(raw.as_deref())?;
    let all = query.bool("display_all_webhook_categories")?.unwrap_or(false);
    let subscription = current(&clients, &request_id, caller.app_id.as_str()).await?;
    Ok(Json(settings(subscription.as_ref(), None, all)))
}

/// `PUT /v3/applications/settings/webhook`
#[utoipa::path(put, path = "/v3/applications/settings/webhook", tag = "Sendbird", security(("sendbird_api_token" = [])),
    request_body(content = ChooseWebhookEvents, content_type = "application/json"),
    responses((status = 200, description = "The webhook as saved", body = WebhookAnswer), Errors))]
pub async fn update(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<WebhookAnswer>, SendbirdError> {
    if body.as_ref().is_ok_and(|b| b.iter().all(u8::is_ascii_whitespace)) {
        // No body at all says nothing to change: Sendbird requires `enabled`.
        return Err(SendbirdError::bad_request(codes::MISSING_REQUIRED_PARAMETER, "\"enabled\" is required."));
    }
    let body = JsonBody::parse(body)?;
    let app_id = caller.app_id.as_str().to_owned();
    let existing = current(&clients, &request_id, &app_id).await?;
    let url = body.optional_string("url")?.or_else(|| existing.as_ref().map(|s| s.target.clone())).unwrap_or_default();
    let enabled = body.optional_bool("enabled")?.or(existing.as_ref().map(|s| s.enabled)).unwrap_or(!url.is_empty());
    let include_members = body.optional_bool("include_members")?;
    let rotate = body.optional_bool("rotate_secret")?.unwrap_or(false);
    let event_types = match body.optional_string_list("enabled_events")? {
        None => existing.as_ref().map(|s| s.event_types.clone()).unwrap_or_default(),
        Some(list) if list.iter().any(|c| c == "*") => CATEGORIES.iter().map(|(_, t)| (*t).to_owned()).collect(),
        Some(list) => list
            .iter()
            .map(|c| CATEGORIES.iter().find(|(name, _)| name == c).map(|(_, t)| (*t).to_owned()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("enabled_events"))?,
    };
    if !url.is_empty() && crate::webhooks::guard::check_target(&url, clients.allow_private_targets).is_err() {
        return Err(invalid("url"));
    }
    if url.is_empty() {
        if enabled {
            return Err(SendbirdError::bad_request(codes::MISSING_REQUIRED_PARAMETER, "\"url\" is required."));
        }
        if existing.is_none() {
            // Off, and nowhere to send: nothing to keep.
            return Ok(Json(settings(None, None, false)));
        }
    }
    let mut attributes: Value =
        existing.as_ref().and_then(|s| serde_json::from_str(&s.attributes_json).ok()).unwrap_or_else(|| json!({}));
    if let Some(include_members) = include_members {
        attributes["include_members"] = include_members.into();
    }
    let refuse_url = |status: tonic::Status| match platform::ApiError::from_status(&status).field.as_deref() {
        Some("target") => invalid("url"),
        _ => status.into(),
    };
    let mut events_client = clients.events.clone();
    let (saved, secret) = match existing {
        None => {
            let subscription = events::Subscription {
                app_id: app_id.clone(),
                format: events::Format::Sendbird.into(),
                target: url,
                event_types,
                enabled,
                attributes_json: attributes.to_string(),
                group_id: GROUP.into(),
                ..Default::default()
            };
            let request = events::CreateSubscriptionRequest { subscription: Some(subscription) };
            let created = events_client.create_subscription(request_id.grpc(request)).await.map_err(refuse_url)?;
            let created = created.into_inner();
            (created.subscription.ok_or_else(incomplete)?, Some(created.secret))
        }
        Some(existing) => {
            let request = events::UpdateSubscriptionRequest {
                app_id: app_id.clone(),
                id: existing.id.clone(),
                target: (!url.is_empty()).then_some(url),
                event_types,
                set_event_types: true,
                enabled: Some(enabled),
                attributes_json: Some(attributes.to_string()),
            };
            let updated = events_client.update_subscription(request_id.grpc(request)).await.map_err(refuse_url)?;
            let secret = if rotate {
                let request = events::RotateSubscriptionSecretRequest { app_id, id: existing.id };
                Some(events_client.rotate_subscription_secret(request_id.grpc(request)).await?.into_inner().secret)
            } else {
                None
            };
            (updated.into_inner().subscription.ok_or_else(incomplete)?, secret)
        }
    };
    Ok(Json(settings(Some(&saved), secret, false)))
}

/// The body of a delivery: `{category, user, app_id, created_at, event_id}`; `None` for an event
/// this format has no category for.
pub fn delivery_body(event: &events::Event, base: &PublicBase) -> Option<Value> {
    let (category, _) = CATEGORIES.iter().find(|(_, t)| *t == event.r#type)?;
    let user = UserResource::new(event.user.clone()?, base);
    Some(json!({
        "category": category,
        "user": user,
        "app_id": event.app_id,
        "created_at": event.occurred_at,
        "event_id": event.id,
    }))
}
