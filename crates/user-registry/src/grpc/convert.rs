//! The only place that names generated proto types. Every field is destructured so that a new
//! proto field fails the build here until it is handled.

use std::collections::BTreeMap;

use proto::registry::v1 as pb;

use crate::domain::ValidationError;
use crate::{
    domain::{
        AppId, ExternalId, Lookup, MetaValue, Metadata, NewUser, Nickname, Origin, ProfileUrl,
        RosterId, User, UserId,
    },
    error::RegistryError,
};

pub fn app_id(value: String) -> Result<AppId, RegistryError> {
    Ok(AppId::parse(value)?)
}

pub fn lookup(lookup: Option<pb::UserLookup>) -> Result<Lookup, RegistryError> {
    let pb::UserLookup { key } = lookup.ok_or(ValidationError::Missing { field: "lookup" })?;
    Ok(
        match key.ok_or(ValidationError::Missing { field: "lookup" })? {
            pb::user_lookup::Key::Id(id) => Lookup::Id(RosterId::parse(id)?),
            pb::user_lookup::Key::UserId(user_id) => Lookup::UserId(UserId::parse(user_id)?),
            pb::user_lookup::Key::ExternalId(external_id) => {
                Lookup::ExternalId(ExternalId::parse(external_id)?)
            }
        },
    )
}

/// Not yet stored by the registry: refused rather than silently dropped.
fn unsupported(field: &'static str) -> RegistryError {
    ValidationError::Invalid {
        field,
        reason: "is not supported by this registry version",
    }
    .into()
}

impl TryFrom<pb::NewUser> for NewUser {
    type Error = RegistryError;

    fn try_from(new: pb::NewUser) -> Result<Self, Self::Error> {
        let pb::NewUser {
            user_id,
            external_id,
            nickname,
            profile_url,
            profile,
            metadata,
            discovery_keys,
            preferred_languages,
            origin,
            sensitive_metadata,
            member,
        } = new;
        if profile.is_some_and(|p| p != pb::Profile::default()) {
            return Err(unsupported("profile"));
        }
        if !discovery_keys.is_empty() {
            return Err(unsupported("discovery_keys"));
        }
        if !preferred_languages.is_empty() {
            return Err(unsupported("preferred_languages"));
        }
        if !sensitive_metadata.is_empty() {
            return Err(unsupported("sensitive_metadata"));
        }
        if member.is_some() {
            return Err(unsupported("member"));
        }
        Ok(NewUser {
            user_id: user_id.map(UserId::parse).transpose()?,
            external_id: external_id.map(ExternalId::parse).transpose()?,
            nickname: Nickname::parse(nickname)?,
            profile_url: ProfileUrl::parse(profile_url)?,
            metadata: metadata_from_pb(metadata)?,
            origin: origin_from_pb(origin),
        })
    }
}

fn metadata_from_pb(
    metadata: std::collections::HashMap<String, pb::MetadataValue>,
) -> Result<Metadata, RegistryError> {
    let mut entries = BTreeMap::new();
    for (key, pb::MetadataValue { kind }) in metadata {
        let value = match kind.ok_or(ValidationError::Invalid {
            field: "metadata",
            reason: "values must be set",
        })? {
            pb::metadata_value::Kind::StringValue(s) => MetaValue::String(s),
            pb::metadata_value::Kind::IntValue(i) => MetaValue::Int(i),
            pb::metadata_value::Kind::DoubleValue(d) => MetaValue::Double(d),
            pb::metadata_value::Kind::BoolValue(b) => MetaValue::Bool(b),
        };
        entries.insert(key, value);
    }
    Ok(Metadata::parse(entries)?)
}

fn metadata_to_pb(metadata: Metadata) -> std::collections::HashMap<String, pb::MetadataValue> {
    metadata
        .into_entries()
        .into_iter()
        .map(|(key, value)| {
            let kind = match value {
                MetaValue::String(s) => pb::metadata_value::Kind::StringValue(s),
                MetaValue::Int(i) => pb::metadata_value::Kind::IntValue(i),
                MetaValue::Double(d) => pb::metadata_value::Kind::DoubleValue(d),
                MetaValue::Bool(b) => pb::metadata_value::Kind::BoolValue(b),
            };
            (key, pb::MetadataValue { kind: Some(kind) })
        })
        .collect()
}

fn origin_from_pb(origin: i32) -> Origin {
    match pb::Origin::try_from(origin).unwrap_or_default() {
        pb::Origin::Unspecified | pb::Origin::Api => Origin::Api,
        pb::Origin::Bulk => Origin::Bulk,
        pb::Origin::Login => Origin::Login,
        pb::Origin::Conversation => Origin::Conversation,
        pb::Origin::Channel => Origin::Channel,
    }
}

fn origin_to_pb(origin: Origin) -> pb::Origin {
    match origin {
        Origin::Api => pb::Origin::Api,
        Origin::Bulk => pb::Origin::Bulk,
        Origin::Login => pb::Origin::Login,
        Origin::Conversation => pb::Origin::Conversation,
        Origin::Channel => pb::Origin::Channel,
    }
}

impl From<User> for pb::User {
    fn from(user: User) -> Self {
        let User {
            id,
            app_id,
            user_id,
            external_id,
            nickname,
            profile_url,
            metadata,
            is_active,
            origin,
            created_at,
            updated_at,
        } = user;
        pb::User {
            id: id.as_str().to_owned(),
            app_id: app_id.as_str().to_owned(),
            user_id: user_id.as_str().to_owned(),
            external_id: external_id.map(|e| e.as_str().to_owned()),
            nickname: nickname.as_str().to_owned(),
            profile_url: profile_url.as_str().to_owned(),
            profile: Some(pb::Profile::default()),
            metadata: metadata_to_pb(metadata),
            discovery_keys: Vec::new(),
            preferred_languages: Vec::new(),
            is_active,
            origin: origin_to_pb(origin).into(),
            created_at: Some(proto::timestamp_from_millis(created_at)),
            updated_at: Some(proto::timestamp_from_millis(updated_at)),
            last_seen_at: None,
            associated_at: None,
            authenticated: false,
            identities: Vec::new(),
            member: None,
        }
    }
}
