//! sea-orm implementation of `UserStore`, for PostgreSQL and SQLite alike.
//!
//! Writes that read before they write (update, metadata) first touch the user's row with an
//! UPDATE: that takes the row lock on PostgreSQL and the write lock on SQLite, so concurrent
//! writers of one user queue instead of racing.

mod bulk;
mod codec;
mod constraints;
mod entity;
mod events;
mod identities;
mod members;
mod sql;

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use platform::db::unexpected;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
    sea_query::{Alias, Expr, Func, LockBehavior, LockType, OnConflict, Query},
};

use crate::{
    app::{Candidate, Created, Extras, StoreError, UserLifecycle, UserStore},
    domain::{
        AppId, DiscoveryKey, ExternalId, Identity, ImageType, Lookup, Metadata, MetadataWrite, ProfileImage, RosterId,
        SensitiveFields, User, UserFilter, UserPatch, ValidationError,
    },
};
use codec::{decode_value, encode_value, into_user};
pub use constraints::UNIQUE_KEYS;
use constraints::write_error;
use entity::{
    profile_images as images, user_discovery_keys as keys, user_metadata as meta, user_sensitive_metadata as sensitive,
    users,
};
use platform::seal::{Sealed, Sealer};

#[derive(Debug, Clone)]
pub struct SeaUserStore {
    db: DatabaseConnection,
    sealer: Sealer,
}

impl SeaUserStore {
    /// `sealer` seals sensitive metadata; see `sealer_from_settings`.
    pub fn new(db: DatabaseConnection, sealer: Sealer) -> Self {
        Self { db, sealer }
    }
}

/// The configured sealing keys, or else the registry's own generated key.
pub async fn sealer_from_settings(db: &DatabaseConnection, settings: &platform::Settings) -> anyhow::Result<Sealer> {
    platform::seal::from_settings(db, settings, "registry_keys").await
}

/// An id the database gave back: invalid would be a server fault.
fn parse_id(id: String) -> Result<RosterId, StoreError> {
    RosterId::parse(id).map_err(|e| StoreError::Unexpected(e.into()))
}

fn lookup_condition(app_id: &AppId, lookup: &Lookup) -> Condition {
    let by = match lookup {
        Lookup::Id(id) => users::Column::Id.eq(id.as_str()),
        Lookup::UserId(user_id) => users::Column::UserId.eq(user_id.as_str()),
        Lookup::ExternalId(external_id) => users::Column::ExternalIdNorm.eq(external_id.normalized()),
    };
    Condition::all().add(users::Column::AppId.eq(app_id.as_str())).add(by)
}

/// Bumps `updated_at`, locking the row for the rest of the transaction; answers the user's id.
async fn touch(conn: &impl ConnectionTrait, app_id: &AppId, lookup: &Lookup, now: i64) -> Result<String, StoreError> {
    let touched = users::Entity::update_many()
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(lookup_condition(app_id, lookup))
        .exec(conn)
        .await
        .map_err(unexpected)?;
    if touched.rows_affected == 0 {
        return Err(StoreError::UserNotFound);
    }
    let id: Option<String> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(lookup_condition(app_id, lookup))
        .into_tuple()
        .one(conn)
        .await
        .map_err(unexpected)?;
    id.ok_or(StoreError::UserNotFound)
}

