//! `/v2/apps/{appId}/keys`: app keys, token-service's. The secret is answered on creation only.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use proto::token::v1 as pb;
use serde_json::{Value, json};

use super::{
    SunshineCaller, SunshineError,
    body::{self, SunshineBody},
};
use crate::clients::{Clients, RequestId};
use crate::http::error::incomplete;

fn key(key: pb::AppKey) -> Value {
    json!({ "id": key.id, "displayName": key.display_name })
}

/// `POST .../keys` `{ "displayName" }` (1 to 100 characters): 201 `{ "key": { "id",
/// "displayName", "secret" } }`.
pub async fn create(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    SunshineBody(body): SunshineBody,
) -> Result<(StatusCode, Json<Value>), SunshineError> {
    let display_name = body::string(&body, "displayName", "displayName", 100)?
        .value()
        .ok_or_else(|| SunshineError::bad_request("displayName is required"))?;
    let request = pb::CreateAppKeyRequest { app_id: caller.app_id.as_str().to_owned(), display_name };
    let created = clients.token.clone().create_app_key(request_id.grpc(request)).await?;
    let created = created.into_inner();
    let mut answer = key(created.key.ok_or_else(incomplete)?);
    answer["secret"] = created.secret.into();
    Ok((StatusCode::CREATED, Json(json!({ "key": answer }))))
}

/// `GET .../keys`: `{ "keys": [...] }`, without secrets.
pub async fn list(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
) -> Result<Json<Value>, SunshineError> {
    let request = pb::ListAppKeysRequest { app_id: caller.app_id.as_str().to_owned() };
    let keys = clients.token.clone().list_app_keys(request_id.grpc(request)).await?;
    Ok(Json(json!({ "keys": keys.into_inner().keys.into_iter().map(key).collect::<Vec<_>>() })))
}

/// `GET .../keys/{keyId}`: `{ "key": { "id", "displayName" } }`.
pub async fn view(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, key_id)): Path<(String, String)>,
) -> Result<Json<Value>, SunshineError> {
    let request = pb::GetAppKeyRequest { app_id: caller.app_id.as_str().to_owned(), key_id };
    let found = clients.token.clone().get_app_key(request_id.grpc(request)).await?;
    Ok(Json(json!({ "key": key(found.into_inner().key.ok_or_else(incomplete)?) })))
}

/// `DELETE .../keys/{keyId}`: `{}`; the key's Basic credential and every JWT it signed stop
/// working at once (a key may delete itself).
pub async fn delete(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, key_id)): Path<(String, String)>,
) -> Result<Json<Value>, SunshineError> {
    let request = pb::DeleteAppKeyRequest { app_id: caller.app_id.as_str().to_owned(), key_id };
    clients.token.clone().delete_app_key(request_id.grpc(request)).await?;
    Ok(Json(json!({})))
}
