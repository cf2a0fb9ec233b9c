//! Event-service's tables through sea-orm, on PostgreSQL or SQLite.
//!
//! Leasing is one `UPDATE ... WHERE seq IN (SELECT ... FOR UPDATE SKIP LOCKED)` on PostgreSQL,
//! so replicas lease disjoint deliveries without waiting on each other; SQLite has one writer at
//! a time, which gives the same guarantee without the clause.

mod entity;

use async_trait::async_trait;
use platform::{
    db::unexpected,
    seal::{Sealed, Sealer},
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
    sea_query::{Expr, LockBehavior, LockType, OnConflict, Query},
};

use self::entity::{DEAD, DELIVERED, PENDING, deliveries, events, subscriptions};
use crate::{
    app::{
        Delivery, DeliveryFilter, DeliveryStatus, EventError, EventStore, Leased, NewEvent, Next, Outcome, StoredEvent,
        Subscription, SubscriptionPatch,
    },
    domain::Format,
};

pub struct SeaEventStore {
    db: DatabaseConnection,
    sealer: Sealer,
    /// Whether activation emails are sent (`smtp.url` is set): each application then has an email
    /// subscription, made with its first `member.activation_requested`.
    mail: bool,
}

/// The type an application's email subscription receives.
const ACTIVATION: &str = "member.activation_requested";

impl SeaEventStore {
    pub fn new(db: DatabaseConnection, sealer: Sealer) -> Self {
        Self { db, sealer, mail: false }
    }

    /// Activation emails on: `member.activation_requested` events get an email delivery.
    pub fn with_mail(self) -> Self {
        Self { mail: true, ..self }
    }

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

    fn seal(&self, subscription_id: &str, secret: &str) -> Sealed {
        self.sealer.seal(secret.as_bytes(), subscription_id.as_bytes())
    }

    fn open(&self, row: &subscriptions::Model) -> Result<String, EventError> {
        let sealed = Sealed { kid: row.secret_kid.clone(), bytes: row.secret.clone() };
        let bytes = self.sealer.open(&sealed, row.id.as_bytes()).map_err(anyhow::Error::from)?;
        String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("secret of subscription {} is not text", row.id).into())
    }
}

/// The configured sealing keys, or else event-service's own generated key.
pub async fn sealer_from_settings(db: &DatabaseConnection, settings: &platform::Settings) -> anyhow::Result<Sealer> {
    platform::db::sealer(db, settings, "event_keys").await
}

fn db_err(err: DbErr) -> EventError {
    EventError::Unexpected(unexpected(err))
}

fn status_code(status: DeliveryStatus) -> i16 {
    match status {
        DeliveryStatus::Pending => PENDING,
        DeliveryStatus::Delivered => DELIVERED,
        DeliveryStatus::Dead => DEAD,
    }
}

