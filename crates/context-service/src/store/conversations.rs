//! sea-orm implementation of `ConversationStore`.

use anyhow::Context as _;
use async_trait::async_trait;
use platform::db::unexpected;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr, TransactionTrait,
    sea_query::Expr,
};

use super::{
    SeaContextStore,
    entity::{channels, conversations, participants},
    outbox,
};
use crate::{
    app::{ConversationStore, Joined, StoreError},
    domain::{
        AppId, Channel, ChannelSpec, Conversation, ConversationKind, ConversationStatus, Metadata, Modality,
        Participant,
    },
};

/// The conversation as this transaction sees it.
async fn find_in(
    conn: &impl sea_orm::ConnectionTrait,
    app_id: &AppId,
    id: &str,
) -> Result<Option<Conversation>, StoreError> {
    let row = conversations::Entity::find_by_id((app_id.as_str().to_owned(), id.to_owned()))
        .one(conn)
        .await
        .map_err(unexpected)?;
    Ok(row.map(into_conversation).transpose()?)
}

#[async_trait]
impl ConversationStore for SeaContextStore {
    async fn list_user_conversations(
        &self,
        app_id: &AppId,
        user_id: &str,
        limit: u64,
    ) -> Result<Vec<Conversation>, StoreError> {
        let taking_part = sea_orm::sea_query::Query::select()
            .column(participants::Column::ConversationId)
            .from(participants::Entity)
            .and_where(participants::Column::AppId.eq(app_id.as_str()))
            .and_where(participants::Column::UserId.eq(user_id))
            .to_owned();
        let rows = conversations::Entity::find()
            .filter(conversations::Column::AppId.eq(app_id.as_str()))
            .filter(conversations::Column::Id.in_subquery(taking_part))
            .order_by_desc(conversations::Column::CreatedAt)
            .order_by_desc(conversations::Column::Id)
            .limit(limit)
            .all(&self.reads)
            .await
            .map_err(unexpected)?;
        Ok(rows.into_iter().map(into_conversation).collect::<anyhow::Result<_>>()?)
    }

    async fn create_channel(&self, channel: &Channel) -> Result<(), StoreError> {
        let ChannelSpec { name, description, modality, metadata } = &channel.spec;
        let row = channels::ActiveModel {
            app_id: Set(channel.app_id.as_str().to_owned()),
            id: Set(channel.id.clone()),
            name: Set(name.clone()),
            description: Set(description.clone()),
            modality: Set(modality.as_str().to_owned()),
            metadata: Set(metadata.to_json()),
            created_at: Set(channel.created_at),
            updated_at: Set(channel.updated_at),
        };
        channels::Entity::insert(row).exec_without_returning(&self.db).await.map_err(unexpected)?;
        Ok(())
    }

