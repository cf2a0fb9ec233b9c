//! `/v2/apps/{appId}/keys`: app keys, token-service's. The secret is answered on creation only.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use proto::token::v1 as pb;
use serde::Serialize;

use super::{
    SunshineCaller, SunshineError,
    body::{self, SunshineBody},
};
use crate::clients::{Clients, RequestId};
use crate::http::error::incomplete;

/// An app key; its `secret` only in the answer that created it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::AppKey)]
pub struct Key {
    id: String,
    display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

/// `{ "key": {...} }`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sunshine::AppKeyAnswer)]
pub struct KeyAnswer {
    key: Key,
}

/// `{ "keys": [...] }`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sunshine::AppKeyList)]
pub struct KeyList {
    keys: Vec<Key>,
}

/// `POST .../keys`.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::NewAppKey)]
#[allow(dead_code)] // described; the body is read by `body::string`
pub struct NewKey {
    /// 1 to 100 characters.
    display_name: String,
}

fn key(key: pb::AppKey) -> Key {
    Key { id: key.id, display_name: key.display_name, secret: None }
}

/// `POST .../keys` `{ "displayName" }` (1 to 100 characters): 201 `{ "key": { "id",
/// "displayName", "secret" } }`.
#[utoipa::path(post, path = "/v2/apps/{app_id}/keys", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application")),
    request_body(content = NewKey, content_type = "application/json"),
    responses((status = 201, description = "The new key with its secret (shown once)", body = KeyAnswer), super::schema::Errors))]
pub async fn create(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    SunshineBody(body): SunshineBody,
) -> Result<(StatusCode, Json<KeyAnswer>), SunshineError> {
    let display_name = body::string(&body, "displayName", "displayName", 100)?
        .value()
        .ok_or_else(|| SunshineError::bad_request("displayName is required"))?;
    let request = pb::CreateAppKeyRequest { app_id: caller.app_id.as_str().to_owned(), display_name };
    let created = clients.token.clone().create_app_key(request_id.grpc(request)).await?;
    let created = created.into_inner();
    let key = Key { secret: Some(created.secret), ..key(created.key.ok_or_else(incomplete)?) };
    Ok((StatusCode::CREATED, Json(KeyAnswer { key })))
}

/// `GET .../keys`: `{ "keys": [...] }`, without secrets.
#[utoipa::path(get, path = "/v2/apps/{app_id}/keys", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application")),
    responses((status = 200, description = "The application's keys, without secrets", body = KeyList), super::schema::Errors))]
pub async fn list(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
) -> Result<Json<KeyList>, SunshineError> {
    let request = pb::ListAppKeysRequest { app_id: caller.app_id.as_str().to_owned() };
    let keys = clients.token.clone().list_app_keys(request_id.grpc(request)).await?;
    Ok(Json(KeyList { keys: keys.into_inner().keys.into_iter().map(key).collect() }))
}

/// `GET .../keys/{keyId}`: `{ "key": { "id", "displayName" } }`.
#[utoipa::path(get, path = "/v2/apps/{app_id}/keys/{key_id}", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application"), ("key_id" = String, Path, description = "The app key's id")),
    responses((status = 200, description = "The key, without its secret", body = KeyAnswer), super::schema::Errors))]
pub async fn view(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, key_id)): Path<(String, String)>,
) -> Result<Json<KeyAnswer>, SunshineError> {
    let request = pb::GetAppKeyRequest { app_id: caller.app_id.as_str().to_owned(), key_id };
    let found = clients.token.clone().get_app_key(request_id.grpc(request)).await?;
    Ok(Json(KeyAnswer { key: key(found.into_inner().key.ok_or_else(incomplete)?) }))
}

/// `DELETE .../keys/{keyId}`: `{}`; the key's Basic credential and every JWT it signed stop
/// working at once on this gateway (its remembered callers of the application are dropped) and
/// within `gateway.caller_cache_ms` on every other replica (a key may delete itself).
#[utoipa::path(delete, path = "/v2/apps/{app_id}/keys/{key_id}", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application"), ("key_id" = String, Path, description = "The app key's id")),
    responses((status = 200, description = "Deleted: its credentials stop working", body = super::schema::Empty), super::schema::Errors))]
pub async fn delete(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, key_id)): Path<(String, String)>,
) -> Result<Json<super::schema::Empty>, SunshineError> {
    let request = pb::DeleteAppKeyRequest { app_id: caller.app_id.as_str().to_owned(), key_id };
    clients.token.clone().delete_app_key(request_id.grpc(request)).await?;
    clients.callers.forget_app(&caller.app_id);
    Ok(Json(super::schema::Empty {}))
}
