//! Creating one user: plainly, or unless a user with its external id or channel identity
//! exists, which is then answered instead. Many at once is `bulk`.

use platform::{db::unexpected, seal::Sealer};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, QueryTrait,
    TransactionTrait,
    sea_query::{Alias, CommonTableExpression, Expr, OnConflict, WithClause},
};

use super::{
    children::{insert_children, insert_other_children, insert_other_rows},
    constraints::write_error,
    entity::{profile_images as images, user_sensitive_metadata as sensitive, users},
    events,
    identities::{claim_identity, holder, insert_identities},
    load::{find_user, load},
    rows::{live, lookup_condition, user_row},
};
use crate::{
    app::{Candidate, Extras, StoreError},
    domain::{AppId, Identity, Lookup, User, ValidationError},
};

/// The user with everything it brings and its events, in one transaction; on PostgreSQL a user
/// with nothing in other tables in **one** statement (one round trip): the row's INSERT in a
/// data-modifying `WITH`, its event's INSERT after it, atomic as any single statement.
pub(super) async fn create(
    db: &DatabaseConnection,
    sealer: &Sealer,
    user: &User,
    extras: &Extras<'_>,
) -> Result<(), StoreError> {
    if db.get_database_backend() == DatabaseBackend::Postgres && childless(user, extras) {
        let row = users::Entity::insert(user_row(user)?).into_query();
        let cte = CommonTableExpression::new().query(row).table_name(Alias::new("new_user")).to_owned();
        let statement = events::created_statement(user).with(WithClause::new().cte(cte).to_owned());
        db.execute(db.get_database_backend().build(&statement)).await.map_err(write_error)?;
        return Ok(());
    }
    let txn = db.begin().await.map_err(unexpected)?;
    users::Entity::insert(user_row(user)?).exec_without_returning(&txn).await.map_err(write_error)?;
    insert_children(&txn, sealer, user, extras).await?;
    txn.commit().await.map_err(unexpected)?;
    Ok(())
}

/// `UserStore::replace`: the old row goes (its children with it, by cascade) and the candidate
/// comes in its place, in one transaction, the row locked first by a no-op UPDATE so a
/// concurrent replace or reaper claim waits. What the candidate says nothing of
/// stays: its sealed sensitive fields when it brings none, and an uploaded image (with its URL)
/// when it brings neither an image nor a profile URL.
pub(super) async fn replace(
    db: &DatabaseConnection,
    sealer: &Sealer,
    candidate: &Candidate,
) -> Result<User, StoreError> {
    let lookup = Lookup::Id(candidate.user.id.clone());
    let app_id = &candidate.user.app_id;
    let pk = candidate.user.id.as_str().to_owned();
    let txn = db.begin().await.map_err(unexpected)?;
    // A write first: it locks the row on PostgreSQL and takes SQLite's write lock (waiting in
    // the busy handler if another writer has it), so the reads below cannot go stale before the
    // DELETE (a read-then-write transaction on SQLite fails with SQLITE_BUSY_SNAPSHOT if any
    // other connection wrote in between).
    let touched = users::Entity::update_many()
        .col_expr(users::Column::UpdatedAt, Expr::col(users::Column::UpdatedAt).into())
        .filter(lookup_condition(app_id, &lookup))
        .exec(&txn)
        .await
        .map_err(unexpected)?;
    if touched.rows_affected != 1 {
        return Err(StoreError::UserNotFound);
    }
    let old = find_user(&txn, app_id, &lookup).await?.ok_or(StoreError::UserNotFound)?;
    let kept_sensitive = if candidate.sensitive.is_empty() {
        sensitive::Entity::find_by_id(pk.clone()).one(&txn).await.map_err(unexpected)?
    } else {
        None
    };
    let keeps_image = candidate.image.is_none()
        && candidate.user.profile_url.as_str().is_empty()
        && old.profile_url.as_str().starts_with("/profile_images/");
    let kept_image =
        if keeps_image { images::Entity::find_by_id(pk.clone()).one(&txn).await.map_err(unexpected)? } else { None };
    let mut user = candidate.user.clone();
    if kept_image.is_some() {
        user.profile_url = old.profile_url.clone();
    }
    let deleted =
        users::Entity::delete_many().filter(lookup_condition(app_id, &lookup)).exec(&txn).await.map_err(unexpected)?;
    if deleted.rows_affected != 1 {
        return Err(StoreError::UserNotFound);
    }
    users::Entity::insert(user_row(&user)?).exec_without_returning(&txn).await.map_err(write_error)?;
    insert_identities(&txn, app_id, user.id.as_str(), &user.identities).await?;
    insert_other_rows(&txn, sealer, &user, &candidate.extras()).await?;
    if let Some(row) = kept_sensitive {
        sensitive::Entity::insert(sensitive::ActiveModel::from(row))
            .exec_without_returning(&txn)
            .await
            .map_err(unexpected)?;
    }
    if let Some(row) = kept_image {
        images::Entity::insert(images::ActiveModel::from(row))
            .exec_without_returning(&txn)
            .await
            .map_err(unexpected)?;
    }
    events::record_updated(&txn, &user, old.is_active, user.updated_at).await?;
    let replaced = find_user(&txn, app_id, &lookup).await?.ok_or(StoreError::UserNotFound)?;
    txn.commit().await.map_err(unexpected)?;
    Ok(replaced)
}

