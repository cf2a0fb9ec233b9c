//! Kore.ai's user-management API: members created, changed, removed and looked up in bulk
//! (`/api/public/users`, `/api/public/usersInfo`), and the groups and roles they add up to
//! (`/api/public/groups`, `/api/public/roles`), authenticated by an admin client's JWT in the
//! `auth` header (user-management scope). A bad user is reported in a 200's
//! `failedUserDetails`; the others are done.

mod delete;
mod directory;
mod error;
mod failure;
mod info;
mod member;
mod read;
mod update;
mod users;

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequestParts, rejection::BytesRejection},
    http::{StatusCode, request::Parts},
};
use proto::token::v1::Scope;
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use error::KoreError;
pub use member::{KoreRole, KoreTask, KoreUser, UserInfo};

/// Users, emails or ids one request may name; more is refused whole.
pub const MAX_PER_REQUEST: usize = 1000;

use crate::{
    auth::{self, Caller},
    clients::{Clients, RequestId},
};

/// A request of 1,000 users of a few hundred bytes each fits well within this; more is 413.
const MAX_BODY: usize = 4 * 1024 * 1024;

pub fn routes() -> OpenApiRouter<Clients> {
    OpenApiRouter::new()
        .routes(routes!(users::create, update::update, delete::delete))
        .routes(routes!(info::users_info))
        .routes(routes!(directory::groups))
        .routes(routes!(directory::roles))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(crate::http::error::json_rejections::<KoreError>))
}

/// The application whose admin client signed the `auth` header's JWT.
pub struct KoreAdmin(pub Caller);

impl FromRequestParts<Clients> for KoreAdmin {
    type Rejection = KoreError;

    async fn from_request_parts(parts: &mut Parts, clients: &Clients) -> Result<Self, Self::Rejection> {
        let request_id = RequestId::from_request_parts(parts, clients).await.unwrap_or_default();
        let token = parts.headers.get("auth").and_then(|v| v.to_str().ok());
        Ok(Self(auth::admin_jwt(clients, &request_id, token, Scope::UserManagement).await?))
    }
}

/// The request's body as JSON, or Kore's whole-request error (413 over the limit, 400 otherwise).
fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, KoreError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            KoreError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: "The request body is too large.".into(),
                retry_after: None,
            }
        } else {
            KoreError::bad_request("the body could not be read")
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|_| KoreError::bad_request("the body is not valid JSON"))
}
