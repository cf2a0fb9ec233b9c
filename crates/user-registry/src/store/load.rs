//! Reading users whole: their rows with the metadata, discovery keys and identities that hang
//! off them.

use std::collections::{BTreeMap, BTreeSet};

use platform::db::unexpected;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QueryResult, QuerySelect, Select,
    sea_query::{Alias, Expr, Func, Query},
};

use super::{
    codec::{encode_value, into_user},
    entity::{user_metadata as meta, users},
    rows::{live, lookup_condition},
    sql::MAX_PARAMS,
};
use crate::{
    app::StoreError,
    domain::{AppId, EmailId, Lookup, MetaValue, RosterId, User, UserFilter},
};

/// The users `select` finds, each with its metadata, discovery keys and identities, in **one**
/// statement: the children come aggregated as JSON arrays by correlated subqueries
/// (`json_agg` on PostgreSQL, `json_group_array` on SQLite).
pub(super) async fn load(conn: &impl ConnectionTrait, select: Select<users::Entity>) -> Result<Vec<User>, StoreError> {
    let children = Children::of(conn.get_database_backend());
    let rows = select
        .column_as(Expr::cust(children.metadata), METADATA)
        .column_as(Expr::cust(children.discovery_keys), DISCOVERY_KEYS)
        .column_as(Expr::cust(children.identities), IDENTITIES)
        .into_model::<Loaded>()
        .all(conn)
        .await
        .map_err(unexpected)?;
    rows.into_iter().map(Loaded::into_user).collect()
}

const METADATA: &str = "children_metadata";
const DISCOVERY_KEYS: &str = "children_discovery_keys";
const IDENTITIES: &str = "children_identities";

/// The three correlated subqueries, in each backend's dialect. Column names only: no value of
/// a caller's is ever spliced in.
struct Children {
    metadata: &'static str,
    discovery_keys: &'static str,
    identities: &'static str,
}

impl Children {
    fn of(backend: DatabaseBackend) -> Self {
        match backend {
            DatabaseBackend::Postgres => Self {
                metadata: "(SELECT json_agg(json_build_array(m.key, m.value))::text \
                           FROM user_metadata m WHERE m.user_pk = users.id)",
                discovery_keys: "(SELECT json_agg(k.discovery_key)::text \
                                 FROM user_discovery_keys k WHERE k.user_pk = users.id)",
                identities: "(SELECT json_agg(json_build_array(i.channel_type, i.value))::text \
                             FROM user_identities i WHERE i.user_pk = users.id)",
            },
            _ => Self {
                metadata: "(SELECT json_group_array(json_array(m.key, m.value)) \
                           FROM user_metadata m WHERE m.user_pk = users.id)",
                discovery_keys: "(SELECT json_group_array(k.discovery_key) \
                                 FROM user_discovery_keys k WHERE k.user_pk = users.id)",
                identities: "(SELECT json_group_array(json_array(i.channel_type, i.value)) \
                             FROM user_identities i WHERE i.user_pk = users.id)",
            },
        }
    }
}

/// A user row and its children as the aggregated JSON arrays (`None`: PostgreSQL's empty
/// aggregate).
struct Loaded {
    row: users::Model,
    metadata: Option<String>,
    discovery_keys: Option<String>,
    identities: Option<String>,
}

impl FromQueryResult for Loaded {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        Ok(Self {
            row: users::Model::from_query_result(res, pre)?,
            metadata: res.try_get(pre, METADATA)?,
            discovery_keys: res.try_get(pre, DISCOVERY_KEYS)?,
            identities: res.try_get(pre, IDENTITIES)?,
        })
    }
}

impl Loaded {
    fn into_user(self) -> Result<User, StoreError> {
        fn decode<T: serde::de::DeserializeOwned + Default>(json: Option<String>) -> anyhow::Result<T> {
            Ok(match json {
                Some(json) => serde_json::from_str(&json)?,
                None => T::default(),
            })
        }
        let id = self.row.id.clone();
        let children = || -> anyhow::Result<_> {
            let metadata: Vec<(String, String)> = decode(self.metadata)?;
            let mut discovery_keys: Vec<String> = decode(self.discovery_keys)?;
            discovery_keys.sort();
            let identities: Vec<(String, String)> = decode(self.identities)?;
            Ok((metadata.into_iter().collect::<BTreeMap<_, _>>(), discovery_keys, identities))
        };
        let (metadata, discovery_keys, identities) =
            children().map_err(|e| StoreError::Unexpected(e.context(format!("stored user {id}'s children"))))?;
        into_user(self.row, metadata, discovery_keys, identities).map_err(StoreError::Unexpected)
    }
}

pub(super) async fn find_user(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    lookup: &Lookup,
) -> Result<Option<User>, StoreError> {
    Ok(load(conn, users::Entity::find().filter(lookup_condition(app_id, lookup))).await?.pop())
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
        let select = users::Entity::find()
            .filter(live(app_id))
            .filter(users::Column::MemberEmailNorm.is_in(chunk.iter().cloned()));
        rows.extend(load(conn, select).await?);
    }
    Ok(rows)
}

/// How many live users the application has.
pub(super) async fn count(conn: &impl ConnectionTrait, app_id: &AppId) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    users::Entity::find().filter(live(app_id)).count(conn).await.map_err(|e| StoreError::Unexpected(unexpected(e)))
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
    if let Some(origin) = filter.origin {
        query = query.filter(users::Column::Origin.eq(origin.as_str()));
    }
    if let Some(email) = &filter.email {
        // `lower(email)`, as the index has it (users_app_email_lower_idx).
        let lowered = Func::lower(Expr::col((users::Entity, users::Column::Email)));
        query = query.filter(Expr::expr(lowered).eq(email.as_str()));
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
    load(conn, query).await
}
