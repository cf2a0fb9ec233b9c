//! Metadata: a row per key, so a write of one key never races a write of another.

use std::collections::BTreeMap;

use platform::db::unexpected;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    TransactionTrait, sea_query::OnConflict,
};

use super::{
    codec::{decode_value, encode_value},
    entity::user_metadata as meta,
    rows::touch,
};
use crate::{
    app::StoreError,
    domain::{AppId, Lookup, Metadata, MetadataWrite},
};

/// Writes `entries`, replacing the values of keys the user has.
pub(super) async fn insert_metadata(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    user_pk: &str,
    entries: &Metadata,
) -> Result<(), DbErr> {
    if entries.entries().is_empty() {
        return Ok(());
    }
    let rows = entries.entries().iter().map(|(key, value)| meta::ActiveModel {
        user_pk: Set(user_pk.to_owned()),
        key: Set(key.clone()),
        app_id: Set(app_id.as_str().to_owned()),
        value: Set(encode_value(value)),
    });
    meta::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([meta::Column::UserPk, meta::Column::Key])
                .update_column(meta::Column::Value)
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Writes metadata keys as `mode` says to a user whose row this transaction has locked, and
/// answers the whole metadata after it.
pub(super) async fn write_metadata_locked(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    user_pk: &str,
    entries: &Metadata,
    mode: MetadataWrite,
) -> Result<Metadata, StoreError> {
    let existing: BTreeMap<String, String> = meta::Entity::find()
        .filter(meta::Column::UserPk.eq(user_pk))
        .all(conn)
        .await
        .map_err(unexpected)?
        .into_iter()
        .map(|row| (row.key, row.value))
        .collect();
    for key in entries.entries().keys() {
        match mode {
            MetadataWrite::Create if existing.contains_key(key) => {
                return Err(StoreError::MetadataKeyExists(key.clone()));
            }
            MetadataWrite::Update if !existing.contains_key(key) => {
                return Err(StoreError::MetadataKeyNotFound(key.clone()));
            }
            _ => {}
        }
    }
    let mut merged = if mode == MetadataWrite::Replace {
        BTreeMap::new()
    } else {
        existing.into_iter().map(|(k, v)| decode_value(&v).map(|v| (k, v))).collect::<anyhow::Result<_>>()?
    };
    merged.extend(entries.entries().clone());
    // The limits hold for the whole map after the write, not only for what was sent.
    let merged = Metadata::parse(merged)?;
    if mode == MetadataWrite::Replace {
        meta::Entity::delete_many().filter(meta::Column::UserPk.eq(user_pk)).exec(conn).await.map_err(unexpected)?;
    }
    insert_metadata(conn, app_id, user_pk, entries).await.map_err(unexpected)?;
    Ok(merged)
}

/// `write_metadata_locked` in a transaction of its own.
pub(super) async fn write(
    db: &DatabaseConnection,
    app_id: &AppId,
    lookup: &Lookup,
    entries: &Metadata,
    mode: MetadataWrite,
    now: i64,
) -> Result<Metadata, StoreError> {
    let txn = db.begin().await.map_err(unexpected)?;
    let user_pk = touch(&txn, app_id, lookup, now).await?;
    let merged = write_metadata_locked(&txn, app_id, &user_pk, entries, mode).await?;
    record_update_of(&txn, app_id, user_pk, now).await?;
    txn.commit().await.map_err(unexpected)?;
    Ok(merged)
}

/// Deletes the named keys, all or none, or every key when `keys` is `None`.
pub(super) async fn delete(
    db: &DatabaseConnection,
    app_id: &AppId,
    lookup: &Lookup,
    keys: Option<&[String]>,
    now: i64,
) -> Result<(), StoreError> {
    let txn = db.begin().await.map_err(unexpected)?;
    let user_pk = touch(&txn, app_id, lookup, now).await?;
    let mut delete = meta::Entity::delete_many().filter(meta::Column::UserPk.eq(&user_pk));
    if let Some(keys) = keys {
        delete = delete.filter(meta::Column::Key.is_in(keys.iter().cloned()));
    }
    let deleted = delete.exec(&txn).await.map_err(unexpected)?;
    if let Some(keys) = keys
        && deleted.rows_affected < keys.len() as u64
    {
        // Roll back: a delete of named keys is all or nothing.
        return Err(StoreError::MetadataKeyNotFound(keys.join(", ")));
    }
    record_update_of(&txn, app_id, user_pk, now).await?;
    txn.commit().await.map_err(unexpected)?;
    Ok(())
}

/// "user.updated" for the user whose metadata changed, as it now is.
async fn record_update_of(
    txn: &sea_orm::DatabaseTransaction,
    app_id: &AppId,
    user_pk: String,
    now: i64,
) -> Result<(), StoreError> {
    let lookup = Lookup::Id(super::rows::parse_id(user_pk)?);
    let user = super::load::find_user(txn, app_id, &lookup).await?.ok_or(StoreError::UserNotFound)?;
    super::events::record_updated(txn, &user, user.is_active, now).await
}
