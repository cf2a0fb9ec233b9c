//! Deleting users, with everything that hangs off them (ON DELETE CASCADE).

use platform::db::unexpected;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
    sea_query::{Expr, LockBehavior, LockType},
};

use super::{
    entity::users,
    rows::{lookup_condition, parse_id},
};
use crate::{
    app::{StoreError, UserLifecycle},
    domain::{AppId, Lookup, RosterId},
};

/// Deletes the user and everything hanging off it; false when there was none.
pub(super) async fn delete(db: &DatabaseConnection, app_id: &AppId, id: &RosterId) -> Result<bool, StoreError> {
    // Metadata, discovery keys, identities, image and sensitive metadata go with the row
    // (ON DELETE CASCADE).
    let deleted = users::Entity::delete_many()
        .filter(lookup_condition(app_id, &Lookup::Id(id.clone())))
        .exec(db)
        .await
        .map_err(unexpected)?;
    Ok(deleted.rows_affected > 0)
}

/// Deletes at most `limit` expiring users created before `created_before` and never associated,
/// telling `lifecycle` first.
pub(super) async fn reap(
    db: &DatabaseConnection,
    app_id: &AppId,
    created_before: i64,
    limit: u64,
    lifecycle: &dyn UserLifecycle,
) -> Result<Vec<RosterId>, StoreError> {
    let expired = || {
        Condition::all()
            .add(users::Column::AppId.eq(app_id.as_str()))
            .add(users::Column::ExpiresUnassociated.eq(true))
            .add(users::Column::AssociatedAt.is_null())
            .add(users::Column::CreatedAt.lt(created_before))
    };
    let txn = db.begin().await.map_err(unexpected)?;
    if txn.get_database_backend() == DbBackend::Sqlite {
        // SQLite has no row locks: take the database's write lock before reading, so a
        // MarkAssociated cannot slip in between the choice and the delete.
        users::Entity::update_many()
            .col_expr(users::Column::AssociatedAt, Expr::col(users::Column::AssociatedAt).into())
            .filter(expired())
            .exec(&txn)
            .await
            .map_err(unexpected)?;
    }
    // PostgreSQL: rows another reaper holds are skipped, not waited for and not done twice.
    let ids: Vec<String> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(expired())
        .order_by_asc(users::Column::CreatedAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_tuple()
        .all(&txn)
        .await
        .map_err(unexpected)?;
    let ids = ids.into_iter().map(parse_id).collect::<Result<Vec<_>, _>>()?;
    for id in &ids {
        lifecycle.before_delete(app_id, id).await?;
    }
    if !ids.is_empty() {
        users::Entity::delete_many()
            .filter(expired())
            .filter(users::Column::Id.is_in(ids.iter().map(|id| id.as_str().to_owned())))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
    }
    txn.commit().await.map_err(unexpected)?;
    Ok(ids)
}
