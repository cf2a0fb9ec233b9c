//! Sunshine's user resource, as the official client's `User` model reads it: absent values are
//! left out (its models refuse `""` where they have a minimum length).

use proto::registry::v1 as pb;
use serde_json::{Map, Value, json};

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

fn profile(profile: pb::Profile) -> Map<String, Value> {
    let pb::Profile { given_name, surname, display_name: _, email, language, avatar_url } = profile;
    [("givenName", given_name), ("surname", surname), ("email", email), ("avatarUrl", avatar_url), ("locale", language)]
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_owned(), Value::from(value.filter(|v| !v.is_empty())?))))
        .collect()
}

/// `{ id, externalId, signedUpAt, toBeRetained, profile, metadata, identities, authenticated }`.
pub fn user(user: pb::User) -> Value {
    // Channel identities longer than the client's model allows would make it refuse the whole
    // user; they are left out of this dialect (docs/dialects/sunshine.md says so).
    let identities: Vec<Value> = user
        .identities
        .into_iter()
        .filter(|i| !i.value.is_empty() && i.value.chars().count() <= MAX_IDENTITY_VALUE_CHARS)
        .map(|i| json!({ "type": i.channel_type, "value": i.value }))
        .collect();
    let mut resource = json!({
        "id": user.id,
        "toBeRetained": user.to_be_retained,
        "profile": profile(user.profile.unwrap_or_default()),
        "metadata": metadata(user.metadata),
        "identities": identities,
        "authenticated": user.authenticated,
    });
    if let Some(external_id) = user.external_id.filter(|e| !e.is_empty()) {
        resource["externalId"] = external_id.into();
    }
    if let Some(signed_up_at) = &user.signed_up_at {
        resource["signedUpAt"] = time(signed_up_at).into();
    }
    resource
}

#[cfg(test)]
mod tests {
    use super::*;

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
        insta::assert_json_snapshot!(super::user(user));
        let bare = super::user(pb::User { id: "5f7e0e2c1e7c7e000f0f9c3b".into(), ..Default::default() });
        assert_eq!(bare.get("externalId"), None);
        assert_eq!(bare.get("signedUpAt"), None);
        assert_eq!(bare["profile"], json!({}));
    }
}
