//! The only place that names generated proto types.

use std::collections::{BTreeMap, HashMap};

use proto::context::v1 as pb;

use crate::{
    domain::{
        Agent, AgentSpec, AppId, Channel, ChannelSpec, Context, ContextKey, ContextPatch, ContextValues, Conversation,
        ConversationKind, ConversationStatus, Country, Language, MessengerChannel, Metadata, Modality, NewConversation,
        Participant, ParticipantRef, ValidationError, ValuesPatch,
    },
    error::ContextError,
};

pub fn key(key: Option<pb::ContextKey>) -> Result<ContextKey, ContextError> {
    let pb::ContextKey { app_id, user_id, agent_id } = key.ok_or(ValidationError::Missing { field: "key" })?;
    Ok(ContextKey::parse(app_id, user_id, agent_id)?)
}

pub fn fields(
    language: Option<String>,
    country: Option<String>,
    values: HashMap<String, String>,
) -> Result<(Option<Language>, Option<Country>, ContextValues), ContextError> {
    Ok((
        language.map(Language::parse).transpose()?,
        country.map(Country::parse).transpose()?,
        ContextValues::parse(values.into_iter().collect())?,
    ))
}

impl From<Context> for pb::Context {
    fn from(context: Context) -> Self {
        let Context { key, language, country, values, updated_at } = context;
        pb::Context {
            app_id: key.app_id.as_str().to_owned(),
            user_id: key.user_id,
            agent_id: key.agent_id,
            language: language.map(|l| l.as_str().to_owned()),
            country: country.map(|c| c.as_str().to_owned()),
            values: values.entries().clone().into_iter().collect(),
            updated_at: Some(proto::timestamp_from_millis(updated_at)),
        }
    }
}

pub fn app_id(value: String) -> Result<AppId, ContextError> {
    Ok(AppId::parse(value)?)
}

pub fn patch(
    language: Option<String>,
    country: Option<String>,
    set_values: HashMap<String, String>,
    remove_keys: Vec<String>,
    clear_language: bool,
    clear_country: bool,
    replace_values: bool,
) -> Result<ContextPatch, ContextError> {
    let language = match (language, clear_language) {
        (Some(_), true) => return Err(conflict("language")),
        (Some(l), false) => Some(Some(Language::parse(l)?)),
        (None, true) => Some(None),
        (None, false) => None,
    };
    let country = match (country, clear_country) {
        (Some(_), true) => return Err(conflict("country")),
        (Some(c), false) => Some(Some(Country::parse(c)?)),
        (None, true) => Some(None),
        (None, false) => None,
    };
    let set: BTreeMap<String, String> = set_values.into_iter().collect();
    let values = if replace_values {
        if !remove_keys.is_empty() {
            return Err(conflict("remove_keys"));
        }
        ValuesPatch::Replace(set)
    } else {
        ValuesPatch::Merge { set, remove: remove_keys }
    };
    Ok(ContextPatch { language, country, values })
}

fn conflict(field: &'static str) -> ContextError {
    ValidationError::Invalid { field, reason: "cannot be set and cleared at once" }.into()
}

impl TryFrom<pb::AgentSpec> for AgentSpec {
    type Error = ContextError;

    fn try_from(spec: pb::AgentSpec) -> Result<Self, Self::Error> {
        let pb::AgentSpec {
            nickname,
            profile_url,
            agent_type,
            callback_url,
            is_privacy_mode,
            enable_mark_as_read,
            show_member,
            channel_invitation_preference,
            metadata,
        } = spec;
        Ok(AgentSpec {
            nickname,
            profile_url,
            agent_type,
            callback_url,
            is_privacy_mode,
            enable_mark_as_read,
            show_member,
            channel_invitation_preference,
            metadata: metadata.into_iter().collect(),
        }
        .validate()?)
    }
}

impl From<Agent> for pb::Agent {
    fn from(agent: Agent) -> Self {
        let Agent { app_id, agent_id, spec, created_at } = agent;
        let AgentSpec {
            nickname,
            profile_url,
            agent_type,
            callback_url,
            is_privacy_mode,
            enable_mark_as_read,
            show_member,
            channel_invitation_preference,
            metadata,
        } = spec;
        pb::Agent {
            app_id: app_id.as_str().to_owned(),
            agent_id,
            nickname,
            profile_url,
            agent_type,
            callback_url,
            is_privacy_mode,
            enable_mark_as_read,
            show_member,
            channel_invitation_preference,
            metadata: metadata.into_iter().collect(),
            created_at: Some(proto::timestamp_from_millis(created_at)),
        }
    }
}

impl From<MessengerChannel> for pb::MessengerChannel {
    fn from(channel: MessengerChannel) -> Self {
        let MessengerChannel { app_id, channel_url, agent_id, user_id, created_at } = channel;
        pb::MessengerChannel {
            app_id: app_id.as_str().to_owned(),
            channel_url,
            agent_id,
            user_id,
            created_at: Some(proto::timestamp_from_millis(created_at)),
        }
    }
}

