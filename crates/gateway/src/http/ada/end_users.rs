//! `/api/v2/end-users`: create (idempotent by `external_id`), get, update (merge), list.
//! An end user is the registry's user: `end_user_id` is its Roster id, the same user the other
//! dialects see.

use std::collections::HashMap;

use axum::{
    Json,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use proto::registry::v1 as pb;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{AdaBody, AdaCaller, AdaError};
use crate::clients::{Clients, PublicBase, RequestId};
use crate::http::error::incomplete;

/// Ada's stricter rule on top of the registry's: at most 36 characters, no `<` or `>`.
fn external_id(value: &str) -> Result<String, AdaError> {
    if value.is_empty() || value.chars().count() > 36 || value.contains(['<', '>']) {
        return Err(AdaError::validation(
            "external_id",
            "body",
            "external_id must be 1 to 36 characters without < or >",
        ));
    }
    Ok(value.to_owned())
}

/// `external_id`: absent (`None`), `null` (`Some(None)`), or a value.
fn read_external_id(body: &Map<String, Value>) -> Result<Option<Option<String>>, AdaError> {
    match body.get("external_id") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(external_id(s)?))),
        Some(_) => Err(AdaError::validation("external_id", "body", "external_id must be a string or null")),
    }
}

/// The profile fields sent: each absent, `null` (clear) or a string.
struct ProfileInput {
    fields: HashMap<&'static str, Option<String>>,
    metadata: Option<HashMap<String, pb::MetadataValue>>,
    /// `sensitive_metadata.fields`: write-only, never echoed, never logged.
    sensitive: HashMap<String, String>,
}

fn read_sensitive(profile: &Map<String, Value>) -> Result<HashMap<String, String>, AdaError> {
    const PATH: &str = "profile.sensitive_metadata";
    let fields = match profile.get("sensitive_metadata") {
        None | Some(Value::Null) => return Ok(HashMap::new()),
        Some(Value::Object(sensitive)) => match sensitive.get("fields") {
            None | Some(Value::Null) => return Ok(HashMap::new()),
            Some(Value::Object(fields)) => fields,
            Some(_) => return Err(AdaError::validation(&format!("{PATH}.fields"), "body", "fields must be an object")),
        },
        Some(_) => return Err(AdaError::validation(PATH, "body", "sensitive_metadata must be an object")),
    };
    fields
        .iter()
        .map(|(key, value)| match value {
            Value::String(s) => Ok((key.clone(), s.clone())),
            _ => Err(AdaError::validation(
                &format!("{PATH}.fields.{key}"),
                "body",
                "sensitive metadata values must be strings",
            )),
        })
        .collect()
}

const PROFILE_FIELDS: [&str; 6] = ["first_name", "last_name", "display_name", "avatar", "email", "language"];

