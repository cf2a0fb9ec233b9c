//! Subscriptions, their sealed secrets and their groups (a Sunshine integration's webhooks).

use platform::seal::Sealed;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
    sea_query::{Expr, LockType},
};

use super::{
    SeaEventStore, db_err,
    entity::{PENDING, deliveries, subscriptions},
};
use crate::{
    app::{EventError, EventStore, Subscription, SubscriptionPatch},
    domain::Format,
};

impl SeaEventStore {
    pub(super) fn seal(&self, subscription_id: &str, secret: &str) -> Sealed {
        self.sealer.seal(secret.as_bytes(), subscription_id.as_bytes())
    }

    pub(super) fn open(&self, row: &subscriptions::Model) -> Result<String, EventError> {
        let sealed = Sealed { kid: row.secret_kid.clone(), bytes: row.secret.clone() };
        let bytes = self.sealer.open(&sealed, row.id.as_bytes()).map_err(anyhow::Error::from)?;
        String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("secret of subscription {} is not text", row.id).into())
    }
}

pub(super) fn into_subscription(row: subscriptions::Model) -> Result<Subscription, EventError> {
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

pub(super) async fn create_subscription(
    store: &SeaEventStore,
    s: &Subscription,
    secret: &str,
) -> Result<(), EventError> {
    let sealed = store.seal(&s.id, secret);
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
    subscriptions::Entity::insert(row).exec_without_returning(&store.db).await.map_err(db_err)?;
    Ok(())
}

pub(super) async fn find_subscription(
    store: &SeaEventStore,
    app_id: &str,
    id: &str,
) -> Result<Option<Subscription>, EventError> {
    subscriptions::Entity::find_by_id(id.to_owned())
        .filter(subscriptions::Column::AppId.eq(app_id))
        .one(&store.db)
        .await
        .map_err(db_err)?
        .map(into_subscription)
        .transpose()
}

pub(super) async fn list_subscriptions(
    store: &SeaEventStore,
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
    query.all(&store.db).await.map_err(db_err)?.into_iter().map(into_subscription).collect()
}

pub(super) async fn update_subscription(
    store: &SeaEventStore,
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
    if update.exec(&store.db).await.map_err(db_err)?.rows_affected == 0 {
        return Err(EventError::SubscriptionNotFound);
    }
    store.find_subscription(app_id, id).await?.ok_or(EventError::SubscriptionNotFound)
}

pub(super) async fn delete_subscription(
    store: &SeaEventStore,
    app_id: &str,
    id: &str,
    keep_group_nonempty: bool,
) -> Result<bool, EventError> {
    let txn = store.db.begin().await.map_err(db_err)?;
    // A write first: on SQLite it takes the write lock now, so this transaction never has to
    // upgrade a read (which fails at once, busy handler or not, if the dispatcher wrote
    // meanwhile); on PostgreSQL it locks the row.
    let touched = subscriptions::Entity::update_many()
        .col_expr(subscriptions::Column::UpdatedAt, Expr::col(subscriptions::Column::UpdatedAt).into())
        .filter(subscriptions::Column::AppId.eq(app_id))
        .filter(subscriptions::Column::Id.eq(id))
        .exec(&txn)
        .await
        .map_err(db_err)?;
    if touched.rows_affected == 0 {
        return Ok(false);
    }
    let Some(found) = subscriptions::Entity::find_by_id(id.to_owned())
        .filter(subscriptions::Column::AppId.eq(app_id))
        .one(&txn)
        .await
        .map_err(db_err)?
    else {
        return Ok(false);
    };
    let in_group = subscriptions::Column::AppId.eq(app_id).and(subscriptions::Column::GroupId.eq(&found.group_id));
    if keep_group_nonempty && store.db.get_database_backend() == DatabaseBackend::Postgres {
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
    if keep_group_nonempty && subscriptions::Entity::find().filter(in_group).count(&txn).await.map_err(db_err)? == 0 {
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

pub(super) async fn set_secret(
    store: &SeaEventStore,
    app_id: &str,
    id: &str,
    secret: &str,
    now: i64,
) -> Result<bool, EventError> {
    let sealed = store.seal(id, secret);
    let result = subscriptions::Entity::update_many()
        .col_expr(subscriptions::Column::SecretKid, Expr::value(sealed.kid))
        .col_expr(subscriptions::Column::Secret, Expr::value(sealed.bytes))
        .col_expr(subscriptions::Column::UpdatedAt, Expr::value(now))
        .filter(subscriptions::Column::Id.eq(id))
        .filter(subscriptions::Column::AppId.eq(app_id))
        .exec(&store.db)
        .await
        .map_err(db_err)?;
    Ok(result.rows_affected > 0)
}

pub(super) async fn secret(store: &SeaEventStore, app_id: &str, id: &str) -> Result<Option<String>, EventError> {
    let row = subscriptions::Entity::find_by_id(id.to_owned())
        .filter(subscriptions::Column::AppId.eq(app_id))
        .one(&store.db)
        .await
        .map_err(db_err)?;
    row.map(|row| store.open(&row)).transpose()
}
