//! The registry's outbox as the relay reads it (`platform::outbox`): unpublished rows in the
//! order written, each turned into the `roster.events.v1.Event` it announces.

use async_trait::async_trait;
use platform::outbox::{Outbox, Pending};
use prost::Message;
use proto::{events::v1 as events, registry::v1 as pb};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};

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
        outbox::Entity::update_many()
            .col_expr(outbox::Column::DeliveredAt, Expr::value(now))
            .filter(outbox::Column::Seq.is_in(seqs.iter().copied()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn purge_published(&self, before: i64, limit: u64) -> anyhow::Result<u64> {
        use sea_orm::sea_query::Query;
        let oldest = Query::select()
            .column(outbox::Column::Seq)
            .from(outbox::Entity)
            .and_where(outbox::Column::DeliveredAt.lt(before))
            .order_by(outbox::Column::Seq, sea_orm::Order::Asc)
            .limit(limit)
            .to_owned();
        let deleted =
            outbox::Entity::delete_many().filter(outbox::Column::Seq.in_subquery(oldest)).exec(&self.db).await?;
        Ok(deleted.rows_affected)
    }
}
