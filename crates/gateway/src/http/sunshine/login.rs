//! `POST /v2/apps/{appId}/login`: Roster's own endpoint for what Sunshine's messaging SDKs do with
//! `login(externalId, jwt)`. The JWT is the credential (no app key is needed): `scope: user`,
//! `external_id`, signed HS256 by an app key (`kid` = its id) or RS256/ES256 by a public key the
//! application registered. The user is created when absent and marked authenticated either way.

use axum::{
    Json,
    extract::{FromRequestParts, Path, State},
    http::{StatusCode, request::Parts},
};
use platform::{ApiError, ErrorCode};
use proto::{registry::v1 as registry, token::v1 as pb};
use serde::Serialize;

use super::{
    SunshineError,
    body::{self, SunshineBody},
    resource,
};
use crate::clients::{Clients, PublicBase, RequestId};
use crate::http::error::incomplete;

/// The JWT sent as `Authorization: Bearer`, for callers that put it there instead of the body.
/// Roster's login answer.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::Login)]
pub struct LoginAnswer {
    /// A Roster session token for the user.
    session_token: String,
    expires_at: Option<String>,
    user: resource::User,
}

/// `POST .../login`.
#[derive(utoipa::ToSchema)]
#[schema(as = sunshine::LoginRequest)]
#[allow(dead_code)] // described; read by `body::string`
pub struct LoginRequest {
    /// The user's JWT (`scope: user`, `external_id`), signed with an app key (HS256, header
    /// `kid`) or a registered public key (RS256/ES256); or send it as `Authorization: Bearer`.
    jwt: Option<String>,
}

pub struct BearerJwt(Option<String>);

impl FromRequestParts<Clients> for BearerJwt {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &Clients) -> Result<Self, Self::Rejection> {
        let jwt = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
            .map(|(_, jwt)| jwt.trim().to_owned())
            .filter(|jwt| !jwt.is_empty());
        Ok(Self(jwt))
    }
}

/// Body `{ "jwt": "<login JWT>" }` (or the JWT as `Authorization: Bearer`; the body wins): 201
/// when this login created the user, 200 otherwise, with `{ "sessionToken", "expiresAt",
/// "user" }`. A refused JWT is 401 with the reason as the title.
#[utoipa::path(post, path = "/v2/apps/{app_id}/login", tag = "Sunshine", params(("app_id" = String, Path, description = "The application")),
    request_body(content = Option<LoginRequest>, content_type = "application/json"),
    responses(
        (status = 201, description = "Logged in; the user was created", body = LoginAnswer),
        (status = 200, description = "Logged in", body = LoginAnswer),
        super::schema::Errors))]
pub async fn login(
    request_id: RequestId,
    State(clients): State<Clients>,
    base: PublicBase,
    Path(app_id): Path<String>,
    BearerJwt(bearer): BearerJwt,
    SunshineBody(body): SunshineBody,
) -> Result<(StatusCode, Json<LoginAnswer>), SunshineError> {
    let jwt = body::string(&body, "jwt", "jwt", 16 * 1024)?.value().or(bearer).ok_or_else(|| {
        SunshineError::from(ApiError::new(
            ErrorCode::CredentialMissing,
            "a login JWT is required: { \"jwt\": \"...\" }",
        ))
    })?;
    if !platform::ids::is_id(&app_id) {
        return Err(
            ApiError::new(ErrorCode::CredentialInvalid, "the JWT's kid names no key of this application").into()
        );
    }
    let request = pb::LoginWithJwtRequest { app_id: app_id.clone(), jwt };
    let login = clients.token.clone().login_with_jwt(request_id.grpc(request)).await?;
    let login = login.into_inner();
    let request = registry::GetUserRequest {
        app_id,
        lookup: Some(registry::UserLookup { key: Some(registry::user_lookup::Key::Id(login.user_id)) }),
    };
    let user = clients.registry.clone().get_user(request_id.grpc(request)).await?;
    let user = user.into_inner().user.ok_or_else(incomplete)?;
    let status = if login.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(LoginAnswer {
            session_token: login.session_token,
            expires_at: login.expires_at.as_ref().map(resource::time),
            user: resource::user(user, &base),
        }),
    ))
}
