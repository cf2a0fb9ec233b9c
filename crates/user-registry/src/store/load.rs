//! Reading users whole: their rows with the metadata, discovery keys and identities that hang
//! off them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use platform::db::unexpected;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Alias, Expr, Func, Query},
};

use super::{
    codec::{encode_value, into_user},
    entity::{user_discovery_keys as keys, user_metadata as meta, users},
    identities,
    rows::{live, lookup_condition},
    sql::MAX_PARAMS,
};
use crate::{
    app::StoreError,
    domain::{AppId, EmailId, Lookup, MetaValue, RosterId, User, UserFilter},
};

/// Loads the rows' metadata, discovery keys and identities in three queries, whatever the
/// number of rows.
pub(super) async fn load_users(conn: &impl ConnectionTrait, rows: Vec<users::Model>) -> Result<Vec<User>, StoreError> {
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

pub(super) async fn find_user(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    lookup: &Lookup,
) -> Result<Option<User>, StoreError> {
    let row = users::Entity::find().filter(lookup_condition(app_id, lookup)).one(conn).await.map_err(unexpected)?;
    Ok(load_users(conn, row.into_iter().collect()).await?.pop())
}

/// The application's live members holding these email ids (compared case-insensitively), in no
/// particular order.
pub(super) async fn find_members(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    email_ids: &[EmailId],
) -> Result<Vec<User>, StoreError> {
    let wanted: BTreeSet<String> = email_ids.iter().map(EmailId::normalized).collect();
    let wanted: Vec<String> = wanted.into_iter().collect();
    let mut rows = Vec::with_capacity(wanted.len());
    for chunk in wanted.chunks(MAX_PARAMS - 2) {
        let found = users::Entity::find()
            .filter(live(app_id))
            .filter(users::Column::MemberEmailNorm.is_in(chunk.iter().cloned()))
            .all(conn)
            .await
            .map_err(unexpected)?;
        rows.extend(found);
    }
    load_users(conn, rows).await
}

/// The application's users that `filter` keeps, ordered by id, after `after` when given.
pub(super) async fn list(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    after: Option<&RosterId>,
    limit: u64,
    filter: &UserFilter,
) -> Result<Vec<User>, StoreError> {
    let mut query = users::Entity::find().filter(live(app_id)).order_by_asc(users::Column::Id).limit(limit);
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
        let encoded: Vec<String> = values.iter().map(|v| encode_value(&MetaValue::String(v.clone()))).collect();
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
    let rows = query.all(conn).await.map_err(unexpected)?;
    load_users(conn, rows).await
}
