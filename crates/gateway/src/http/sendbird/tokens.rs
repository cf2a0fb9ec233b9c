//! Access tokens issued with a user, and `/v3/users/{user_id}/token` session tokens.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State, rejection::BytesRejection},
};
use proto::{registry::v1 as rpb, token::v1 as tpb};
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    SendbirdCaller,
    body::JsonBody,
    error::SendbirdError,
    query::invalid,
    resource::{SessionTokenResource, UserResource, by_user_id},
};
use crate::http::error::incomplete;
use crate::{
    auth::Caller,
    clients::{Clients, PublicBase, RequestId},
};

/// The token flags a create or update may carry.
pub struct TokenFlags {
    issue_access_token: bool,
    /// `Some(expires_at)` when the deprecated `issue_session_token` is set; `expires_at` in ms.
    issue_session_token: Option<Option<i64>>,
}

impl TokenFlags {
    pub fn read(body: &JsonBody) -> Result<Self, SendbirdError> {
        let expires_at = body.optional_i64("session_token_expires_at")?;
        let issue_session_token = body.optional_bool("issue_session_token")?.unwrap_or(false).then_some(expires_at);
        Ok(Self { issue_access_token: body.optional_bool("issue_access_token")?.unwrap_or(false), issue_session_token })
    }

    /// Issues what the flags ask for, for a user the call just created or updated.
    pub async fn apply(
        self,
        clients: &Clients,
        request_id: &RequestId,
        caller: &Caller,
        user: rpb::User,
        base: &PublicBase,
    ) -> Result<UserResource, SendbirdError> {
        let user_id = user.id.clone();
        let mut resource = UserResource::new(user, base);
        if self.issue_access_token {
            let request =
                tpb::IssueAccessTokenRequest { app_id: caller.app_id.as_str().to_owned(), user_id: user_id.clone() };
            let issued = clients.token.clone().issue_access_token(request_id.grpc(request)).await?;
            resource = resource.with_access_token(issued.into_inner().token);
        }
        if let Some(expires_at) = self.issue_session_token {
            let token =
                issue_session(clients, request_id, caller, user_id, expires_at, "session_token_expires_at").await?;
            resource = resource.with_session_token(token);
        }
        Ok(resource)
    }
}

async fn issue_session(
    clients: &Clients,
    request_id: &RequestId,
    caller: &Caller,
    user_id: String,
    expires_at: Option<i64>,
    field: &str,
) -> Result<SessionTokenResource, SendbirdError> {
    let request = tpb::IssueSessionTokenRequest {
        app_id: caller.app_id.as_str().to_owned(),
        user_id,
        expires_at: expires_at.map(proto::timestamp_from_millis),
    };
    let issued = clients.token.clone().issue_session_token(request_id.grpc(request)).await.map_err(|status| {
        match platform::ApiError::from_status(&status).field.as_deref() {
            Some("expires_at") => invalid(field),
            _ => status.into(),
        }
    })?;
    let issued = issued.into_inner();
    Ok(SessionTokenResource {
        session_token: issued.token,
        expires_at: issued.expires_at.as_ref().map_or(0, proto::timestamp_to_millis),
    })
}

/// The registry id of a user named by its Sendbird `user_id`.
async fn registry_id(
    clients: &Clients,
    request_id: &RequestId,
    caller: &Caller,
    user_id: String,
) -> Result<String, SendbirdError> {
    let request = rpb::GetUserRequest { app_id: caller.app_id.as_str().to_owned(), lookup: by_user_id(user_id) };
    let user = clients.registry.clone().get_user(request_id.grpc(request)).await?;
    Ok(user.into_inner().user.ok_or_else(incomplete)?.id)
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::SessionToken)]
pub struct SessionToken {
    token: String,
    expires_at: i64,
}

/// `POST /v3/users/{user_id}/token`: a session token, never stored; `expires_at` in ms,
/// default now + the application's session lifetime (7 days).
#[utoipa::path(post, path = "/v3/users/{user_id}/token", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("user_id" = String, Path, description = "The user's `user_id`")),
    request_body(content = Option<super::schema::IssueSessionToken>, content_type = "application/json"),
    responses((status = 200, description = "A new session token (never stored)", body = SessionToken), super::schema::Errors))]
pub async fn issue(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(user_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SessionToken>, SendbirdError> {
    let body = JsonBody::parse(body)?;
    let expires_at = body.optional_i64("expires_at")?;
    let id = registry_id(&clients, &request_id, &caller, user_id).await?;
    let issued = issue_session(&clients, &request_id, &caller, id, expires_at, "expires_at").await?;
    Ok(Json(SessionToken { token: issued.session_token, expires_at: issued.expires_at }))
}

/// `DELETE /v3/users/{user_id}/token`: every session token of the user issued until now.
#[utoipa::path(delete, path = "/v3/users/{user_id}/token", tag = "Sendbird", security(("sendbird_api_token" = [])), params(("user_id" = String, Path, description = "The user's `user_id`")),
    responses((status = 200, description = "Every session token of the user revoked", body = super::schema::Empty), super::schema::Errors))]
pub async fn revoke_all(
    SendbirdCaller(caller): SendbirdCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, SendbirdError> {
    let id = registry_id(&clients, &request_id, &caller, user_id).await?;
    let request = tpb::RevokeSessionTokensRequest { app_id: caller.app_id.as_str().to_owned(), user_id: id };
    clients.token.clone().revoke_session_tokens(request_id.grpc(request)).await?;
    Ok(Json(json!({})))
}
