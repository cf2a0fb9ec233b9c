//! The only place that names generated proto types. Every field is destructured so that a new
//! proto field fails the build here until it is handled.

use std::collections::BTreeMap;

use proto::registry::v1 as pb;

mod members;

pub use members::{member_from_pb, member_to_pb, role_kind};

use crate::domain::{EmailId, OrgUserId, Profile, ProfileImage};

use crate::{
    domain::{
        AppId, DiscoveryKey, ExternalId, Identity, Kept, Lookup, MetaValue, Metadata, MetadataWrite, NewUser, Nickname,
        Origin, ProfileUrl, RosterId, SensitiveFields, User, UserFilter, UserId, UserPatch, ValidationError,
        parse_instant, parse_languages,
    },
    error::RegistryError,
};

pub fn app_id(value: String) -> Result<AppId, RegistryError> {
    Ok(AppId::parse(value)?)
}

pub fn lookup(lookup: Option<pb::UserLookup>) -> Result<Lookup, RegistryError> {
    let pb::UserLookup { key } = lookup.ok_or(ValidationError::Missing { field: "lookup" })?;
    Ok(match key.ok_or(ValidationError::Missing { field: "lookup" })? {
        pb::user_lookup::Key::Id(id) => Lookup::Id(RosterId::parse(id)?),
        pb::user_lookup::Key::UserId(user_id) => Lookup::UserId(UserId::parse(user_id)?),
        pb::user_lookup::Key::ExternalId(external_id) => Lookup::ExternalId(ExternalId::parse(external_id)?),
        pb::user_lookup::Key::MemberEmailId(email_id) => Lookup::MemberEmail(EmailId::parse(email_id)?),
        pb::user_lookup::Key::OrgUserId(org_user_id) => Lookup::OrgUserId(
            OrgUserId::parse(Some(org_user_id))?.ok_or(ValidationError::Missing { field: "org_user_id" })?,
        ),
    })
}

pub fn lookup_to_pb(lookup: Lookup) -> pb::UserLookup {
    use pb::user_lookup::Key;
    pb::UserLookup {
        key: Some(match lookup {
            Lookup::Id(id) => Key::Id(id.as_str().to_owned()),
            Lookup::UserId(user_id) => Key::UserId(user_id.as_str().to_owned()),
            Lookup::ExternalId(external_id) => Key::ExternalId(external_id.as_str().to_owned()),
            Lookup::MemberEmail(email_id) => Key::MemberEmailId(email_id.as_str().to_owned()),
            Lookup::OrgUserId(org_user_id) => Key::OrgUserId(org_user_id.as_str().to_owned()),
        }),
    }
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
            profile_image,
            expires_unassociated,
            signed_up_at,
            to_be_retained,
            identities,
        } = new;
        // First: a member's email id is usually its profile email too, and a bad one must be
        // reported as `email_id`.
        let member = member.map(member_from_pb).transpose()?;
        let (profile, display_name, avatar_url) = profile_from_pb(profile.unwrap_or_default())?;
        Ok(NewUser {
            user_id: user_id.map(UserId::parse).transpose()?,
            external_id: external_id.map(ExternalId::parse).transpose()?,
            // One name and one picture, whichever field the dialect set.
            nickname: one_of(nickname, display_name).map(Nickname::parse).transpose()?.unwrap_or_default(),
            profile_url: one_of(profile_url, avatar_url).map(ProfileUrl::parse).transpose()?.unwrap_or_default(),
            profile,
            metadata: metadata_from_pb(metadata)?,
            discovery_keys: DiscoveryKey::parse_all(discovery_keys)?,
            preferred_languages: parse_languages(preferred_languages)?,
            origin: origin_from_pb(origin),
            profile_image: profile_image.map(ProfileImage::parse).transpose()?,
            sensitive: SensitiveFields::parse(sensitive_metadata.into_iter().collect())?,
            expires_unassociated,
            signed_up_at: signed_up_at.map(|t| instant("signed_up_at", &t)).transpose()?,
            to_be_retained,
            identities: Identity::parse_all(
                identities.into_iter().map(|pb::Identity { channel_type, value }| (channel_type, value)).collect(),
            )?,
            member,
        })
    }
}

