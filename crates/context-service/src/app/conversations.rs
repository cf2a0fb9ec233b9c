//! Channels and conversations: the use cases, against `ConversationStore` and the registry
//! (`UserDirectory`), which owns the users who take part.

use std::sync::Arc;

use async_trait::async_trait;
use platform::Clock;

use super::StoreError;
use crate::{
    domain::ValidationError,
    domain::{
        AppId, Channel, ChannelSpec, Conversation, ConversationStatus, Modality, NewConversation, Participant,
        ParticipantRef,
    },
    error::ContextError,
};

#[async_trait]
pub trait ConversationStore: Send + Sync {
    async fn create_channel(&self, channel: &Channel) -> Result<(), StoreError>;
    async fn find_channel(&self, app_id: &AppId, id: &str) -> Result<Option<Channel>, StoreError>;
    /// Channels ordered by id (creation order), after `after` when given.
    async fn list_channels(
        &self,
        app_id: &AppId,
        modality: Option<Modality>,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Channel>, StoreError>;
    /// The conversation and its participants, in one transaction. `ChannelNotFound` when its
    /// channel is not one of the application's.
    async fn create_conversation(
        &self,
        conversation: &Conversation,
        participants: &[Participant],
    ) -> Result<(), StoreError>;
    async fn find_conversation(&self, app_id: &AppId, id: &str) -> Result<Option<Conversation>, StoreError>;
    /// The conversations `user_id` takes part in, newest first (at most `limit`).
    async fn list_user_conversations(
        &self,
        app_id: &AppId,
        user_id: &str,
        limit: u64,
    ) -> Result<Vec<Conversation>, StoreError>;
    /// Ends an active conversation at `now`; an ended one stays as it is. `None` when there is
    /// no such conversation.
    async fn end_conversation(&self, app_id: &AppId, id: &str, now: i64) -> Result<Option<Conversation>, StoreError>;
    /// Adds `user_id` after the conversation's last participant, serialised per conversation,
    /// unless it already has `max` participants.
    async fn add_participant(
        &self,
        app_id: &AppId,
        conversation_id: &str,
        user_id: &str,
        id: &str,
        max: u32,
        now: i64,
    ) -> Result<Joined, StoreError>;
    /// False when the user took no part; a removal is announced ("participant.left") at `now`.
    async fn remove_participant(
        &self,
        app_id: &AppId,
        conversation_id: &str,
        user_id: &str,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Participants in the order given, after position `after` when given.
    async fn list_participants(
        &self,
        app_id: &AppId,
        conversation_id: &str,
        after: Option<u32>,
        limit: u64,
    ) -> Result<Vec<Participant>, StoreError>;
}

/// What adding a participant did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    Added(Participant),
    /// The user already took part.
    Present(Participant),
    /// The conversation has its most participants.
    Full,
    NoConversation,
    /// The user was deleted meanwhile.
    UserDeleted,
}

/// The registry, as conversations need it.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// Marks the user `participant` names associated (upserting it first when named by external
    /// id) and answers its Roster id; `ParticipantNotFound` when it names no user.
    async fn associate(&self, app_id: &AppId, participant: &ParticipantRef) -> Result<String, ContextError>;
    /// The Roster id of the user `participant` names, without creating or marking it;
    /// `ParticipantNotFound` when it names no user.
    async fn resolve(&self, app_id: &AppId, participant: &ParticipantRef) -> Result<String, ContextError>;
}

/// A page of channels and where the next one starts.
#[derive(Debug)]
pub struct ChannelPage {
    pub channels: Vec<Channel>,
    pub next: Option<String>,
}

/// A page of participants and the position after which the next one starts.
#[derive(Debug)]
pub struct ParticipantPage {
    pub participants: Vec<Participant>,
    pub next: Option<u32>,
}

/// The most participants a conversation has, at creation or by joining.
pub const MAX_PARTICIPANTS: u32 = 100;

#[derive(Clone)]
pub struct Conversations {
    store: Arc<dyn ConversationStore>,
    directory: Arc<dyn UserDirectory>,
    clock: Arc<dyn Clock>,
}

impl Conversations {
    pub const MAX_PAGE: u32 = 100;

    pub fn new(store: Arc<dyn ConversationStore>, directory: Arc<dyn UserDirectory>, clock: Arc<dyn Clock>) -> Self {
        Self { store, directory, clock }
    }

    pub async fn create_channel(&self, app_id: AppId, spec: ChannelSpec) -> Result<Channel, ContextError> {
        let now = self.clock.now_millis();
        let channel = Channel { app_id, id: platform::ids::new_id(), spec, created_at: now, updated_at: now };
        self.store.create_channel(&channel).await?;
        tracing::info!(app.id = channel.app_id.as_str(), channel.id = channel.id, "channel created");
        Ok(channel)
    }

    pub async fn get_channel(&self, app_id: &AppId, id: &str) -> Result<Channel, ContextError> {
        if !platform::ids::is_id(id) {
            return Err(ContextError::ChannelNotFound);
        }
        self.store.find_channel(app_id, id).await?.ok_or(ContextError::ChannelNotFound)
    }

    pub async fn list_channels(
        &self,
        app_id: &AppId,
        modality: Option<Modality>,
        after: Option<&str>,
        page_size: u32,
    ) -> Result<ChannelPage, ContextError> {
        let size = page_size.clamp(1, Self::MAX_PAGE);
        let channels = self.store.list_channels(app_id, modality, after, u64::from(size) + 1).await?;
        let (channels, next) = super::page(channels, size, |c| c.id.clone());
        Ok(ChannelPage { channels, next })
    }

