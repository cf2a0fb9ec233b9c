//! What the OpenAPI document says of Sunshine's request bodies and error answers. Bodies are
//! read field by field (`body.rs`: `null` clears, absent keeps, each limit in Sunshine's words);
//! these types name the same fields for the document. Nothing constructs them but `Empty`.

use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoResponses, ToSchema};

/// `{}`.
#[derive(Serialize, ToSchema)]
#[schema(as = sunshine::Empty)]
pub struct Empty {}

/// Sunshine's error body: `{ "errors": [ { "code": "<snake_case>", "title": "<text>" } ] }`.
#[derive(ToSchema)]
#[schema(as = sunshine::Error)]
#[allow(dead_code)] // described, not built
pub struct ErrorBody {
    #[schema(value_type = Vec<Object>)]
    errors: Vec<Value>,
}

/// Every failure of a Sunshine call.
#[derive(IntoResponses)]
#[allow(dead_code)] // described, not built
pub enum Errors {
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    /// No credential, a wrong one, or one of another application.
    #[response(status = 401)]
    Unauthorized(#[to_schema] ErrorBody),
    #[response(status = 403)]
    Forbidden(#[to_schema] ErrorBody),
    #[response(status = 404)]
    NotFound(#[to_schema] ErrorBody),
    #[response(status = 405)]
    MethodNotAllowed(#[to_schema] ErrorBody),
    /// Another user has this `externalId`.
    #[response(status = 409)]
    Conflict(#[to_schema] ErrorBody),
    #[response(status = 413)]
    TooLarge(#[to_schema] ErrorBody),
    /// `signedUpAt` not ISO 8601, metadata not flat or over 4 KB.
    #[response(status = 422)]
    Unprocessable(#[to_schema] ErrorBody),
    #[response(status = 429, headers(("Retry-After" = u64, description = "Seconds to wait")))]
    RateLimited(#[to_schema] ErrorBody),
    #[response(status = 500)]
    Internal(#[to_schema] ErrorBody),
    #[response(status = 503)]
    Unavailable(#[to_schema] ErrorBody),
}

/// A profile as sent: each field 1 to 128 characters (`avatarUrl` 2,048, `locale` 64); `null`
/// clears it on PATCH.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::ProfileWrite)]
#[allow(dead_code)] // described, not built
pub struct ProfileWrite {
    given_name: Option<String>,
    surname: Option<String>,
    email: Option<String>,
    avatar_url: Option<String>,
    locale: Option<String>,
}

/// `POST .../users`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::CreateUser)]
#[allow(dead_code)] // described, not built
pub struct CreateUser {
    /// 1 to 1,024 characters, unique per application (case-insensitive).
    external_id: String,
    /// ISO 8601.
    signed_up_at: Option<String>,
    to_be_retained: Option<bool>,
    profile: Option<ProfileWrite>,
    /// Flat (strings, numbers, booleans), at most 4 KB.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

/// `PATCH .../users/{user}`: each field sent replaces its own; `null` clears it; `metadata`
/// replaces the whole metadata.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::UpdateUser)]
#[allow(dead_code)] // described, not built
pub struct UpdateUser {
    signed_up_at: Option<String>,
    to_be_retained: Option<bool>,
    profile: Option<ProfileWrite>,
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

/// `POST .../conversations`.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::NewConversation)]
#[allow(dead_code)] // described, not built
pub struct NewConversation {
    /// `personal` or `sdkGroup`.
    r#type: String,
    /// At most 10; an unknown `userExternalId` is created (Sunshine answers 404).
    participants: Option<Vec<ParticipantRef>>,
    /// 1 to 100 characters.
    display_name: Option<String>,
    description: Option<String>,
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

/// `POST .../join` and `.../leave`: exactly one of `userId` and `userExternalId`.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::ParticipantRef)]
#[allow(dead_code)] // described; read by `named`
pub struct ParticipantRef {
    user_id: Option<String>,
    user_external_id: Option<String>,
    /// Accepted and ignored.
    #[serde(rename = "subscribeSDKClient")]
    subscribe_sdk_client: Option<bool>,
}