/// A RestoreUsers record: the user it describes and what it keeps (instants required).
pub fn restore_record(record: pb::RestoreRecord) -> Result<(NewUser, Kept), RegistryError> {
    let pb::RestoreRecord { user, id, created_at, updated_at, last_seen_at, associated_at, is_active, authenticated } =
        record;
    let required = |field: &'static str, t: Option<proto::Timestamp>| {
        t.ok_or(RegistryError::from(ValidationError::Missing { field })).and_then(|t| instant(field, &t))
    };
    let kept = Kept {
        id: RosterId::parse(id)?,
        created_at: required("created_at", created_at)?,
        updated_at: required("updated_at", updated_at)?,
        last_seen_at: last_seen_at.map(|t| instant("last_seen_at", &t)).transpose()?,
        associated_at: associated_at.map(|t| instant("associated_at", &t)).transpose()?,
        is_active,
        authenticated,
    };
    let new = NewUser::try_from(user.ok_or(ValidationError::Missing { field: "user" })?)?;
    Ok((new, kept))
}

/// One result of a bulk call: the user created, or why not, with the platform's error code.
pub fn item_result(index: u64, result: Result<User, RegistryError>) -> pb::BatchItemResult {
    let index = u32::try_from(index).unwrap_or(u32::MAX);
    let result = match result {
        Ok(user) => pb::batch_item_result::Result::User(user.into()),
        Err(err) => {
            let platform::ApiError { code, message, field, retry_after: _ } = err.into();
            pb::batch_item_result::Result::Error(pb::ItemError {
                code: code.as_str().to_owned(),
                message,
                field: field.unwrap_or_default(),
            })
        }
    };
    pb::BatchItemResult { index, result: Some(result) }
}

impl TryFrom<pb::UserPatch> for UserPatch {
    type Error = RegistryError;

    fn try_from(patch: pb::UserPatch) -> Result<Self, Self::Error> {
        let pb::UserPatch {
            nickname,
            profile_url,
            profile,
            is_active,
            discovery_keys,
            preferred_languages,
            last_seen_at,
            external_id,
            clear_external_id,
            profile_image,
            metadata,
            sensitive_metadata,
            signed_up_at,
            clear_signed_up_at,
            to_be_retained,
            replace_metadata,
        } = patch;
        let external_id = match (external_id, clear_external_id) {
            (Some(_), true) => {
                return Err(ValidationError::Invalid {
                    field: "external_id",
                    reason: "cannot be set and cleared at once",
                }
                .into());
            }
            (Some(value), false) => Some(Some(ExternalId::parse(value)?)),
            (None, true) => Some(None),
            (None, false) => None,
        };
        let signed_up_at = match (signed_up_at, clear_signed_up_at) {
            (Some(_), true) => {
                return Err(ValidationError::Invalid {
                    field: "signed_up_at",
                    reason: "cannot be set and cleared at once",
                }
                .into());
            }
            (Some(value), false) => Some(Some(instant("signed_up_at", &value)?)),
            (None, true) => Some(None),
            (None, false) => None,
        };
        // A profile sent whole carries the display name and avatar too (cleared when absent);
        // `nickname` and `profile_url`, when sent, win.
        let (profile, display_name, avatar_url) = match profile.map(profile_from_pb).transpose()? {
            Some((profile, display_name, avatar_url)) => {
                (Some(profile), Some(display_name.unwrap_or_default()), Some(avatar_url.unwrap_or_default()))
            }
            None => (None, None, None),
        };
        Ok(UserPatch {
            nickname: nickname.or(display_name).map(Nickname::parse).transpose()?,
            profile_url: profile_url.or(avatar_url).map(ProfileUrl::parse).transpose()?,
            profile,
            is_active,
            discovery_keys: discovery_keys.map(|k| DiscoveryKey::parse_all(k.keys)).transpose()?,
            preferred_languages: preferred_languages.map(|l| parse_languages(l.languages)).transpose()?,
            last_seen_at: last_seen_at.map(|t| proto::timestamp_to_millis(&t)),
            external_id,
            profile_image: profile_image.map(ProfileImage::parse).transpose()?,
            metadata: (!metadata.is_empty() || replace_metadata).then(|| metadata_from_pb(metadata)).transpose()?,
            metadata_mode: if replace_metadata { MetadataWrite::Replace } else { MetadataWrite::Upsert },
            sensitive: (!sensitive_metadata.is_empty())
                .then(|| SensitiveFields::parse(sensitive_metadata.into_iter().collect()))
                .transpose()?,
            signed_up_at,
            to_be_retained,
        })
    }
}

