//! Many users in one transaction. Users whose only unique keys live on the user row (ids,
//! external id, member email and org user id: every Kore member) go in with multi-row
//! `INSERT ... ON CONFLICT DO NOTHING RETURNING id`, which decides each rule under concurrency
//! without reading first; a row not returned was refused, and only then is its holder looked up
//! to say which key it held. Users that bring keys kept in other tables (discovery keys,
//! identities) go one by one, each in a savepoint, so a refused one leaves nothing.

use std::collections::HashSet;

use platform::{db::unexpected, seal::Sealer};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, Iterable, QueryFilter,
    QuerySelect, QueryTrait, RuntimeErr, SqlErr, TransactionTrait, sea_query::OnConflict,
};

use super::{
    children::{insert_children, put_image},
    constraints::write_error,
    entity::users,
    events, members,
    metadata::insert_metadata,
    rows::user_row,
    sensitive::put_sensitive,
    sql::{MAX_PARAMS, rows_per_statement},
};
use crate::{
    app::{Candidate, Created, StoreError, TakenKey},
    domain::{AppId, ExternalId, User},
};

/// A deadlock between two bulk writers that took keys in crossing orders aborts one of them
/// whole; it is run again from the start.
const ATTEMPTS: usize = 3;

pub(super) async fn create_many(
    db: &DatabaseConnection,
    sealer: &Sealer,
    candidates: &[Candidate],
    expect_new: bool,
) -> Result<Vec<Created>, StoreError> {
    let Some(first) = candidates.first() else {
        return Ok(Vec::new());
    };
    let app_id = &first.user.app_id;
    if candidates.iter().any(|c| &c.user.app_id != app_id) {
        return Err(StoreError::Unexpected(anyhow::anyhow!("a bulk create spans applications")));
    }
    let mut optimistic = expect_new;
    let mut attempt = 1;
    loop {
        match try_create_many(db, sealer, app_id, candidates, optimistic).await {
            Ok(Some(outcomes)) => return Ok(outcomes),
            // A key was taken: nothing was kept; the careful way now.
            Ok(None) => optimistic = false,
            Err(err) if attempt < ATTEMPTS && is_transient(&err) => {
                tracing::warn!(attempt, "bulk create aborted by a deadlock; trying again");
                attempt += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

/// A PostgreSQL deadlock or serialization failure: the transaction was rolled back whole.
fn is_transient(err: &StoreError) -> bool {
    let StoreError::Unexpected(err) = err else {
        return false;
    };
    let (Some(DbErr::Exec(RuntimeErr::SqlxError(sea_orm::sqlx::Error::Database(db))))
    | Some(DbErr::Query(RuntimeErr::SqlxError(sea_orm::sqlx::Error::Database(db))))) = err.downcast_ref::<DbErr>()
    else {
        return false;
    };
    matches!(db.code().as_deref(), Some("40P01" | "40001"))
}

/// `None` when an `optimistic` attempt met a taken key (and wrote nothing).
async fn try_create_many(
    db: &DatabaseConnection,
    sealer: &Sealer,
    app_id: &AppId,
    candidates: &[Candidate],
    optimistic: bool,
) -> Result<Option<Vec<Created>>, StoreError> {
    let (plain, singular): (Vec<usize>, Vec<usize>) = (0..candidates.len())
        .partition(|&i| candidates[i].user.discovery_keys.is_empty() && candidates[i].user.identities.is_empty());
    let mut outcomes = vec![Created::Yes; candidates.len()];
    let txn = db.begin().await.map_err(unexpected)?;

    let Some(inserted) = insert_rows(&txn, candidates, &plain, optimistic).await? else {
        txn.rollback().await.map_err(unexpected)?;
        return Ok(None);
    };
    let (created, refused): (Vec<usize>, Vec<usize>) =
        plain.into_iter().partition(|&i| inserted.contains(candidates[i].user.id.as_str()));
    insert_plain_children(&txn, sealer, app_id, candidates, &created).await?;
    let refused_users: Vec<&User> = refused.iter().map(|&i| &candidates[i].user).collect();
    for (i, key) in refused.iter().zip(taken_keys(&txn, app_id, &refused_users).await?) {
        outcomes[*i] = Created::Taken(key);
    }

    for i in singular {
        let savepoint = txn.begin().await.map_err(unexpected)?;
        match insert_one(&savepoint, sealer, &candidates[i]).await {
            Ok(()) => savepoint.commit().await.map_err(unexpected)?,
            Err(err) => {
                savepoint.rollback().await.map_err(unexpected)?;
                outcomes[i] = Created::Taken(match err {
                    StoreError::IdTaken => TakenKey::Id,
                    StoreError::UserIdTaken => TakenKey::UserId,
                    StoreError::ExternalIdTaken => TakenKey::ExternalId,
                    StoreError::DiscoveryKeyTaken => TakenKey::DiscoveryKey,
                    StoreError::IdentityTaken => TakenKey::Identity,
                    StoreError::MemberEmailTaken => TakenKey::MemberEmail,
                    StoreError::OrgUserIdTaken => TakenKey::OrgUserId,
                    other => return Err(other),
                });
            }
        }
    }
    txn.commit().await.map_err(unexpected)?;
    Ok(Some(outcomes))
}

/// Inserts the rows of `which`, skipping any that a unique key refuses; answers the ids
/// inserted. Rows go in ordered by their keys, so two writers sharing keys meet them in the
/// same order and one waits for the other instead of deadlocking.
///
/// `optimistic`: plain INSERTs, about a third faster than ON CONFLICT ... RETURNING (which probes
/// every unique index before each row); the first taken key fails the statement, and `None`
/// says to start again the careful way.
async fn insert_rows(
    txn: &DatabaseTransaction,
    candidates: &[Candidate],
    which: &[usize],
    optimistic: bool,
) -> Result<Option<HashSet<String>>, StoreError> {
    let mut order: Vec<(Option<String>, Option<&str>, &str, usize)> = which
        .iter()
        .map(|&i| {
            let user = &candidates[i].user;
            let member = user.member.as_ref();
            (
                member.map(|m| m.email_id.normalized()),
                member.and_then(|m| m.org_user_id.as_ref()).map(|o| o.as_str()),
                user.user_id.as_str(),
                i,
            )
        })
        .collect();
    order.sort_unstable();
    let backend = txn.get_database_backend();
    let mut inserted = HashSet::with_capacity(which.len());
    for chunk in order.chunks(rows_per_statement(users::Column::iter().count())) {
        let rows = chunk.iter().map(|(.., i)| user_row(&candidates[*i].user)).collect::<Result<Vec<_>, _>>()?;
        if optimistic {
            match users::Entity::insert_many(rows).exec_without_returning(txn).await {
                Ok(_) => inserted.extend(chunk.iter().map(|(.., i)| candidates[*i].user.id.as_str().to_owned())),
                Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => return Ok(None),
                Err(err) => return Err(StoreError::Unexpected(unexpected(err))),
            }
            continue;
        }
        // No conflict target: every unique index of the row refuses it quietly.
        let mut insert =
            users::Entity::insert_many(rows).on_conflict(OnConflict::new().do_nothing().to_owned()).into_query();
        insert.returning_col(users::Column::Id);
        for row in txn.query_all(backend.build(&insert)).await.map_err(unexpected)? {
            inserted.insert(row.try_get_by_index::<String>(0).map_err(unexpected)?);
        }
    }
    Ok(Some(inserted))
}

/// What the created plain users bring beside their rows, and their events.
async fn insert_plain_children(
    txn: &DatabaseTransaction,
    sealer: &Sealer,
    app_id: &AppId,
    candidates: &[Candidate],
    created: &[usize],
) -> Result<(), StoreError> {
    let now = created.first().map_or(0, |&i| candidates[i].user.created_at);
    let indexed = created.iter().filter_map(|&i| {
        let user = &candidates[i].user;
        user.member.as_ref().map(|member| (user.id.as_str(), member))
    });
    members::index(txn, app_id, indexed, now).await?;
    for &i in created {
        let Candidate { user, image, sensitive } = &candidates[i];
        insert_metadata(txn, app_id, user.id.as_str(), &user.metadata).await.map_err(unexpected)?;
        if let Some(image) = image {
            put_image(txn, user.id.as_str(), image).await.map_err(unexpected)?;
        }
        if !sensitive.is_empty() {
            put_sensitive(txn, sealer, app_id, user.id.as_str(), sensitive, user.created_at).await?;
        }
    }
    let users: Vec<User> = created.iter().map(|&i| candidates[i].user.clone()).collect();
    events::record_created(txn, &users).await
}

async fn insert_one(conn: &DatabaseTransaction, sealer: &Sealer, candidate: &Candidate) -> Result<(), StoreError> {
    let user = &candidate.user;
    users::Entity::insert(user_row(user)?).exec_without_returning(conn).await.map_err(write_error)?;
    insert_children(conn, sealer, user, &candidate.extras()).await
}

/// Which key of each refused user another user holds. Read after the refusal, for the answer
/// only: the refusal itself was the unique index's.
async fn taken_keys(
    conn: &DatabaseTransaction,
    app_id: &AppId,
    refused: &[&User],
) -> Result<Vec<TakenKey>, StoreError> {
    if refused.is_empty() {
        return Ok(Vec::new());
    }
    let ids = held_anywhere(conn, refused).await?;
    let emails = held(conn, app_id, users::Column::MemberEmailNorm, refused, |u| {
        u.member.as_ref().map(|m| m.email_id.normalized())
    })
    .await?;
    let org_ids = held(conn, app_id, users::Column::MemberOrgUserId, refused, |u| {
        u.member.as_ref().and_then(|m| m.org_user_id.as_ref()).map(|o| o.as_str().to_owned())
    })
    .await?;
    let user_ids = held(conn, app_id, users::Column::UserId, refused, |u| Some(u.user_id.as_str().to_owned())).await?;
    let external_ids = held(conn, app_id, users::Column::ExternalIdNorm, refused, |u| {
        u.external_id.as_ref().map(ExternalId::normalized)
    })
    .await?;
    Ok(refused
        .iter()
        .map(|u| {
            let member = u.member.as_ref();
            if ids.contains(u.id.as_str()) {
                TakenKey::Id
            } else if member.is_some_and(|m| emails.contains(&m.email_id.normalized())) {
                TakenKey::MemberEmail
            } else if member.and_then(|m| m.org_user_id.as_ref()).is_some_and(|o| org_ids.contains(o.as_str())) {
                TakenKey::OrgUserId
            } else if user_ids.contains(u.user_id.as_str()) {
                TakenKey::UserId
            } else if u.external_id.as_ref().is_some_and(|e| external_ids.contains(&e.normalized())) {
                TakenKey::ExternalId
            } else {
                TakenKey::Unknown
            }
        })
        .collect())
}

/// The Roster ids among the refused users' that a user of any application holds (fresh ids never
/// are; a restored user's may be).
async fn held_anywhere(conn: &DatabaseTransaction, refused: &[&User]) -> Result<HashSet<String>, StoreError> {
    let mut held = HashSet::new();
    for chunk in refused.chunks(MAX_PARAMS) {
        let found: Vec<String> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .filter(users::Column::Id.is_in(chunk.iter().map(|u| u.id.as_str().to_owned())))
            .into_tuple()
            .all(conn)
            .await
            .map_err(unexpected)?;
        held.extend(found);
    }
    Ok(held)
}

/// The values of `column` among `key(user)` that some user of the application holds (a user
/// being deleted holds its keys until it is gone).
async fn held(
    conn: &DatabaseTransaction,
    app_id: &AppId,
    column: users::Column,
    refused: &[&User],
    key: impl Fn(&User) -> Option<String>,
) -> Result<HashSet<String>, StoreError> {
    let values: Vec<String> = refused.iter().filter_map(|u| key(u)).collect::<HashSet<_>>().into_iter().collect();
    let mut held = HashSet::new();
    for chunk in values.chunks(MAX_PARAMS - 1) {
        let found: Vec<Option<String>> = users::Entity::find()
            .select_only()
            .column(column)
            .filter(users::Column::AppId.eq(app_id.as_str()))
            .filter(column.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(conn)
            .await
            .map_err(unexpected)?;
        held.extend(found.into_iter().flatten());
    }
    Ok(held)
}