/// Whether the user's creation writes only its row and its event.
fn childless(user: &User, extras: &Extras<'_>) -> bool {
    user.identities.is_empty()
        && user.metadata.entries().is_empty()
        && user.discovery_keys.is_empty()
        && user.member.is_none()
        && extras.image.is_none()
        && extras.sensitive.is_empty()
}

/// The user with `user.external_id`, or `user` created (true then).
pub(super) async fn upsert_by_external_id(
    db: &DatabaseConnection,
    sealer: &Sealer,
    user: &User,
    extras: &Extras<'_>,
    mark_authenticated: bool,
) -> Result<(User, bool), StoreError> {
    let external_id =
        user.external_id.clone().ok_or(StoreError::Invalid(ValidationError::Missing { field: "external_id" }))?;
    let lookup = Lookup::ExternalId(external_id);
    let txn = db.begin().await.map_err(unexpected)?;
    let mut row = user_row(user)?;
    if mark_authenticated {
        row.authenticated = Set(true);
    }
    // Concurrent upserts of one external id: one inserts, the others wait for it and insert nothing.
    let inserted = users::Entity::insert(row)
        .on_conflict(OnConflict::columns([users::Column::AppId, users::Column::ExternalIdNorm]).do_nothing().to_owned())
        .exec_without_returning(&txn)
        .await
        .map_err(write_error)?;
    let created = inserted == 1;
    if created {
        insert_children(&txn, sealer, user, extras).await?;
    } else if mark_authenticated {
        // Only a change bumps `updated_at`; the row lock queues concurrent logins.
        users::Entity::update_many()
            .col_expr(users::Column::Authenticated, Expr::value(true))
            .col_expr(users::Column::UpdatedAt, Expr::value(user.updated_at))
            .filter(lookup_condition(&user.app_id, &lookup))
            .filter(users::Column::Authenticated.eq(false))
            .exec(&txn)
            .await
            .map_err(unexpected)?;
    }
    let found = find_user(&txn, &user.app_id, &lookup).await?;
    txn.commit().await.map_err(unexpected)?;
    Ok((found.ok_or(StoreError::UserNotFound)?, created))
}

/// The user holding `identity`, or `user` created holding it. Every call inserts its candidate
/// and claims the identity in one transaction; a loser of the claim rolls back and reads the
/// winner's user, so no read decides a write.
pub(super) async fn upsert_by_identity(
    db: &DatabaseConnection,
    sealer: &Sealer,
    user: &User,
    identity: &Identity,
) -> Result<(User, bool), StoreError> {
    // A loser's read misses only when the winner's user was deleted (or claimed for deletion)
    // since; the identity is free again once the user is gone, and a next attempt claims it.
    const ATTEMPTS: usize = 3;
    for _ in 0..ATTEMPTS {
        let txn = db.begin().await.map_err(unexpected)?;
        users::Entity::insert(user_row(user)?).exec_without_returning(&txn).await.map_err(write_error)?;
        if claim_identity(&txn, &user.app_id, user.id.as_str(), identity).await? {
            let others: Vec<Identity> = user.identities.iter().filter(|i| *i != identity).cloned().collect();
            insert_identities(&txn, &user.app_id, user.id.as_str(), &others).await?;
            insert_other_children(&txn, sealer, user, &Extras::NONE).await?;
            let created = find_user(&txn, &user.app_id, &Lookup::Id(user.id.clone())).await?;
            txn.commit().await.map_err(unexpected)?;
            return Ok((created.ok_or(StoreError::UserNotFound)?, true));
        }
        txn.rollback().await.map_err(unexpected)?;
        if let Some(holder) = find_by_identity(db, &user.app_id, identity).await? {
            return Ok((holder, false));
        }
    }
    Err(StoreError::Unexpected(anyhow::anyhow!("the user holding an identity was deleted {ATTEMPTS} times in a row")))
}

async fn find_by_identity(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    identity: &Identity,
) -> Result<Option<User>, StoreError> {
    let select =
        users::Entity::find().filter(live(app_id)).filter(users::Column::Id.in_subquery(holder(app_id, identity)));
    Ok(load(conn, select).await?.pop())
}
