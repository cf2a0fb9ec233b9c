//! `/v3/users`: create and view.

use std::collections::BTreeMap;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State, rejection::BytesRejection},
};
use platform::ApiError;
use proto::registry::v1 as pb;
use serde::Serialize;

use super::{
    SendbirdCaller,
    body::JsonBody,
    error::{self as codes, SendbirdError},
};
use crate::clients::{Clients, RequestId};

/// Sendbird's user resource, as the SDK's `SendbirdUser` model reads it.
#[derive(Debug, Serialize)]
pub struct UserResource {
    user_id: String,
    nickname: String,
    profile_url: String,
    access_token: String,
    is_active: bool,
    is_online: bool,
    has_ever_logged_in: bool,
    last_seen_at: i64,
    /// Seconds, as Sendbird sends it.
    created_at: i64,
    discovery_keys: Vec<String>,
    metadata: BTreeMap<String, String>,
    preferred_languages: Vec<String>,
    locale: String,
    require_auth_for_profile_image: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_created: Option<bool>,
}

impl UserResource {
    fn from_user(user: pb::User, is_created: Option<bool>) -> Self {
        let last_seen_at = user.last_seen_at.as_ref().map_or(0, proto::timestamp_to_millis);
        Self {
            user_id: user.user_id,
            nickname: user.nickname,
            profile_url: user.profile_url,
            access_token: String::new(),
            is_active: user.is_active,
            is_online: false,
            has_ever_logged_in: last_seen_at > 0,
            last_seen_at,
            created_at: user.created_at.map_or(0, |t| t.seconds),
            discovery_keys: user.discovery_keys,
            metadata: user.metadata.into_iter().map(|(k, v)| (k, metadata_string(v))).collect(),
            locale: user.preferred_languages.first().cloned().unwrap_or_default(),
            preferred_languages: user.preferred_languages,
            require_auth_for_profile_image: false,
            is_created,
        }
    }
}

/// Sendbird metadata is string-valued; values another dialect stored as numbers or booleans
/// are shown in their JSON spelling.
fn metadata_string(value: pb::MetadataValue) -> String {
    use pb::metadata_value::Kind;
    match value.kind {
        Some(Kind::StringValue(s)) => s,
        Some(Kind::IntValue(i)) => i.to_string(),
        Some(Kind::DoubleValue(d)) => d.to_string(),
        Some(Kind::BoolValue(b)) => b.to_string(),
        None => String::new(),
    }
}

/// `POST /v3/users`
pub async fn create(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<UserResource>, SendbirdError> {
    let body = JsonBody::parse(body)?;
    let user_id = body.required_string("user_id")?;
    let nickname = body.required_string("nickname")?;
    let profile_url = body.required_string("profile_url")?;
    let discovery_keys = body.optional_string_list("discovery_keys")?.unwrap_or_default();
    let metadata = body.optional_string_map("metadata")?.unwrap_or_default();
    // Deprecated companion of `issue_session_token`: type-checked even though unused.
    body.optional_i64("session_token_expires_at")?;
    for flag in ["issue_access_token", "issue_session_token"] {
        if body.optional_bool(flag)? == Some(true) {
            return Err(SendbirdError::bad_request(
                codes::INVALID_VALUE,
                format!("\"{flag}\" is not available in this Roster version."),
            ));
        }
    }

    let request = pb::CreateUserRequest {
        app_id: caller.app_id.as_str().to_owned(),
        user: Some(pb::NewUser {
            user_id: Some(user_id),
            nickname,
            profile_url,
            discovery_keys,
            metadata: metadata
                .into_iter()
                .map(|(k, v)| {
                    let kind = pb::metadata_value::Kind::StringValue(v);
                    (k, pb::MetadataValue { kind: Some(kind) })
                })
                .collect(),
            origin: pb::Origin::Api.into(),
            ..Default::default()
        }),
    };
    let user = clients
        .registry
        .clone()
        .create_user(request_id.grpc(request))
        .await
        .map_err(|s| ApiError::from_status(&s))?
        .into_inner()
        .user
        .ok_or_else(missing_user)?;
    Ok(Json(UserResource::from_user(user, Some(true))))
}

/// `GET /v3/users/{user_id}`
pub async fn view(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(user_id): Path<String>,
) -> Result<Json<UserResource>, SendbirdError> {
    let request = pb::GetUserRequest {
        app_id: caller.app_id.as_str().to_owned(),
        lookup: Some(pb::UserLookup { key: Some(pb::user_lookup::Key::UserId(user_id)) }),
    };
    let user = clients
        .registry
        .clone()
        .get_user(request_id.grpc(request))
        .await
        .map_err(|s| ApiError::from_status(&s))?
        .into_inner()
        .user
        .ok_or_else(missing_user)?;
    Ok(Json(UserResource::from_user(user, None)))
}

fn missing_user() -> SendbirdError {
    ApiError::new(platform::ErrorCode::Internal, "registry answered without a user").into()
}
