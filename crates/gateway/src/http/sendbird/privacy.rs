//! `/v3/privacy/gdpr`: Sendbird's GDPR requests. `delete` erases up to 100 users from every
//! service; `access` builds a downloadable JSON export of one user's data. Both are carried out
//! by the registry's worker: `status` is `processing`, then `done`. A request that ended keeps no
//! personal data, so its `user_id`/`user_ids` read empty from then on; an export is served at
//! `files.url` (without credentials: the URL carries an unguessable key) until
//! `files.expires_at`.

use std::collections::HashMap;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, RawQuery, State, rejection::BytesRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use proto::registry::v1 as pb;
use serde::Serialize;

use super::{
    SendbirdCaller,
    body::JsonBody,
    error::{self as codes, SendbirdError},
    query::{QueryParams, invalid},
    schema::{Empty, Errors},
};
use crate::{
    clients::{Clients, PublicBase, RequestId},
    http::error::incomplete,
};

const CHANNEL_DELETE_OPTIONS: [&str; 3] = ["do_not_delete", "1_on_1", "all"];

/// Sendbird's GDPR request resource.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::GdprRequest)]
pub struct GdprRequest {
    request_id: String,
    /// `delete` or `access`.
    action: &'static str,
    /// `processing`, `done`, `cancelled` or `failed`.
    status: &'static str,
    /// `access` requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    /// `delete` requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_delete_option: Option<String>,
    files: GdprFiles,
    /// Milliseconds.
    created_at: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::GdprFiles)]
pub struct GdprFiles {
    /// The export of a done `access` request; empty otherwise.
    url: String,
    /// Milliseconds; 0 when there is nothing to download.
    expires_at: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::GdprRequestList)]
pub struct GdprRequestList {
    requests: Vec<GdprRequest>,
    /// Empty on the last page.
    next: String,
}

/// `POST /v3/privacy/gdpr`.
#[derive(utoipa::ToSchema)]
#[schema(as = sendbird::RegisterGdprRequest)]
#[allow(dead_code)] // described; read field by field
pub struct RegisterGdprRequest {
    /// `delete` (the default) or `access`.
    action: Option<String>,
    /// `access`: the one user.
    user_id: Option<String>,
    /// `delete`: 1 to 100 users.
    user_ids: Option<Vec<String>>,
    /// `delete`: `do_not_delete` (the default), `1_on_1` or `all`; kept and shown back (Roster
    /// keeps no chat channels).
    channel_delete_option: Option<String>,
}

fn resource(request: pb::PrivacyRequest, base: &PublicBase) -> GdprRequest {
    let erase = request.action() == pb::PrivacyAction::Erase;
    let status = match request.status() {
        pb::PrivacyStatus::Done => "done",
        pb::PrivacyStatus::Cancelled => "cancelled",
        pb::PrivacyStatus::Failed => "failed",
        _ => "processing",
    };
    let user_ids: Vec<String> = request
        .subjects
        .iter()
        .filter_map(|s| match &s.key {
            Some(pb::privacy_subject::Key::User(pb::UserLookup { key: Some(pb::user_lookup::Key::UserId(id)) })) => {
                Some(id.clone())
            }
            _ => None,
        })
        .collect();
    let files = match (&request.export_key, &request.export_expires_at) {
        (Some(key), Some(expires_at)) => GdprFiles {
            url: format!("{}/privacy_exports/{}/{}/{key}.json", base.0, request.app_id, request.id),
            expires_at: proto::timestamp_to_millis(expires_at),
        },
        _ => GdprFiles { url: String::new(), expires_at: 0 },
    };
    GdprRequest {
        request_id: request.id,
        action: if erase { "delete" } else { "access" },
        status,
        user_id: (!erase).then(|| user_ids.first().cloned().unwrap_or_default()),
        channel_delete_option: erase.then(|| request.options.get("channel_delete_option").cloned()).flatten(),
        user_ids: erase.then_some(user_ids),
        files,
        created_at: request.created_at.as_ref().map_or(0, proto::timestamp_to_millis),
    }
}

fn subject(user_id: String) -> pb::PrivacySubject {
    pb::PrivacySubject {
        key: Some(pb::privacy_subject::Key::User(pb::UserLookup { key: Some(pb::user_lookup::Key::UserId(user_id)) })),
    }
}

/// `POST /v3/privacy/gdpr`
#[utoipa::path(post, path = "/v3/privacy/gdpr", tag = "Sendbird", security(("sendbird_api_token" = [])),
    request_body(content = RegisterGdprRequest, content_type = "application/json"),
    responses((status = 200, description = "Registered: `status` is `processing` until the worker is done", body = GdprRequest), Errors))]