impl TryFrom<pb::UserFilter> for UserFilter {
    type Error = RegistryError;

    fn try_from(filter: pb::UserFilter) -> Result<Self, Self::Error> {
        let pb::UserFilter {
            is_active,
            user_ids,
            nickname,
            nickname_prefix,
            metadata_key,
            metadata_values,
            external_id,
            email,
            origin,
        } = filter;
        if user_ids.len() > 250 {
            return Err(ValidationError::Invalid { field: "user_ids", reason: "has more than 250 ids" }.into());
        }
        let metadata = match metadata_key {
            Some(key) if !metadata_values.is_empty() => Some((key, metadata_values)),
            Some(_) => return Err(ValidationError::Missing { field: "metadata_values" }.into()),
            None if !metadata_values.is_empty() => {
                return Err(ValidationError::Missing { field: "metadata_key" }.into());
            }
            None => None,
        };
        let text = |field, value: Option<String>| value.map(|v| platform::validation::no_nul(field, v)).transpose();
        let metadata = match metadata {
            Some((key, values)) => Some((
                platform::validation::no_nul("metadata_key", key)?,
                values
                    .into_iter()
                    .map(|v| platform::validation::no_nul("metadata_values", v))
                    .collect::<Result<_, _>>()?,
            )),
            None => None,
        };
        Ok(UserFilter {
            is_active,
            user_ids: user_ids.into_iter().map(UserId::parse).collect::<Result<_, _>>()?,
            nickname: text("nickname", nickname)?,
            nickname_prefix: text("nickname_prefix", nickname_prefix)?.filter(|p| !p.is_empty()),
            metadata,
            external_id: external_id.map(ExternalId::parse).transpose()?,
            email: email
                .map(|e| platform::validation::bounded("email", e.trim().to_ascii_lowercase(), 254))
                .transpose()?
                .filter(|e| !e.is_empty()),
            origin: origin.filter(|o| *o != pb::Origin::Unspecified as i32).map(origin_from_pb),
        })
    }
}

fn instant(field: &'static str, timestamp: &proto::Timestamp) -> Result<i64, RegistryError> {
    Ok(parse_instant(field, proto::timestamp_to_millis(timestamp))?)
}

pub fn identity(identity: Option<pb::Identity>) -> Result<Identity, RegistryError> {
    let pb::Identity { channel_type, value } = identity.ok_or(ValidationError::Missing { field: "identity" })?;
    Ok(Identity::parse(channel_type, value)?)
}

fn identity_to_pb(identity: Identity) -> pb::Identity {
    pb::Identity { channel_type: identity.channel_type().to_owned(), value: identity.value().to_owned() }
}

/// The profile, and the display name and avatar it carries (the user's nickname and profile URL).
pub fn profile_from_pb(profile: pb::Profile) -> Result<(Profile, Option<String>, Option<String>), RegistryError> {
    let pb::Profile { given_name, surname, display_name, email, language, avatar_url } = profile;
    let present = |v: Option<String>| v.filter(|v| !v.is_empty());
    Ok((Profile::parse(given_name, surname, email, language)?, present(display_name), present(avatar_url)))
}

/// The first of two spellings of one field that is set.
fn one_of(first: String, second: Option<String>) -> Option<String> {
    if first.is_empty() { second } else { Some(first) }
}

/// The profile as the dialects read it: with the user's nickname as its display name and the
/// profile URL as its avatar.
fn profile_to_pb(profile: Profile, nickname: &Nickname, profile_url: &ProfileUrl) -> pb::Profile {
    let Profile { given_name, surname, email, language } = profile;
    let present = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    pb::Profile {
        given_name,
        surname,
        display_name: present(nickname.as_str()),
        email,
        language,
        avatar_url: present(profile_url.as_str()),
    }
}

pub fn metadata_write(mode: i32) -> Result<MetadataWrite, RegistryError> {
    Ok(match pb::MetadataWriteMode::try_from(mode) {
        Ok(pb::MetadataWriteMode::Upsert) => MetadataWrite::Upsert,
        Ok(pb::MetadataWriteMode::Create) => MetadataWrite::Create,
        Ok(pb::MetadataWriteMode::Update) => MetadataWrite::Update,
        Ok(pb::MetadataWriteMode::Replace) => MetadataWrite::Replace,
        Err(_) => return Err(ValidationError::Invalid { field: "mode", reason: "unknown metadata write mode" }.into()),
    })
}

