//! The registry's outbox as the relay reads it (`platform::outbox`): unpublished rows in the
//! order written, each turned into the `roster.events.v1.Event` it announces.

use async_trait::async_trait;
use platform::outbox::{Outbox, OutboxTable, Pending};
use prost::Message;
use proto::{events::v1 as events, registry::v1 as pb};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::outbox_events as outbox;

pub struct SeaOutbox {
    db: DatabaseConnection,
}

impl SeaOutbox {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn into_event(row: outbox::Model) -> anyhow::Result<Pending> {
    let payload: serde_json::Value = serde_json::from_str(&row.payload)?;
    let text = |key: &str| payload.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let user = match &row.resource {
        Some(bytes) => pb::User::decode(bytes.as_slice())?,
        // Written before events carried the user: its ids.
        None => pb::User {
            id: row.subject_id.clone(),
            app_id: row.app_id.clone(),
            user_id: text("user_id"),
            ..Default::default()
        },
    };
    Ok(Pending {
        seq: row.seq,
        event: events::Event {
            id: row.id,
            app_id: row.app_id,
            r#type: row.kind,
            subject_id: row.subject_id,
            occurred_at: row.created_at,
            user: Some(user),
            conversation: None,
            detail: text("detail"),
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