fn read_profile(body: &Map<String, Value>) -> Result<ProfileInput, AdaError> {
    let profile = match body.get("profile") {
        None | Some(Value::Null) => {
            return Ok(ProfileInput { fields: HashMap::new(), metadata: None, sensitive: HashMap::new() });
        }
        Some(Value::Object(profile)) => profile,
        Some(_) => return Err(AdaError::validation("profile", "body", "profile must be an object")),
    };
    let sensitive = read_sensitive(profile)?;
    let mut fields = HashMap::new();
    for name in PROFILE_FIELDS {
        match profile.get(name) {
            None => {}
            Some(Value::Null) => {
                fields.insert(name, None);
            }
            Some(Value::String(s)) => {
                fields.insert(name, Some(s.clone()));
            }
            Some(_) => {
                return Err(AdaError::validation(
                    &format!("profile.{name}"),
                    "body",
                    format!("{name} must be a string"),
                ));
            }
        }
    }
    let metadata = match profile.get("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(
            map.iter()
                .map(|(key, value)| {
                    use pb::metadata_value::Kind;
                    let kind = match value {
                        Value::String(s) => Kind::StringValue(s.clone()),
                        Value::Bool(b) => Kind::BoolValue(*b),
                        Value::Number(n) => match n.as_i64() {
                            Some(i) => Kind::IntValue(i),
                            None => Kind::DoubleValue(n.as_f64().unwrap_or_default()),
                        },
                        _ => {
                            return Err(AdaError::validation(
                                &format!("profile.metadata.{key}"),
                                "body",
                                "metadata values must be strings, numbers or booleans",
                            ));
                        }
                    };
                    Ok((key.clone(), pb::MetadataValue { kind: Some(kind) }))
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => return Err(AdaError::validation("profile.metadata", "body", "metadata must be an object")),
    };
    Ok(ProfileInput { fields, metadata, sensitive })
}

/// A display name made of the names: "First Last", or the one there is.
fn derive_display_name(given_name: &Option<String>, surname: &Option<String>) -> Option<String> {
    match (given_name, surname) {
        (Some(g), Some(s)) => Some(format!("{g} {s}")),
        (Some(n), None) | (None, Some(n)) => Some(n.clone()),
        (None, None) => None,
    }
}

/// The registry profile after applying `input` to `current`. `display_name` is derived from the
/// names when none is set, and keeps following them until one is set explicitly.
fn merged_profile(current: pb::Profile, input: &ProfileInput) -> pb::Profile {
    let pick = |name: &str, current: Option<String>| match input.fields.get(name) {
        Some(value) => value.clone(),
        None => current,
    };
    let was_derived = current.display_name == derive_display_name(&current.given_name, &current.surname);
    let given_name = pick("first_name", current.given_name);
    let surname = pick("last_name", current.surname);
    let derived = derive_display_name(&given_name, &surname);
    let display_name = match input.fields.get("display_name") {
        Some(value) => value.clone().or(derived),
        None if was_derived => derived,
        None => current.display_name,
    };
    pb::Profile {
        given_name,
        surname,
        display_name,
        email: pick("email", current.email),
        language: pick("language", current.language),
        avatar_url: pick("avatar", current.avatar_url),
    }
}

/// Ada's end-user resource.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ada::EndUser)]
pub struct EndUser {
    /// Roster's id: 24 lowercase hex characters.
    end_user_id: String,
    external_id: Option<String>,
    profile: EndUserProfile,
    /// ISO 8601 with offset.
    created_at: Option<String>,
    updated_at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ada::EndUserProfile)]
pub struct EndUserProfile {
    first_name: Option<String>,
    last_name: Option<String>,
    display_name: Option<String>,
    avatar: Option<String>,
    email: Option<String>,
    language: Option<String>,
    /// String, number and boolean values.
    #[schema(value_type = Object)]
    metadata: Map<String, Value>,
    /// Always `{}`.
    #[schema(value_type = Object)]
    system_properties: Map<String, Value>,
}

/// A page of end users.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ada::EndUserPage)]
pub struct EndUserPage {
    data: Vec<EndUser>,
    meta: super::PageMeta,
}

/// `POST /api/v2/end-users` and `PATCH`: what the body may carry.
#[derive(utoipa::ToSchema)]
#[schema(as = ada::EndUserWrite)]
#[allow(dead_code)] // described; the body is read field by field for Ada's validation errors
pub struct EndUserWrite {
    /// 1 to 36 characters without `<` or `>`, unique per application (case-insensitive);
    /// `null` removes it (PATCH).
    external_id: Option<String>,
    profile: Option<EndUserProfileWrite>,
}

#[derive(utoipa::ToSchema)]
#[schema(as = ada::EndUserProfileWrite)]
#[allow(dead_code)] // described, not built
pub struct EndUserProfileWrite {
    first_name: Option<String>,
    last_name: Option<String>,
    display_name: Option<String>,
    avatar: Option<String>,
    email: Option<String>,
    /// BCP 47.
    language: Option<String>,
    /// Flat: string, number and boolean values; keys merge on PATCH.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
    /// `{ "fields": { ... } }`, string values: sealed at rest, never returned.
    #[schema(value_type = Option<Object>)]
    sensitive_metadata: Option<Map<String, Value>>,
}

pub(super) fn resource(user: pb::User, base: &PublicBase) -> EndUser {
    let profile = user.profile.unwrap_or_default();
    let metadata: Map<String, Value> = user
        .metadata
        .into_iter()
        .map(|(key, value)| {
            use pb::metadata_value::Kind;
            let value = match value.kind {
                Some(Kind::StringValue(s)) => Value::from(s),
                Some(Kind::IntValue(i)) => Value::from(i),
                Some(Kind::DoubleValue(d)) => Value::from(d),
                Some(Kind::BoolValue(b)) => Value::from(b),
                None => Value::Null,
            };
            (key, value)
        })
        .collect();
    let time = |t: Option<proto::Timestamp>| t.map(|t| platform::time::iso8601_offset(proto::timestamp_to_millis(&t)));
    EndUser {
        end_user_id: user.id,
        external_id: user.external_id,
        profile: EndUserProfile {
            first_name: profile.given_name,
            last_name: profile.surname,
            display_name: profile.display_name,
            avatar: profile.avatar_url.map(|url| base.url(url)),
            email: profile.email,
            language: profile.language,
            metadata,
            system_properties: Map::new(),
        },
        created_at: time(user.created_at),
        updated_at: time(user.updated_at),
    }
}

fn by_id(id: String) -> Option<pb::UserLookup> {
    Some(pb::UserLookup { key: Some(pb::user_lookup::Key::Id(id)) })
}

/// `POST /api/v2/end-users/`: a known `external_id` answers that end user with 200 and
/// changes nothing; otherwise 201 with the new one.
#[utoipa::path(post, path = "/api/v2/end-users", tag = "Ada", security(("ada_bearer" = [])),
    request_body(content = Option<EndUserWrite>, content_type = "application/json"),
    responses(
        (status = 201, description = "A new end user", body = EndUser),
        (status = 200, description = "The end user that already has this `external_id`, unchanged", body = EndUser),
        super::error::Errors))]