pub async fn register(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<GdprRequest>, SendbirdError> {
    let body = JsonBody::parse(body)?;
    let action = body.optional_string("action")?.unwrap_or_else(|| "delete".into());
    let mut options = HashMap::new();
    let (action, subjects) = match action.as_str() {
        "delete" => {
            let mut ids = body.optional_string_list("user_ids")?.unwrap_or_default();
            ids.extend(body.optional_string("user_id")?);
            if ids.is_empty() {
                let message = "\"user_ids\" is required.";
                return Err(SendbirdError::bad_request(codes::MISSING_REQUIRED_PARAMETER, message));
            }
            if ids.len() > 100 {
                return Err(invalid("user_ids"));
            }
            let option = body.optional_string("channel_delete_option")?.unwrap_or_else(|| "do_not_delete".into());
            if !CHANNEL_DELETE_OPTIONS.contains(&option.as_str()) {
                return Err(invalid("channel_delete_option"));
            }
            options.insert("channel_delete_option".to_owned(), option);
            (pb::PrivacyAction::Erase, ids.into_iter().map(subject).collect())
        }
        "access" => {
            let Some(user_id) = body.optional_string("user_id")? else {
                let message = "\"user_id\" is required.";
                return Err(SendbirdError::bad_request(codes::MISSING_REQUIRED_PARAMETER, message));
            };
            (pb::PrivacyAction::Export, vec![subject(user_id)])
        }
        _ => return Err(invalid("action")),
    };
    let request = pb::CreatePrivacyRequestRequest {
        app_id: caller.app_id.as_str().to_owned(),
        action: action.into(),
        subjects,
        options,
    };
    let created = clients.registry.clone().create_privacy_request(request_id.grpc(request)).await?;
    Ok(Json(resource(created.into_inner().request.ok_or_else(incomplete)?, &base)))
}

/// `GET /v3/privacy/gdpr`
#[utoipa::path(get, path = "/v3/privacy/gdpr", tag = "Sendbird", security(("sendbird_api_token" = [])),
    params(
        ("token" = Option<String>, Query, description = "The page token a previous page answered in `next`"),
        ("limit" = Option<u32>, Query, description = "1 to 100 (default 10)", minimum = 1, maximum = 100),
    ),
    responses((status = 200, description = "A page of the application's GDPR requests", body = GdprRequestList), Errors))]
pub async fn list(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    RawQuery(raw): RawQuery,
) -> Result<Json<GdprRequestList>, SendbirdError> {
    let query = QueryParams::parse(raw.as_deref())?;
    let request = pb::ListPrivacyRequestsRequest {
        app_id: caller.app_id.as_str().to_owned(),
        page_token: query.string("token").unwrap_or_default(),
        page_size: query.int("limit", 1..=100, 10)?,
    };
    let page = clients.registry.clone().list_privacy_requests(request_id.grpc(request)).await.map_err(|status| {
        match platform::ApiError::from_status(&status).code {
            platform::ErrorCode::InvalidPageToken => invalid("token"),
            _ => status.into(),
        }
    })?;
    let page = page.into_inner();
    let requests = page.requests.into_iter().map(|r| resource(r, &base)).collect();
    Ok(Json(GdprRequestList { requests, next: page.next_page_token }))
}

/// `GET /v3/privacy/gdpr/{request_id}`
#[utoipa::path(get, path = "/v3/privacy/gdpr/{request_id}", tag = "Sendbird", security(("sendbird_api_token" = [])),
    params(("request_id" = String, Path, description = "The request's id")),
    responses((status = 200, description = "The request", body = GdprRequest), Errors))]
pub async fn view(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    Path(id): Path<String>,
) -> Result<Json<GdprRequest>, SendbirdError> {
    let request = pb::GetPrivacyRequestRequest { app_id: caller.app_id.as_str().to_owned(), id };
    let found = clients.registry.clone().get_privacy_request(request_id.grpc(request)).await?;
    Ok(Json(resource(found.into_inner().request.ok_or_else(incomplete)?, &base)))
}

/// `DELETE /v3/privacy/gdpr/{request_id}`: cancels a request the worker has not taken yet.
#[utoipa::path(delete, path = "/v3/privacy/gdpr/{request_id}", tag = "Sendbird", security(("sendbird_api_token" = [])),
    params(("request_id" = String, Path, description = "The request's id")),
    responses((status = 200, description = "Cancelled", body = Empty), Errors))]
pub async fn cancel(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(id): Path<String>,
) -> Result<Json<Empty>, SendbirdError> {
    let request = pb::CancelPrivacyRequestRequest { app_id: caller.app_id.as_str().to_owned(), id };
    clients.registry.clone().cancel_privacy_request(request_id.grpc(request)).await?;
    Ok(Json(Empty {}))
}

/// `GET /privacy_exports/{app_id}/{request_id}/{key}.json`: an access request's export, without
/// credentials (its key is the secret), until it expires.
#[utoipa::path(get, path = "/privacy_exports/{app_id}/{request_id}/{file}", tag = "Sendbird",
    params(
        ("app_id" = String, Path, description = "The application"),
        ("request_id" = String, Path, description = "The GDPR request"),
        ("file" = String, Path, description = "`<key>.json`, as `files.url` names it"),
    ),
    responses(
        (status = 200, description = "The export: what Roster holds of the user", content_type = "application/json", body = Object),
        (status = 404, description = "No such export, or it expired"),
        (status = 503, description = "The registry is unavailable"),
    ))]
pub async fn export(
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((app_id, id, file)): Path<(String, String, String)>,
) -> Response {
    let Some(key) = file.strip_suffix(".json") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let request = pb::GetPrivacyExportRequest { app_id, id, key: key.to_owned() };
    match clients.registry.clone().get_privacy_export(request_id.grpc(request)).await {
        Ok(export) => (
            [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "private, no-store")],
            export.into_inner().data,
        )
            .into_response(),
        Err(status) if matches!(status.code(), tonic::Code::NotFound | tonic::Code::InvalidArgument) => {
            StatusCode::NOT_FOUND.into_response()
        }
        Err(status) => {
            tracing::warn!(code = ?status.code(), "privacy export unavailable");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
