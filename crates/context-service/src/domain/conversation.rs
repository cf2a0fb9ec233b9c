//! Channels, conversations and their participants as plain values.

use serde_json::{Map, Value};

use super::{AppId, ValidationError, bounded};

/// A flat JSON object of string, number and boolean values, at most 4 KB written out (Ada's and
/// Sunshine's limit on conversation and channel metadata).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata(Map<String, Value>);

impl Metadata {
    pub const MAX_BYTES: usize = 4 * 1024;

    /// The empty string is the empty object, as proto3 sends an unset field.
    pub fn parse_json(text: &str) -> Result<Self, ValidationError> {
        if text.is_empty() {
            return Ok(Self::default());
        }
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Self::parse(map),
            _ => Err(ValidationError::Invalid { field: "metadata", reason: "must be a JSON object" }),
        }
    }

    pub fn parse(map: Map<String, Value>) -> Result<Self, ValidationError> {
        if !map.values().all(|v| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))) {
            return Err(ValidationError::Invalid {
                field: "metadata",
                reason: "values must be strings, numbers or booleans",
            });
        }
        let metadata = Self(map);
        if metadata.to_json().len() > Self::MAX_BYTES {
            return Err(ValidationError::Invalid { field: "metadata", reason: "is larger than 4 KB" });
        }
        Ok(metadata)
    }

    pub fn to_json(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }

    pub fn entries(&self) -> &Map<String, Value> {
        &self.0
    }
}

/// How a channel's conversations are carried, which sets the agent's style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modality {
    Messaging,
    Email,
}

impl Modality {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Messaging => "messaging",
            Self::Email => "email",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "messaging" => Some(Self::Messaging),
            "email" => Some(Self::Email),
            _ => None,
        }
    }
}

/// What a channel is, besides its id and times.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelSpec {
    pub name: String,
    pub description: Option<String>,
    pub modality: Modality,
    pub metadata: Metadata,
}

impl ChannelSpec {
    pub const MAX_NAME: usize = 255;
    pub const MAX_DESCRIPTION: usize = 1024;

    pub fn parse(
        name: String,
        description: Option<String>,
        modality: Modality,
        metadata: Metadata,
    ) -> Result<Self, ValidationError> {
        if name.trim().is_empty() {
            return Err(ValidationError::Missing { field: "name" });
        }
        Ok(Self {
            name: bounded("name", name, Self::MAX_NAME)?,
            description: description.map(|d| bounded("description", d, Self::MAX_DESCRIPTION)).transpose()?,
            modality,
            metadata,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub app_id: AppId,
    pub id: String,
    pub spec: ChannelSpec,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationKind {
    /// One end user with the agent.
    Personal,
    Group,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationStatus {
    Active,
    Ended,
}

/// Who takes part, as the caller names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParticipantRef {
    /// The registry's immutable user id; an id of the wrong shape names nobody.
    UserId(String),
    /// Upserted by the registry.
    ExternalId(String),
}

impl ParticipantRef {
    /// Sunshine's limit on external ids; the registry checks the rest.
    pub const MAX_EXTERNAL_ID: usize = 1024;

    pub fn external_id(value: String) -> Result<Self, ValidationError> {
        if value.is_empty() {
            return Err(ValidationError::Missing { field: "participants" });
        }
        Ok(Self::ExternalId(bounded("participants", value, Self::MAX_EXTERNAL_ID)?))
    }
}

/// A conversation as asked for, before its participants are resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConversation {
    pub app_id: AppId,
    pub kind: ConversationKind,
    pub participants: Vec<ParticipantRef>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub channel_id: Option<String>,
    pub agent_id: Option<String>,
}

impl NewConversation {
    pub const MAX_PARTICIPANTS: usize = 100;

    /// Checks the limits: a personal conversation has exactly one participant, a group at most
    /// 100; names and descriptions within Sunshine's lengths.
    pub fn validate(self) -> Result<Self, ValidationError> {
        let count = self.participants.len();
        match self.kind {
            ConversationKind::Personal if count != 1 => {
                return Err(ValidationError::Invalid {
                    field: "participants",
                    reason: "a personal conversation has exactly one participant",
                });
            }
            ConversationKind::Group if count > Self::MAX_PARTICIPANTS => {
                return Err(ValidationError::Invalid { field: "participants", reason: "more than 100" });
            }
            _ => {}
        }
        Ok(Self {
            display_name: self.display_name.map(|n| bounded("display_name", n, 100)).transpose()?,
            description: self.description.map(|d| bounded("description", d, 10_000)).transpose()?,
            agent_id: self.agent_id.map(super::agent_id).transpose()?,
            ..self
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub app_id: AppId,
    pub id: String,
    pub kind: ConversationKind,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub channel_id: Option<String>,
    pub agent_id: Option<String>,
    pub status: ConversationStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One user in one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub id: String,
    /// The registry's immutable user id.
    pub user_id: String,
    /// Place in the order the participants were given, from 0.
    pub position: u32,
    pub joined_at: i64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn metadata_holds_flat_scalars_only() {
        let ok = Metadata::parse_json(r#"{"a": "x", "b": 1, "c": 0.5, "d": true}"#).unwrap();
        assert_eq!(ok.entries().len(), 4);
        assert_eq!(Metadata::parse_json("").unwrap(), Metadata::default());
        for bad in [r#"{"a": {"b": 1}}"#, r#"{"a": [1]}"#, r#"{"a": null}"#, "[]", "7", "{"] {
            assert!(Metadata::parse_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn personal_conversations_have_one_participant() {
        let new = |participants: Vec<ParticipantRef>| NewConversation {
            app_id: AppId::generate(),
            kind: ConversationKind::Personal,
            participants,
            display_name: None,
            description: None,
            metadata: Metadata::parse(json!({}).as_object().unwrap().clone()).unwrap(),
            channel_id: None,
            agent_id: None,
        };
        assert!(new(vec![]).validate().is_err());
        assert!(new(vec![ParticipantRef::UserId("a".into())]).validate().is_ok());
        let two = vec![ParticipantRef::UserId("a".into()), ParticipantRef::UserId("b".into())];
        assert!(new(two).validate().is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Refused exactly when the object written out is larger than 4 KB.
        #[test]
        fn metadata_is_bounded_in_total_size(value in "[a-z]{0,4200}") {
            let map: Map<String, Value> = [("k".to_owned(), Value::from(value.clone()))].into_iter().collect();
            let bytes = r#"{"k":""}"#.len() + value.len();
            prop_assert_eq!(Metadata::parse(map).is_ok(), bytes <= Metadata::MAX_BYTES);
        }
    }
}
