//! Context-service use cases, against the `ContextStore` trait and an injected clock.

mod conversations;

use std::sync::Arc;

use async_trait::async_trait;
use platform::Clock;

pub use conversations::{
    ChannelPage, ConversationStore, Conversations, Joined, MAX_PARTICIPANTS, ParticipantPage, UserDirectory,
};

use crate::{
    domain::{
        Agent, AgentSpec, AppId, Context, ContextKey, ContextPatch, ContextValues, Country, Language, MessengerChannel,
        ValidationError,
    },
    error::ContextError,
};

/// Why a store refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an agent with this id already exists")]
    AgentExists,
    #[error("agent not found")]
    AgentNotFound,
    #[error("channel not found")]
    ChannelNotFound,
    /// A participant the registry deleted meanwhile.
    #[error("user not found")]
    UserDeleted,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<StoreError> for ContextError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::AgentExists => ContextError::AgentExists,
            StoreError::AgentNotFound => ContextError::AgentNotFound,
            StoreError::ChannelNotFound => ContextError::ChannelNotFound,
            StoreError::UserDeleted => ContextError::ParticipantNotFound,
            StoreError::Invalid(invalid) => ContextError::Invalid(invalid),
            StoreError::Unexpected(cause) => ContextError::Unexpected(cause),
        }
    }
}

#[async_trait]
pub trait ContextStore: Send + Sync {
    /// Inserts or replaces the whole object.
    async fn put(&self, context: &Context) -> Result<(), StoreError>;
    async fn find(&self, key: &ContextKey) -> Result<Option<Context>, StoreError>;
    /// Applies `patch` under the row's lock, creating the object when absent.
    async fn patch(&self, key: &ContextKey, patch: &ContextPatch, now: i64) -> Result<Context, StoreError>;
    /// True when something was deleted.
    async fn delete(&self, key: &ContextKey) -> Result<bool, StoreError>;
    /// The user's context objects, one per agent, by agent id (at most `limit`).
    async fn list_user_contexts(&self, app_id: &AppId, user_id: &str, limit: u64) -> Result<Vec<Context>, StoreError>;
    /// Everything kept for one user of one application.
    /// Deletes everything of the user and marks the user deleted: nothing is added to them after.
    async fn delete_user(&self, app_id: &AppId, user_id: &str, now: i64) -> Result<(), StoreError>;

    async fn create_agent(&self, agent: &Agent) -> Result<(), StoreError>;
    async fn find_agent(&self, app_id: &AppId, agent_id: &str) -> Result<Option<Agent>, StoreError>;
    /// Agents ordered by id, after `after` when given.
    async fn list_agents(&self, app_id: &AppId, after: Option<&str>, limit: u64) -> Result<Vec<Agent>, StoreError>;
    /// Replaces the agent's spec; false when there is no such agent.
    async fn update_agent(&self, agent: &Agent) -> Result<bool, StoreError>;
    /// Deletes the agent with its channels and contexts; false when there was none.
    async fn delete_agent(&self, app_id: &AppId, agent_id: &str) -> Result<bool, StoreError>;
    /// The (agent, user) channel, created when absent (true when this call created it), with
    /// `patch` applied to its context, in one transaction holding the agent's row lock.
    async fn open_channel(
        &self,
        key: &ContextKey,
        patch: &ContextPatch,
        now: i64,
    ) -> Result<(MessengerChannel, bool, Context), StoreError>;
    async fn find_messenger_channel(
        &self,
        app_id: &AppId,
        channel_url: &str,
    ) -> Result<Option<MessengerChannel>, StoreError>;
}

/// A page of agents and where the next one starts.
#[derive(Debug)]
pub struct AgentPage {
    pub agents: Vec<Agent>,
    pub next: Option<String>,
}

/// What opening a messenger channel answers.
#[derive(Debug)]
pub struct OpenedChannel {
    pub channel: MessengerChannel,
    pub agent: Agent,
    pub context: Context,
    pub created: bool,
}

#[derive(Clone)]
pub struct Contexts {
    store: Arc<dyn ContextStore>,
    clock: Arc<dyn Clock>,
}

impl Contexts {
    pub const MAX_PAGE: u32 = 100;