    /// Marks every participant associated first, then writes the conversation with its
    /// participants in one transaction: a failure in between leaves an associated user without
    /// a conversation (harmless), never a conversation whose user the reaper may delete.
    pub async fn create_conversation(
        &self,
        new: NewConversation,
    ) -> Result<(Conversation, Vec<Participant>), ContextError> {
        let new = new.validate()?;
        // A channel that is not there fails the request before anyone is marked.
        if let Some(channel_id) = &new.channel_id {
            self.get_channel(&new.app_id, channel_id).await?;
        }
        let mut user_ids: Vec<String> = Vec::with_capacity(new.participants.len());
        for participant in &new.participants {
            let user_id = self.directory.associate(&new.app_id, participant).await?;
            // One place per user, whichever way they were named.
            if !user_ids.contains(&user_id) {
                user_ids.push(user_id);
            }
        }
        let now = self.clock.now_millis();
        let participants: Vec<Participant> = user_ids
            .into_iter()
            .zip(0..)
            .map(|(user_id, position)| Participant { id: platform::ids::new_id(), user_id, position, joined_at: now })
            .collect();
        let NewConversation {
            app_id,
            kind,
            participants: _,
            display_name,
            description,
            metadata,
            channel_id,
            agent_id,
        } = new;
        let conversation = Conversation {
            app_id,
            id: platform::ids::new_id(),
            kind,
            display_name,
            description,
            metadata,
            channel_id,
            agent_id,
            status: ConversationStatus::Active,
            created_at: now,
            updated_at: now,
        };
        self.store.create_conversation(&conversation, &participants).await?;
        tracing::info!(
            app.id = conversation.app_id.as_str(),
            conversation.id = conversation.id,
            participants = participants.len(),
            "conversation created"
        );
        Ok((conversation, participants))
    }

    /// The conversations the user takes part in, newest first (at most `MAX_PAGE`).
    pub async fn list_for_user(&self, app_id: &AppId, user_id: &str) -> Result<Vec<Conversation>, ContextError> {
        Ok(self.store.list_user_conversations(app_id, user_id, u64::from(Self::MAX_PAGE)).await?)
    }

    pub async fn get_conversation(&self, app_id: &AppId, id: &str) -> Result<Conversation, ContextError> {
        if !platform::ids::is_id(id) {
            return Err(ContextError::ConversationNotFound);
        }
        self.store.find_conversation(app_id, id).await?.ok_or(ContextError::ConversationNotFound)
    }

    pub async fn end_conversation(&self, app_id: &AppId, id: &str) -> Result<Conversation, ContextError> {
        if !platform::ids::is_id(id) {
            return Err(ContextError::ConversationNotFound);
        }
        let ended = self.store.end_conversation(app_id, id, self.clock.now_millis()).await?;
        ended.ok_or(ContextError::ConversationNotFound)
    }

    pub async fn list_participants(
        &self,
        app_id: &AppId,
        conversation_id: &str,
        after: Option<u32>,
        page_size: u32,
    ) -> Result<ParticipantPage, ContextError> {
        self.get_conversation(app_id, conversation_id).await?;
        let size = page_size.clamp(1, Self::MAX_PAGE);
        let participants = self.store.list_participants(app_id, conversation_id, after, u64::from(size) + 1).await?;
        let (participants, next) = super::page(participants, size, |p| p.position);
        Ok(ParticipantPage { participants, next })
    }

    /// A group conversation's new participant, upserted and marked associated as on creation.
    pub async fn join_conversation(
        &self,
        app_id: &AppId,
        conversation_id: &str,
        participant: &ParticipantRef,
    ) -> Result<(Participant, bool), ContextError> {
        let conversation = self.get_conversation(app_id, conversation_id).await?;
        if conversation.kind == crate::domain::ConversationKind::Personal {
            return Err(ValidationError::Invalid {
                field: "conversation_id",
                reason: "a personal conversation has exactly one participant",
            }
            .into());
        }
        let user_id = self.directory.associate(app_id, participant).await?;
        let id = platform::ids::new_id();
        let now = self.clock.now_millis();
        let (joined, added) =
            match self.store.add_participant(app_id, conversation_id, &user_id, &id, MAX_PARTICIPANTS, now).await? {
                Joined::Added(p) => (p, true),
                Joined::Present(p) => (p, false),
                Joined::Full => {
                    return Err(ValidationError::Invalid {
                        field: "participants",
                        reason: "the conversation has 100 participants",
                    }
                    .into());
                }
                Joined::NoConversation => return Err(ContextError::ConversationNotFound),
                Joined::UserDeleted => return Err(ContextError::ParticipantNotFound),
            };
        if added {
            tracing::info!(app.id = app_id.as_str(), conversation.id = conversation_id, "participant joined");
        }
        Ok((joined, added))
    }

    /// Removes a group conversation's participant.
    pub async fn leave_conversation(
        &self,
        app_id: &AppId,
        conversation_id: &str,
        participant: &ParticipantRef,
    ) -> Result<(), ContextError> {
        let conversation = self.get_conversation(app_id, conversation_id).await?;
        if conversation.kind == crate::domain::ConversationKind::Personal {
            return Err(ValidationError::Invalid {
                field: "conversation_id",
                reason: "a personal conversation keeps its one participant",
            }
            .into());
        }
        let user_id = self.directory.resolve(app_id, participant).await?;
        if !self.store.remove_participant(app_id, conversation_id, &user_id, self.clock.now_millis()).await? {
            return Err(ContextError::ParticipantNotFound);
        }
        tracing::info!(app.id = app_id.as_str(), conversation.id = conversation_id, "participant left");
        Ok(())
    }
}
