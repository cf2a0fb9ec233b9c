//! Sendbird Platform API v3 dialect (`/v3`): auth by `Api-Token`, Sendbird's user resource and
//! its error body `{ "error": true, "code", "message" }`.

mod body;
mod error;
mod users;

use axum::{
    Router,
    extract::FromRequestParts,
    http::request::Parts,
    routing::{get, post},
};

pub use error::SendbirdError;

use crate::{
    auth::{self, Caller},
    clients::{Clients, RequestId},
};

pub fn routes() -> Router<Clients> {
    Router::new().route("/v3/users", post(users::create)).route("/v3/users/{user_id}", get(users::view))
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
