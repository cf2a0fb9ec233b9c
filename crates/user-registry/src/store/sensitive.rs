//! Sensitive metadata: one sealed row per user, opened only for a caller allowed to read it.

use platform::{
    db::unexpected,
    seal::{Sealed, Sealer},
};
use std::collections::BTreeMap;

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict};

use super::sql::MAX_PARAMS;
use super::{entity::user_sensitive_metadata as sensitive, rows::find_id};
use crate::{
    app::StoreError,
    domain::{AppId, Lookup, RosterId, SensitiveFields},
};

/// Seals `fields` for `user_pk` (replacing what it had); no fields deletes the row.
pub(super) async fn put_sensitive(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    app_id: &AppId,
    user_pk: &str,
    fields: &SensitiveFields,
    now: i64,
) -> Result<(), StoreError> {
    if fields.is_empty() {
        sensitive::Entity::delete_by_id(user_pk.to_owned()).exec(conn).await.map_err(unexpected)?;
        return Ok(());
    }
    let json = serde_json::to_vec(fields.entries()).map_err(anyhow::Error::from)?;
    let Sealed { kid, bytes } = sealer.seal(&json, user_pk.as_bytes());
    let row = sensitive::ActiveModel {
        user_pk: Set(user_pk.to_owned()),
        app_id: Set(app_id.as_str().to_owned()),
        kid: Set(kid),
        sealed: Set(bytes),
        updated_at: Set(now),
    };
    sensitive::Entity::insert(row)
        .on_conflict(
            OnConflict::column(sensitive::Column::UserPk)
                .update_columns([sensitive::Column::Kid, sensitive::Column::Sealed, sensitive::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(unexpected)?;
    Ok(())
}

/// The user's sensitive fields, opened; none when nothing was ever written.
pub(super) async fn load_sensitive(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    user_pk: &str,
) -> Result<SensitiveFields, StoreError> {
    let Some(row) = sensitive::Entity::find_by_id(user_pk.to_owned()).one(conn).await.map_err(unexpected)? else {
        return Ok(SensitiveFields::default());
    };
    open_row(sealer, row)
}

fn open_row(sealer: &Sealer, row: sensitive::Model) -> Result<SensitiveFields, StoreError> {
    let user_pk = row.user_pk;
    let plain = sealer
        .open(&Sealed { kid: row.kid, bytes: row.sealed }, user_pk.as_bytes())
        .map_err(|e| StoreError::Unexpected(anyhow::anyhow!("sensitive metadata of {user_pk}: {e}")))?;
    let entries = serde_json::from_slice(&plain).map_err(anyhow::Error::from)?;
    Ok(SensitiveFields::parse(entries)?)
}

/// The sensitive fields of those of `ids` (users of `app_id`) that have any, opened.
pub(super) async fn find_many(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    app_id: &AppId,
    ids: &[RosterId],
) -> Result<BTreeMap<RosterId, SensitiveFields>, StoreError> {
    let mut found = BTreeMap::new();
    for chunk in ids.chunks(MAX_PARAMS - 1) {
        let rows = sensitive::Entity::find()
            .filter(sensitive::Column::AppId.eq(app_id.as_str()))
            .filter(sensitive::Column::UserPk.is_in(chunk.iter().map(|id| id.as_str().to_owned())))
            .all(conn)
            .await
            .map_err(unexpected)?;
        for row in rows {
            let id = chunk.iter().find(|id| id.as_str() == row.user_pk).cloned();
            if let Some(id) = id {
                found.insert(id, open_row(sealer, row)?);
            }
        }
    }
    Ok(found)
}

/// The sensitive fields of the user `lookup` names.
pub(super) async fn find(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    app_id: &AppId,
    lookup: &Lookup,
) -> Result<SensitiveFields, StoreError> {
    let id = find_id(conn, app_id, lookup).await?.ok_or(StoreError::UserNotFound)?;
    load_sensitive(conn, sealer, &id).await
}