async fn insert_metadata(
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

async fn replace_discovery_keys(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    user_pk: &str,
    discovery_keys: &[DiscoveryKey],
) -> Result<(), StoreError> {
    keys::Entity::delete_many().filter(keys::Column::UserPk.eq(user_pk)).exec(conn).await.map_err(unexpected)?;
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

fn user_row(user: &User) -> Result<users::ActiveModel, StoreError> {
    let member = codec::encode_member(user.member.as_ref())?;
    Ok(users::ActiveModel {
        id: Set(user.id.as_str().to_owned()),
        app_id: Set(user.app_id.as_str().to_owned()),
        user_id: Set(user.user_id.as_str().to_owned()),
        external_id: Set(user.external_id.as_ref().map(|e| e.as_str().to_owned())),
        external_id_norm: Set(user.external_id.as_ref().map(ExternalId::normalized)),
        nickname: Set(user.nickname.as_str().to_owned()),
        profile_url: Set(user.profile_url.as_str().to_owned()),
        given_name: Set(user.profile.given_name.clone()),
        surname: Set(user.profile.surname.clone()),
        display_name: Set(user.profile.display_name.clone()),
        email: Set(user.profile.email.clone()),
        language: Set(user.profile.language.clone()),
        avatar_url: Set(user.profile.avatar_url.clone()),
        preferred_languages: Set(serde_json::to_string(&user.preferred_languages).map_err(anyhow::Error::from)?),
        is_active: Set(user.is_active),
        origin: Set(user.origin.as_str().to_owned()),
        created_at: Set(user.created_at),
        updated_at: Set(user.updated_at),
        last_seen_at: Set(user.last_seen_at),
        associated_at: Set(user.associated_at),
        expires_unassociated: Set(user.expires_unassociated),
        signed_up_at: Set(user.signed_up_at),
        to_be_retained: Set(user.to_be_retained),
        authenticated: Set(user.authenticated),
        member_email_id: Set(member.email_id),
        member_email_norm: Set(member.email_norm),
        member_org_user_id: Set(member.org_user_id),
        member_activation: Set(member.activation),
        member_attributes: Set(member.attributes),
    })
}

/// Seals `fields` for `user_pk` (replacing what it had); no fields deletes the row.
async fn put_sensitive(
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
async fn load_sensitive(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    user_pk: &str,
) -> Result<SensitiveFields, StoreError> {
    let Some(row) = sensitive::Entity::find_by_id(user_pk.to_owned()).one(conn).await.map_err(unexpected)? else {
        return Ok(SensitiveFields::default());
    };
    let plain = sealer
        .open(&Sealed { kid: row.kid, bytes: row.sealed }, user_pk.as_bytes())
        .map_err(|e| StoreError::Unexpected(anyhow::anyhow!("sensitive metadata of {user_pk}: {e}")))?;
    let entries = serde_json::from_slice(&plain).map_err(anyhow::Error::from)?;
    Ok(SensitiveFields::parse(entries)?)
}

/// What a new user's row does not hold: identities, metadata, discovery keys, image, sensitive
/// fields, member groups and the "user.created" (and "member.activation_requested") events, all
/// in the user's transaction.
async fn insert_children(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    user: &User,
    extras: &Extras<'_>,
) -> Result<(), StoreError> {
    identities::insert_identities(conn, &user.app_id, user.id.as_str(), &user.identities).await?;
    insert_other_children(conn, sealer, user, extras).await
}

/// `insert_children` but the identities.
async fn insert_other_children(
    conn: &impl ConnectionTrait,
    sealer: &Sealer,
    user: &User,
    extras: &Extras<'_>,
) -> Result<(), StoreError> {
    insert_metadata(conn, &user.app_id, user.id.as_str(), &user.metadata).await.map_err(unexpected)?;
    replace_discovery_keys(conn, &user.app_id, user.id.as_str(), &user.discovery_keys).await?;
    if let Some(image) = extras.image {
        put_image(conn, user.id.as_str(), image).await.map_err(unexpected)?;
    }
    if !extras.sensitive.is_empty() {
        put_sensitive(conn, sealer, &user.app_id, user.id.as_str(), extras.sensitive, user.created_at).await?;
    }
    if let Some(member) = &user.member {
        members::upsert_groups(conn, &user.app_id, member.groups.iter(), user.created_at).await?;
    }
    events::record_created(conn, std::slice::from_ref(user)).await
}

/// Stores (or replaces) the user's uploaded image.
async fn put_image(conn: &impl ConnectionTrait, user_pk: &str, image: &ProfileImage) -> Result<(), DbErr> {
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

/// Loads the rows' metadata, discovery keys and identities in three queries, whatever the
/// number of rows.
async fn load_users(conn: &impl ConnectionTrait, rows: Vec<users::Model>) -> Result<Vec<User>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut metadata: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    for row in
        meta::Entity::find().filter(meta::Column::UserPk.is_in(ids.clone())).all(conn).await.map_err(unexpected)?
    {
        metadata.entry(row.user_pk).or_default().insert(row.key, row.value);
    }
    let mut identities = identities::load_identities(conn, ids.clone()).await?;
    let mut discovery: HashMap<String, Vec<String>> = HashMap::new();
    for row in keys::Entity::find()
        .filter(keys::Column::UserPk.is_in(ids))
        .order_by_asc(keys::Column::DiscoveryKey)
        .all(conn)
        .await
        .map_err(unexpected)?
    {
        discovery.entry(row.user_pk).or_default().push(row.discovery_key);
    }
    rows.into_iter()
        .map(|row| {
            let metadata = metadata.remove(&row.id).unwrap_or_default();
            let discovery = discovery.remove(&row.id).unwrap_or_default();
            let identities = identities.remove(&row.id).unwrap_or_default();
            into_user(row, metadata, discovery, identities).map_err(StoreError::Unexpected)
        })
        .collect()
}

/// Writes metadata keys as `mode` says to a user whose row this transaction has locked, and
/// answers the whole metadata after it.
async fn write_metadata_locked(
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

async fn find_user(conn: &impl ConnectionTrait, app_id: &AppId, lookup: &Lookup) -> Result<Option<User>, StoreError> {
    let row = users::Entity::find().filter(lookup_condition(app_id, lookup)).one(conn).await.map_err(unexpected)?;
    Ok(load_users(conn, row.into_iter().collect()).await?.pop())
}

#[async_trait]
impl UserStore for SeaUserStore {
    async fn create(&self, user: &User, extras: &Extras<'_>) -> Result<(), StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        users::Entity::insert(user_row(user)?).exec_without_returning(&txn).await.map_err(write_error)?;
        insert_children(&txn, &self.sealer, user, extras).await?;
        txn.commit().await.map_err(unexpected)?;
        Ok(())
    }

    async fn create_many(&self, candidates: &[Candidate], expect_new: bool) -> Result<Vec<Created>, StoreError> {
        bulk::create_many(&self.db, &self.sealer, candidates, expect_new).await
    }

    async fn upsert_by_external_id(
        &self,
        user: &User,
        extras: &Extras<'_>,
        mark_authenticated: bool,
    ) -> Result<(User, bool), StoreError> {
        let external_id =
            user.external_id.clone().ok_or(StoreError::Invalid(ValidationError::Missing { field: "external_id" }))?;
        let lookup = Lookup::ExternalId(external_id);
        let txn = self.db.begin().await.map_err(unexpected)?;
        let mut row = user_row(user)?;
        if mark_authenticated {
            row.authenticated = Set(true);
        }
        // Concurrent upserts of one external id: one inserts, the others wait for it and insert nothing.
        let inserted = users::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([users::Column::AppId, users::Column::ExternalIdNorm]).do_nothing().to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(write_error)?;
        let created = inserted == 1;
        if created {
            insert_children(&txn, &self.sealer, user, extras).await?;
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

    async fn upsert_by_identity(&self, user: &User, identity: &Identity) -> Result<(User, bool), StoreError> {
        identities::upsert_by_identity(&self.db, &self.sealer, user, identity).await
    }

    async fn delete_personal_information(&self, app_id: &AppId, lookup: &Lookup, now: i64) -> Result<User, StoreError> {
        identities::delete_personal_information(&self.db, app_id, lookup, now).await
    }

    async fn find_profile_image(&self, app_id: &AppId, id: &RosterId) -> Result<Option<ProfileImage>, StoreError> {
        // Through the user row, so another application's id finds nothing.
        let Some(user) = users::Entity::find()
            .filter(lookup_condition(app_id, &Lookup::Id(id.clone())))
            .one(&self.db)
            .await
            .map_err(unexpected)?
        else {
            return Ok(None);
        };
        let row = images::Entity::find_by_id(user.id).one(&self.db).await.map_err(unexpected)?;
        row.map(|row| {
            let kind = ImageType::from_content_type(&row.content_type)
                .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("stored image type {}", row.content_type)))?;
            Ok(ProfileImage { kind, data: row.data, digest: row.digest })
        })
        .transpose()
    }

    async fn find(&self, app_id: &AppId, lookup: &Lookup) -> Result<Option<User>, StoreError> {
        find_user(&self.db, app_id, lookup).await
    }

    async fn update(&self, app_id: &AppId, lookup: &Lookup, patch: &UserPatch, now: i64) -> Result<User, StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        let id = touch(&txn, app_id, lookup, now).await?;
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
            row.profile_url = Set(profile_url.as_str().to_owned());
            images::Entity::delete_by_id(id.clone()).exec(&txn).await.map_err(unexpected)?;
            changed = true;
        }
        if let Some(profile) = &patch.profile {
            row.given_name = Set(profile.given_name.clone());
            row.surname = Set(profile.surname.clone());
            row.display_name = Set(profile.display_name.clone());
            row.email = Set(profile.email.clone());
            row.language = Set(profile.language.clone());
            row.avatar_url = Set(profile.avatar_url.clone());
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
            let merged = load_sensitive(&txn, &self.sealer, &id).await?.merged(fields)?;
            put_sensitive(&txn, &self.sealer, app_id, &id, &merged, now).await?;
        }
        let user = find_user(&txn, app_id, &Lookup::Id(parse_id(id)?)).await?.ok_or(StoreError::UserNotFound)?;
        txn.commit().await.map_err(unexpected)?;
        Ok(user)
    }

    async fn delete(&self, app_id: &AppId, id: &RosterId) -> Result<bool, StoreError> {
        // Metadata, discovery keys, identities, image and sensitive metadata go with the row
        // (ON DELETE CASCADE).
        let deleted = users::Entity::delete_many()
            .filter(lookup_condition(app_id, &Lookup::Id(id.clone())))
            .exec(&self.db)
            .await
            .map_err(unexpected)?;
        Ok(deleted.rows_affected > 0)
    }

    async fn list(
        &self,
        app_id: &AppId,
        after: Option<&RosterId>,
        limit: u64,
        filter: &UserFilter,
    ) -> Result<Vec<User>, StoreError> {
        let mut query = users::Entity::find()
            .filter(users::Column::AppId.eq(app_id.as_str()))
            .order_by_asc(users::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(users::Column::Id.gt(after.as_str()));
        }
        if let Some(is_active) = filter.is_active {
            query = query.filter(users::Column::IsActive.eq(is_active));
        }
        if !filter.user_ids.is_empty() {
            query = query.filter(users::Column::UserId.is_in(filter.user_ids.iter().map(|u| u.as_str().to_owned())));
        }
        if let Some(nickname) = &filter.nickname {
            query = query.filter(users::Column::Nickname.eq(nickname.as_str()));
        }
        if let Some(prefix) = &filter.nickname_prefix {
            // substr, not LIKE: SQLite's LIKE ignores case, PostgreSQL's does not. i32 arguments
            // match PostgreSQL's substr(text, integer, integer).
            let chars = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
            let head = Func::cust(Alias::new("substr")).arg(Expr::col(users::Column::Nickname)).arg(1i32).arg(chars);
            query = query.filter(Expr::expr(head).eq(prefix.as_str()));
        }
        if let Some(external_id) = &filter.external_id {
            query = query.filter(users::Column::ExternalIdNorm.eq(external_id.normalized()));
        }
        if let Some((key, values)) = &filter.metadata {
            let encoded: Vec<String> =
                values.iter().map(|v| encode_value(&crate::domain::MetaValue::String(v.clone()))).collect();
            query = query.filter(
                users::Column::Id.in_subquery(
                    Query::select()
                        .column(meta::Column::UserPk)
                        .from(meta::Entity)
                        .and_where(meta::Column::AppId.eq(app_id.as_str()))
                        .and_where(meta::Column::Key.eq(key.as_str()))
                        .and_where(meta::Column::Value.is_in(encoded))
                        .to_owned(),
                ),
            );
        }
        let rows = query.all(&self.db).await.map_err(unexpected)?;
        load_users(&self.db, rows).await
    }

    async fn write_metadata(
        &self,
        app_id: &AppId,
        lookup: &Lookup,
        entries: &Metadata,
        mode: MetadataWrite,
        now: i64,
    ) -> Result<Metadata, StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        let user_pk = touch(&txn, app_id, lookup, now).await?;
        let merged = write_metadata_locked(&txn, app_id, &user_pk, entries, mode).await?;
        txn.commit().await.map_err(unexpected)?;
        Ok(merged)
    }

    async fn delete_metadata(
        &self,
        app_id: &AppId,
        lookup: &Lookup,
        keys: Option<&[String]>,
        now: i64,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
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
        txn.commit().await.map_err(unexpected)?;
        Ok(())
    }

    async fn mark_associated(&self, app_id: &AppId, lookup: &Lookup, now: i64) -> Result<User, StoreError> {
        let txn = self.db.begin().await.map_err(unexpected)?;
        // The first association's instant is kept; the row lock orders this after a reaper
        // that holds the user, which then leaves nothing to mark.
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

    async fn find_sensitive(&self, app_id: &AppId, lookup: &Lookup) -> Result<SensitiveFields, StoreError> {
        let id: Option<String> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .filter(lookup_condition(app_id, lookup))
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(unexpected)?;
        load_sensitive(&self.db, &self.sealer, &id.ok_or(StoreError::UserNotFound)?).await
    }

    async fn reap(
        &self,
        app_id: &AppId,
        created_before: i64,
        limit: u64,
        lifecycle: &dyn UserLifecycle,
    ) -> Result<Vec<RosterId>, StoreError> {
        let expired = || {
            Condition::all()
                .add(users::Column::AppId.eq(app_id.as_str()))
                .add(users::Column::ExpiresUnassociated.eq(true))
                .add(users::Column::AssociatedAt.is_null())
                .add(users::Column::CreatedAt.lt(created_before))
        };
        let txn = self.db.begin().await.map_err(unexpected)?;
        if txn.get_database_backend() == DbBackend::Sqlite {
            // SQLite has no row locks: take the database's write lock before reading, so a
            // MarkAssociated cannot slip in between the choice and the delete.
            users::Entity::update_many()
                .col_expr(users::Column::AssociatedAt, Expr::col(users::Column::AssociatedAt).into())
                .filter(expired())
                .exec(&txn)
                .await
                .map_err(unexpected)?;
        }
        // PostgreSQL: rows another reaper holds are skipped, not waited for and not done twice.
        let ids: Vec<String> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .filter(expired())
            .order_by_asc(users::Column::CreatedAt)
            .limit(limit)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .into_tuple()
            .all(&txn)
            .await
            .map_err(unexpected)?;
        let ids = ids.into_iter().map(parse_id).collect::<Result<Vec<_>, _>>()?;
        for id in &ids {
            lifecycle.before_delete(app_id, id).await?;
        }
        if !ids.is_empty() {
            users::Entity::delete_many()
                .filter(expired())
                .filter(users::Column::Id.is_in(ids.iter().map(|id| id.as_str().to_owned())))
                .exec(&txn)
                .await
                .map_err(unexpected)?;
        }
        txn.commit().await.map_err(unexpected)?;
        Ok(ids)
    }
}