pub fn modality(value: i32) -> Result<Option<Modality>, ContextError> {
    match pb::ChannelModality::try_from(value) {
        Ok(pb::ChannelModality::Unspecified) => Ok(None),
        Ok(pb::ChannelModality::Messaging) => Ok(Some(Modality::Messaging)),
        Ok(pb::ChannelModality::Email) => Ok(Some(Modality::Email)),
        Err(_) => Err(ValidationError::Invalid { field: "modality", reason: "is not a known modality" }.into()),
    }
}

fn modality_pb(modality: Modality) -> pb::ChannelModality {
    match modality {
        Modality::Messaging => pb::ChannelModality::Messaging,
        Modality::Email => pb::ChannelModality::Email,
    }
}

pub fn channel_spec(request: pb::CreateChannelRequest) -> Result<(AppId, ChannelSpec), ContextError> {
    let pb::CreateChannelRequest { app_id, name, description, modality: kind, metadata_json } = request;
    let modality = modality(kind)?.ok_or(ValidationError::Missing { field: "modality" })?;
    let spec = ChannelSpec::parse(name, description, modality, Metadata::parse_json(&metadata_json)?)?;
    Ok((self::app_id(app_id)?, spec))
}

impl From<Channel> for pb::Channel {
    fn from(channel: Channel) -> Self {
        let Channel { app_id, id, spec, created_at, updated_at } = channel;
        let ChannelSpec { name, description, modality, metadata } = spec;
        pb::Channel {
            id,
            app_id: app_id.as_str().to_owned(),
            name,
            description,
            modality: modality_pb(modality).into(),
            metadata_json: metadata.to_json(),
            created_at: Some(proto::timestamp_from_millis(created_at)),
            updated_at: Some(proto::timestamp_from_millis(updated_at)),
        }
    }
}

impl TryFrom<pb::CreateConversationRequest> for NewConversation {
    type Error = ContextError;

    fn try_from(request: pb::CreateConversationRequest) -> Result<Self, Self::Error> {
        let pb::CreateConversationRequest {
            app_id,
            kind,
            participants,
            display_name,
            description,
            metadata_json,
            channel_id,
            agent_id,
        } = request;
        let kind = match pb::ConversationKind::try_from(kind) {
            Ok(pb::ConversationKind::Personal) => ConversationKind::Personal,
            Ok(pb::ConversationKind::Group) => ConversationKind::Group,
            Ok(pb::ConversationKind::Unspecified) => return Err(ValidationError::Missing { field: "kind" }.into()),
            Err(_) => return Err(ValidationError::Invalid { field: "kind", reason: "is not a known kind" }.into()),
        };
        let participants = participants.into_iter().map(participant_ref).collect::<Result<_, _>>()?;
        Ok(NewConversation {
            app_id: self::app_id(app_id)?,
            kind,
            participants,
            display_name,
            description,
            metadata: Metadata::parse_json(&metadata_json)?,
            channel_id,
            agent_id,
        }
        .validate()?)
    }
}

impl From<Conversation> for pb::Conversation {
    fn from(conversation: Conversation) -> Self {
        let Conversation {
            app_id,
            id,
            kind,
            display_name,
            description,
            metadata,
            channel_id,
            agent_id,
            status,
            created_at,
            updated_at,
        } = conversation;
        let kind = match kind {
            ConversationKind::Personal => pb::ConversationKind::Personal,
            ConversationKind::Group => pb::ConversationKind::Group,
        };
        let status = match status {
            ConversationStatus::Active => pb::ConversationStatus::Active,
            ConversationStatus::Ended => pb::ConversationStatus::Ended,
        };
        pb::Conversation {
            id,
            app_id: app_id.as_str().to_owned(),
            kind: kind.into(),
            display_name,
            description,
            metadata_json: metadata.to_json(),
            channel_id,
            agent_id,
            status: status.into(),
            created_at: Some(proto::timestamp_from_millis(created_at)),
            updated_at: Some(proto::timestamp_from_millis(updated_at)),
        }
    }
}

impl From<Participant> for pb::Participant {
    fn from(participant: Participant) -> Self {
        let Participant { id, user_id, position: _, joined_at } = participant;
        pb::Participant { id, user_id, joined_at: Some(proto::timestamp_from_millis(joined_at)) }
    }
}

/// An opaque page token: the hex of `<tag>:<key>`, so a token of one list is refused by another.
pub fn page_token(tag: &str, key: &str) -> String {
    hex::encode(format!("{tag}:{key}"))
}

/// The key inside a page token of `tag`; `None` for the empty token (the first page).
pub fn page_key(tag: &str, token: &str) -> Result<Option<String>, ContextError> {
    if token.is_empty() {
        return Ok(None);
    }
    let decoded = hex::decode(token).ok().and_then(|b| String::from_utf8(b).ok());
    let key = decoded.as_deref().and_then(|s| s.strip_prefix(tag)).and_then(|s| s.strip_prefix(':'));
    key.map(|k| Some(k.to_owned())).ok_or(ContextError::InvalidPageToken)
}

/// A participant named by Roster id or by external id.
pub fn participant_ref(participant: pb::ParticipantRef) -> Result<ParticipantRef, ValidationError> {
    match participant.key {
        Some(pb::participant_ref::Key::UserId(id)) => Ok(ParticipantRef::UserId(id)),
        Some(pb::participant_ref::Key::ExternalId(external_id)) => ParticipantRef::external_id(external_id),
        None => Err(ValidationError::Missing { field: "participants" }),
    }
}
