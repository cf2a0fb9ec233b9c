//! Conversation events, written in the transaction of the change (`record`), and the outbox as
//! the relay reads it (`SeaOutbox`, `platform::outbox`). The conversation travels encoded as it
//! is published (`roster.context.v1.Conversation`): the outbox is the wire's first stop.

use async_trait::async_trait;
use platform::{
    db::unexpected,
    outbox::{Outbox, OutboxTable, Pending},
};
use prost::Message;
use proto::{context::v1 as pb, events::v1 as events, registry::v1 as registry};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::entity::outbox;
use crate::{app::StoreError, domain::Conversation};

/// Writes `kind` about `conversation` (after the change) and, when the event is about one,
/// `user_id`.
pub(super) async fn record(
    conn: &impl ConnectionTrait,
    kind: &str,
    conversation: &Conversation,
    user_id: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    let row = outbox::ActiveModel {
        id: Set(platform::ids::new_id()),
        app_id: Set(conversation.app_id.as_str().to_owned()),
        kind: Set(kind.to_owned()),
        subject_id: Set(conversation.id.clone()),
        user_id: Set(user_id.map(str::to_owned)),
        detail: Set(String::new()),
        resource: Set(pb::Conversation::from(conversation.clone()).encode_to_vec()),
        created_at: Set(now),
        delivered_at: Set(None),
        ..Default::default()
    };
    outbox::Entity::insert(row).exec_without_returning(conn).await.map_err(unexpected)?;
    Ok(())
}

pub struct SeaOutbox {
    db: DatabaseConnection,
}

impl SeaOutbox {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn into_event(row: outbox::Model) -> anyhow::Result<Pending> {
    let conversation = pb::Conversation::decode(row.resource.as_slice())?;
    let user = row.user_id.map(|id| registry::User {
        id: id.clone(),
        app_id: row.app_id.clone(),
        user_id: id,
        ..Default::default()
    });
    Ok(Pending {
        seq: row.seq,
        event: events::Event {
            id: row.id,
            app_id: row.app_id,
            r#type: row.kind,
            subject_id: row.subject_id,
            occurred_at: row.created_at,
            user,
            conversation: Some(conversation),
            detail: row.detail,
            sequence: 0,
        },
    })
}

const TABLE: OutboxTable<outbox::Entity> =
    OutboxTable { seq: outbox::Column::Seq, delivered_at: outbox::Column::DeliveredAt };

#[async_trait]
impl Outbox for SeaOutbox {
    async fn pending(&self, limit: u64) -> anyhow::Result<Vec<Pending>> {
        let rows = outbox::Entity::find()
            .filter(outbox::Column::DeliveredAt.is_null())
            .order_by_asc(outbox::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter().map(into_event).collect()
    }

    async fn mark_published(&self, seqs: &[i64], now: i64) -> anyhow::Result<()> {
        TABLE.mark_published(&self.db, seqs, now).await
    }

    async fn purge_published(&self, before: i64, limit: u64) -> anyhow::Result<u64> {
        TABLE.purge_published(&self.db, before, limit).await
    }
}
