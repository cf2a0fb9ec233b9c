//! Changes to an existing user, each in one transaction that first touches the user's row: that
//! takes the row lock on PostgreSQL and the write lock on SQLite, so concurrent writers of one
//! user queue instead of racing.

use platform::{db::unexpected, seal::Sealer};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
    sea_query::{Expr, Func},
};

use super::{
    children::{put_image, replace_discovery_keys},
    codec::encode_member,
    constraints::write_error,
    entity::{
        profile_images as images, user_discovery_keys as keys, user_identities as idents, user_metadata as meta,
        user_sensitive_metadata as sensitive, users,
    },
    events::record_updated,
    load::find_user,
    members,
    metadata::write_metadata_locked,
    rows::{lookup_condition, parse_id, touch},
    sensitive::{load_sensitive, put_sensitive},
};
use crate::{
    app::StoreError,
    domain::{AppId, ExternalId, Lookup, MemberPatch, User, UserPatch},
};

/// Applies what `patch` names, and only that.
pub(super) async fn update(
    db: &DatabaseConnection,
    sealer: &Sealer,
    app_id: &AppId,
    lookup: &Lookup,
    patch: &UserPatch,
    now: i64,
) -> Result<User, StoreError> {
    let txn = db.begin().await.map_err(unexpected)?;
    let id = touch(&txn, app_id, lookup, now).await?;
    // The active state before, read under the row's lock, when the patch may flip it.
    let was_active: Option<bool> = match patch.is_active {
        Some(_) => users::Entity::find_by_id(id.clone())
            .select_only()
            .column(users::Column::IsActive)
            .into_tuple()
            .one(&txn)
            .await
            .map_err(unexpected)?,
        None => None,
    };
    let mut row = users::ActiveModel { id: Set(id.clone()), ..Default::default() };
    let mut changed = false;
    if let Some(nickname) = &patch.nickname {
        row.nickname = Set(nickname.as_str().to_owned());
        changed = true;
    }
    if let Some(image) = &patch.profile_image {
        row.profile_url = Set(image.path(app_id.as_str(), &id));
        put_image(&txn, &id, image).await.map_err(unexpected)?;
        changed = true;
    } else if let Some(profile_url) = &patch.profile_url {
        // A dialect that sends the whole profile back (Ada's PATCH) sends the URL it read: an
        // uploaded image stays until the URL really changes.
        let current: Option<String> = users::Entity::find_by_id(id.clone())
            .select_only()
            .column(users::Column::ProfileUrl)
            .into_tuple()
            .one(&txn)
            .await
            .map_err(unexpected)?;
        if current.as_deref() != Some(profile_url.as_str()) {
            row.profile_url = Set(profile_url.as_str().to_owned());
            images::Entity::delete_by_id(id.clone()).exec(&txn).await.map_err(unexpected)?;
            changed = true;
        }
    }
    if let Some(profile) = &patch.profile {
        row.given_name = Set(profile.given_name.clone());
        row.surname = Set(profile.surname.clone());
        row.email = Set(profile.email.clone());
        row.language = Set(profile.language.clone());
        changed = true;
    }
    if let Some(is_active) = patch.is_active {
        row.is_active = Set(is_active);
        changed = true;
    }
    if let Some(languages) = &patch.preferred_languages {
        row.preferred_languages = Set(serde_json::to_string(languages).map_err(anyhow::Error::from)?);
        changed = true;
    }
    if let Some(last_seen_at) = patch.last_seen_at {
        row.last_seen_at = Set(Some(last_seen_at));
        changed = true;
    }
    if let Some(external_id) = &patch.external_id {
        row.external_id = Set(external_id.as_ref().map(|e| e.as_str().to_owned()));
        row.external_id_norm = Set(external_id.as_ref().map(ExternalId::normalized));
        changed = true;
    }
    if let Some(signed_up_at) = patch.signed_up_at {
        row.signed_up_at = Set(signed_up_at);
        changed = true;
    }
    if let Some(to_be_retained) = patch.to_be_retained {
        row.to_be_retained = Set(to_be_retained);
        changed = true;
    }
    if changed {
        users::Entity::update(row).exec(&txn).await.map_err(write_error)?;
    }
    if let Some(discovery_keys) = &patch.discovery_keys {
        replace_discovery_keys(&txn, app_id, &id, discovery_keys).await?;
    }
    if let Some(metadata) = &patch.metadata {
        write_metadata_locked(&txn, app_id, &id, metadata, patch.metadata_mode).await?;
    }
    if let Some(fields) = &patch.sensitive {
        let merged = load_sensitive(&txn, sealer, &id).await?.merged(fields)?;
        put_sensitive(&txn, sealer, app_id, &id, &merged, now).await?;
    }
    let user = find_user(&txn, app_id, &Lookup::Id(parse_id(id)?)).await?.ok_or(StoreError::UserNotFound)?;
    record_updated(&txn, &user, was_active.unwrap_or(user.is_active), now).await?;
    txn.commit().await.map_err(unexpected)?;
    Ok(user)
}

