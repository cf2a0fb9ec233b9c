//! Events stored once each and fanned out to the subscriptions that want them, in one
//! transaction; the reads `WatchEvents` follows.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait, sea_query::OnConflict,
};

use super::{
    SeaEventStore, db_err,
    entity::{PENDING, deliveries, events, subscriptions},
};
use crate::{
    app::{EventError, NewEvent, StoredEvent},
    domain::Format,
};

/// The type an application's email subscription receives.
const ACTIVATION: &str = "member.activation_requested";

impl SeaEventStore {
    /// The application's email subscription, made once (its id follows from the application's,
    /// so concurrent first activations make one).
    async fn ensure_mail_subscription(
        &self,
        conn: &impl ConnectionTrait,
        app_id: &str,
        now: i64,
    ) -> Result<(), EventError> {
        let id = platform::secret::hash_secret(&format!("email:{app_id}"))[..24].to_owned();
        let sealed = self.seal(&id, "");
        let row = subscriptions::ActiveModel {
            id: Set(id),
            app_id: Set(app_id.to_owned()),
            format: Set(Format::Email.as_str().to_owned()),
            target: Set("smtp:".into()),
            event_types: Set(serde_json::to_string(&[ACTIVATION]).map_err(anyhow::Error::from)?),
            enabled: Set(true),
            attributes: Set("{}".into()),
            group_id: Set(String::new()),
            secret_kid: Set(sealed.kid),
            secret: Set(sealed.bytes),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let inserted = subscriptions::Entity::insert(row)
            .on_conflict(OnConflict::column(subscriptions::Column::Id).do_nothing().to_owned())
            .exec_without_returning(conn)
            .await;
        match inserted {
            Ok(_) | Err(DbErr::RecordNotInserted) => Ok(()),
            Err(err) => Err(db_err(err)),
        }
    }
}

pub(super) async fn publish(store: &SeaEventStore, new: &[NewEvent], now: i64) -> Result<usize, EventError> {
    let txn = store.db.begin().await.map_err(db_err)?;
    let mut stored = 0;
    let mut subscribers: std::collections::HashMap<String, Vec<subscriptions::Model>> = Default::default();
    let mut mail_ready = std::collections::HashSet::new();
    for event in new {
        let row = events::ActiveModel {
            id: Set(event.id.clone()),
            app_id: Set(event.app_id.clone()),
            kind: Set(event.kind.clone()),
            subject_id: Set(event.subject_id.clone()),
            occurred_at: Set(event.occurred_at),
            stored_at: Set(now),
            payload: Set(event.payload.clone()),
            ..Default::default()
        };
        let inserted = events::Entity::insert(row)
            .on_conflict(OnConflict::column(events::Column::Id).do_nothing().to_owned())
            .exec(&txn)
            .await;
        let seq = match inserted {
            Ok(result) => result.last_insert_id,
            // Published before (a relay retrying, or two relays at once): stored once.
            Err(DbErr::RecordNotInserted) => continue,
            Err(err) => return Err(db_err(err)),
        };
        stored += 1;
        if store.mail && event.kind == ACTIVATION && mail_ready.insert(event.app_id.clone()) {
            store.ensure_mail_subscription(&txn, &event.app_id, now).await?;
            // Read the application's subscriptions again, the email one included.
            subscribers.remove(&event.app_id);
        }
        if !subscribers.contains_key(&event.app_id) {
            let subs = subscriptions::Entity::find()
                .filter(subscriptions::Column::AppId.eq(&event.app_id))
                .filter(subscriptions::Column::Enabled.eq(true))
                .all(&txn)
                .await
                .map_err(db_err)?;
            subscribers.insert(event.app_id.clone(), subs);
        }
        let wanted: Vec<deliveries::ActiveModel> = subscribers[&event.app_id]
            .iter()
            .filter(|s| serde_json::from_str::<Vec<String>>(&s.event_types).is_ok_and(|t| t.contains(&event.kind)))
            .map(|s| deliveries::ActiveModel {
                id: Set(platform::ids::new_id()),
                app_id: Set(event.app_id.clone()),
                subscription_id: Set(s.id.clone()),
                event_seq: Set(seq),
                subject_id: Set(event.subject_id.clone()),
                status: Set(PENDING),
                attempts: Set(0),
                next_attempt_at: Set(now),
                lease_id: Set(None),
                lease_until: Set(0),
                last_status: Set(0),
                last_error: Set(String::new()),
                created_at: Set(now),
                finished_at: Set(None),
                ..Default::default()
            })
            .collect();
        if !wanted.is_empty() {
            deliveries::Entity::insert_many(wanted).exec_without_returning(&txn).await.map_err(db_err)?;
        }
    }
    txn.commit().await.map_err(db_err)?;
    Ok(stored)
}

pub(super) async fn event_seq(store: &SeaEventStore, app_id: &str, event_id: &str) -> Result<Option<i64>, EventError> {
    events::Entity::find()
        .select_only()
        .column(events::Column::Seq)
        .filter(events::Column::Id.eq(event_id))
        .filter(events::Column::AppId.eq(app_id))
        .into_tuple()
        .one(&store.db)
        .await
        .map_err(db_err)
}

pub(super) async fn latest_seq(store: &SeaEventStore, app_id: &str) -> Result<i64, EventError> {
    let seq: Option<i64> = events::Entity::find()
        .select_only()
        .column(events::Column::Seq)
        .filter(events::Column::AppId.eq(app_id))
        .order_by_desc(events::Column::Seq)
        .into_tuple()
        .one(&store.db)
        .await
        .map_err(db_err)?;
    Ok(seq.unwrap_or(0))
}

pub(super) async fn events_after(
    store: &SeaEventStore,
    app_id: &str,
    after_seq: i64,
    types: &[String],
    limit: u64,
) -> Result<Vec<StoredEvent>, EventError> {
    let mut query = events::Entity::find()
        .filter(events::Column::AppId.eq(app_id))
        .filter(events::Column::Seq.gt(after_seq))
        .order_by_asc(events::Column::Seq)
        .limit(limit);
    if !types.is_empty() {
        query = query.filter(events::Column::Kind.is_in(types.iter().cloned()));
    }
    let rows = query.all(&store.db).await.map_err(db_err)?;
    Ok(rows.into_iter().map(|e| StoredEvent { seq: e.seq, payload: e.payload }).collect())
}