fn into_subscription(row: subscriptions::Model) -> Result<Subscription, EventError> {
    let format = Format::parse(&row.format)
        .ok_or_else(|| anyhow::anyhow!("subscription {} has format {:?}", row.id, row.format))?;
    let event_types: Vec<String> = serde_json::from_str(&row.event_types).map_err(anyhow::Error::from)?;
    Ok(Subscription {
        id: row.id,
        app_id: row.app_id,
        format,
        target: row.target,
        event_types,
        enabled: row.enabled,
        attributes: row.attributes,
        group_id: row.group_id,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn into_delivery(row: deliveries::Model, event: events::Model) -> Delivery {
    let status = match row.status {
        DELIVERED => DeliveryStatus::Delivered,
        DEAD => DeliveryStatus::Dead,
        _ => DeliveryStatus::Pending,
    };
    Delivery {
        id: row.id,
        seq: row.seq,
        subscription_id: row.subscription_id,
        event: StoredEvent { seq: event.seq, payload: event.payload },
        status,
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        next_attempt_at: row.next_attempt_at,
        last_status: u16::try_from(row.last_status).unwrap_or(0),
        last_error: row.last_error,
        created_at: row.created_at,
        finished_at: row.finished_at,
    }
}

/// The events of `rows`' deliveries, by sequence.
async fn events_of(
    conn: &impl ConnectionTrait,
    rows: &[deliveries::Model],
) -> Result<std::collections::HashMap<i64, events::Model>, EventError> {
    let seqs: Vec<i64> = rows.iter().map(|r| r.event_seq).collect();
    let found = events::Entity::find().filter(events::Column::Seq.is_in(seqs)).all(conn).await.map_err(db_err)?;
    Ok(found.into_iter().map(|e| (e.seq, e)).collect())
}

async fn with_events(conn: &impl ConnectionTrait, rows: Vec<deliveries::Model>) -> Result<Vec<Delivery>, EventError> {
    let events = events_of(conn, &rows).await?;
    rows.into_iter()
        .map(|row| {
            // Deliveries of one event to several subscriptions share it.
            let event = events
                .get(&row.event_seq)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("delivery {} names a missing event", row.id))?;
            Ok(into_delivery(row, event))
        })
        .collect()
}

#[async_trait]
impl EventStore for SeaEventStore {
    async fn publish(&self, new: &[NewEvent], now: i64) -> Result<usize, EventError> {
        let txn = self.db.begin().await.map_err(db_err)?;
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
            if self.mail && event.kind == ACTIVATION && mail_ready.insert(event.app_id.clone()) {
                self.ensure_mail_subscription(&txn, &event.app_id, now).await?;
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

    async fn event_seq(&self, app_id: &str, event_id: &str) -> Result<Option<i64>, EventError> {
        events::Entity::find()
            .select_only()
            .column(events::Column::Seq)
            .filter(events::Column::Id.eq(event_id))
            .filter(events::Column::AppId.eq(app_id))
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(db_err)
    }

    async fn latest_seq(&self, app_id: &str) -> Result<i64, EventError> {
        let seq: Option<i64> = events::Entity::find()
            .select_only()
            .column(events::Column::Seq)
            .filter(events::Column::AppId.eq(app_id))
            .order_by_desc(events::Column::Seq)
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(db_err)?;
        Ok(seq.unwrap_or(0))
    }

    async fn events_after(
        &self,
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
        let rows = query.all(&self.db).await.map_err(db_err)?;
        Ok(rows.into_iter().map(|e| StoredEvent { seq: e.seq, payload: e.payload }).collect())
    }

    async fn create_subscription(&self, s: &Subscription, secret: &str) -> Result<(), EventError> {
        let sealed = self.seal(&s.id, secret);
        let row = subscriptions::ActiveModel {
            id: Set(s.id.clone()),
            app_id: Set(s.app_id.clone()),
            format: Set(s.format.as_str().to_owned()),
            target: Set(s.target.clone()),
            event_types: Set(serde_json::to_string(&s.event_types).map_err(anyhow::Error::from)?),
            enabled: Set(s.enabled),
            attributes: Set(s.attributes.clone()),
            group_id: Set(s.group_id.clone()),
            secret_kid: Set(sealed.kid),
            secret: Set(sealed.bytes),
            created_at: Set(s.created_at),
            updated_at: Set(s.updated_at),
        };
        subscriptions::Entity::insert(row).exec_without_returning(&self.db).await.map_err(db_err)?;
        Ok(())
    }

    async fn find_subscription(&self, app_id: &str, id: &str) -> Result<Option<Subscription>, EventError> {
        subscriptions::Entity::find_by_id(id.to_owned())
            .filter(subscriptions::Column::AppId.eq(app_id))
            .one(&self.db)
            .await
            .map_err(db_err)?
            .map(into_subscription)
            .transpose()
    }

    async fn list_subscriptions(
        &self,
        app_id: &str,
        format: Option<Format>,
        group_id: Option<&str>,
    ) -> Result<Vec<Subscription>, EventError> {
        let mut query = subscriptions::Entity::find()
            .filter(subscriptions::Column::AppId.eq(app_id))
            .order_by_asc(subscriptions::Column::CreatedAt)
            .order_by_asc(subscriptions::Column::Id);
        if let Some(format) = format {
            query = query.filter(subscriptions::Column::Format.eq(format.as_str()));
        }
        if let Some(group_id) = group_id {
            query = query.filter(subscriptions::Column::GroupId.eq(group_id));
        }
        query.all(&self.db).await.map_err(db_err)?.into_iter().map(into_subscription).collect()
    }

    async fn update_subscription(
        &self,
        app_id: &str,
        id: &str,
        patch: &SubscriptionPatch,
        now: i64,
    ) -> Result<Subscription, EventError> {
        let mut update = subscriptions::Entity::update_many()
            .col_expr(subscriptions::Column::UpdatedAt, Expr::value(now))
            .filter(subscriptions::Column::Id.eq(id))
            .filter(subscriptions::Column::AppId.eq(app_id));
        if let Some(target) = &patch.target {
            update = update.col_expr(subscriptions::Column::Target, Expr::value(target.clone()));
        }
        if let Some(types) = &patch.event_types {
            let json = serde_json::to_string(types).map_err(anyhow::Error::from)?;
            update = update.col_expr(subscriptions::Column::EventTypes, Expr::value(json));
        }
        if let Some(enabled) = patch.enabled {
            update = update.col_expr(subscriptions::Column::Enabled, Expr::value(enabled));
        }
        if let Some(attributes) = &patch.attributes {
            update = update.col_expr(subscriptions::Column::Attributes, Expr::value(attributes.clone()));
        }
        if update.exec(&self.db).await.map_err(db_err)?.rows_affected == 0 {
            return Err(EventError::SubscriptionNotFound);
        }
        self.find_subscription(app_id, id).await?.ok_or(EventError::SubscriptionNotFound)
    }

    async fn delete_subscription(&self, app_id: &str, id: &str, keep_group_nonempty: bool) -> Result<bool, EventError> {
        let txn = self.db.begin().await.map_err(db_err)?;
        let Some(found) = subscriptions::Entity::find_by_id(id.to_owned())
            .filter(subscriptions::Column::AppId.eq(app_id))
            .one(&txn)
            .await
            .map_err(db_err)?
        else {
            return Ok(false);
        };
        let in_group = subscriptions::Column::AppId.eq(app_id).and(subscriptions::Column::GroupId.eq(&found.group_id));
        if keep_group_nonempty && self.db.get_database_backend() == DatabaseBackend::Postgres {
            // Concurrent deletes in one group queue here; on SQLite the DELETE below takes the
            // database's write lock before the count.
            subscriptions::Entity::find()
                .filter(in_group.clone())
                .lock(LockType::Update)
                .all(&txn)
                .await
                .map_err(db_err)?;
        }
        subscriptions::Entity::delete_by_id(id.to_owned()).exec(&txn).await.map_err(db_err)?;
        if keep_group_nonempty && subscriptions::Entity::find().filter(in_group).count(&txn).await.map_err(db_err)? == 0
        {
            return Err(EventError::LastInGroup);
        }
        // Delivered and dead ones stay in the log; pending ones have nowhere to go.
        deliveries::Entity::delete_many()
            .filter(deliveries::Column::SubscriptionId.eq(id))
            .filter(deliveries::Column::Status.eq(PENDING))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        txn.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn set_secret(&self, app_id: &str, id: &str, secret: &str, now: i64) -> Result<bool, EventError> {
        let sealed = self.seal(id, secret);
        let result = subscriptions::Entity::update_many()
            .col_expr(subscriptions::Column::SecretKid, Expr::value(sealed.kid))
            .col_expr(subscriptions::Column::Secret, Expr::value(sealed.bytes))
            .col_expr(subscriptions::Column::UpdatedAt, Expr::value(now))
            .filter(subscriptions::Column::Id.eq(id))
            .filter(subscriptions::Column::AppId.eq(app_id))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn secret(&self, app_id: &str, id: &str) -> Result<Option<String>, EventError> {
        let row = subscriptions::Entity::find_by_id(id.to_owned())
            .filter(subscriptions::Column::AppId.eq(app_id))
            .one(&self.db)
            .await
            .map_err(db_err)?;
        row.map(|row| self.open(&row)).transpose()
    }

    async fn lease(&self, lease_id: &str, now: i64, lease_until: i64, max: u64) -> Result<Vec<Leased>, EventError> {
        use sea_orm::sea_query::Alias;
        let d = Alias::new("d");
        let e = Alias::new("e");
        let col = |table: &Alias, c: deliveries::Column| Expr::col((table.clone(), c));
        // An earlier delivery of the same subscription and subject still pending holds this one
        // back: deliveries of one user reach a subscriber in the order the changes happened.
        let earlier = Query::select()
            .expr(Expr::val(1))
            .from_as(deliveries::Entity, e.clone())
            .and_where(
                col(&e, deliveries::Column::SubscriptionId).equals((d.clone(), deliveries::Column::SubscriptionId)),
            )
            .and_where(col(&e, deliveries::Column::SubjectId).equals((d.clone(), deliveries::Column::SubjectId)))
            .and_where(col(&e, deliveries::Column::Status).eq(PENDING))
            .and_where(col(&e, deliveries::Column::Seq).lt(col(&d, deliveries::Column::Seq)))
            .to_owned();
        let mut due = Query::select();
        due.column((d.clone(), deliveries::Column::Seq))
            .from_as(deliveries::Entity, d.clone())
            .and_where(col(&d, deliveries::Column::Status).eq(PENDING))
            .and_where(col(&d, deliveries::Column::NextAttemptAt).lte(now))
            .and_where(col(&d, deliveries::Column::LeaseUntil).lte(now))
            .and_where(Expr::exists(earlier).not())
            .order_by((d.clone(), deliveries::Column::Seq), sea_orm::Order::Asc)
            .limit(max);
        let backend = self.db.get_database_backend();
        if backend == DatabaseBackend::Postgres {
            due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let lease = Query::update()
            .table(deliveries::Entity)
            .value(deliveries::Column::LeaseId, lease_id)
            .value(deliveries::Column::LeaseUntil, lease_until)
            .value(deliveries::Column::Attempts, Expr::col(deliveries::Column::Attempts).add(1))
            .and_where(Expr::col(deliveries::Column::Seq).in_subquery(due.to_owned()))
            .to_owned();
        let txn = self.db.begin().await.map_err(db_err)?;
        txn.execute(backend.build(&lease)).await.map_err(db_err)?;
        let rows = deliveries::Entity::find()
            .filter(deliveries::Column::LeaseId.eq(lease_id))
            .filter(deliveries::Column::Status.eq(PENDING))
            .order_by_asc(deliveries::Column::Seq)
            .all(&txn)
            .await
            .map_err(db_err)?;
        let sub_ids: Vec<String> = rows.iter().map(|r| r.subscription_id.clone()).collect();
        let subs: std::collections::HashMap<String, subscriptions::Model> = subscriptions::Entity::find()
            .filter(subscriptions::Column::Id.is_in(sub_ids))
            .all(&txn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        let deliveries = with_events(&txn, rows).await?;
        txn.commit().await.map_err(db_err)?;
        deliveries
            .into_iter()
            .filter_map(|delivery| {
                let row = subs.get(&delivery.subscription_id)?;
                Some((delivery, row))
            })
            .map(|(delivery, row)| {
                Ok(Leased {
                    secret: self.open(row)?,
                    subscription: into_subscription(row.clone())?,
                    delivery,
                    lease_id: lease_id.to_owned(),
                })
            })
            .collect()
    }

    async fn leased_attempt(&self, delivery_id: &str, lease_id: &str) -> Result<Option<(u32, i64)>, EventError> {
        let row: Option<(i32, i64)> = deliveries::Entity::find()
            .select_only()
            .column(deliveries::Column::Attempts)
            .column(deliveries::Column::CreatedAt)
            .filter(deliveries::Column::Id.eq(delivery_id))
            .filter(deliveries::Column::LeaseId.eq(lease_id))
            .filter(deliveries::Column::Status.eq(PENDING))
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(db_err)?;
        Ok(row.map(|(attempts, created)| (u32::try_from(attempts).unwrap_or(0), created)))
    }

    async fn finish_attempt(&self, outcome: &Outcome, next: Next, now: i64) -> Result<(), EventError> {
        let error: String = outcome.error.chars().take(500).collect();
        let mut update = deliveries::Entity::update_many()
            .col_expr(deliveries::Column::LeaseId, Expr::value(Option::<String>::None))
            .col_expr(deliveries::Column::LeaseUntil, Expr::value(0i64))
            .col_expr(deliveries::Column::LastStatus, Expr::value(i32::from(outcome.status)))
            .col_expr(deliveries::Column::LastError, Expr::value(error))
            .filter(deliveries::Column::Id.eq(&outcome.delivery_id))
            .filter(deliveries::Column::LeaseId.eq(&outcome.lease_id))
            .filter(deliveries::Column::Status.eq(PENDING));
        update = match next {
            Next::Delivered => update
                .col_expr(deliveries::Column::Status, Expr::value(DELIVERED))
                .col_expr(deliveries::Column::FinishedAt, Expr::value(now)),
            Next::Dead => update
                .col_expr(deliveries::Column::Status, Expr::value(DEAD))
                .col_expr(deliveries::Column::FinishedAt, Expr::value(now)),
            Next::RetryAt(at) => update.col_expr(deliveries::Column::NextAttemptAt, Expr::value(at)),
        };
        update.exec(&self.db).await.map_err(db_err)?;
        Ok(())
    }

    async fn list_deliveries(&self, app_id: &str, filter: &DeliveryFilter) -> Result<Vec<Delivery>, EventError> {
        let mut query = deliveries::Entity::find()
            .filter(deliveries::Column::AppId.eq(app_id))
            .order_by_desc(deliveries::Column::Seq)
            .limit(filter.limit);
        if let Some(status) = filter.status {
            query = query.filter(deliveries::Column::Status.eq(status_code(status)));
        }
        if let Some(subscription_id) = &filter.subscription_id {
            query = query.filter(deliveries::Column::SubscriptionId.eq(subscription_id));
        }
        if let Some(before) = filter.before_seq {
            query = query.filter(deliveries::Column::Seq.lt(before));
        }
        let rows = query.all(&self.db).await.map_err(db_err)?;
        with_events(&self.db, rows).await
    }

    async fn redeliver(
        &self,
        app_id: &str,
        ids: &[String],
        subscription_id: Option<&str>,
        now: i64,
    ) -> Result<u64, EventError> {
        let mut which =
            Condition::all().add(deliveries::Column::AppId.eq(app_id)).add(deliveries::Column::Status.eq(DEAD));
        if !ids.is_empty() {
            which = which.add(deliveries::Column::Id.is_in(ids.iter().cloned()));
        } else if let Some(subscription_id) = subscription_id {
            which = which.add(deliveries::Column::SubscriptionId.eq(subscription_id));
        }
        // A deleted subscription's dead letters stay in the log, with nowhere to be sent.
        let live = Query::select().column(subscriptions::Column::Id).from(subscriptions::Entity).to_owned();
        which = which.add(deliveries::Column::SubscriptionId.in_subquery(live));
        let result = deliveries::Entity::update_many()
            .col_expr(deliveries::Column::Status, Expr::value(PENDING))
            .col_expr(deliveries::Column::NextAttemptAt, Expr::value(now))
            // A fresh age limit: the operator asked for it now.
            .col_expr(deliveries::Column::CreatedAt, Expr::value(now))
            .col_expr(deliveries::Column::FinishedAt, Expr::value(Option::<i64>::None))
            .filter(which)
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected)
    }
}
