//! Deliveries: leased, finished, listed and redelivered.
//!
//! Leasing is one `UPDATE ... WHERE seq IN (SELECT ... FOR UPDATE SKIP LOCKED)` on PostgreSQL.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
    sea_query::{Expr, LockBehavior, LockType, Query},
};

use super::{
    SeaEventStore, db_err,
    entity::{DEAD, DELIVERED, PENDING, deliveries, events, subscriptions},
    subscribing::into_subscription,
};
use crate::app::{Delivery, DeliveryFilter, DeliveryStatus, EventError, Leased, Next, Outcome, StoredEvent};

fn status_code(status: DeliveryStatus) -> i16 {
    match status {
        DeliveryStatus::Pending => PENDING,
        DeliveryStatus::Delivered => DELIVERED,
        DeliveryStatus::Dead => DEAD,
    }
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

pub(super) async fn lease(
    store: &SeaEventStore,
    lease_id: &str,
    now: i64,
    lease_until: i64,
    max: u64,
) -> Result<Vec<Leased>, EventError> {
    use sea_orm::sea_query::Alias;
    let d = Alias::new("d");
    let e = Alias::new("e");
    let col = |table: &Alias, c: deliveries::Column| Expr::col((table.clone(), c));
    // An earlier delivery of the same subscription and subject still pending holds this one
    // back: deliveries of one user reach a subscriber in the order the changes happened.
    let earlier = Query::select()
        .expr(Expr::val(1))
        .from_as(deliveries::Entity, e.clone())
        .and_where(col(&e, deliveries::Column::SubscriptionId).equals((d.clone(), deliveries::Column::SubscriptionId)))
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
    let backend = store.db.get_database_backend();
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
    let txn = store.db.begin().await.map_err(db_err)?;
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
                secret: store.open(row)?,
                subscription: into_subscription(row.clone())?,
                delivery,
                lease_id: lease_id.to_owned(),
            })
        })
        .collect()
}

pub(super) async fn leased_attempt(
    store: &SeaEventStore,
    delivery_id: &str,
    lease_id: &str,
) -> Result<Option<(u32, i64)>, EventError> {
    let row: Option<(i32, i64)> = deliveries::Entity::find()
        .select_only()
        .column(deliveries::Column::Attempts)
        .column(deliveries::Column::CreatedAt)
        .filter(deliveries::Column::Id.eq(delivery_id))
        .filter(deliveries::Column::LeaseId.eq(lease_id))
        .filter(deliveries::Column::Status.eq(PENDING))
        .into_tuple()
        .one(&store.db)
        .await
        .map_err(db_err)?;
    Ok(row.map(|(attempts, created)| (u32::try_from(attempts).unwrap_or(0), created)))
}

pub(super) async fn finish_attempt(
    store: &SeaEventStore,
    outcome: &Outcome,
    next: Next,
    now: i64,
) -> Result<(), EventError> {
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
    update.exec(&store.db).await.map_err(db_err)?;
    Ok(())
}

pub(super) async fn list_deliveries(
    store: &SeaEventStore,
    app_id: &str,
    filter: &DeliveryFilter,
) -> Result<Vec<Delivery>, EventError> {
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
    let rows = query.all(&store.db).await.map_err(db_err)?;
    with_events(&store.db, rows).await
}

pub(super) async fn redeliver(
    store: &SeaEventStore,
    app_id: &str,
    ids: &[String],
    subscription_id: Option<&str>,
    now: i64,
) -> Result<u64, EventError> {
    let mut which = Condition::all().add(deliveries::Column::AppId.eq(app_id)).add(deliveries::Column::Status.eq(DEAD));
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
        .exec(&store.db)
        .await
        .map_err(db_err)?;
    Ok(result.rows_affected)
}
