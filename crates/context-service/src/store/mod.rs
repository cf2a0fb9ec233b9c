//! sea-orm implementation of `ContextStore` and `ConversationStore`.

mod conversations;
mod entity;
mod guards;
mod outbox;

use std::collections::BTreeMap;

use anyhow::Context as _;
use async_trait::async_trait;
use platform::db::{UniqueIndex, unexpected};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait, sea_query::OnConflict,
};

use crate::{
    app::{ContextStore, StoreError},
    domain::{
        Agent, AgentSpec, AppId, Context, ContextKey, ContextPatch, ContextValues, Country, Language, MessengerChannel,
    },
};
use entity::{agents, contexts, messenger_channels as channels, participants};
pub use outbox::SeaOutbox;

pub const AGENT_KEY: UniqueIndex =
    UniqueIndex { name: "agents_pkey", table: "agents", columns: &["app_id", "agent_id"] };
pub const CHANNEL_KEY: UniqueIndex = UniqueIndex {
    name: "messenger_channels_agent_user_key",
    table: "messenger_channels",
    columns: &["app_id", "agent_id", "user_id"],
};

#[derive(Debug, Clone)]
pub struct SeaContextStore {
    db: DatabaseConnection,
    /// Where plain reads go: `platform::db::connect_reader`'s pool, or `db`.
    reads: DatabaseConnection,
}

impl SeaContextStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { reads: db.clone(), db }
    }

    /// Reads that belong to no write (GetContext) through `reads`.
    pub fn with_reader(self, reads: DatabaseConnection) -> Self {
        Self { reads, ..self }
    }
}

fn key_filter(key: &ContextKey) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(contexts::Column::AppId.eq(key.app_id.as_str()))
        .add(contexts::Column::UserId.eq(&key.user_id))
        .add(contexts::Column::AgentId.eq(&key.agent_id))
}

fn context_row(context: &Context) -> anyhow::Result<contexts::ActiveModel> {
    Ok(contexts::ActiveModel {
        app_id: Set(context.key.app_id.as_str().to_owned()),
        user_id: Set(context.key.user_id.clone()),
        agent_id: Set(context.key.agent_id.clone()),
        language: Set(context.language.as_ref().map(|l| l.as_str().to_owned())),
        country: Set(context.country.as_ref().map(|c| c.as_str().to_owned())),
        values: Set(serde_json::to_string(context.values.entries())?),
        updated_at: Set(context.updated_at),
    })
}

