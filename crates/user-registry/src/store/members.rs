//! Member groups: a row per group of an application, created the first time a member names it.

use std::collections::BTreeSet;

use platform::db::unexpected;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, sea_query::OnConflict};

use super::{entity::member_groups as groups, sql::rows_per_statement};
use crate::{
    app::StoreError,
    domain::{AppId, GroupId},
};

/// Creates the groups that do not exist yet. Sorted, so concurrent writers take the rows' locks
/// in one order.
pub(super) async fn upsert_groups<'a>(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    names: impl IntoIterator<Item = &'a GroupId>,
    now: i64,
) -> Result<(), StoreError> {
    let names: BTreeSet<String> = names.into_iter().map(|g| g.as_str().to_owned()).collect();
    let rows: Vec<groups::ActiveModel> = names
        .into_iter()
        .map(|name| groups::ActiveModel {
            app_id: Set(app_id.as_str().to_owned()),
            group_id: Set(name),
            created_at: Set(now),
        })
        .collect();
    for chunk in rows.chunks(rows_per_statement(3)) {
        groups::Entity::insert_many(chunk.to_vec())
            .on_conflict(OnConflict::columns([groups::Column::AppId, groups::Column::GroupId]).do_nothing().to_owned())
            .exec_without_returning(conn)
            .await
            .map_err(unexpected)?;
    }
    Ok(())
}
