//! Channel identities: each held by at most one user of an application, unique by a digest of
//! its value.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait,
    sea_query::{OnConflict, Query, SelectStatement},
};

use super::{constraints::write_error, entity::user_identities as idents};
use crate::{
    app::StoreError,
    domain::{AppId, Identity},
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
pub(super) async fn claim_identity(
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

/// The id of the user holding `identity`, as a subquery.
pub(super) fn holder(app_id: &AppId, identity: &Identity) -> SelectStatement {
    Query::select()
        .column(idents::Column::UserPk)
        .from(idents::Entity)
        .and_where(idents::Column::AppId.eq(app_id.as_str()))
        .and_where(idents::Column::ChannelType.eq(identity.channel_type()))
        .and_where(idents::Column::ValueDigest.eq(digest(identity)))
        .to_owned()
}
