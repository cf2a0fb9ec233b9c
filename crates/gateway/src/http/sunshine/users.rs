//! `/v2/apps/{appId}/users`: create, get, PATCH, delete, delete personal information. A user is
//! the registry's: `id` is its Roster id (the same user every dialect sees), `externalId` unique
//! per application, compared case-insensitively.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use platform::{ApiError, ErrorCode};
use proto::registry::v1 as pb;
use serde_json::Map;

use super::{
    SunshineCaller, SunshineError,
    body::{self, ProfileInput, Sent, SunshineBody},
    resource,
};
use crate::clients::{Clients, PublicBase, RequestId};
use crate::http::error::incomplete;

fn lookup(key: pb::user_lookup::Key) -> Option<pb::UserLookup> {
    Some(pb::UserLookup { key: Some(key) })
}

fn by_id(id: String) -> Option<pb::UserLookup> {
    lookup(pb::user_lookup::Key::Id(id))
}

fn no_such_user() -> SunshineError {
    SunshineError::not_found("No user has this id or externalId.")
}

/// The user one lookup finds; `None` when none (a key no user can have, too long for one, finds
/// none either).
async fn get(
    clients: &Clients,
    request_id: &RequestId,
    app_id: &str,
    key: pb::user_lookup::Key,
) -> Result<Option<pb::User>, SunshineError> {
    let request = pb::GetUserRequest { app_id: app_id.to_owned(), lookup: lookup(key) };
    match clients.registry.clone().get_user(request_id.grpc(request)).await {
        Ok(answer) => Ok(answer.into_inner().user),
        Err(status) => match ApiError::from_status(&status).code {
            ErrorCode::UserNotFound
            | ErrorCode::NotFound
            | ErrorCode::InvalidArgument
            | ErrorCode::ValueTooLong
            | ErrorCode::MissingField => Ok(None),
            _ => Err(status.into()),
        },
    }
}

/// The user `{userIdOrExternalId}` names: a 24-hex value is tried as the Roster id first, then
/// as an externalId (an externalId may look like an id).
pub async fn find(
    clients: &Clients,
    request_id: &RequestId,
    app_id: &str,
    key: String,
) -> Result<pb::User, SunshineError> {
    use pb::user_lookup::Key;
    if platform::ids::is_id(&key)
        && let Some(user) = get(clients, request_id, app_id, Key::Id(key.clone())).await?
    {
        return Ok(user);
    }
    get(clients, request_id, app_id, Key::ExternalId(key)).await?.ok_or_else(no_such_user)
}

/// `POST .../users`: 201 `{ "user" }`; an externalId another user has is 409.
#[utoipa::path(post, path = "/v2/apps/{app_id}/users", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application")),
    request_body(content = super::schema::CreateUser, content_type = "application/json"),
    responses((status = 201, description = "The new user", body = resource::UserAnswer), super::schema::Errors))]
pub async fn create(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    SunshineBody(body): SunshineBody,
) -> Result<(StatusCode, Json<resource::UserAnswer>), SunshineError> {
    let external_id = body::string(&body, "externalId", "externalId", 1024)?
        .value()
        .ok_or_else(|| SunshineError::bad_request("externalId is required: a string of 1 to 1024 characters"))?;
    let new = pb::NewUser {
        external_id: Some(external_id),
        profile: Some(body::profile(&body)?.apply(pb::Profile::default())),
        metadata: body::metadata(&body)?.value().map(body::registry_metadata).unwrap_or_default(),
        signed_up_at: body::signed_up_at(&body)?.value(),
        to_be_retained: body::boolean(&body, "toBeRetained")?.value().unwrap_or(false),
        origin: pb::Origin::Api.into(),
        ..Default::default()
    };
    let request = pb::CreateUserRequest { app_id: caller.app_id.as_str().to_owned(), user: Some(new) };
    let created = clients.registry.clone().create_user(request_id.grpc(request)).await?;
    let user = created.into_inner().user.ok_or_else(incomplete)?;
    Ok((StatusCode::CREATED, Json(resource::UserAnswer::new(user, &base))))
}

/// `GET .../users/{userIdOrExternalId}`
#[utoipa::path(get, path = "/v2/apps/{app_id}/users/{user}", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application"), ("user" = String, Path, description = "The user's Roster `id` or its `externalId`, percent-encoded")),
    responses((status = 200, description = "The user", body = resource::UserAnswer), super::schema::Errors))]
pub async fn view(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    Path((_, user)): Path<(String, String)>,
) -> Result<Json<resource::UserAnswer>, SunshineError> {
    let user = find(&clients, &request_id, caller.app_id.as_str(), user).await?;
    Ok(Json(resource::UserAnswer::new(user, &base)))
}