/// Inserts or replaces in one statement, so concurrent writers of one key never collide.
async fn upsert_context(conn: &impl ConnectionTrait, context: &Context) -> anyhow::Result<()> {
    contexts::Entity::insert(context_row(context)?)
        .on_conflict(
            OnConflict::columns([contexts::Column::AppId, contexts::Column::UserId, contexts::Column::AgentId])
                .update_columns([
                    contexts::Column::Language,
                    contexts::Column::Country,
                    contexts::Column::Values,
                    contexts::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(unexpected)?;
    Ok(())
}

#[async_trait]
impl ContextStore for SeaContextStore {
    async fn put(&self, context: &Context) -> Result<(), StoreError> {
        Ok(upsert_context(&self.db, context).await?)
    }

    async fn find(&self, key: &ContextKey) -> Result<Option<Context>, StoreError> {
        let row = contexts::Entity::find().filter(key_filter(key)).one(&self.reads).await.map_err(unexpected)?;
        Ok(row.map(into_context).transpose()?)
    }

    async fn patch(&self, key: &ContextKey, patch: &ContextPatch, now: i64) -> Result<Context, StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        let patched = patch_in(&txn, key, patch, now).await?;
        txn.commit().await.map_err(unexpected)?;
        Ok(patched)
    }

    async fn delete(&self, key: &ContextKey) -> Result<bool, StoreError> {
        let result =
            contexts::Entity::delete_many().filter(key_filter(key)).exec(&self.db).await.map_err(unexpected)?;
        Ok(result.rows_affected > 0)
    }

    async fn list_user_contexts(&self, app_id: &AppId, user_id: &str, limit: u64) -> Result<Vec<Context>, StoreError> {
        let rows = contexts::Entity::find()
            .filter(contexts::Column::AppId.eq(app_id.as_str()))
            .filter(contexts::Column::UserId.eq(user_id))
            .order_by_asc(contexts::Column::AgentId)
            .limit(limit)
            .all(&self.reads)
            .await
            .map_err(unexpected)?;
        Ok(rows.into_iter().map(into_context).collect::<anyhow::Result<_>>()?)
    }

    async fn delete_user(&self, app_id: &AppId, user_id: &str, now: i64) -> Result<(), StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        // First: a join racing this waits for it, then finds the user deleted.
        guards::mark_deleted(&txn, app_id, user_id, now).await?;
        contexts::Entity::delete_many()
            .filter(contexts::Column::AppId.eq(app_id.as_str()))
            .filter(contexts::Column::UserId.eq(user_id))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        channels::Entity::delete_many()
            .filter(channels::Column::AppId.eq(app_id.as_str()))
            .filter(channels::Column::UserId.eq(user_id))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        // Their places in conversations; the conversations stay for the others in them.
        participants::Entity::delete_many()
            .filter(participants::Column::AppId.eq(app_id.as_str()))
            .filter(participants::Column::UserId.eq(user_id))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        txn.commit().await.map_err(unexpected)?;
        Ok(())
    }

    async fn create_agent(&self, agent: &Agent) -> Result<(), StoreError> {
        agents::Entity::insert(agent_row(agent)?).exec_without_returning(&self.db).await.map_err(|err| {
            if AGENT_KEY.is_violated_by(&err) {
                StoreError::AgentExists
            } else {
                StoreError::Unexpected(unexpected(err))
            }
        })?;
        Ok(())
    }

    async fn find_agent(&self, app_id: &AppId, agent_id: &str) -> Result<Option<Agent>, StoreError> {
        let row = agents::Entity::find_by_id((app_id.as_str().to_owned(), agent_id.to_owned()))
            .one(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(row.map(into_agent).transpose()?)
    }

    async fn list_agents(&self, app_id: &AppId, after: Option<&str>, limit: u64) -> Result<Vec<Agent>, StoreError> {
        let mut query = agents::Entity::find()
            .filter(agents::Column::AppId.eq(app_id.as_str()))
            .order_by_asc(agents::Column::AgentId)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(agents::Column::AgentId.gt(after));
        }
        let rows = query.all(&self.db).await.map_err(unexpected)?;
        Ok(rows.into_iter().map(into_agent).collect::<anyhow::Result<_>>()?)
    }

    async fn update_agent(&self, agent: &Agent) -> Result<bool, StoreError> {
        let mut row = agent_row(agent)?;
        row.created_at = sea_orm::ActiveValue::NotSet;
        let updated = agents::Entity::update_many()
            .set(row)
            .filter(agents::Column::AppId.eq(agent.app_id.as_str()))
            .filter(agents::Column::AgentId.eq(&agent.agent_id))
            .exec(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(updated.rows_affected > 0)
    }

    async fn delete_agent(&self, app_id: &AppId, agent_id: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        // The agent row first, as open_channel locks it first: no deadlock, and no context
        // created for an agent being deleted. Its channels go with it (ON DELETE CASCADE).
        let deleted = agents::Entity::delete_many()
            .filter(agents::Column::AppId.eq(app_id.as_str()))
            .filter(agents::Column::AgentId.eq(agent_id))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        channels::Entity::delete_many()
            .filter(channels::Column::AppId.eq(app_id.as_str()))
            .filter(channels::Column::AgentId.eq(agent_id))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        contexts::Entity::delete_many()
            .filter(contexts::Column::AppId.eq(app_id.as_str()))
            .filter(contexts::Column::AgentId.eq(agent_id))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        txn.commit().await.map_err(unexpected)?;
        Ok(deleted.rows_affected > 0)
    }

    async fn open_channel(
        &self,
        key: &ContextKey,
        patch: &ContextPatch,
        now: i64,
    ) -> Result<(MessengerChannel, bool, Context), StoreError> {
        let (app_id, agent_id, user_id) = (key.app_id.as_str(), key.agent_id.as_str(), key.user_id.as_str());
        let txn = self.db.begin().await.map_err(unexpected)?;
        // Lock the agent row: a concurrent delete of the agent waits, or this finds no agent.
        let agent = agents::Entity::update_many()
            .col_expr(agents::Column::CreatedAt, sea_orm::sea_query::Expr::col(agents::Column::CreatedAt).into())
            .filter(agents::Column::AppId.eq(app_id))
            .filter(agents::Column::AgentId.eq(agent_id))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        if agent.rows_affected == 0 {
            return Err(StoreError::AgentNotFound);
        }
        let row = channels::ActiveModel {
            app_id: Set(app_id.to_owned()),
            channel_url: Set(format!("messenger_{}", platform::ids::new_id())),
            agent_id: Set(agent_id.to_owned()),
            user_id: Set(user_id.to_owned()),
            created_at: Set(now),
        };
        // One channel per (agent, user): a concurrent open inserts nothing and reads the winner's.
        let inserted = channels::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([channels::Column::AppId, channels::Column::AgentId, channels::Column::UserId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(unexpected)?;
        let channel = channels::Entity::find()
            .filter(channels::Column::AppId.eq(app_id))
            .filter(channels::Column::AgentId.eq(agent_id))
            .filter(channels::Column::UserId.eq(user_id))
            .one(&txn)
            .await
            .map_err(unexpected)?
            .context("messenger channel vanished after its insert")?;
        let context = patch_in(&txn, key, patch, now).await?;
        txn.commit().await.map_err(unexpected)?;
        Ok((into_channel(channel)?, inserted == 1, context))
    }

    async fn find_messenger_channel(
        &self,
        app_id: &AppId,
        channel_url: &str,
    ) -> Result<Option<MessengerChannel>, StoreError> {
        let row = channels::Entity::find_by_id((app_id.as_str().to_owned(), channel_url.to_owned()))
            .one(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(row.map(into_channel).transpose()?)
    }
}

/// Applies `patch` under the context row's lock, creating the object when absent.
async fn patch_in(
    conn: &impl ConnectionTrait,
    key: &ContextKey,
    patch: &ContextPatch,
    now: i64,
) -> Result<Context, StoreError> {
    // Creating the row when absent (or touching it) takes its lock before the read.
    let empty =
        Context { key: key.clone(), language: None, country: None, values: ContextValues::default(), updated_at: now };
    contexts::Entity::insert(context_row(&empty)?)
        .on_conflict(
            OnConflict::columns([contexts::Column::AppId, contexts::Column::UserId, contexts::Column::AgentId])
                .update_column(contexts::Column::UpdatedAt)
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(unexpected)?;
    let row = contexts::Entity::find().filter(key_filter(key)).one(conn).await.map_err(unexpected)?;
    let current = into_context(row.context("context row vanished inside its transaction")?)?;
    let patched = patch.apply(current, now)?;
    upsert_context(conn, &patched).await?;
    Ok(patched)
}

fn into_context(row: contexts::Model) -> anyhow::Result<Context> {
    let context = || "stored context is invalid";
    Ok(Context {
        key: ContextKey {
            app_id: AppId::parse(row.app_id).with_context(context)?,
            user_id: row.user_id,
            agent_id: row.agent_id,
        },
        language: row.language.map(Language::parse).transpose().with_context(context)?,
        country: row.country.map(Country::parse).transpose().with_context(context)?,
        values: ContextValues::parse(serde_json::from_str(&row.values)?).with_context(context)?,
        updated_at: row.updated_at,
    })
}

fn agent_row(agent: &Agent) -> anyhow::Result<agents::ActiveModel> {
    let spec = &agent.spec;
    Ok(agents::ActiveModel {
        app_id: Set(agent.app_id.as_str().to_owned()),
        agent_id: Set(agent.agent_id.clone()),
        nickname: Set(spec.nickname.clone()),
        profile_url: Set(spec.profile_url.clone()),
        agent_type: Set(spec.agent_type.clone()),
        callback_url: Set(spec.callback_url.clone()),
        is_privacy_mode: Set(spec.is_privacy_mode),
        enable_mark_as_read: Set(spec.enable_mark_as_read),
        show_member: Set(spec.show_member),
        channel_invitation_preference: Set(spec.channel_invitation_preference),
        metadata: Set(serde_json::to_string(&spec.metadata)?),
        created_at: Set(agent.created_at),
    })
}

fn into_agent(row: agents::Model) -> anyhow::Result<Agent> {
    let metadata: BTreeMap<String, String> = serde_json::from_str(&row.metadata).context("stored agent metadata")?;
    Ok(Agent {
        app_id: AppId::parse(row.app_id).context("stored agent app id")?,
        agent_id: row.agent_id,
        spec: AgentSpec {
            nickname: row.nickname,
            profile_url: row.profile_url,
            agent_type: row.agent_type,
            callback_url: row.callback_url,
            is_privacy_mode: row.is_privacy_mode,
            enable_mark_as_read: row.enable_mark_as_read,
            show_member: row.show_member,
            channel_invitation_preference: row.channel_invitation_preference,
            metadata,
        },
        created_at: row.created_at,
    })
}

fn into_channel(row: channels::Model) -> anyhow::Result<MessengerChannel> {
    Ok(MessengerChannel {
        app_id: AppId::parse(row.app_id).context("stored channel app id")?,
        channel_url: row.channel_url,
        agent_id: row.agent_id,
        user_id: row.user_id,
        created_at: row.created_at,
    })
}
