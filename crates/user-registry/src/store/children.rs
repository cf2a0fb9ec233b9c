//! What hangs off a user's row in tables of their own: discovery keys and the profile image
//! here; metadata, sensitive fields, identities and member groups in their own files; and what
//! a new user brings of all of them.

use platform::{db::unexpected, seal::Sealer};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, sea_query::OnConflict};

use super::{
    constraints::write_error,
    entity::{profile_images as images, user_discovery_keys as keys, users},
    events, identities, members,
    metadata::insert_metadata,
    rows::lookup_condition,
    sensitive::put_sensitive,
};
use crate::{
    app::{Extras, StoreError},
    domain::{AppId, DiscoveryKey, ImageType, Lookup, ProfileImage, RosterId, User},
};

/// What a new user's row does not hold: identities, metadata, discovery keys, image, sensitive
/// fields, member groups and roles and the "user.created" (and "member.activation_requested") events, all
/// in the user's transaction.
pub(super) async fn insert_children(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    user: &User,
    extras: &Extras<'_>,
) -> Result<(), StoreError> {
    identities::insert_identities(conn, &user.app_id, user.id.as_str(), &user.identities).await?;
    insert_other_children(conn, sealer, user, extras).await
}

/// `insert_children` but the identities.
pub(super) async fn insert_other_children(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    user: &User,
    extras: &Extras<'_>,
) -> Result<(), StoreError> {
    insert_other_rows(conn, sealer, user, extras).await?;
    events::record_created(conn, std::slice::from_ref(user)).await
}

/// `insert_other_children` without the events.
pub(super) async fn insert_other_rows(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    user: &User,
    extras: &Extras<'_>,
) -> Result<(), StoreError> {
    insert_metadata(conn, &user.app_id, user.id.as_str(), &user.metadata).await.map_err(unexpected)?;
    insert_discovery_keys(conn, &user.app_id, user.id.as_str(), &user.discovery_keys).await?;
    if let Some(image) = extras.image {
        put_image(conn, user.id.as_str(), image).await.map_err(unexpected)?;
    }
    if !extras.sensitive.is_empty() {
        put_sensitive(conn, sealer, &user.app_id, user.id.as_str(), extras.sensitive, user.created_at).await?;
    }
    if let Some(member) = &user.member {
        members::index(conn, &user.app_id, [(user.id.as_str(), member)], user.created_at).await?;
    }
    Ok(())
}

pub(super) async fn replace_discovery_keys(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    user_pk: &str,
    discovery_keys: &[DiscoveryKey],
) -> Result<(), StoreError> {
    keys::Entity::delete_many().filter(keys::Column::UserPk.eq(user_pk)).exec(conn).await.map_err(unexpected)?;
    insert_discovery_keys(conn, app_id, user_pk, discovery_keys).await
}

/// A new user's keys: nothing to replace, so no `DELETE` first.
async fn insert_discovery_keys(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    user_pk: &str,
    discovery_keys: &[DiscoveryKey],
) -> Result<(), StoreError> {
    if discovery_keys.is_empty() {
        return Ok(());
    }
    let rows = discovery_keys.iter().map(|key| keys::ActiveModel {
        app_id: Set(app_id.as_str().to_owned()),
        discovery_key: Set(key.as_str().to_owned()),
        user_pk: Set(user_pk.to_owned()),
    });
    keys::Entity::insert_many(rows).exec_without_returning(conn).await.map_err(write_error)?;
    Ok(())
}

/// Stores (or replaces) the user's uploaded image.
pub(super) async fn put_image(conn: &impl ConnectionTrait, user_pk: &str, image: &ProfileImage) -> Result<(), DbErr> {
    let row = images::ActiveModel {
        user_pk: Set(user_pk.to_owned()),
        content_type: Set(image.kind.content_type().to_owned()),
        data: Set(image.data.clone()),
        digest: Set(image.digest.clone()),
    };
    images::Entity::insert(row)
        .on_conflict(
            OnConflict::column(images::Column::UserPk)
                .update_columns([images::Column::ContentType, images::Column::Data, images::Column::Digest])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The image the user uploaded, if any.
pub(super) async fn find_image(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    id: &RosterId,
) -> Result<Option<ProfileImage>, StoreError> {
    // Through the user row, so another application's id finds nothing.
    let Some(user) = users::Entity::find()
        .filter(lookup_condition(app_id, &Lookup::Id(id.clone())))
        .one(conn)
        .await
        .map_err(unexpected)?
    else {
        return Ok(None);
    };
    let row = images::Entity::find_by_id(user.id).one(conn).await.map_err(unexpected)?;
    row.map(|row| {
        let kind = ImageType::from_content_type(&row.content_type)
            .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("stored image type {}", row.content_type)))?;
        Ok(ProfileImage { kind, data: row.data, digest: row.digest })
    })
    .transpose()
}
