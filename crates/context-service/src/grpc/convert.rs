//! The only place that names generated proto types.

use std::collections::{BTreeMap, HashMap};

use proto::context::v1 as pb;

use crate::{
    domain::{
        Agent, AgentSpec, AppId, Context, ContextKey, ContextPatch, ContextValues, Country, Language, MessengerChannel,
        ValidationError, ValuesPatch,
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
