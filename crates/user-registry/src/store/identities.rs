//! Channel identities, the channel upsert built on them, and Sunshine's "delete personal
//! information".

use std::collections::HashMap;

use platform::db::unexpected;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::{OnConflict, Query},
};

use super::{
    entity::{
        profile_images as images, user_discovery_keys as keys, user_identities as idents, user_metadata as meta,
        user_sensitive_metadata as sensitive, users,
    },
    find_user, insert_other_children, load_users, touch, user_row, write_error,
};
use crate::{
    app::{Extras, StoreError},
    domain::{AppId, Identity, Lookup, User},
};

/// What uniqueness is decided on: values may be longer than an index entry holds.
fn digest(identity: &Identity) -> String {
    platform::secret::hash_secret_bytes(identity.value().as_bytes())
}

fn row(app_id: &AppId, user_pk: &str, identity: &Identity) -> idents::ActiveModel {
    idents::ActiveModel {
        app_id: Set(app_id.as_str().to_owned()),
        channel_type: Set(identity.channel_type().to_owned()),
        value_digest: Set(digest(identity)),
        value: Set(identity.value().to_owned()),
        user_pk: Set(user_pk.to_owned()),
    }
}

/// Records the user's identities; one another user holds refuses them all (`IdentityTaken`).
pub(super) async fn insert_identities(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    user_pk: &str,
    identities: &[Identity],
) -> Result<(), StoreError> {
    if identities.is_empty() {
        return Ok(());
    }
    let rows = identities.iter().map(|identity| row(app_id, user_pk, identity));
    idents::Entity::insert_many(rows).exec_without_returning(conn).await.map_err(write_error)?;
    Ok(())
}

/// Records `identity` for `user_pk` unless another user holds it (false then). On PostgreSQL
/// a claim racing an uncommitted one waits for it, then yields to it if it commits.
async fn claim_identity(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    user_pk: &str,
    identity: &Identity,
) -> Result<bool, StoreError> {
    let inserted = idents::Entity::insert(row(app_id, user_pk, identity))
        .on_conflict(
            OnConflict::columns([idents::Column::AppId, idents::Column::ChannelType, idents::Column::ValueDigest])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(write_error)?;
    Ok(inserted == 1)
}

/// The identities of the given users, by user.
pub(super) async fn load_identities(
    conn: &impl ConnectionTrait,
    user_pks: Vec<String>,
) -> Result<HashMap<String, Vec<(String, String)>>, StoreError> {
    let mut identities: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for row in
        idents::Entity::find().filter(idents::Column::UserPk.is_in(user_pks)).all(conn).await.map_err(unexpected)?
    {
        identities.entry(row.user_pk).or_default().push((row.channel_type, row.value));
    }
    Ok(identities)
}

async fn find_by_identity(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    identity: &Identity,
) -> Result<Option<User>, StoreError> {
    let holder = Query::select()
        .column(idents::Column::UserPk)
        .from(idents::Entity)
        .and_where(idents::Column::AppId.eq(app_id.as_str()))
        .and_where(idents::Column::ChannelType.eq(identity.channel_type()))
        .and_where(idents::Column::ValueDigest.eq(digest(identity)))
        .to_owned();
    let row = users::Entity::find()
        .filter(users::Column::AppId.eq(app_id.as_str()))
        .filter(users::Column::Id.in_subquery(holder))
        .one(conn)
        .await
        .map_err(unexpected)?;
    Ok(load_users(conn, row.into_iter().collect()).await?.pop())
}

/// The user holding `identity`, or `user` created holding it. Every call inserts its candidate
/// and claims the identity in one transaction; a loser of the claim rolls back and reads the
/// winner's user, so no read decides a write.
pub(super) async fn upsert_by_identity(
    db: &DatabaseConnection,
    sealer: &platform::seal::Sealer,
    user: &User,
    identity: &Identity,
) -> Result<(User, bool), StoreError> {
    // A loser's read misses only when the winner's user was deleted since; the identity is
    // free again then, and the next attempt claims it.
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

/// Clears what identifies the person, keeping the record and its ids, in one transaction.
pub(super) async fn delete_personal_information(
    db: &DatabaseConnection,
    app_id: &AppId,
    lookup: &Lookup,
    now: i64,
) -> Result<User, StoreError> {
    let txn = db.begin().await.map_err(unexpected)?;
    let id = touch(&txn, app_id, lookup, now).await?;
    let cleared = users::ActiveModel {
        id: Set(id.clone()),
        nickname: Set(String::new()),
        profile_url: Set(String::new()),
        given_name: Set(None),
        surname: Set(None),
        display_name: Set(None),
        email: Set(None),
        language: Set(None),
        avatar_url: Set(None),
        signed_up_at: Set(None),
        ..Default::default()
    };
    users::Entity::update(cleared).exec(&txn).await.map_err(unexpected)?;
    meta::Entity::delete_many().filter(meta::Column::UserPk.eq(&id)).exec(&txn).await.map_err(unexpected)?;
    keys::Entity::delete_many().filter(keys::Column::UserPk.eq(&id)).exec(&txn).await.map_err(unexpected)?;
    idents::Entity::delete_many().filter(idents::Column::UserPk.eq(&id)).exec(&txn).await.map_err(unexpected)?;
    images::Entity::delete_by_id(id.clone()).exec(&txn).await.map_err(unexpected)?;
    sensitive::Entity::delete_by_id(id.clone()).exec(&txn).await.map_err(unexpected)?;
    let user = find_user(&txn, app_id, &Lookup::Id(super::parse_id(id)?)).await?.ok_or(StoreError::UserNotFound)?;
    txn.commit().await.map_err(unexpected)?;
    Ok(user)
}