pub async fn create(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    AdaBody(body): AdaBody,
) -> Result<Response, AdaError> {
    let external_id = read_external_id(&body)?.flatten();
    let input = read_profile(&body)?;
    let new = pb::NewUser {
        external_id: external_id.clone(),
        profile: Some(merged_profile(pb::Profile::default(), &input)),
        metadata: input.metadata.unwrap_or_default(),
        sensitive_metadata: input.sensitive,
        origin: pb::Origin::Api.into(),
        // Ada's end users are deleted when no conversation includes them in time.
        expires_unassociated: true,
        ..Default::default()
    };
    let app_id = caller.app_id.as_str().to_owned();
    let (user, created) = if external_id.is_some() {
        let request = pb::UpsertUserByExternalIdRequest { app_id, user: Some(new), mark_authenticated: false };
        let answer = clients.registry.clone().upsert_user_by_external_id(request_id.grpc(request)).await?;
        let answer = answer.into_inner();
        (answer.user, answer.created)
    } else {
        let request = pb::CreateUserRequest { app_id, user: Some(new) };
        (clients.registry.clone().create_user(request_id.grpc(request)).await?.into_inner().user, true)
    };
    let user = user.ok_or_else(incomplete)?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(resource(user, &base))).into_response())
}

async fn get(clients: &Clients, request_id: &RequestId, app_id: &str, id: String) -> Result<pb::User, AdaError> {
    // An id that is not a Roster id names no end user.
    if !platform::ids::is_id(&id) {
        return Err(AdaError::not_found());
    }
    let request = pb::GetUserRequest { app_id: app_id.to_owned(), lookup: by_id(id) };
    let user = clients.registry.clone().get_user(request_id.grpc(request)).await?;
    user.into_inner().user.ok_or_else(AdaError::not_found)
}

/// `GET /api/v2/end-users/{end_user_id}`
#[utoipa::path(get, path = "/api/v2/end-users/{end_user_id}", tag = "Ada", security(("ada_bearer" = [])), params(("end_user_id" = String, Path, description = "The end user's id")),
    responses((status = 200, description = "The end user", body = EndUser), super::error::Errors))]
pub async fn view(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    Path(id): Path<String>,
) -> Result<Json<EndUser>, AdaError> {
    Ok(Json(resource(get(&clients, &request_id, caller.app_id.as_str(), id).await?, &base)))
}

