//! Sendbird's resources as the SDK's models read them, built from registry users.

use std::collections::{BTreeMap, HashMap};

use proto::registry::v1 as pb;
use serde::Serialize;

use crate::clients::PublicBase;

/// Sendbird's user resource (`SendbirdUser`). Fields the model declares non-nullable are always
/// present with a value, never `null`. No `Debug`: it can carry a freshly issued token.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::User)]
pub struct UserResource {
    user_id: String,
    nickname: String,
    profile_url: String,
    access_token: String,
    is_active: bool,
    is_online: bool,
    has_ever_logged_in: bool,
    last_seen_at: i64,
    /// Seconds, as Sendbird sends it.
    created_at: i64,
    discovery_keys: Vec<String>,
    metadata: BTreeMap<String, String>,
    preferred_languages: Vec<String>,
    locale: String,
    require_auth_for_profile_image: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_created: Option<bool>,
    /// Only on the deprecated `issue_session_token` path.
    #[serde(skip_serializing_if = "Option::is_none")]
    session_tokens: Option<Vec<SessionTokenResource>>,
}

/// No `Debug`: it carries a token.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sendbird::SessionTokenResource)]
pub struct SessionTokenResource {
    pub session_token: String,
    /// Milliseconds.
    pub expires_at: i64,
}

impl UserResource {
    /// `base` turns the path of an uploaded image into the absolute URL it is served at.
    pub fn new(user: pb::User, base: &PublicBase) -> Self {
        let last_seen_at = user.last_seen_at.as_ref().map_or(0, proto::timestamp_to_millis);
        let profile_url = base.url(user.profile_url);
        Self {
            user_id: user.user_id,
            nickname: user.nickname,
            profile_url,
            access_token: String::new(),
            is_active: user.is_active,
            is_online: false,
            has_ever_logged_in: last_seen_at > 0,
            last_seen_at,
            created_at: user.created_at.map_or(0, |t| t.seconds),
            discovery_keys: user.discovery_keys,
            metadata: metadata_strings(user.metadata),
            locale: user.preferred_languages.first().cloned().unwrap_or_default(),
            preferred_languages: user.preferred_languages,
            require_auth_for_profile_image: false,
            is_created: None,
            session_tokens: None,
        }
    }

    /// A token issued with this call; stored only as a hash, so shown this once.
    pub fn with_access_token(mut self, token: String) -> Self {
        self.access_token = token;
        self
    }

    pub fn with_session_token(mut self, token: SessionTokenResource) -> Self {
        self.session_tokens = Some(vec![token]);
        self
    }

    /// The create call's answer: `is_created` tells a new user from an existing one.
    pub fn created(mut self) -> Self {
        self.is_created = Some(true);
        self
    }
}

/// Sendbird metadata is string-valued; values another dialect stored as numbers or booleans
/// are shown in their JSON spelling.
pub fn metadata_strings(metadata: HashMap<String, pb::MetadataValue>) -> BTreeMap<String, String> {
    use pb::metadata_value::Kind;
    metadata
        .into_iter()
        .map(|(k, v)| {
            let value = match v.kind {
                Some(Kind::StringValue(s)) => s,
                Some(Kind::IntValue(i)) => i.to_string(),
                Some(Kind::DoubleValue(d)) => d.to_string(),
                Some(Kind::BoolValue(b)) => b.to_string(),
                None => String::new(),
            };
            (k, value)
        })
        .collect()
}

pub fn metadata_to_pb(metadata: BTreeMap<String, String>) -> HashMap<String, pb::MetadataValue> {
    metadata
        .into_iter()
        .map(|(k, v)| (k, pb::MetadataValue { kind: Some(pb::metadata_value::Kind::StringValue(v)) }))
        .collect()
}

pub fn by_user_id(user_id: String) -> Option<pb::UserLookup> {
    Some(pb::UserLookup { key: Some(pb::user_lookup::Key::UserId(user_id)) })
}
