//! `/v3/users`: create, list, view, update, delete.

use axum::{
    Json,
    extract::{Path, RawQuery, State},
};
use proto::registry::v1 as pb;
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    SendbirdCaller,
    error::{self as codes, SendbirdError},
    form::UserForm,
    query::{QueryParams, invalid},
    resource::{UserResource, by_user_id, metadata_to_pb},
    tokens::TokenFlags,
};
use crate::clients::{Clients, PublicBase, RequestId};
use crate::http::error::incomplete;

/// Sendbird's limit on a nickname. The registry keeps up to 128 characters, the longest display
/// name another dialect may set; Sendbird's callers may not set more than 80.
const MAX_NICKNAME_CHARS: usize = 80;

fn nickname(value: String) -> Result<String, SendbirdError> {
    if value.chars().count() > MAX_NICKNAME_CHARS {
        let message = format!("nickname is longer than {MAX_NICKNAME_CHARS} characters");
        return Err(platform::ApiError::new(platform::ErrorCode::ValueTooLong, message).with_field("nickname").into());
    }
    Ok(value)
}

/// `POST /v3/users`
#[utoipa::path(post, path = "/v3/users", tag = "Sendbird", security(("sendbird_api_token" = [])),
    request_body(content((super::schema::CreateUser = "application/json"), (super::schema::CreateUserForm = "multipart/form-data"))),
    responses((status = 200, description = "The new user (`is_created: true`)", body = UserResource), super::schema::Errors))]
pub async fn create(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    UserForm { body, profile_file }: UserForm,
) -> Result<Json<UserResource>, SendbirdError> {
    let user_id = body.required_string("user_id")?;
    let nickname = nickname(body.required_string("nickname")?)?;
    // An uploaded image takes the place of `profile_url`.
    let profile_url = match profile_file {
        Some(_) => body.optional_string("profile_url")?.unwrap_or_default(),
        None => body.required_string("profile_url")?,
    };
    let discovery_keys = body.optional_string_list("discovery_keys")?.unwrap_or_default();
    let metadata = body.optional_string_map("metadata")?.unwrap_or_default();
    let flags = TokenFlags::read(&body)?;
    public_profile_images_only(&body)?;

    let request = pb::CreateUserRequest {
        app_id: caller.app_id.as_str().to_owned(),
        user: Some(pb::NewUser {
            user_id: Some(user_id),
            nickname,
            profile_url,
            discovery_keys,
            metadata: metadata_to_pb(metadata),
            origin: pb::Origin::Api.into(),
            profile_image: profile_file,
            ..Default::default()
        }),
    };
    let user = clients.registry.clone().create_user(request_id.grpc(request)).await?;
    let user = user.into_inner().user.ok_or_else(incomplete)?;
    Ok(Json(flags.apply(&clients, &request_id, &caller, user, &base).await?.created()))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::UserList)]
pub struct UserList {
    users: Vec<UserResource>,
    /// Empty on the last page, never `null` (the SDK's model refuses `null`).
    next: String,
}

/// `GET /v3/users`
#[utoipa::path(get, path = "/v3/users", tag = "Sendbird", security(("sendbird_api_token" = [])),
    params(
        ("token" = Option<String>, Query, description = "The page token a previous page answered in `next`"),
        ("limit" = Option<u32>, Query, description = "Users per page, 1 to 100 (default 10)", minimum = 1, maximum = 100),
        ("active_mode" = Option<String>, Query, description = "`activated` (default), `deactivated` or `all`"),
        ("show_bot" = Option<bool>, Query, description = "Accepted; bots are not users of the registry"),
        ("user_ids" = Option<String>, Query, description = "Comma-separated `user_id`s"),
        ("nickname" = Option<String>, Query, description = "Exact nickname"),
        ("nickname_startswith" = Option<String>, Query, description = "Nickname prefix, case-sensitive"),
        ("metadatakey" = Option<String>, Query, description = "With `metadatavalues_in`: users whose metadata key holds one of the values"),
        ("metadatavalues_in" = Option<String>, Query, description = "Comma-separated values"),
    ),
    responses((status = 200, description = "A page of users", body = UserList), super::schema::Errors))]
