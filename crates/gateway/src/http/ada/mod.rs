//! Ada API v2 dialect (`/api/v2`): end users, authenticated by `Authorization: Bearer <API token>`,
//! Ada's error body, and every path with or without its trailing slash.

mod end_users;
mod error;

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRequestParts},
    http::request::Parts,
    routing::get,
};

pub use error::AdaError;

use crate::{
    auth::{self, Caller},
    clients::{Clients, RequestId},
};

/// Ada refuses larger payloads with 413 before reading them whole.
const MAX_BODY: usize = 4 * 1024;

pub fn routes() -> Router<Clients> {
    Router::new()
        .route("/api/v2/end-users", get(end_users::list).post(end_users::create))
        .route("/api/v2/end-users/", get(end_users::list).post(end_users::create))
        .route("/api/v2/end-users/{end_user_id}", get(end_users::view).patch(end_users::update))
        .route("/api/v2/end-users/{end_user_id}/", get(end_users::view).patch(end_users::update))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(error::json_rejections))
}

/// The application behind `Authorization: Bearer <token>`.
pub struct AdaCaller(pub Caller);

impl FromRequestParts<Clients> for AdaCaller {
    type Rejection = AdaError;

    async fn from_request_parts(parts: &mut Parts, clients: &Clients) -> Result<Self, Self::Rejection> {
        let request_id = RequestId::from_request_parts(parts, clients).await.unwrap_or_default();
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
        Ok(Self(auth::api_token(clients, &request_id, token).await?))
    }
}
