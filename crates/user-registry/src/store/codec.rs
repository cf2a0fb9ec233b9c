//! Rows to domain values and back. Rows were validated on the way in, so a row that no longer
//! parses is a server fault, reported with the row's id.

use std::collections::BTreeMap;

use anyhow::Context as _;

use super::entity::users;
use crate::domain::{
    Activation, AppId, BotTask, Detail, Details, DiscoveryKey, EmailId, ExternalId, GroupId, Identity, Member,
    MetaValue, Metadata, Nickname, OrgUserId, Origin, Profile, ProfileUrl, RoleBinding, RosterId, User, UserId,
};

pub fn into_user(
    row: users::Model,
    metadata: BTreeMap<String, String>,
    discovery_keys: Vec<String>,
    identities: Vec<(String, String)>,
) -> anyhow::Result<User> {
    let context = || format!("stored user {} is invalid", row.id);
    let member = decode_member(
        row.member_email_id,
        row.member_org_user_id,
        row.member_activation.as_deref(),
        row.member_attributes.as_deref(),
    )
    .with_context(context)?;
    let metadata = metadata
        .into_iter()
        .map(|(k, v)| decode_value(&v).map(|v| (k, v)))
        .collect::<anyhow::Result<BTreeMap<_, _>>>()
        .with_context(context)?;
    Ok(User {
        id: RosterId::parse(row.id.clone()).with_context(context)?,
        app_id: AppId::parse(row.app_id).with_context(context)?,
        user_id: UserId::parse(row.user_id).with_context(context)?,
        external_id: row.external_id.map(ExternalId::parse).transpose().with_context(context)?,
        nickname: Nickname::parse(row.nickname).with_context(context)?,
        profile_url: ProfileUrl::parse(row.profile_url).with_context(context)?,
        profile: Profile::parse(row.given_name, row.surname, row.email, row.language).with_context(context)?,
        metadata: Metadata::parse(metadata).with_context(context)?,
        discovery_keys: discovery_keys
            .into_iter()
            .map(DiscoveryKey::parse)
            .collect::<Result<_, _>>()
            .with_context(context)?,
        preferred_languages: serde_json::from_str(&row.preferred_languages).with_context(context)?,
        is_active: row.is_active,
        origin: Origin::parse(&row.origin).with_context(context)?,
        created_at: row.created_at,
        updated_at: row.updated_at,
        last_seen_at: row.last_seen_at,
        associated_at: row.associated_at,
        expires_unassociated: row.expires_unassociated,
        signed_up_at: row.signed_up_at,
        to_be_retained: row.to_be_retained,
        authenticated: row.authenticated,
        // Sorted here, not by the database, whose collation may order text differently.
        identities: Identity::parse_all(identities).with_context(context)?,
        member,
    })
}

/// What has no uniqueness rule of its own, stored as one JSON object. Groups and role bindings
/// are also indexed in tables of their own (`members`), for listing.
#[derive(serde::Serialize, serde::Deserialize)]
struct Attributes {
    /// Particulars by `Detail::name`; absent on members stored before they were kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    details: BTreeMap<String, String>,
    groups: Vec<String>,
    roles: Vec<StoredRole>,
    bot_tasks: Vec<StoredTask>,
    can_create_bot: bool,
    is_developer: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredRole {
    role_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bot_id: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredTask {
    stream_id: String,
    dialogs: Vec<String>,
}

/// A member as the user row's columns hold it: NULLs for users that are not members.
#[derive(Debug, Default)]
pub struct MemberColumns {
    pub email_id: Option<String>,
    pub email_norm: Option<String>,
    pub org_user_id: Option<String>,
    pub activation: Option<String>,
    pub attributes: Option<String>,
}

pub fn encode_member(member: Option<&Member>) -> anyhow::Result<MemberColumns> {
    let Some(member) = member else {
        return Ok(MemberColumns::default());
    };
    let attributes = Attributes {
        details: member.details.iter().map(|(d, v)| (d.name().to_owned(), v.to_owned())).collect(),
        groups: member.groups.iter().map(|g| g.as_str().to_owned()).collect(),
        roles: member
            .roles
            .iter()
            .map(|r| StoredRole { role_id: r.role_id().to_owned(), bot_id: r.bot_id().map(str::to_owned) })
            .collect(),
        bot_tasks: member
            .bot_tasks
            .iter()
            .map(|t| StoredTask { stream_id: t.stream_id().to_owned(), dialogs: t.dialogs().to_vec() })
            .collect(),
        can_create_bot: member.can_create_bot,
        is_developer: member.is_developer,
    };
    Ok(MemberColumns {
        email_id: Some(member.email_id.as_str().to_owned()),
        email_norm: Some(member.email_id.normalized()),
        org_user_id: member.org_user_id.as_ref().map(|o| o.as_str().to_owned()),
        activation: Some(member.activation.as_str().to_owned()),
        attributes: Some(serde_json::to_string(&attributes)?),
    })
}

fn decode_member(
    email_id: Option<String>,
    org_user_id: Option<String>,
    activation: Option<&str>,
    attributes: Option<&str>,
) -> anyhow::Result<Option<Member>> {
    let Some(email_id) = email_id else {
        return Ok(None);
    };
    let attributes: Attributes = serde_json::from_str(attributes.context("member without attributes")?)?;
    let details = attributes
        .details
        .into_iter()
        .map(|(name, value)| Detail::from_name(&name).map(|d| (d, Some(value))).context("unknown member particular"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(Member {
        email_id: EmailId::parse(email_id)?,
        org_user_id: OrgUserId::parse(org_user_id)?,
        details: Details::parse(details)?,
        groups: GroupId::parse_all(attributes.groups)?,
        roles: RoleBinding::parse_all(attributes.roles.into_iter().map(|r| (r.role_id, r.bot_id)).collect())?,
        bot_tasks: BotTask::parse_all(attributes.bot_tasks.into_iter().map(|t| (t.stream_id, t.dialogs)).collect())?,
        can_create_bot: attributes.can_create_bot,
        is_developer: attributes.is_developer,
        activation: activation.and_then(Activation::parse).context("unknown member activation")?,
    }))
}

/// A metadata value as a JSON scalar, so numbers and booleans keep their kind.
pub fn encode_value(value: &MetaValue) -> String {
    match value {
        MetaValue::String(s) => serde_json::Value::from(s.as_str()),
        MetaValue::Int(i) => serde_json::Value::from(*i),
        MetaValue::Double(d) => serde_json::Value::from(*d),
        MetaValue::Bool(b) => serde_json::Value::from(*b),
    }
    .to_string()
}

pub fn decode_value(json: &str) -> anyhow::Result<MetaValue> {
    Ok(match serde_json::from_str(json)? {
        serde_json::Value::String(s) => MetaValue::String(s),
        serde_json::Value::Bool(b) => MetaValue::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => MetaValue::Int(i),
            None => MetaValue::Double(n.as_f64().context("number out of range")?),
        },
        other => anyhow::bail!("metadata value {other} is not a scalar"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_keeping_their_kind() {
        for value in [MetaValue::String("v".into()), MetaValue::Int(123), MetaValue::Double(1.0), MetaValue::Bool(true)]
        {
            assert_eq!(decode_value(&encode_value(&value)).expect("decodes"), value);
        }
        assert!(decode_value("[1]").is_err());
    }
}
