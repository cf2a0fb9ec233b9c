//! Sendbird Platform API v3 dialect (`/v3`): auth by `Api-Token`, Sendbird's user resource and
//! its error body `{ "error": true, "code", "message" }`.

mod ai_agent;
mod body;
mod bots;
mod error;
mod form;
mod images;
mod metadata;
mod query;
mod resource;
mod tokens;
mod users;

use axum::{Router, extract::FromRequestParts, http::request::Parts, routing::get};

pub use error::SendbirdError;

use crate::{
    auth::{self, Caller},
    clients::{Clients, RequestId},
};

pub fn routes() -> Router<Clients> {
    Router::new()
        .route("/v3/users", get(users::list).post(users::create))
        .route("/v3/users/{user_id}", get(users::view).put(users::update).delete(users::delete))
        .route("/profile_images/{app_id}/{id}/{file}", get(images::serve))
        .route("/v3/bots", get(bots::list).post(bots::create))
        .route("/v3/bots/{bot_userid}", get(bots::view).put(bots::update).delete(bots::delete))
        .route("/v3/ai_agent/ai_agents/{bot_userid}/messenger", axum::routing::post(ai_agent::open_messenger))
        .route(
            "/v3/ai_agent/ai_agents/{bot_userid}/channels/{channel_url}/ai_agent_context",
            get(ai_agent::get_context).put(ai_agent::replace_context),
        )
        .route("/v3/users/{user_id}/token", axum::routing::post(tokens::issue).delete(tokens::revoke_all))
        .route(
            "/v3/users/{user_id}/metadata",
            get(metadata::view_all).post(metadata::create).put(metadata::update).delete(metadata::delete_all),
        )
        .route(
            "/v3/users/{user_id}/metadata/{key}",
            get(metadata::view_key).put(metadata::update_key).delete(metadata::delete_key),
        )
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