/// `PATCH .../users/{userIdOrExternalId}`, Sunshine's semantics: `metadata` sent replaces the
/// whole metadata (`null` clears it); each profile field sent replaces its own (`null` clears
/// it, `profile: null` clears them all); `signedUpAt` and `toBeRetained` likewise.
///
/// Two registry calls when metadata is sent with anything else (the registry's `UserPatch`
/// merges metadata keys; replacing the whole map is `SetMetadata`): the profile first, since
/// the registry may still refuse it (an email address), then the metadata, checked here already.
#[utoipa::path(patch, path = "/v2/apps/{app_id}/users/{user}", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application"), ("user" = String, Path, description = "The user's Roster `id` or its `externalId`, percent-encoded")),
    request_body(content = Option<super::schema::UpdateUser>, content_type = "application/json"),
    responses((status = 200, description = "The user after the change", body = resource::UserAnswer), super::schema::Errors))]
pub async fn update(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    Path((_, user)): Path<(String, String)>,
    SunshineBody(body): SunshineBody,
) -> Result<Json<resource::UserAnswer>, SunshineError> {
    let profile = body::profile(&body)?;
    let metadata = body::metadata(&body)?;
    let signed_up_at = body::signed_up_at(&body)?;
    let to_be_retained = body::boolean(&body, "toBeRetained")?;
    let app_id = caller.app_id.as_str().to_owned();
    let mut user = find(&clients, &request_id, &app_id, user).await?;

    let replacement = match metadata {
        Sent::Absent => None,
        Sent::Null => Some(Map::new()),
        Sent::Value(metadata) => Some(metadata),
    };
    if profile != ProfileInput::Absent
        || signed_up_at != Sent::Absent
        || to_be_retained != Sent::Absent
        || replacement.is_some()
    {
        // One registry call, one transaction: the metadata sent replaces the whole metadata.
        let patch = pb::UserPatch {
            profile: (profile != ProfileInput::Absent).then(|| profile.apply(user.profile.clone().unwrap_or_default())),
            clear_signed_up_at: signed_up_at == Sent::Null,
            signed_up_at: signed_up_at.value(),
            to_be_retained: match to_be_retained {
                Sent::Absent => None,
                Sent::Null => Some(false),
                Sent::Value(retained) => Some(retained),
            },
            replace_metadata: replacement.is_some(),
            metadata: replacement.map(body::registry_metadata).unwrap_or_default(),
            ..Default::default()
        };
        let request = pb::UpdateUserRequest { app_id, lookup: by_id(user.id.clone()), patch: Some(patch) };
        let updated = clients.registry.clone().update_user(request_id.grpc(request)).await?;
        user = updated.into_inner().user.ok_or_else(incomplete)?;
    }
    Ok(Json(resource::UserAnswer::new(user, &base)))
}

/// `DELETE .../users/{userIdOrExternalId}`: `{}`.
#[utoipa::path(delete, path = "/v2/apps/{app_id}/users/{user}", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application"), ("user" = String, Path, description = "The user's Roster `id` or its `externalId`, percent-encoded")),
    responses((status = 200, description = "Deleted", body = super::schema::Empty), super::schema::Errors))]
pub async fn delete(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, user)): Path<(String, String)>,
) -> Result<Json<super::schema::Empty>, SunshineError> {
    let app_id = caller.app_id.as_str().to_owned();
    let user = find(&clients, &request_id, &app_id, user).await?;
    let request = pb::DeleteUserRequest { app_id, lookup: by_id(user.id) };
    clients.registry.clone().delete_user(request_id.grpc(request)).await?;
    Ok(Json(super::schema::Empty {}))
}

/// `DELETE .../users/{userIdOrExternalId}/personalinformation`: 200 `{ "user" }` with the
/// record kept (id, externalId) and its profile, metadata and identities cleared.
#[utoipa::path(delete, path = "/v2/apps/{app_id}/users/{user}/personalinformation", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application"), ("user" = String, Path, description = "The user's Roster `id` or its `externalId`, percent-encoded")),
    responses((status = 200, description = "Profile, metadata and identities cleared; the record stays", body = resource::UserAnswer), super::schema::Errors))]
pub async fn delete_personal_information(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    Path((_, user)): Path<(String, String)>,
) -> Result<Json<resource::UserAnswer>, SunshineError> {
    let app_id = caller.app_id.as_str().to_owned();
    let user = find(&clients, &request_id, &app_id, user).await?;
    let request = pb::DeletePersonalInformationRequest { app_id, lookup: by_id(user.id) };
    let answer = clients.registry.clone().delete_personal_information(request_id.grpc(request)).await?;
    Ok(Json(resource::UserAnswer::new(answer.into_inner().user.ok_or_else(incomplete)?, &base)))
}