/// Page tokens are opaque to callers: a version tag and the last id seen, hex encoded.
pub fn page_token(id: &RosterId) -> String {
    hex::encode(format!("u1:{}", id.as_str()))
}

pub fn parse_page_token(token: &str) -> Result<Option<RosterId>, RegistryError> {
    if token.is_empty() {
        return Ok(None);
    }
    let decoded = hex::decode(token).ok().and_then(|bytes| String::from_utf8(bytes).ok());
    let id = decoded.as_deref().and_then(|s| s.strip_prefix("u1:")).and_then(|id| RosterId::parse(id.to_owned()).ok());
    id.map(Some).ok_or(RegistryError::InvalidPageToken)
}

pub fn metadata_from_pb(
    metadata: std::collections::HashMap<String, pb::MetadataValue>,
) -> Result<Metadata, RegistryError> {
    let mut entries = BTreeMap::new();
    for (key, pb::MetadataValue { kind }) in metadata {
        let value = match kind.ok_or(ValidationError::Invalid { field: "metadata", reason: "values must be set" })? {
            pb::metadata_value::Kind::StringValue(s) => MetaValue::String(s),
            pb::metadata_value::Kind::IntValue(i) => MetaValue::Int(i),
            pb::metadata_value::Kind::DoubleValue(d) => MetaValue::Double(d),
            pb::metadata_value::Kind::BoolValue(b) => MetaValue::Bool(b),
        };
        entries.insert(key, value);
    }
    Ok(Metadata::parse(entries)?)
}

pub fn metadata_to_pb(metadata: Metadata) -> std::collections::HashMap<String, pb::MetadataValue> {
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
            profile,
            metadata,
            discovery_keys,
            preferred_languages,
            is_active,
            origin,
            created_at,
            updated_at,
            last_seen_at,
            associated_at,
            expires_unassociated,
            signed_up_at,
            to_be_retained,
            authenticated,
            identities,
            member,
        } = user;
        pb::User {
            id: id.as_str().to_owned(),
            app_id: app_id.as_str().to_owned(),
            user_id: user_id.as_str().to_owned(),
            external_id: external_id.map(|e| e.as_str().to_owned()),
            nickname: nickname.as_str().to_owned(),
            profile_url: profile_url.as_str().to_owned(),
            profile: Some(profile_to_pb(profile, &nickname, &profile_url)),
            metadata: metadata_to_pb(metadata),
            discovery_keys: discovery_keys.iter().map(|k| k.as_str().to_owned()).collect(),
            preferred_languages,
            is_active,
            origin: origin_to_pb(origin).into(),
            created_at: Some(proto::timestamp_from_millis(created_at)),
            updated_at: Some(proto::timestamp_from_millis(updated_at)),
            last_seen_at: last_seen_at.map(proto::timestamp_from_millis),
            associated_at: associated_at.map(proto::timestamp_from_millis),
            authenticated,
            identities: identities.into_iter().map(identity_to_pb).collect(),
            member: member.map(member_to_pb),
            signed_up_at: signed_up_at.map(proto::timestamp_from_millis),
            to_be_retained,
            expires_unassociated,
        }
    }
}

/// The user as an event carries it: `roster.registry.v1.User`, protobuf-encoded.
pub fn snapshot(user: &User) -> Vec<u8> {
    prost::Message::encode_to_vec(&pb::User::from(user.clone()))
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn page_tokens_name_the_id_they_were_made_from(id in "[0-9a-f]{24}") {
            let id = RosterId::parse(id).unwrap();
            prop_assert_eq!(parse_page_token(&page_token(&id)).unwrap(), Some(id));
        }

        /// Whatever a caller sends as a page token is the first page (empty), a page after a
        /// well-formed id, or refused as an invalid token; never anything else, never a panic.
        #[test]
        fn any_text_is_a_page_token_or_refused(token in prop_oneof!["\\PC{0,80}", "[0-9a-f]{0,80}", any::<Vec<u8>>().prop_map(hex::encode)]) {
            match parse_page_token(&token) {
                Ok(None) => prop_assert!(token.is_empty()),
                Ok(Some(id)) => prop_assert_eq!(page_token(&id), token.to_ascii_lowercase()),
                Err(err) => prop_assert!(matches!(err, RegistryError::InvalidPageToken)),
            }
        }
    }
}
