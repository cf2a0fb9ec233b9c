//! `/v3/users/{user_id}/metadata`: a user's string metadata, whole or by key.
//! Writes answer the items they wrote, as flat `{ "key": "value" }` objects.

use std::collections::BTreeMap;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State, rejection::BytesRejection},
};
use proto::registry::v1 as pb;
use serde_json::{Value, json};

use super::{
    SendbirdCaller,
    body::JsonBody,
    error::{self as codes, SendbirdError},
    resource::{by_user_id, metadata_strings, metadata_to_pb},
};
use crate::http::error::incomplete;
use crate::{
    auth::Caller,
    clients::{Clients, RequestId},
};

type Metadata = BTreeMap<String, String>;

async fn write(
    clients: &Clients,
    request_id: &RequestId,
    caller: &Caller,
    user_id: String,
    metadata: Metadata,
    mode: pb::MetadataWriteMode,
) -> Result<Json<Metadata>, SendbirdError> {
    let request = pb::SetMetadataRequest {
        app_id: caller.app_id.as_str().to_owned(),
        lookup: by_user_id(user_id),
        metadata: metadata_to_pb(metadata.clone()),
        mode: mode.into(),
    };
    clients.registry.clone().set_metadata(request_id.grpc(request)).await?;
    Ok(Json(metadata))
}

async fn read_all(
    clients: &Clients,
    request_id: &RequestId,
    caller: &Caller,
    user_id: String,
) -> Result<Metadata, SendbirdError> {
    let request = pb::GetUserRequest { app_id: caller.app_id.as_str().to_owned(), lookup: by_user_id(user_id) };
    let user = clients.registry.clone().get_user(request_id.grpc(request)).await?;
    Ok(metadata_strings(user.into_inner().user.ok_or_else(incomplete)?.metadata))
}

async fn delete(
    clients: &Clients,
    request_id: &RequestId,
    caller: &Caller,
    user_id: String,
    keys: Vec<String>,
) -> Result<Json<Value>, SendbirdError> {
    let request =
        pb::DeleteMetadataRequest { app_id: caller.app_id.as_str().to_owned(), lookup: by_user_id(user_id), keys };
    clients.registry.clone().delete_metadata(request_id.grpc(request)).await?;
    Ok(Json(json!({})))
}

fn required_metadata(body: &JsonBody) -> Result<Metadata, SendbirdError> {
    body.optional_string_map("metadata")?
        .ok_or_else(|| SendbirdError::bad_request(codes::MISSING_REQUIRED_PARAMETER, "\"metadata\" is required."))
}

fn write_mode(body: &JsonBody) -> Result<pb::MetadataWriteMode, SendbirdError> {
    Ok(if body.optional_bool("upsert")?.unwrap_or(false) {
        pb::MetadataWriteMode::Upsert
    } else {
        pb::MetadataWriteMode::Update
    })
}

/// `POST /v3/users/{user_id}/metadata`: new keys only.
#[utoipa::path(post, path = "/v3/users/{user_id}/metadata", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("user_id" = String, Path, description = "The user's `user_id`")),
    request_body(content = super::schema::MetadataWrite, content_type = "application/json"),
    responses((status = 200, description = "The keys written", body = BTreeMap<String, String>), super::schema::Errors))]
pub async fn create(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(user_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Metadata>, SendbirdError> {
    let body = JsonBody::parse(body)?;
    let metadata = required_metadata(&body)?;
    write(&clients, &request_id, &caller, user_id, metadata, pb::MetadataWriteMode::Create).await
}

/// `PUT /v3/users/{user_id}/metadata`: existing keys, or any with `upsert: true`.
#[utoipa::path(put, path = "/v3/users/{user_id}/metadata", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("user_id" = String, Path, description = "The user's `user_id`")),
    request_body(content = super::schema::MetadataWrite, content_type = "application/json"),
    responses((status = 200, description = "The keys written", body = BTreeMap<String, String>), super::schema::Errors))]
pub async fn update(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(user_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Metadata>, SendbirdError> {
    let body = JsonBody::parse(body)?;
    let metadata = required_metadata(&body)?;
    let mode = write_mode(&body)?;
    write(&clients, &request_id, &caller, user_id, metadata, mode).await
}

/// `GET /v3/users/{user_id}/metadata`
#[utoipa::path(get, path = "/v3/users/{user_id}/metadata", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("user_id" = String, Path, description = "The user's `user_id`")),
    responses((status = 200, description = "The user's metadata", body = BTreeMap<String, String>), super::schema::Errors))]
pub async fn view_all(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(user_id): Path<String>,
) -> Result<Json<Metadata>, SendbirdError> {
    Ok(Json(read_all(&clients, &request_id, &caller, user_id).await?))
}

/// `DELETE /v3/users/{user_id}/metadata`
#[utoipa::path(delete, path = "/v3/users/{user_id}/metadata", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("user_id" = String, Path, description = "The user's `user_id`")),
    responses((status = 200, description = "Every key deleted", body = super::schema::Empty), super::schema::Errors))]
pub async fn delete_all(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, SendbirdError> {
    delete(&clients, &request_id, &caller, user_id, Vec::new()).await
}

/// `GET /v3/users/{user_id}/metadata/{key}`
#[utoipa::path(get, path = "/v3/users/{user_id}/metadata/{key}", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("user_id" = String, Path, description = "The user's `user_id`"), ("key" = String, Path, description = "A metadata key")),
    responses((status = 200, description = "The key and its value", body = BTreeMap<String, String>), super::schema::Errors))]
pub async fn view_key(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((user_id, key)): Path<(String, String)>,
) -> Result<Json<Metadata>, SendbirdError> {
    let mut all = read_all(&clients, &request_id, &caller, user_id).await?;
    let value = all.remove(&key).ok_or_else(|| {
        SendbirdError::bad_request(codes::RESOURCE_NOT_FOUND, format!("metadata key \"{key}\" not found"))
    })?;
    Ok(Json(Metadata::from([(key, value)])))
}

/// `PUT /v3/users/{user_id}/metadata/{key}`: body `{ "value": "...", "upsert": bool }`.
#[utoipa::path(put, path = "/v3/users/{user_id}/metadata/{key}", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("user_id" = String, Path, description = "The user's `user_id`"), ("key" = String, Path, description = "A metadata key")),
    request_body(content = super::schema::MetadataValue, content_type = "application/json"),
    responses((status = 200, description = "The key and its value", body = BTreeMap<String, String>), super::schema::Errors))]
pub async fn update_key(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((user_id, key)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Metadata>, SendbirdError> {
    let body = JsonBody::parse(body)?;
    let value = body.required_string("value")?;
    let mode = write_mode(&body)?;
    write(&clients, &request_id, &caller, user_id, Metadata::from([(key, value)]), mode).await
}

/// `DELETE /v3/users/{user_id}/metadata/{key}`
#[utoipa::path(delete, path = "/v3/users/{user_id}/metadata/{key}", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("user_id" = String, Path, description = "The user's `user_id`"), ("key" = String, Path, description = "A metadata key")),
    responses((status = 200, description = "The key deleted", body = super::schema::Empty), super::schema::Errors))]
pub async fn delete_key(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((user_id, key)): Path<(String, String)>,
) -> Result<Json<Value>, SendbirdError> {
    delete(&clients, &request_id, &caller, user_id, vec![key]).await
}
