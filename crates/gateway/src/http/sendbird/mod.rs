//! Sendbird Platform API v3 dialect (`/v3`): auth by `Api-Token`, Sendbird's user resource and
//! its error body `{ "error": true, "code", "message" }`.

mod ai_agent;
mod body;
mod bots;
mod error;
mod form;
mod images;
mod metadata;
mod privacy;
mod query;
mod resource;
mod schema;
mod tokens;
mod users;
mod webhook;

/// Metadata as the string-valued dialects (and the dashboard) show and take it.
pub(crate) use resource::{metadata_strings, metadata_to_pb};

use axum::{extract::FromRequestParts, http::request::Parts};
use utoipa_axum::{router::OpenApiRouter, routes};

pub use error::SendbirdError;
pub use webhook::delivery_body;

use crate::{
    auth::{self, Caller},
    clients::{Clients, RequestId},
};

pub fn routes() -> OpenApiRouter<Clients> {
    OpenApiRouter::new()
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::view, users::update, users::delete))
        .routes(routes!(images::serve))
        .routes(routes!(bots::list, bots::create))
        .routes(routes!(bots::view, bots::update, bots::delete))
        .routes(routes!(ai_agent::open_messenger))
        .routes(routes!(ai_agent::get_context, ai_agent::replace_context))
        .routes(routes!(tokens::issue, tokens::revoke_all))
        .routes(routes!(metadata::view_all, metadata::create, metadata::update, metadata::delete_all))
        .routes(routes!(metadata::view_key, metadata::update_key, metadata::delete_key))
        .routes(routes!(privacy::list, privacy::register))
        .routes(routes!(privacy::view, privacy::cancel))
        .routes(routes!(privacy::export))
        .routes(routes!(webhook::view, webhook::update))
        // axum's own rejections (a malformed path, a wrong method) come as plain text or nothing.
        .layer(axum::middleware::map_response(crate::http::error::json_rejections::<SendbirdError>))
}

/// The application behind the `Api-Token` header (the SDK sends it as `api-token`).
pub struct SendbirdCaller(pub Caller);

impl FromRequestParts<Clients> for SendbirdCaller {
    type Rejection = SendbirdError;

    async fn from_request_parts(parts: &mut Parts, clients: &Clients) -> Result<Self, Self::Rejection> {
        let request_id = RequestId::from_request_parts(parts, clients).await.unwrap_or_default();
        let token = parts.headers.get("api-token").and_then(|v| v.to_str().ok());
        let caller = auth::api_token(clients, &request_id, token).await?;
        Ok(Self(caller))
    }
}
