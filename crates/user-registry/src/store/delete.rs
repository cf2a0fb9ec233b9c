//! Deleting users, with everything that hangs off them (ON DELETE CASCADE).
//!
//! A deletion that must first tell other services (the reaper's) never holds a transaction
//! while it does: it claims its users in one statement (`deleting_since`, the claim's instant),
//! which makes them gone to every lookup, tells the services with nothing open, then deletes
//! them in a second statement. The claim is never given back, so nobody can find or associate a
//! user whose tokens may already be revoked. A claim is a lease: one older than the lease was left
//! by a process that died (or whose calls failed), and a later claim takes it over. A
//! `delete_user` that calls out could claim its one user by lookup the same way and end with
//! `delete_claimed`.

use platform::db::unexpected;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
    sea_query::{LockBehavior, LockType, Query},
};

use super::{
    entity::users,
    events::Deleted,
    rows::{lookup_condition, parse_id},
    sql::MAX_PARAMS,
};
use crate::{
    app::StoreError,
    domain::{AppId, DeletionReason, Lookup, RosterId},
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

/// Claims at `now` at most `limit` of the application's users the reaper takes, oldest first:
/// live expiring users created before `created_before` and never associated, and users whose
/// claim was made before `stale_before`. Answers them oldest first.
pub(super) async fn claim_unassociated(
    db: &DatabaseConnection,
    app_id: &AppId,
    created_before: i64,
    stale_before: i64,
    limit: u64,
    now: i64,
) -> Result<Vec<RosterId>, StoreError> {
    let expired = Condition::all()
        .add(users::Column::DeletingSince.is_null())
        .add(users::Column::ExpiresUnassociated.eq(true))
        .add(users::Column::AssociatedAt.is_null())
        .add(users::Column::CreatedAt.lt(created_before));
    let claimable = Condition::all()
        .add(users::Column::AppId.eq(app_id.as_str()))
        .add(Condition::any().add(expired).add(users::Column::DeletingSince.lt(stale_before)));
    // PostgreSQL: rows another claim or a MarkAssociated holds are skipped, not waited for; one
    // that committed since is checked again and no longer matches. SQLite: the UPDATE takes the
    // write lock before its subquery reads, so nothing slips in between.
    let chosen = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(claimable)
        .order_by_asc(users::Column::CreatedAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_query();
    let mut claim = Query::update();
    claim
        .table(users::Entity)
        .value(users::Column::DeletingSince, now)
        .and_where(users::Column::Id.in_subquery(chosen))
        .returning(Query::returning().columns([users::Column::CreatedAt, users::Column::Id]));
    let rows = db.query_all(db.get_database_backend().build(&claim)).await.map_err(unexpected)?;
    // RETURNING follows no order.
    let mut claimed = rows
        .iter()
        .map(|row| row.try_get_many_by_index::<(i64, String)>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(unexpected)?;
    claimed.sort_unstable();
    claimed.into_iter().map(|(_, id)| parse_id(id)).collect()
}

/// Claims at `now` the user `lookup` names, whether live or claimed by a deletion that did not
/// finish (a retried delete takes it over); answers its id.
pub(super) async fn claim_user(
    db: &DatabaseConnection,
    app_id: &AppId,
    lookup: &Lookup,
    now: i64,
) -> Result<Option<RosterId>, StoreError> {
    let mut claim = Query::update();
    claim
        .table(users::Entity)
        .value(users::Column::DeletingSince, now)
        .and_where(users::Column::AppId.eq(app_id.as_str()))
        .cond_where(super::rows::by_lookup(lookup))
        .returning_col(users::Column::Id);
    let row = db.query_one(db.get_database_backend().build(&claim)).await.map_err(unexpected)?;
    row.map(|row| parse_id(row.try_get_by_index::<String>(0).map_err(unexpected)?)).transpose()
}

/// Users the application has whose profile or member email is `email` (case-insensitively).
pub(super) async fn with_email(
    db: &DatabaseConnection,
    app_id: &AppId,
    email: &str,
) -> Result<Vec<RosterId>, StoreError> {
    let email = email.to_lowercase();
    let lower = sea_orm::sea_query::Func::lower(sea_orm::sea_query::Expr::col(users::Column::Email));
    let ids: Vec<String> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(super::rows::live(app_id))
        .filter(
            Condition::any()
                .add(sea_orm::sea_query::Expr::expr(lower).eq(email.clone()))
                .add(users::Column::MemberEmailNorm.eq(email)),
        )
        .order_by_asc(users::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .map_err(unexpected)?;
    ids.into_iter().map(parse_id).collect()
}

/// Deletes those of `ids` that the claim made at `claimed_at` still holds (a later claim may have
/// taken over an expired one), with a "user.deleted" event each, and answers them.
pub(super) async fn delete_claimed(
    db: &DatabaseConnection,
    app_id: &AppId,
    ids: &[RosterId],
    claimed_at: i64,
    reason: DeletionReason,
) -> Result<Vec<RosterId>, StoreError> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await.map_err(unexpected)?;
    let deleted = delete_claimed_in(&txn, app_id, ids, claimed_at).await?;
    super::events::record_deleted(&txn, app_id, &deleted, reason, claimed_at).await?;
    txn.commit().await.map_err(unexpected)?;
    deleted.into_iter().map(|d| parse_id(d.id)).collect()
}

async fn delete_claimed_in(
    db: &impl ConnectionTrait,
    app_id: &AppId,
    ids: &[RosterId],
    claimed_at: i64,
) -> Result<Vec<Deleted>, StoreError> {
    let mut deleted = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(MAX_PARAMS - 2) {
        let mut delete = Query::delete();
        delete
            .from_table(users::Entity)
            .and_where(users::Column::AppId.eq(app_id.as_str()))
            .and_where(users::Column::DeletingSince.eq(claimed_at))
            .and_where(users::Column::Id.is_in(chunk.iter().map(|id| id.as_str().to_owned())))
            .returning(Query::returning().columns([
                users::Column::Id,
                users::Column::UserId,
                users::Column::ExternalId,
            ]));
        for row in db.query_all(db.get_database_backend().build(&delete)).await.map_err(unexpected)? {
            deleted.push(Deleted {
                id: row.try_get_by_index::<String>(0).map_err(unexpected)?,
                user_id: row.try_get_by_index::<String>(1).map_err(unexpected)?,
                external_id: row.try_get_by_index::<Option<String>>(2).map_err(unexpected)?,
            });
        }
    }
    Ok(deleted)
}
