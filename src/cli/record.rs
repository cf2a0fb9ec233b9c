//! Roster's export format: JSON Lines, one user per line, every field ExportUsers gives, named
//! as in `roster.registry.v1.User` (docs/migrating.md shows a line). Instants are RFC 3339 in UTC
//! with milliseconds; metadata values keep their JSON type (string, integer, float, boolean); an
//! uploaded profile image is a file beside the export, named by `profile_image` relative to the
//! export's directory. Unknown fields refuse the line: nothing in a file is silently left out.

use std::collections::BTreeMap;

use proto::registry::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub id: String,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default)]
    pub nickname: String,
    #[serde(default)]
    pub profile_url: String,
    /// The image file, relative to the export's directory, when the user has an uploaded one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_image: Option<String>,
    #[serde(default)]
    pub profile: Profile,
    #[serde(default)]
    pub metadata: BTreeMap<String, Value>,
    #[serde(default)]
    pub discovery_keys: Vec<String>,
    #[serde(default)]
    pub preferred_languages: Vec<String>,
    #[serde(default)]
    pub identities: Vec<Identity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Member>,
    pub is_active: bool,
    pub origin: String,
    #[serde(default)]
    pub authenticated: bool,
    #[serde(default)]
    pub to_be_retained: bool,
    #[serde(default)]
    pub expires_unassociated: bool,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_up_at: Option<String>,
    /// Only in an export made with `--include-sensitive`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sensitive_metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub channel_type: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_user_id: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub roles: Vec<RoleBinding>,
    #[serde(default)]
    pub bot_tasks: Vec<BotTask>,
    #[serde(default)]
    pub can_create_bot: bool,
    #[serde(default)]
    pub is_developer: bool,
    /// `active` or `pending`.
    pub activation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<MemberInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBinding {
    pub role_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotTask {
    pub stream_id: String,
    #[serde(default)]
    pub dialogs: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dept: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_contact_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

const ORIGINS: [(pb::Origin, &str); 6] = [
    (pb::Origin::Unspecified, "unspecified"),
    (pb::Origin::Api, "api"),
    (pb::Origin::Bulk, "bulk"),
    (pb::Origin::Login, "login"),
    (pb::Origin::Conversation, "conversation"),
    (pb::Origin::Channel, "channel"),
];

fn instant(ts: Option<proto::Timestamp>) -> Option<String> {
    ts.map(|ts| platform::time::iso8601_millis(proto::timestamp_to_millis(&ts)))
}

fn parse_instant(field: &str, value: &str) -> Result<proto::Timestamp, String> {
    platform::time::parse_rfc3339(value)
        .map(proto::timestamp_from_millis)
        .ok_or_else(|| format!("{field}: not an RFC 3339 instant: {value:?}"))
}

fn metadata_to_json(value: pb::MetadataValue) -> Value {
    match value.kind {
        Some(pb::metadata_value::Kind::StringValue(s)) => Value::String(s),
        Some(pb::metadata_value::Kind::IntValue(i)) => Value::from(i),
        Some(pb::metadata_value::Kind::DoubleValue(d)) => Value::from(d),
        Some(pb::metadata_value::Kind::BoolValue(b)) => Value::Bool(b),
        None => Value::Null,
    }
}

fn metadata_from_json(key: &str, value: Value) -> Result<pb::MetadataValue, String> {
    use pb::metadata_value::Kind;
    let kind = match value {
        Value::String(s) => Kind::StringValue(s),
        Value::Bool(b) => Kind::BoolValue(b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) if !n.is_f64() => Kind::IntValue(i),
            (_, Some(d)) => Kind::DoubleValue(d),
            _ => return Err(format!("metadata.{key}: a number out of range")),
        },
        _ => return Err(format!("metadata.{key}: must be a string, number or boolean")),
    };
    Ok(pb::MetadataValue { kind: Some(kind) })
}

impl Record {
    /// The line ExportUsers' user makes; `profile_image` is set by the caller that saved it.
    pub fn from_exported(exported: pb::ExportedUser) -> Self {
        let pb::ExportedUser { user, sensitive_metadata } = exported;
        let user = user.unwrap_or_default();
        let origin = ORIGINS.iter().find(|(o, _)| *o as i32 == user.origin).map_or("unspecified", |(_, s)| s);
        let profile = user.profile.unwrap_or_default();
        Self {
            id: user.id,
            user_id: user.user_id,
            external_id: user.external_id,
            nickname: user.nickname,
            profile_url: user.profile_url,
            profile_image: None,
            profile: Profile {
                given_name: profile.given_name,
                surname: profile.surname,
                display_name: profile.display_name,
                email: profile.email,
                language: profile.language,
                avatar_url: profile.avatar_url,
            },
            metadata: user.metadata.into_iter().map(|(k, v)| (k, metadata_to_json(v))).collect(),
            discovery_keys: user.discovery_keys,
            preferred_languages: user.preferred_languages,
            identities: user
                .identities
                .into_iter()
                .map(|i| Identity { channel_type: i.channel_type, value: i.value })
                .collect(),
            member: user.member.map(member_from_pb),
            is_active: user.is_active,
            origin: origin.to_owned(),
            authenticated: user.authenticated,
            to_be_retained: user.to_be_retained,
            expires_unassociated: user.expires_unassociated,
            created_at: instant(user.created_at).unwrap_or_default(),
            updated_at: instant(user.updated_at).unwrap_or_default(),
            last_seen_at: instant(user.last_seen_at),
            associated_at: instant(user.associated_at),
            signed_up_at: instant(user.signed_up_at),
            sensitive_metadata: sensitive_metadata.into_iter().collect(),
        }
    }

    /// The user this line describes, as ExportUsers gives it back (for RestoreUsers); refused
    /// with the first bad field, named. The registry checks every value again.
    pub fn into_exported(self, app_id: &str) -> Result<pb::ExportedUser, String> {
        let origin = ORIGINS
            .iter()
            .find(|(_, s)| *s == self.origin)
            .map(|(o, _)| *o as i32)
            .ok_or_else(|| format!("origin: unknown {:?}", self.origin))?;
        let optional = |field: &str, value: Option<String>| value.map(|v| parse_instant(field, &v)).transpose();
        let metadata = self
            .metadata
            .into_iter()
            .map(|(k, v)| metadata_from_json(&k, v).map(|v| (k, v)))
            .collect::<Result<_, _>>()?;
        let user = pb::User {
            id: self.id,
            app_id: app_id.to_owned(),
            user_id: self.user_id,
            external_id: self.external_id,
            nickname: self.nickname,
            profile_url: self.profile_url,
            profile: Some(pb::Profile {
                given_name: self.profile.given_name,
                surname: self.profile.surname,
                display_name: self.profile.display_name,
                email: self.profile.email,
                language: self.profile.language,
                avatar_url: self.profile.avatar_url,
            }),
            metadata,
            discovery_keys: self.discovery_keys,
            preferred_languages: self.preferred_languages,
            is_active: self.is_active,
            origin,
            created_at: Some(parse_instant("created_at", &self.created_at)?),
            updated_at: Some(parse_instant("updated_at", &self.updated_at)?),
            last_seen_at: optional("last_seen_at", self.last_seen_at)?,
            associated_at: optional("associated_at", self.associated_at)?,
            authenticated: self.authenticated,
            identities: self
                .identities
                .into_iter()
                .map(|i| pb::Identity { channel_type: i.channel_type, value: i.value })
                .collect(),
            member: self.member.map(member_to_pb).transpose()?,
            signed_up_at: optional("signed_up_at", self.signed_up_at)?,
            to_be_retained: self.to_be_retained,
            expires_unassociated: self.expires_unassociated,
        };
        Ok(pb::ExportedUser { user: Some(user), sensitive_metadata: self.sensitive_metadata.into_iter().collect() })
    }
}

fn member_from_pb(member: pb::Member) -> Member {
    let info = member.info.map(|i| MemberInfo {
        company_name: i.company_name,
        dept: i.dept,
        company_contact_phone: i.company_contact_phone,
        work_number: i.work_number,
        street: i.street,
        suite_no: i.suite_no,
        city: i.city,
        zip: i.zip,
        state: i.state,
        country: i.country,
    });
    Member {
        email_id: member.email_id,
        org_user_id: member.org_user_id,
        groups: member.groups,
        roles: member.roles.into_iter().map(|r| RoleBinding { role_id: r.role_id, bot_id: r.bot_id }).collect(),
        bot_tasks: member
            .bot_tasks
            .into_iter()
            .map(|t| BotTask { stream_id: t.stream_id, dialogs: t.dialogs })
            .collect(),
        can_create_bot: member.can_create_bot,
        is_developer: member.is_developer,
        activation: if member.activation == pb::ActivationState::Pending as i32 { "pending" } else { "active" }.into(),
        info,
    }
}

fn member_to_pb(member: Member) -> Result<pb::Member, String> {
    let activation = match member.activation.as_str() {
        "active" => pb::ActivationState::Active,
        "pending" => pb::ActivationState::Pending,
        other => return Err(format!("member.activation: {other:?} is neither \"active\" nor \"pending\"")),
    };
    let info = member.info.map(|i| pb::MemberInfo {
        company_name: i.company_name,
        dept: i.dept,
        company_contact_phone: i.company_contact_phone,
        work_number: i.work_number,
        street: i.street,
        suite_no: i.suite_no,
        city: i.city,
        zip: i.zip,
        state: i.state,
        country: i.country,
    });
    Ok(pb::Member {
        email_id: member.email_id,
        org_user_id: member.org_user_id,
        groups: member.groups,
        roles: member.roles.into_iter().map(|r| pb::RoleBinding { role_id: r.role_id, bot_id: r.bot_id }).collect(),
        bot_tasks: member
            .bot_tasks
            .into_iter()
            .map(|t| pb::BotTaskAssignment { stream_id: t.stream_id, dialogs: t.dialogs })
            .collect(),
        can_create_bot: member.can_create_bot,
        is_developer: member.is_developer,
        activation: activation as i32,
        info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> pb::ExportedUser {
        let value = |kind| pb::MetadataValue { kind: Some(kind) };
        pb::ExportedUser {
            user: Some(pb::User {
                id: "0123456789abcdef01234567".into(),
                app_id: "app".into(),
                user_id: "ana".into(),
                external_id: Some("ext-1".into()),
                nickname: "Ana".into(),
                profile: Some(pb::Profile { email: Some("ana@example.com".into()), ..Default::default() }),
                metadata: [
                    ("s".to_owned(), value(pb::metadata_value::Kind::StringValue("x".into()))),
                    ("i".to_owned(), value(pb::metadata_value::Kind::IntValue(-3))),
                    ("whole".to_owned(), value(pb::metadata_value::Kind::DoubleValue(2.0))),
                    ("d".to_owned(), value(pb::metadata_value::Kind::DoubleValue(0.25))),
                    ("b".to_owned(), value(pb::metadata_value::Kind::BoolValue(false))),
                ]
                .into(),
                origin: pb::Origin::Channel as i32,
                created_at: Some(proto::timestamp_from_millis(1_700_000_000_123)),
                updated_at: Some(proto::timestamp_from_millis(1_700_000_000_456)),
                associated_at: Some(proto::timestamp_from_millis(-1_000)),
                identities: vec![pb::Identity { channel_type: "line".into(), value: "U1".into() }],
                member: Some(pb::Member {
                    email_id: Some("ana@example.com".into()),
                    roles: vec![pb::RoleBinding { role_id: "r".into(), bot_id: None }],
                    activation: pb::ActivationState::Pending as i32,
                    info: Some(pb::MemberInfo { city: Some("Recife".into()), ..Default::default() }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            sensitive_metadata: [("k".to_owned(), "v".to_owned())].into(),
        }
    }

    /// A user written as a line reads back identical, through JSON text; a float stays a float
    /// even when whole.
    #[test]
    fn a_line_reads_back_as_the_user_it_was_written_from() {
        let line = serde_json::to_string(&Record::from_exported(sample())).unwrap();
        assert!(line.contains(r#""whole":2.0"#), "{line}");
        assert!(line.contains(r#""created_at":"2023-11-14T22:13:20.123Z""#), "{line}");
        let read: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(read.into_exported("app").unwrap(), sample());
    }

    #[test]
    fn bad_lines_are_refused_with_the_field() {
        let good = serde_json::to_value(Record::from_exported(sample())).unwrap();
        let with = |field: &str, value: Value| {
            let mut line = good.clone();
            line[field] = value;
            line
        };
        let unknown = with("nickName", "x".into());
        assert!(serde_json::from_value::<Record>(unknown).unwrap_err().to_string().contains("nickName"));
        for (field, value, says) in [
            ("created_at", Value::from("yesterday"), "created_at"),
            ("origin", Value::from("fax"), "origin"),
            ("metadata", serde_json::json!({ "n": [1] }), "metadata.n"),
        ] {
            let record: Record = serde_json::from_value(with(field, value)).unwrap();
            assert!(record.into_exported("app").unwrap_err().contains(says), "{field}");
        }
    }
}