/// Applies `patch` to the member `lookup` names, under the row's lock: the change is worked out
/// from the member as it is once locked, so concurrent changes of one member queue, each
/// seeing the one before. A user that is not a member is not found.
pub(super) async fn update_member(
    db: &DatabaseConnection,
    app_id: &AppId,
    lookup: &Lookup,
    patch: &MemberPatch,
    now: i64,
) -> Result<User, StoreError> {
    let txn = db.begin().await.map_err(unexpected)?;
    let id = parse_id(touch(&txn, app_id, lookup, now).await?)?;
    let user = find_user(&txn, app_id, &Lookup::Id(id.clone())).await?.ok_or(StoreError::UserNotFound)?;
    let member = patch.apply(user.member.as_ref().ok_or(StoreError::UserNotFound)?)?;
    let profile = patch.apply_to_profile(&user.profile);
    let columns = encode_member(Some(&member))?;
    let row = users::ActiveModel {
        id: Set(id.as_str().to_owned()),
        given_name: Set(profile.given_name),
        surname: Set(profile.surname),
        member_org_user_id: Set(columns.org_user_id),
        member_attributes: Set(columns.attributes),
        ..Default::default()
    };
    users::Entity::update(row).exec(&txn).await.map_err(write_error)?;
    members::unindex(&txn, id.as_str()).await?;
    members::index(&txn, app_id, [(id.as_str(), &member)], now).await?;
    let was_active = user.is_active;
    let user = find_user(&txn, app_id, &Lookup::Id(id)).await?.ok_or(StoreError::UserNotFound)?;
    record_updated(&txn, &user, was_active, now).await?;
    txn.commit().await.map_err(unexpected)?;
    Ok(user)
}

/// Sets `associated_at` unless set, and answers the user.
pub(super) async fn mark_associated(
    db: &DatabaseConnection,
    app_id: &AppId,
    lookup: &Lookup,
    now: i64,
) -> Result<User, StoreError> {
    let txn = db.begin().await.map_err(unexpected)?;
    // The first association's instant is kept. A user a deletion has claimed is gone: on
    // PostgreSQL the row lock orders this after a claim in progress, which then leaves nothing
    // to mark; on SQLite writes are serial anyway.
    let marked = users::Entity::update_many()
        .col_expr(
            users::Column::AssociatedAt,
            Func::coalesce([Expr::col(users::Column::AssociatedAt).into(), Expr::value(now)]).into(),
        )
        .filter(lookup_condition(app_id, lookup))
        .exec(&txn)
        .await
        .map_err(unexpected)?;
    if marked.rows_affected == 0 {
        return Err(StoreError::UserNotFound);
    }
    let user = find_user(&txn, app_id, lookup).await?.ok_or(StoreError::UserNotFound)?;
    txn.commit().await.map_err(unexpected)?;
    Ok(user)
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
        email: Set(None),
        language: Set(None),
        signed_up_at: Set(None),
        ..Default::default()
    };
    users::Entity::update(cleared).exec(&txn).await.map_err(unexpected)?;
    meta::Entity::delete_many().filter(meta::Column::UserPk.eq(&id)).exec(&txn).await.map_err(unexpected)?;
    keys::Entity::delete_many().filter(keys::Column::UserPk.eq(&id)).exec(&txn).await.map_err(unexpected)?;
    idents::Entity::delete_many().filter(idents::Column::UserPk.eq(&id)).exec(&txn).await.map_err(unexpected)?;
    images::Entity::delete_by_id(id.clone()).exec(&txn).await.map_err(unexpected)?;
    sensitive::Entity::delete_by_id(id.clone()).exec(&txn).await.map_err(unexpected)?;
    let user = find_user(&txn, app_id, &Lookup::Id(parse_id(id)?)).await?.ok_or(StoreError::UserNotFound)?;
    record_updated(&txn, &user, user.is_active, now).await?;
    txn.commit().await.map_err(unexpected)?;
    Ok(user)
}