/// `PATCH /api/v2/end-users/{end_user_id}`: profile fields sent replace theirs (`null` clears),
/// metadata and sensitive-metadata keys merge, `external_id` is set or removed with `null` (409
/// when taken).
#[utoipa::path(patch, path = "/api/v2/end-users/{end_user_id}", tag = "Ada", security(("ada_bearer" = [])), params(("end_user_id" = String, Path, description = "The end user's id")),
    request_body(content = Option<EndUserWrite>, content_type = "application/json"),
    responses((status = 200, description = "The end user after the change", body = EndUser), super::error::Errors))]
pub async fn update(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    Path(id): Path<String>,
    AdaBody(body): AdaBody,
) -> Result<Json<EndUser>, AdaError> {
    let external_id = read_external_id(&body)?;
    let input = read_profile(&body)?;
    let app_id = caller.app_id.as_str().to_owned();
    let current = get(&clients, &request_id, &app_id, id.clone()).await?;
    // One registry call, one transaction: profile, metadata keys and sensitive fields together.
    let patch = pb::UserPatch {
        profile: Some(merged_profile(current.profile.unwrap_or_default(), &input)),
        clear_external_id: matches!(external_id, Some(None)),
        external_id: external_id.flatten(),
        metadata: input.metadata.unwrap_or_default(),
        sensitive_metadata: input.sensitive,
        ..Default::default()
    };
    let request = pb::UpdateUserRequest { app_id, lookup: by_id(id), patch: Some(patch) };
    let user = clients.registry.clone().update_user(request_id.grpc(request)).await?.into_inner().user;
    Ok(Json(resource(user.ok_or_else(AdaError::not_found)?, &base)))
}

/// `GET /api/v2/end-users/?limit=N&cursor=C` (or `?external_id=`): `{ "data", "meta": {
/// "next_page_url" } }`, the next page's absolute URL or `null`.
#[utoipa::path(get, path = "/api/v2/end-users", tag = "Ada", security(("ada_bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "1 to 100 (default 10)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "From the previous page's `next_page_url`"),
        ("external_id" = Option<String>, Query, description = "Only the end user with this `external_id`"),
    ),
    responses((status = 200, description = "A page of end users", body = EndUserPage), super::error::Errors))]
pub async fn list(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    RawQuery(raw): RawQuery,
) -> Result<Json<EndUserPage>, AdaError> {
    let (query, limit) = super::page_query(raw.as_deref(), 10)?;
    let external = query.get("external_id").map(|e| external_id(e)).transpose()?;
    let request = pb::ListUsersRequest {
        app_id: caller.app_id.as_str().to_owned(),
        page_token: query.get("cursor").cloned().unwrap_or_default(),
        page_size: limit,
        filter: Some(pb::UserFilter { external_id: external.clone(), ..Default::default() }),
    };
    let page = clients.registry.clone().list_users(request_id.grpc(request)).await.map_err(|status| {
        match platform::ApiError::from_status(&status).code {
            platform::ErrorCode::InvalidPageToken => AdaError::validation("cursor", "query", "the cursor is not valid"),
            _ => status.into(),
        }
    })?;
    let page = page.into_inner();
    let next = (!page.next_page_token.is_empty()).then(|| {
        let mut next = format!("{}/api/v2/end-users/?limit={limit}&cursor={}", base.0, page.next_page_token);
        if let Some(external) = &external {
            next.push_str("&external_id=");
            next.push_str(&serde_urlencoded::to_string([("", external)]).unwrap_or_default()[1..]);
        }
        next
    });
    let data = page.users.into_iter().map(|user| resource(user, &base)).collect();
    Ok(Json(EndUserPage { data, meta: super::PageMeta { next_page_url: next } }))
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Ada's rule exactly: 1 to 36 characters, neither `<` nor `>`.
        #[test]
        fn external_id_rule(s in "\\PC{0,45}") {
            let n = s.chars().count();
            let allowed = (1..=36).contains(&n) && !s.contains('<') && !s.contains('>');
            prop_assert_eq!(external_id(&s).is_ok(), allowed);
        }
    }
}
