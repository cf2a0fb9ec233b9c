//! The agent context object, agents, channels and conversations as plain values.

mod conversation;

use std::collections::BTreeMap;

pub use conversation::{
    Channel, ChannelSpec, Conversation, ConversationKind, ConversationStatus, Metadata, Modality, NewConversation,
    Participant, ParticipantRef,
};
pub use platform::{AppId, ValidationError, validation::bounded};

/// Whose context: one object per (application, user, agent).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContextKey {
    pub app_id: AppId,
    pub user_id: String,
    pub agent_id: String,
}

impl ContextKey {
    pub fn parse(app_id: String, user_id: String, agent_id: String) -> Result<Self, ValidationError> {
        let app_id = AppId::parse(app_id)?;
        if user_id.is_empty() {
            return Err(ValidationError::Missing { field: "user_id" });
        }
        if agent_id.is_empty() {
            return Err(ValidationError::Missing { field: "agent_id" });
        }
        Ok(Self { app_id, user_id: bounded("user_id", user_id, 80)?, agent_id: bounded("agent_id", agent_id, 80)? })
    }
}

/// A BCP 47 language tag, checked for shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language(String);

impl Language {
    pub fn parse(value: String) -> Result<Self, ValidationError> {
        platform::validation::language_tag("language", value).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country(String);

impl Country {
    pub fn parse(value: String) -> Result<Self, ValidationError> {
        platform::validation::country_code("country", value).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// String keys to string values, bounded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContextValues(BTreeMap<String, String>);

impl ContextValues {
    pub const MAX_KEYS: usize = 100;
    pub const MAX_KEY_CHARS: usize = 128;
    pub const MAX_BYTES: usize = 8 * 1024;

    pub fn parse(values: BTreeMap<String, String>) -> Result<Self, ValidationError> {
        if values.len() > Self::MAX_KEYS {
            return Err(ValidationError::Invalid { field: "context", reason: "has more than 100 keys" });
        }
        let mut bytes = 0;
        for (key, value) in &values {
            if key.is_empty() {
                return Err(ValidationError::Invalid { field: "context", reason: "keys must not be empty" });
            }
            if key.chars().count() > Self::MAX_KEY_CHARS {
                return Err(ValidationError::TooLong { field: "context key", max: Self::MAX_KEY_CHARS });
            }
            bytes += key.len() + value.len();
        }
        if bytes > Self::MAX_BYTES {
            return Err(ValidationError::Invalid { field: "context", reason: "is larger than 8 KB" });
        }
        Ok(Self(values))
    }

    pub fn entries(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

/// A change to a context object. Absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContextPatch {
    /// `Some(None)` clears it.
    pub language: Option<Option<Language>>,
    pub country: Option<Option<Country>>,
    pub values: ValuesPatch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValuesPatch {
    /// Set these keys, remove those; the rest survive.
    Merge { set: BTreeMap<String, String>, remove: Vec<String> },
    /// The map becomes exactly this.
    Replace(BTreeMap<String, String>),
}

impl Default for ValuesPatch {
    fn default() -> Self {
        Self::Merge { set: BTreeMap::new(), remove: Vec::new() }
    }
}

impl ContextPatch {
    /// The object after the patch; the limits hold for the result, not only for what was sent.
    pub fn apply(&self, mut context: Context, now: i64) -> Result<Context, ValidationError> {
        if let Some(language) = &self.language {
            context.language = language.clone();
        }
        if let Some(country) = &self.country {
            context.country = country.clone();
        }
        let values = match &self.values {
            ValuesPatch::Merge { set, remove } => {
                let mut values = context.values.entries().clone();
                for key in remove {
                    values.remove(key);
                }
                values.extend(set.clone());
                values
            }
            ValuesPatch::Replace(values) => values.clone(),
        };
        context.values = ContextValues::parse(values)?;
        context.updated_at = now;
        Ok(context)
    }
}

/// An agent id (Sendbird's `bot_userid`): 1 to 80 characters.
pub fn agent_id(value: String) -> Result<String, ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::Missing { field: "agent_id" });
    }
    bounded("agent_id", value, 80)
}

/// What an AI agent is, besides its id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentSpec {
    pub nickname: String,
    pub profile_url: String,
    pub agent_type: String,
    pub callback_url: String,
    pub is_privacy_mode: bool,
    pub enable_mark_as_read: bool,
    pub show_member: bool,
    pub channel_invitation_preference: i32,
    pub metadata: BTreeMap<String, String>,
}

impl AgentSpec {
    pub fn validate(self) -> Result<Self, ValidationError> {
        Ok(Self {
            nickname: bounded("nickname", self.nickname, 80)?,
            profile_url: bounded("profile_url", self.profile_url, 2048)?,
            agent_type: bounded("agent_type", self.agent_type, 80)?,
            callback_url: bounded("callback_url", self.callback_url, 2048)?,
            metadata: ContextValues::parse(self.metadata)?.entries().clone(),
            ..self
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub app_id: AppId,
    pub agent_id: String,
    pub spec: AgentSpec,
    pub created_at: i64,
}

/// The messenger channel between one agent and one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessengerChannel {
    pub app_id: AppId,
    pub channel_url: String,
    pub agent_id: String,
    pub user_id: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub key: ContextKey,
    pub language: Option<Language>,
    pub country: Option<Country>,
    pub values: ContextValues,
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes() {
        assert!(Country::parse("US".into()).is_ok());
        assert!(Country::parse("KR".into()).is_ok());
        for bad in ["us", "USA", "U", "", "XX", "ZZ"] {
            assert!(Country::parse(bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn context_values_are_bounded() {
        let ok: BTreeMap<_, _> = [("tier".to_owned(), "premium".to_owned())].into();
        assert!(ContextValues::parse(ok).is_ok());
        let big: BTreeMap<_, _> = [("k".to_owned(), "v".repeat(9 * 1024))].into();
        assert!(ContextValues::parse(big).is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn context_values_are_bounded_in_total_size(value in "[a-z]{0,9000}") {
            let bytes = 1 + value.len();
            let values: BTreeMap<_, _> = [("k".to_owned(), value)].into();
            prop_assert_eq!(ContextValues::parse(values).is_ok(), bytes <= ContextValues::MAX_BYTES);
        }

        #[test]
        fn a_patch_never_leaves_an_object_over_its_limits(a in "[a-z]{0,5000}", b in "[a-z]{0,5000}") {
            let key = ContextKey::parse(AppId::generate().as_str().into(), "u".into(), "bot".into()).unwrap();
            let start = Context { key, language: None, country: None, values: ContextValues::default(), updated_at: 0 };
            let first = ContextPatch { values: ValuesPatch::Merge { set: [("a".to_owned(), a)].into(), remove: vec![] }, ..Default::default() };
            let second = ContextPatch { values: ValuesPatch::Merge { set: [("b".to_owned(), b)].into(), remove: vec![] }, ..Default::default() };
            if let Ok(after) = first.apply(start, 1).and_then(|c| second.apply(c, 2)) {
                let size: usize = after.values.entries().iter().map(|(k, v)| k.len() + v.len()).sum();
                prop_assert!(size <= ContextValues::MAX_BYTES);
            }
        }
    }
}
