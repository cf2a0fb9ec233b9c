//! What the OpenAPI document says of Sendbird's request bodies and error answers. The bodies are
//! read field by field (`body.rs`, so each bad field gets Sendbird's own code); these types name
//! the same fields for the document, beside the handlers that read them. Nothing constructs
//! them: they exist to be described.
#![allow(dead_code)]

use std::collections::BTreeMap;

use utoipa::{IntoResponses, ToSchema};

/// Sendbird's error body.
#[derive(ToSchema)]
#[schema(as = sendbird::Error)]
pub struct ErrorBody {
    /// Always `true`.
    pub error: bool,
    /// Six digits: the HTTP status, then the reason (400105 missing parameter, 400110 too long,
    /// 400111 invalid value, 400201 not found, 400202 already exists, 400401 wrong API token...).
    pub code: u32,
    pub message: String,
}

/// Every failure a Sendbird call can answer: client errors are 400 with a code, as Sendbird does.
#[derive(IntoResponses)]
pub enum Errors {
    /// Refused: a missing, malformed or unknown parameter, an unknown resource, a wrong API token.
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    /// The path names no route of this dialect.
    #[response(status = 404)]
    NotFound(#[to_schema] ErrorBody),
    /// The body is larger than the gateway accepts.
    #[response(status = 413)]
    TooLarge(#[to_schema] ErrorBody),
    /// Over the application's rate limit; `Retry-After` says when to try again.
    #[response(status = 429, headers(("Retry-After" = u64, description = "Seconds to wait")))]
    RateLimited(#[to_schema] ErrorBody),
    /// A fault of Roster's (logged; the message says nothing more).
    #[response(status = 500)]
    Internal(#[to_schema] ErrorBody),
    /// A service Roster needs is unavailable; try again.
    #[response(status = 503)]
    Unavailable(#[to_schema] ErrorBody),
}

/// `{}`, the answer of a delete.
#[derive(serde::Serialize, ToSchema)]
#[schema(as = sendbird::Empty)]
pub struct Empty {}

/// `POST /v3/users` as JSON.
#[derive(ToSchema)]
#[schema(as = sendbird::CreateUser)]
pub struct CreateUser {
    /// Unique in the application, at most 80 characters.
    pub user_id: String,
    /// At most 80 characters.
    pub nickname: String,
    /// At most 2,048 characters; may be empty.
    pub profile_url: String,
    /// Issue an access token (shown once, in `access_token`).
    pub issue_access_token: Option<bool>,
    pub discovery_keys: Option<Vec<String>>,
    /// String keys and string values.
    pub metadata: Option<BTreeMap<String, String>>,
    /// Deprecated: issue a session token (in `session_tokens`).
    #[schema(deprecated)]
    pub issue_session_token: Option<bool>,
    /// Deprecated: with `issue_session_token`, its expiry in milliseconds since the epoch.
    #[schema(deprecated)]
    pub session_token_expires_at: Option<i64>,
}

/// `POST /v3/users` with a profile image.
#[derive(ToSchema)]
#[schema(as = sendbird::CreateUserForm)]
pub struct CreateUserForm {
    pub user_id: String,
    pub nickname: String,
    pub profile_url: Option<String>,
    /// A JPEG or PNG image of at most 5 MB.
    #[schema(value_type = String, format = Binary)]
    pub profile_file: Vec<u8>,
    /// `true` or `false`.
    pub issue_access_token: Option<String>,
    /// Comma-separated.
    pub discovery_keys: Option<String>,
}

/// `PUT /v3/users/{user_id}` as JSON: what is sent changes, the rest stays.
#[derive(ToSchema)]
#[schema(as = sendbird::UpdateUser)]
pub struct UpdateUser {
    pub nickname: Option<String>,
    pub profile_url: Option<String>,
    /// `true` issues a new access token (shown once, in `access_token`).
    pub issue_access_token: Option<bool>,
    pub is_active: Option<bool>,
    /// Accepted; Roster has no channels to leave.
    pub leave_all_when_deactivated: Option<bool>,
    /// Replaces the user's discovery keys.
    pub discovery_keys: Option<Vec<String>>,
    pub preferred_languages: Option<Vec<String>>,
    /// Milliseconds since the epoch.
    pub last_seen_at: Option<i64>,
    #[schema(deprecated)]
    pub issue_session_token: Option<bool>,
    #[schema(deprecated)]
    pub session_token_expires_at: Option<i64>,
}

/// `PUT /v3/users/{user_id}` with a new profile image.
#[derive(ToSchema)]
#[schema(as = sendbird::UpdateUserForm)]
pub struct UpdateUserForm {
    pub nickname: Option<String>,
    /// A JPEG or PNG image of at most 5 MB; replaces the profile URL.
    #[schema(value_type = Option<String>, format = Binary)]
    pub profile_file: Option<Vec<u8>>,
}

/// `POST /v3/users/{user_id}/token`.
#[derive(ToSchema)]
#[schema(as = sendbird::IssueSessionToken)]
pub struct IssueSessionToken {
    /// Milliseconds since the epoch; default now + the application's session lifetime.
    pub expires_at: Option<i64>,
}

/// `POST /v3/users/{user_id}/metadata` (every key must be new) and `PUT` (every key must exist,
/// unless `upsert`).
#[derive(ToSchema)]
#[schema(as = sendbird::MetadataWrite)]
pub struct MetadataWrite {
    pub metadata: BTreeMap<String, String>,
    /// `PUT` only: create missing keys.
    pub upsert: Option<bool>,
}

/// `PUT /v3/users/{user_id}/metadata/{key}`.
#[derive(ToSchema)]
#[schema(as = sendbird::MetadataValue)]
pub struct MetadataValue {
    pub value: String,
    pub upsert: Option<bool>,
}

/// `POST /v3/bots`.
#[derive(ToSchema)]
#[schema(as = sendbird::CreateBot)]
pub struct CreateBot {
    pub bot_userid: String,
    pub bot_nickname: String,
    pub bot_profile_url: String,
    pub bot_type: String,
    pub bot_callback_url: String,
    pub is_privacy_mode: bool,
    pub enable_mark_as_read: Option<bool>,
    pub show_member: Option<bool>,
    pub channel_invitation_preference: Option<i32>,
    pub bot_metadata: Option<BTreeMap<String, String>>,
}

/// `PUT /v3/bots/{bot_userid}`: what is sent changes.
#[derive(ToSchema)]
#[schema(as = sendbird::UpdateBot)]
pub struct UpdateBot {
    pub bot_nickname: Option<String>,
    pub bot_profile_url: Option<String>,
    pub bot_type: Option<String>,
    pub bot_callback_url: Option<String>,
    pub is_privacy_mode: Option<bool>,
    pub enable_mark_as_read: Option<bool>,
    pub show_member: Option<bool>,
    pub channel_invitation_preference: Option<i32>,
    pub bot_metadata: Option<BTreeMap<String, String>>,
}

/// `POST /v3/ai_agent/ai_agents/{bot_userid}/messenger`.
#[derive(ToSchema)]
#[schema(as = sendbird::OpenMessenger)]
pub struct OpenMessenger {
    /// A known user; absent, a user is created and returned in `auto_created_user`.
    pub user_id: Option<String>,
    /// BCP 47.
    pub language: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub context: Option<BTreeMap<String, String>>,
}