    pub fn new(store: Arc<dyn ContextStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub async fn set(
        &self,
        key: ContextKey,
        language: Option<Language>,
        country: Option<Country>,
        values: ContextValues,
    ) -> Result<Context, ContextError> {
        let context = Context { key, language, country, values, updated_at: self.clock.now_millis() };
        self.store.put(&context).await?;
        Ok(context)
    }

    pub async fn patch(&self, key: &ContextKey, patch: &ContextPatch) -> Result<Context, ContextError> {
        Ok(self.store.patch(key, patch, self.clock.now_millis()).await?)
    }

    pub async fn get(&self, key: &ContextKey) -> Result<Context, ContextError> {
        self.store.find(key).await?.ok_or(ContextError::NotFound)
    }

    pub async fn delete(&self, key: &ContextKey) -> Result<(), ContextError> {
        if self.store.delete(key).await? { Ok(()) } else { Err(ContextError::NotFound) }
    }

    /// Called when the registry deletes a user.
    /// The user's context objects (at most `MAX_PAGE`), by agent id.
    pub async fn list_for_user(&self, app_id: &AppId, user_id: &str) -> Result<Vec<Context>, ContextError> {
        Ok(self.store.list_user_contexts(app_id, user_id, u64::from(Self::MAX_PAGE)).await?)
    }

    pub async fn delete_user_data(&self, app_id: &AppId, user_id: &str) -> Result<(), ContextError> {
        self.store.delete_user(app_id, user_id, self.clock.now_millis()).await?;
        Ok(())
    }

    pub async fn create_agent(&self, app_id: AppId, agent_id: String, spec: AgentSpec) -> Result<Agent, ContextError> {
        let agent = Agent { app_id, agent_id, spec, created_at: self.clock.now_millis() };
        self.store.create_agent(&agent).await?;
        tracing::info!(app.id = agent.app_id.as_str(), agent.id = agent.agent_id, "agent created");
        Ok(agent)
    }

    pub async fn get_agent(&self, app_id: &AppId, agent_id: &str) -> Result<Agent, ContextError> {
        self.store.find_agent(app_id, agent_id).await?.ok_or(ContextError::AgentNotFound)
    }

    pub async fn list_agents(
        &self,
        app_id: &AppId,
        after: Option<&str>,
        page_size: u32,
    ) -> Result<AgentPage, ContextError> {
        let size = page_size.clamp(1, Self::MAX_PAGE);
        let agents = self.store.list_agents(app_id, after, u64::from(size) + 1).await?;
        let (agents, next) = page(agents, size, |a| a.agent_id.clone());
        Ok(AgentPage { agents, next })
    }

    pub async fn update_agent(&self, app_id: &AppId, agent_id: &str, spec: AgentSpec) -> Result<Agent, ContextError> {
        let mut agent = self.get_agent(app_id, agent_id).await?;
        agent.spec = spec;
        if !self.store.update_agent(&agent).await? {
            return Err(ContextError::AgentNotFound);
        }
        Ok(agent)
    }

    pub async fn delete_agent(&self, app_id: &AppId, agent_id: &str) -> Result<(), ContextError> {
        if !self.store.delete_agent(app_id, agent_id).await? {
            return Err(ContextError::AgentNotFound);
        }
        tracing::info!(app.id = app_id.as_str(), agent.id = agent_id, "agent deleted");
        Ok(())
    }

    /// The (agent, user) messenger channel, created on first use, with `patch` applied to its
    /// context object.
    pub async fn open_messenger_channel(
        &self,
        key: ContextKey,
        patch: &ContextPatch,
    ) -> Result<OpenedChannel, ContextError> {
        let agent = self.get_agent(&key.app_id, &key.agent_id).await?;
        let (channel, created, context) = self.store.open_channel(&key, patch, self.clock.now_millis()).await?;
        Ok(OpenedChannel { channel, agent, context, created })
    }

    pub async fn get_messenger_channel(
        &self,
        app_id: &AppId,
        channel_url: &str,
    ) -> Result<MessengerChannel, ContextError> {
        self.store.find_messenger_channel(app_id, channel_url).await?.ok_or(ContextError::MessengerChannelNotFound)
    }
}

/// Splits what a store answered for `size + 1` rows into one page and the key the next page
/// starts after (`None` on the last page).
fn page<T, K>(mut rows: Vec<T>, size: u32, key: impl Fn(&T) -> K) -> (Vec<T>, Option<K>) {
    if rows.len() <= size as usize {
        return (rows, None);
    }
    rows.truncate(size as usize);
    let next = rows.last().map(key);
    (rows, next)
}
