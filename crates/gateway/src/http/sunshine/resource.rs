//! Sunshine's user resource, as the official client's `User` model reads it: absent values are
//! left out (its models refuse `""` where they have a minimum length).

use proto::registry::v1 as pb;
use serde::Serialize;

use crate::clients::PublicBase;
use serde_json::{Map, Value};

/// The longest identity value the official client's `Identity` model accepts.
const MAX_IDENTITY_VALUE_CHARS: usize = 128;

pub fn time(timestamp: &proto::Timestamp) -> String {
    platform::time::iso8601_millis(proto::timestamp_to_millis(timestamp))
}

pub fn metadata(metadata: std::collections::HashMap<String, pb::MetadataValue>) -> Map<String, Value> {
    use pb::metadata_value::Kind;
    metadata
        .into_iter()
        .map(|(key, value)| {
            let value = match value.kind {
                Some(Kind::StringValue(s)) => Value::from(s),
                Some(Kind::IntValue(i)) => Value::from(i),
                Some(Kind::DoubleValue(d)) => Value::from(d),
                Some(Kind::BoolValue(b)) => Value::from(b),
                None => Value::Null,
            };
            (key, value)
        })
        .collect()
}

/// Sunshine's user resource. Absent values are left out, never `""`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::User)]
pub struct User {
    /// Roster's id: 24 lowercase hex characters.
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    /// `YYYY-MM-DDThh:mm:ss.sssZ`.
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_up_at: Option<String>,
    to_be_retained: bool,
    profile: Profile,
    /// Flat: string, number and boolean values.
    #[schema(value_type = Object)]
    metadata: Map<String, Value>,
    identities: Vec<Identity>,
    authenticated: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::Profile)]
pub struct Profile {
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    surname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar_url: Option<String>,
    /// BCP 47.
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sunshine::Identity)]
pub struct Identity {
    r#type: String,
    value: String,
}

/// `{ "user": {...} }`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sunshine::UserAnswer)]
pub struct UserAnswer {
    pub user: User,
}

impl UserAnswer {
    pub fn new(user: pb::User, base: &PublicBase) -> Self {
        Self { user: self::user(user, base) }
    }
}

fn profile(profile: pb::Profile, base: &PublicBase) -> Profile {
    let pb::Profile { given_name, surname, display_name: _, email, language, avatar_url } = profile;
    let set = |value: Option<String>| value.filter(|v| !v.is_empty());
    Profile {
        given_name: set(given_name),
        surname: set(surname),
        email: set(email),
        avatar_url: set(avatar_url).map(|url| base.url(url)),
        locale: set(language),
    }
}

/// `{ id, externalId, signedUpAt, toBeRetained, profile, metadata, identities, authenticated }`.
pub fn user(user: pb::User, base: &PublicBase) -> User {
    // Channel identities longer than the client's model allows would make it refuse the whole
    // user; they are left out of this dialect (docs/dialects/sunshine.md says so).
    let identities = user
        .identities
        .into_iter()
        .filter(|i| !i.value.is_empty() && i.value.chars().count() <= MAX_IDENTITY_VALUE_CHARS)
        .map(|i| Identity { r#type: i.channel_type, value: i.value })
        .collect();
    User {
        id: user.id,
        external_id: user.external_id.filter(|e| !e.is_empty()),
        signed_up_at: user.signed_up_at.as_ref().map(time),
        to_be_retained: user.to_be_retained,
        profile: profile(user.profile.unwrap_or_default(), base),
        metadata: metadata(user.metadata),
        identities,
        authenticated: user.authenticated,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn base() -> PublicBase {
        PublicBase("http://roster.test".into())
    }

    #[test]
    fn user_resource() {
        let user = pb::User {
            id: "5f7e0e2c1e7c7e000f0f9c3a".into(),
            external_id: Some("crm/42".into()),
            profile: Some(pb::Profile {
                given_name: Some("Maria".into()),
                display_name: Some("Maria S.".into()),
                email: Some(String::new()),
                language: Some("pt-BR".into()),
                ..Default::default()
            }),
            metadata: [("tier".to_owned(), pb::MetadataValue { kind: Some(pb::metadata_value::Kind::IntValue(2)) })]
                .into(),
            identities: vec![
                pb::Identity { channel_type: "whatsapp".into(), value: "+15550100".into() },
                pb::Identity { channel_type: "line".into(), value: "x".repeat(129) },
            ],
            signed_up_at: Some(proto::timestamp_from_millis(1_600_596_672_345)),
            to_be_retained: true,
            authenticated: true,
            nickname: "ignored".into(),
            ..Default::default()
        };
        insta::assert_json_snapshot!(serde_json::to_value(super::user(user, &base())).unwrap());
        let bare = serde_json::to_value(super::user(
            pb::User { id: "5f7e0e2c1e7c7e000f0f9c3b".into(), ..Default::default() },
            &base(),
        ))
        .unwrap();
        assert_eq!(bare.get("externalId"), None);
        assert_eq!(bare.get("signedUpAt"), None);
        assert_eq!(bare["profile"], json!({}));
    }
}