    async fn find_channel(&self, app_id: &AppId, id: &str) -> Result<Option<Channel>, StoreError> {
        let row = channels::Entity::find_by_id((app_id.as_str().to_owned(), id.to_owned()))
            .one(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(row.map(into_channel).transpose()?)
    }

    async fn list_channels(
        &self,
        app_id: &AppId,
        modality: Option<Modality>,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Channel>, StoreError> {
        let mut query = channels::Entity::find()
            .filter(channels::Column::AppId.eq(app_id.as_str()))
            .order_by_asc(channels::Column::Id)
            .limit(limit);
        if let Some(modality) = modality {
            query = query.filter(channels::Column::Modality.eq(modality.as_str()));
        }
        if let Some(after) = after {
            query = query.filter(channels::Column::Id.gt(after));
        }
        let rows = query.all(&self.db).await.map_err(unexpected)?;
        Ok(rows.into_iter().map(into_channel).collect::<anyhow::Result<_>>()?)
    }

    async fn create_conversation(
        &self,
        conversation: &Conversation,
        members: &[Participant],
    ) -> Result<(), StoreError> {
        let app_id = conversation.app_id.as_str();
        let txn = self.db.begin().await.map_err(unexpected)?;
        // The only foreign key of the row is its channel's (same application).
        conversations::Entity::insert(conversation_row(conversation)).exec_without_returning(&txn).await.map_err(
            |err| match err.sql_err() {
                Some(SqlErr::ForeignKeyConstraintViolation(_)) => StoreError::ChannelNotFound,
                _ => StoreError::Unexpected(unexpected(err)),
            },
        )?;
        for member in members {
            if super::guards::take(&txn, &conversation.app_id, &member.user_id).await? {
                return Err(StoreError::UserDeleted);
            }
        }
        if !members.is_empty() {
            let rows = members.iter().map(|p| participants::ActiveModel {
                app_id: Set(app_id.to_owned()),
                conversation_id: Set(conversation.id.clone()),
                user_id: Set(p.user_id.clone()),
                id: Set(p.id.clone()),
                position: Set(p.position as i32),
                joined_at: Set(p.joined_at),
            });
            participants::Entity::insert_many(rows).exec_without_returning(&txn).await.map_err(unexpected)?;
        }
        let first = members.first().map(|m| m.user_id.as_str());
        outbox::record(&txn, "conversation.created", conversation, first, conversation.created_at).await?;
        txn.commit().await.map_err(unexpected)?;
        Ok(())
    }

    async fn find_conversation(&self, app_id: &AppId, id: &str) -> Result<Option<Conversation>, StoreError> {
        let row = conversations::Entity::find_by_id((app_id.as_str().to_owned(), id.to_owned()))
            .one(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(row.map(into_conversation).transpose()?)
    }

    async fn end_conversation(&self, app_id: &AppId, id: &str, now: i64) -> Result<Option<Conversation>, StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        // One statement: concurrent ends agree, the first end's instant is kept, and only the end
        // that changed something announces it.
        let ended = conversations::Entity::update_many()
            .col_expr(conversations::Column::Status, Expr::value(status_str(ConversationStatus::Ended)))
            .col_expr(conversations::Column::UpdatedAt, Expr::value(now))
            .filter(conversations::Column::AppId.eq(app_id.as_str()))
            .filter(conversations::Column::Id.eq(id))
            .filter(conversations::Column::Status.eq(status_str(ConversationStatus::Active)))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        let found = find_in(&txn, app_id, id).await?;
        if let (1, Some(conversation)) = (ended.rows_affected, &found) {
            outbox::record(&txn, "conversation.ended", conversation, None, now).await?;
        }
        txn.commit().await.map_err(unexpected)?;
        Ok(found)
    }

    async fn add_participant(
        &self,
        app_id: &AppId,
        conversation_id: &str,
        user_id: &str,
        id: &str,
        max: u32,
        now: i64,
    ) -> Result<Joined, StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        // Touching the conversation locks it: joins of one conversation queue, so positions
        // (max + 1) never collide.
        let touched = conversations::Entity::update_many()
            .col_expr(conversations::Column::UpdatedAt, Expr::value(now))
            .filter(conversations::Column::AppId.eq(app_id.as_str()))
            .filter(conversations::Column::Id.eq(conversation_id))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        if touched.rows_affected == 0 {
            return Ok(Joined::NoConversation);
        }
        if super::guards::take(&txn, app_id, user_id).await? {
            return Ok(Joined::UserDeleted);
        }
        let member = participants::Entity::find()
            .filter(participants::Column::AppId.eq(app_id.as_str()))
            .filter(participants::Column::ConversationId.eq(conversation_id))
            .filter(participants::Column::UserId.eq(user_id));
        if let Some(existing) = member.clone().one(&txn).await.map_err(unexpected)? {
            txn.commit().await.map_err(unexpected)?;
            return Ok(Joined::Present(into_participant(existing)?));
        }
        let (count, last): (i64, Option<i32>) = participants::Entity::find()
            .select_only()
            .column_as(participants::Column::Position.count(), "count")
            .column_as(participants::Column::Position.max(), "max")
            .filter(participants::Column::AppId.eq(app_id.as_str()))
            .filter(participants::Column::ConversationId.eq(conversation_id))
            .into_tuple()
            .one(&txn)
            .await
            .map_err(unexpected)?
            .unwrap_or((0, None));
        if count >= i64::from(max) {
            return Ok(Joined::Full);
        }
        let position = last.map_or(0, |p| p + 1);
        let row = participants::ActiveModel {
            app_id: Set(app_id.as_str().to_owned()),
            conversation_id: Set(conversation_id.to_owned()),
            user_id: Set(user_id.to_owned()),
            id: Set(id.to_owned()),
            position: Set(position),
            joined_at: Set(now),
        };
        participants::Entity::insert(row).exec_without_returning(&txn).await.map_err(unexpected)?;
        let added =
            member.one(&txn).await.map_err(unexpected)?.ok_or_else(|| anyhow::anyhow!("participant vanished"))?;
        if let Some(conversation) = find_in(&txn, app_id, conversation_id).await? {
            outbox::record(&txn, "participant.joined", &conversation, Some(user_id), now).await?;
        }
        txn.commit().await.map_err(unexpected)?;
        Ok(Joined::Added(into_participant(added)?))
    }

    async fn remove_participant(
        &self,
        app_id: &AppId,
        conversation_id: &str,
        user_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        let removed = participants::Entity::delete_many()
            .filter(participants::Column::AppId.eq(app_id.as_str()))
            .filter(participants::Column::ConversationId.eq(conversation_id))
            .filter(participants::Column::UserId.eq(user_id))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
        if removed.rows_affected > 0
            && let Some(conversation) = find_in(&txn, app_id, conversation_id).await?
        {
            outbox::record(&txn, "participant.left", &conversation, Some(user_id), now).await?;
        }
        txn.commit().await.map_err(unexpected)?;
        Ok(removed.rows_affected > 0)
    }

    async fn list_participants(
        &self,
        app_id: &AppId,
        conversation_id: &str,
        after: Option<u32>,
        limit: u64,
    ) -> Result<Vec<Participant>, StoreError> {
        let mut query = participants::Entity::find()
            .filter(participants::Column::AppId.eq(app_id.as_str()))
            .filter(participants::Column::ConversationId.eq(conversation_id))
            .order_by_asc(participants::Column::Position)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(participants::Column::Position.gt(after as i32));
        }
        let rows = query.all(&self.db).await.map_err(unexpected)?;
        Ok(rows.into_iter().map(into_participant).collect::<anyhow::Result<_>>()?)
    }
}

