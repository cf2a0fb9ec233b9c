//! Kore.ai Create User API (`POST /api/public/users`): bulk creation of members with groups,
//! roles per bot and bot-task assignments, authenticated by an admin client's JWT in the `auth`
//! header (user-management scope). Every valid user is created; each invalid one is reported.

mod error;
mod member;
mod users;

use axum::{
    extract::{DefaultBodyLimit, FromRequestParts},
    http::request::Parts,
};
use proto::token::v1::Scope;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use error::KoreError;
pub use member::{KoreRole, KoreTask, KoreUser, UserInfo};

use crate::{
    auth::{self, Caller},
    clients::{Clients, RequestId},
};

/// A request of 1,000 users of a few hundred bytes each fits well within this; more is 413.
const MAX_BODY: usize = 4 * 1024 * 1024;

pub fn routes() -> OpenApiRouter<Clients> {
    OpenApiRouter::new()
        .routes(routes!(users::create))
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