pub async fn list(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    RawQuery(raw): RawQuery,
) -> Result<Json<UserList>, SendbirdError> {
    let query = QueryParams::parse(raw.as_deref())?;
    let limit = query.int("limit", 1..=100, 10)?;
    let is_active = match query.one_of("active_mode", &["activated", "deactivated", "all"], "activated")?.as_str() {
        "activated" => Some(true),
        "deactivated" => Some(false),
        _ => None,
    };
    // Bots are not users of this registry, so `show_bot` filters nothing; still type-checked.
    query.bool("show_bot")?;
    let metadata_key = query.string("metadatakey");
    let metadata_values = query.list("metadatavalues_in");
    if metadata_key.is_some() == metadata_values.is_empty() {
        return Err(SendbirdError::bad_request(
            codes::MISSING_REQUIRED_PARAMETER,
            "\"metadatakey\" and \"metadatavalues_in\" go together.",
        ));
    }
    let request = pb::ListUsersRequest {
        app_id: caller.app_id.as_str().to_owned(),
        page_token: query.string("token").unwrap_or_default(),
        page_size: limit,
        filter: Some(pb::UserFilter {
            is_active,
            user_ids: query.list("user_ids"),
            nickname: query.string("nickname"),
            nickname_prefix: query.string("nickname_startswith"),
            metadata_key,
            metadata_values,
            external_id: None,
            email: None,
            origin: None,
        }),
    };
    let page = clients.registry.clone().list_users(request_id.grpc(request)).await.map_err(|status| {
        match platform::ApiError::from_status(&status).code {
            platform::ErrorCode::InvalidPageToken => invalid("token"),
            _ => status.into(),
        }
    })?;
    let page = page.into_inner();
    let users = page.users.into_iter().map(|user| UserResource::new(user, &base)).collect();
    Ok(Json(UserList { users, next: page.next_page_token }))
}

/// `GET /v3/users/{user_id}`
#[utoipa::path(get, path = "/v3/users/{user_id}", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("user_id" = String, Path, description = "The user's `user_id`")),
    responses((status = 200, description = "The user", body = UserResource), super::schema::Errors))]
pub async fn view(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    Path(user_id): Path<String>,
) -> Result<Json<UserResource>, SendbirdError> {
    let request = pb::GetUserRequest { app_id: caller.app_id.as_str().to_owned(), lookup: by_user_id(user_id) };
    let user = clients.registry.clone().get_user(request_id.grpc(request)).await?;
    Ok(Json(UserResource::new(user.into_inner().user.ok_or_else(incomplete)?, &base)))
}

/// `PUT /v3/users/{user_id}`
#[utoipa::path(put, path = "/v3/users/{user_id}", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("user_id" = String, Path, description = "The user's `user_id`")),
    request_body(content((Option<super::schema::UpdateUser> = "application/json"), (Option<super::schema::UpdateUserForm> = "multipart/form-data"))),
    responses((status = 200, description = "The user after the change", body = UserResource), super::schema::Errors))]
pub async fn update(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    Path(user_id): Path<String>,
    UserForm { body, profile_file }: UserForm,
) -> Result<Json<UserResource>, SendbirdError> {
    let flags = TokenFlags::read(&body)?;
    // Accepted for compatibility: Roster has no channels for a user to leave.
    body.optional_bool("leave_all_when_deactivated")?;
    public_profile_images_only(&body)?;
    let last_seen_at = body.optional_i64("last_seen_at")?;
    if last_seen_at.is_some_and(|ms| ms < 0) {
        return Err(invalid("last_seen_at"));
    }
    let patch = pb::UserPatch {
        nickname: body.optional_string("nickname")?.map(nickname).transpose()?,
        profile_url: body.optional_string("profile_url")?,
        is_active: body.optional_bool("is_active")?,
        discovery_keys: body.optional_string_list("discovery_keys")?.map(|keys| pb::DiscoveryKeys { keys }),
        preferred_languages: body
            .optional_string_list("preferred_languages")?
            .map(|languages| pb::PreferredLanguages { languages }),
        last_seen_at: last_seen_at.map(proto::timestamp_from_millis),
        profile_image: profile_file,
        ..Default::default()
    };
    let request = pb::UpdateUserRequest {
        app_id: caller.app_id.as_str().to_owned(),
        lookup: by_user_id(user_id),
        patch: Some(patch),
    };
    let user = clients.registry.clone().update_user(request_id.grpc(request)).await?;
    let user = user.into_inner().user.ok_or_else(incomplete)?;
    Ok(Json(flags.apply(&clients, &request_id, &caller, user, &base).await?))
}

/// `DELETE /v3/users/{user_id}`: the user's tokens stop working at once.
#[utoipa::path(delete, path = "/v3/users/{user_id}", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("user_id" = String, Path, description = "The user's `user_id`")),
    responses((status = 200, description = "Deleted; the user's tokens stop working at once", body = super::schema::Empty), super::schema::Errors))]
pub async fn delete(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, SendbirdError> {
    let request = pb::DeleteUserRequest { app_id: caller.app_id.as_str().to_owned(), lookup: by_user_id(user_id) };
    clients.registry.clone().delete_user(request_id.grpc(request)).await?;
    Ok(Json(json!({})))
}

/// Roster serves profile images to anyone who has their URL (an unguessable one for uploads):
/// `require_auth_for_profile_image: true` is refused rather than answered `false`.
fn public_profile_images_only(body: &super::body::JsonBody) -> Result<(), SendbirdError> {
    if body.optional_bool("require_auth_for_profile_image")? == Some(true) {
        return Err(SendbirdError::bad_request(
            super::error::INVALID_VALUE,
            "Invalid value: \"require_auth_for_profile_image\": Roster serves profile images without authentication.",
        ));
    }
    Ok(())
}
