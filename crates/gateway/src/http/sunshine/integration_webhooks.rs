//! `/v2/apps/{appId}/integrations/{integrationId}/webhooks`: a custom integration's webhooks one by
//! one, as the official client's `WebhooksApi` models them (see `integrations` for what a webhook
//! is).

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use proto::events::v1 as events;
use serde_json::{Value, json};

use super::{
    SunshineCaller, SunshineError,
    body::SunshineBody,
    integrations::{
        WebhookAnswer, WebhookList, WebhookWrite, attributes, create_webhook, event_types, one, read_webhook, webhook,
    },
    schema::{Empty, Errors},
};
use crate::{
    clients::{Clients, RequestId},
    http::error::incomplete,
};

/// The webhook `webhook_id` of `integration_id`.
async fn find_webhook(
    clients: &Clients,
    request_id: &RequestId,
    app_id: &str,
    integration_id: &str,
    webhook_id: &str,
) -> Result<events::Subscription, SunshineError> {
    let webhooks = one(clients, request_id, app_id, integration_id).await?;
    webhooks.into_iter().find(|w| w.id == webhook_id).ok_or_else(|| SunshineError::not_found("Webhook not found."))
}

/// `POST .../integrations/{integration_id}/webhooks`
#[utoipa::path(post, path = "/v2/apps/{app_id}/integrations/{integration_id}/webhooks", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])),
    params(("app_id" = String, Path, description = "The application"), ("integration_id" = String, Path, description = "The integration")),
    request_body(content = WebhookWrite, content_type = "application/json"),
    responses((status = 201, description = "The webhook with its `secret` (shown once)", body = WebhookAnswer), Errors))]
pub async fn create_hook(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, integration_id)): Path<(String, String)>,
    SunshineBody(body): SunshineBody,
) -> Result<(StatusCode, Json<WebhookAnswer>), SunshineError> {
    let app_id = caller.app_id.as_str();
    let input = read_webhook(&body, "webhook", clients.allow_private_targets)?;
    let existing = one(&clients, &request_id, app_id, &integration_id).await?;
    let display_name =
        existing.first().and_then(|w| attributes(w).get("displayName").and_then(Value::as_str).map(str::to_owned));
    let (created, secret) =
        create_webhook(&clients, &request_id, app_id, &integration_id, display_name.as_deref(), input).await?;
    Ok((StatusCode::CREATED, Json(WebhookAnswer { webhook: webhook(&created, Some(secret)) })))
}

/// `GET .../integrations/{integration_id}/webhooks`
#[utoipa::path(get, path = "/v2/apps/{app_id}/integrations/{integration_id}/webhooks", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])),
    params(("app_id" = String, Path, description = "The application"), ("integration_id" = String, Path, description = "The integration")),
    responses((status = 200, description = "The integration's webhooks, without secrets", body = WebhookList), Errors))]
pub async fn list_hooks(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, integration_id)): Path<(String, String)>,
) -> Result<Json<WebhookList>, SunshineError> {
    let webhooks = one(&clients, &request_id, caller.app_id.as_str(), &integration_id).await?;
    Ok(Json(WebhookList { webhooks: webhooks.iter().map(|w| webhook(w, None)).collect() }))
}

/// `GET .../integrations/{integration_id}/webhooks/{webhook_id}`
#[utoipa::path(get, path = "/v2/apps/{app_id}/integrations/{integration_id}/webhooks/{webhook_id}", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])),
    params(("app_id" = String, Path, description = "The application"), ("integration_id" = String, Path, description = "The integration"), ("webhook_id" = String, Path, description = "The webhook")),
    responses((status = 200, description = "The webhook, without its secret", body = WebhookAnswer), Errors))]
pub async fn view_hook(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, integration_id, webhook_id)): Path<(String, String, String)>,
) -> Result<Json<WebhookAnswer>, SunshineError> {
    let found = find_webhook(&clients, &request_id, caller.app_id.as_str(), &integration_id, &webhook_id).await?;
    Ok(Json(WebhookAnswer { webhook: webhook(&found, None) }))
}

/// `PATCH .../integrations/{integration_id}/webhooks/{webhook_id}`
#[utoipa::path(patch, path = "/v2/apps/{app_id}/integrations/{integration_id}/webhooks/{webhook_id}", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])),
    params(("app_id" = String, Path, description = "The application"), ("integration_id" = String, Path, description = "The integration"), ("webhook_id" = String, Path, description = "The webhook")),
    request_body(content = WebhookWrite, content_type = "application/json"),
    responses((status = 200, description = "The webhook", body = WebhookAnswer), Errors))]
pub async fn update_hook(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, integration_id, webhook_id)): Path<(String, String, String)>,
    SunshineBody(body): SunshineBody,
) -> Result<Json<WebhookAnswer>, SunshineError> {
    let app_id = caller.app_id.as_str();
    let input = read_webhook(&body, "webhook", clients.allow_private_targets)?;
    let found = find_webhook(&clients, &request_id, app_id, &integration_id, &webhook_id).await?;
    let mut attributes = attributes(&found);
    if let Some(triggers) = &input.triggers {
        attributes.insert("triggers".into(), json!(triggers));
    }
    if let Some(flag) = input.include_full_user {
        attributes.insert("includeFullUser".into(), flag.into());
    }
    if let Some(flag) = input.include_full_source {
        attributes.insert("includeFullSource".into(), flag.into());
    }
    let request = events::UpdateSubscriptionRequest {
        app_id: app_id.to_owned(),
        id: found.id,
        target: input.target,
        set_event_types: input.triggers.is_some(),
        event_types: input.triggers.as_deref().map(event_types).unwrap_or_default(),
        enabled: None,
        attributes_json: Some(Value::Object(attributes).to_string()),
    };
    let updated = clients.events.clone().update_subscription(request_id.grpc(request)).await?;
    Ok(Json(WebhookAnswer { webhook: webhook(&updated.into_inner().subscription.ok_or_else(incomplete)?, None) }))
}

/// `DELETE .../integrations/{integration_id}/webhooks/{webhook_id}`: `{}`; an integration's last
/// webhook stays (delete the integration instead).
#[utoipa::path(delete, path = "/v2/apps/{app_id}/integrations/{integration_id}/webhooks/{webhook_id}", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])),
    params(("app_id" = String, Path, description = "The application"), ("integration_id" = String, Path, description = "The integration"), ("webhook_id" = String, Path, description = "The webhook")),
    responses((status = 200, description = "Deleted", body = Empty), Errors))]
pub async fn delete_hook(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, integration_id, webhook_id)): Path<(String, String, String)>,
) -> Result<Json<Empty>, SunshineError> {
    let app_id = caller.app_id.as_str();
    let found = find_webhook(&clients, &request_id, app_id, &integration_id, &webhook_id).await?;
    let request =
        events::DeleteSubscriptionRequest { app_id: app_id.to_owned(), id: found.id, keep_group_nonempty: true };
    clients.events.clone().delete_subscription(request_id.grpc(request)).await.map_err(|status| {
        if status.code() == tonic::Code::InvalidArgument {
            SunshineError::bad_request(
                "A custom integration keeps at least one webhook: delete the integration instead.",
            )
        } else {
            status.into()
        }
    })?;
    Ok(Json(Empty {}))
}