fn status_str(status: ConversationStatus) -> &'static str {
    match status {
        ConversationStatus::Active => "active",
        ConversationStatus::Ended => "ended",
    }
}

fn kind_str(kind: ConversationKind) -> &'static str {
    match kind {
        ConversationKind::Personal => "personal",
        ConversationKind::Group => "group",
    }
}

fn conversation_row(conversation: &Conversation) -> conversations::ActiveModel {
    conversations::ActiveModel {
        app_id: Set(conversation.app_id.as_str().to_owned()),
        id: Set(conversation.id.clone()),
        kind: Set(kind_str(conversation.kind).to_owned()),
        display_name: Set(conversation.display_name.clone()),
        description: Set(conversation.description.clone()),
        metadata: Set(conversation.metadata.to_json()),
        channel_id: Set(conversation.channel_id.clone()),
        agent_id: Set(conversation.agent_id.clone()),
        status: Set(status_str(conversation.status).to_owned()),
        created_at: Set(conversation.created_at),
        updated_at: Set(conversation.updated_at),
    }
}

fn into_channel(row: channels::Model) -> anyhow::Result<Channel> {
    Ok(Channel {
        app_id: AppId::parse(row.app_id).context("stored channel app id")?,
        id: row.id,
        spec: ChannelSpec {
            name: row.name,
            description: row.description,
            modality: Modality::parse(&row.modality).context("stored channel modality")?,
            metadata: Metadata::parse_json(&row.metadata).context("stored channel metadata")?,
        },
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn into_conversation(row: conversations::Model) -> anyhow::Result<Conversation> {
    let kind = match row.kind.as_str() {
        "personal" => ConversationKind::Personal,
        "group" => ConversationKind::Group,
        other => anyhow::bail!("stored conversation kind {other:?}"),
    };
    let status = match row.status.as_str() {
        "active" => ConversationStatus::Active,
        "ended" => ConversationStatus::Ended,
        other => anyhow::bail!("stored conversation status {other:?}"),
    };
    Ok(Conversation {
        app_id: AppId::parse(row.app_id).context("stored conversation app id")?,
        id: row.id,
        kind,
        display_name: row.display_name,
        description: row.description,
        metadata: Metadata::parse_json(&row.metadata).context("stored conversation metadata")?,
        channel_id: row.channel_id,
        agent_id: row.agent_id,
        status,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn into_participant(row: participants::Model) -> anyhow::Result<Participant> {
    Ok(Participant {
        id: row.id,
        user_id: row.user_id,
        position: u32::try_from(row.position).context("stored participant position")?,
        joined_at: row.joined_at,
    })
}
