//! The user guard: a row per (application, user), taken (upserted, which locks it until the
//! transaction ends: a row lock on PostgreSQL, the write lock on SQLite) by every write that adds
//! to a user and by the deletion of the user's data, which marks it deleted. The two queue on
//! the row: a write before the deletion is deleted with the rest; one after finds the mark.

use platform::db::unexpected;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, sea_query::OnConflict};

use super::entity::context_users as guards;
use crate::{app::StoreError, domain::AppId};

/// Takes the user's guard; answers whether the user was deleted.
pub(super) async fn take(conn: &impl ConnectionTrait, app_id: &AppId, user_id: &str) -> Result<bool, StoreError> {
    upsert(conn, app_id, user_id, None).await?;
    let row = guards::Entity::find_by_id((app_id.as_str().to_owned(), user_id.to_owned()))
        .one(conn)
        .await
        .map_err(unexpected)?;
    Ok(row.is_some_and(|r| r.deleted_at.is_some()))
}

/// Takes the user's guard and marks the user deleted at `now` (the first mark stays).
pub(super) async fn mark_deleted(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    user_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    upsert(conn, app_id, user_id, Some(now)).await
}

async fn upsert(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    user_id: &str,
    deleted_at: Option<i64>,
) -> Result<(), StoreError> {
    let row = guards::ActiveModel {
        app_id: Set(app_id.as_str().to_owned()),
        user_id: Set(user_id.to_owned()),
        deleted_at: Set(deleted_at),
    };
    let mut on_conflict = OnConflict::columns([guards::Column::AppId, guards::Column::UserId]);
    // An update, even one that changes nothing, is what takes the lock.
    let current = sea_orm::sea_query::Expr::col((guards::Entity, guards::Column::DeletedAt));
    match deleted_at {
        Some(at) => on_conflict
            .value(guards::Column::DeletedAt, sea_orm::sea_query::Func::coalesce([current.into(), at.into()])),
        None => on_conflict.value(guards::Column::DeletedAt, current),
    };
    guards::Entity::insert(row)
        .on_conflict(on_conflict.to_owned())
        .exec_without_returning(conn)
        .await
        .map_err(unexpected)?;
    Ok(())
}
