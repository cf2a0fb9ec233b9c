//! Member groups and roles as tables see them: a row per group of an application (created the
//! first time a member names it), a row per (group, member) and per (member, role, bot), written
//! in the member's own transaction beside the attributes the member is read from. They answer
//! the listings of groups with their members and of distinct roles.

use std::collections::{BTreeSet, HashMap};

use platform::db::unexpected;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, OnConflict, Query},
};

use super::{
    entity::{member_group_users as memberships, member_groups as groups, member_roles as roles, users},
    sql::{MAX_PARAMS, rows_per_statement},
};
use crate::{
    app::StoreError,
    domain::{
        Activation, AppId, EmailId, GroupId, GroupMember, GroupPage, Member, MemberGroup, RoleKind, RolePage, RosterId,
    },
};

/// Indexes the groups and roles of new members (or of members whose rows `unindex` just
/// removed). Groups are created in sorted order, so concurrent writers take the rows' locks in
/// one order.
pub(super) async fn index<'a>(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    members: impl IntoIterator<Item = (&'a str, &'a Member)>,
    now: i64,
) -> Result<(), StoreError> {
    let app = app_id.as_str();
    let mut names = BTreeSet::new();
    let mut joined = Vec::new();
    let mut held = Vec::new();
    for (user_pk, member) in members {
        for group in &member.groups {
            names.insert(group.as_str().to_owned());
            joined.push(memberships::ActiveModel {
                app_id: Set(app.to_owned()),
                group_id: Set(group.as_str().to_owned()),
                user_pk: Set(user_pk.to_owned()),
            });
        }
        // A binding listed twice is held once.
        let bindings: BTreeSet<(&str, &str)> =
            member.roles.iter().map(|r| (r.role_id(), r.bot_id().unwrap_or_default())).collect();
        held.extend(bindings.into_iter().map(|(role_id, bot_id)| roles::ActiveModel {
            user_pk: Set(user_pk.to_owned()),
            role_id: Set(role_id.to_owned()),
            bot_id: Set(bot_id.to_owned()),
            app_id: Set(app.to_owned()),
        }));
    }
    let created: Vec<groups::ActiveModel> = names
        .into_iter()
        .map(|name| groups::ActiveModel { app_id: Set(app.to_owned()), group_id: Set(name), created_at: Set(now) })
        .collect();
    for chunk in created.chunks(rows_per_statement(3)) {
        groups::Entity::insert_many(chunk.to_vec())
            .on_conflict(OnConflict::columns([groups::Column::AppId, groups::Column::GroupId]).do_nothing().to_owned())
            .exec_without_returning(conn)
            .await
            .map_err(unexpected)?;
    }
    for chunk in joined.chunks(rows_per_statement(3)) {
        memberships::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await.map_err(unexpected)?;
    }
    for chunk in held.chunks(rows_per_statement(4)) {
        roles::Entity::insert_many(chunk.to_vec()).exec_without_returning(conn).await.map_err(unexpected)?;
    }
    Ok(())
}

/// Removes a member's rows from the group and role indexes (not the groups themselves).
pub(super) async fn unindex(conn: &impl ConnectionTrait, user_pk: &str) -> Result<(), StoreError> {
    memberships::Entity::delete_many()
        .filter(memberships::Column::UserPk.eq(user_pk))
        .exec(conn)
        .await
        .map_err(unexpected)?;
    roles::Entity::delete_many().filter(roles::Column::UserPk.eq(user_pk)).exec(conn).await.map_err(unexpected)?;
    Ok(())
}

#[derive(FromQueryResult)]
struct MemberRow {
    group_id: String,
    id: String,
    member_email_id: Option<String>,
    given_name: Option<String>,
    surname: Option<String>,
    is_active: bool,
    member_activation: Option<String>,
}

/// A page of the application's groups in id order, each with its live members.
pub(super) async fn list_groups(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    offset: u64,
    limit: u64,
) -> Result<GroupPage, StoreError> {
    let of_app = groups::Column::AppId.eq(app_id.as_str());
    let total = groups::Entity::find().filter(of_app.clone()).count(conn).await.map_err(unexpected)?;
    let ids: Vec<String> = groups::Entity::find()
        .select_only()
        .column(groups::Column::GroupId)
        .filter(of_app)
        .order_by_asc(groups::Column::GroupId)
        .offset(offset)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
        .map_err(unexpected)?;
    let mut page: Vec<MemberGroup> = ids
        .iter()
        .map(|id| Ok(MemberGroup { id: GroupId::parse(id.clone()).map_err(stored)?, members: Vec::new() }))
        .collect::<Result<_, StoreError>>()?;
    let position: HashMap<&str, usize> = ids.iter().enumerate().map(|(at, id)| (id.as_str(), at)).collect();
    for chunk in ids.chunks(MAX_PARAMS - 1) {
        let query = Query::select()
            .column((memberships::Entity, memberships::Column::GroupId))
            .columns([
                (users::Entity, users::Column::Id),
                (users::Entity, users::Column::MemberEmailId),
                (users::Entity, users::Column::GivenName),
                (users::Entity, users::Column::Surname),
                (users::Entity, users::Column::IsActive),
                (users::Entity, users::Column::MemberActivation),
            ])
            .from(memberships::Entity)
            .inner_join(
                users::Entity,
                Expr::col((users::Entity, users::Column::Id))
                    .equals((memberships::Entity, memberships::Column::UserPk)),
            )
            .and_where(Expr::col((memberships::Entity, memberships::Column::AppId)).eq(app_id.as_str()))
            .and_where(Expr::col((memberships::Entity, memberships::Column::GroupId)).is_in(chunk.iter().cloned()))
            .and_where(Expr::col((users::Entity, users::Column::DeletingSince)).is_null())
            .to_owned();
        let rows = MemberRow::find_by_statement(conn.get_database_backend().build(&query))
            .all(conn)
            .await
            .map_err(unexpected)?;
        for row in rows {
            if let Some(&at) = position.get(row.group_id.as_str()) {
                page[at].members.push(group_member(row)?);
            }
        }
    }
    // Here, not by the database, whose collation may order text differently.
    for group in &mut page {
        group.members.sort_by_cached_key(|m| (m.email_id.normalized(), m.id.as_str().to_owned()));
    }
    Ok(GroupPage { total, groups: page })
}

fn group_member(row: MemberRow) -> Result<GroupMember, StoreError> {
    let activation = row.member_activation.as_deref().and_then(Activation::parse);
    Ok(GroupMember {
        id: RosterId::parse(row.id).map_err(stored)?,
        email_id: EmailId::parse(row.member_email_id.unwrap_or_default()).map_err(stored)?,
        given_name: row.given_name,
        surname: row.surname,
        is_active: row.is_active,
        activation: activation.ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("member without activation")))?,
    })
}

/// A page of the distinct role ids of `kind` that live members of the application hold.
pub(super) async fn list_roles(
    conn: &impl ConnectionTrait,
    app_id: &AppId,
    kind: RoleKind,
    offset: u64,
    limit: u64,
) -> Result<RolePage, StoreError> {
    let role_id = (roles::Entity, roles::Column::RoleId);
    let bot_id = Expr::col((roles::Entity, roles::Column::BotId));
    let mut held = Query::select();
    held.from(roles::Entity)
        .inner_join(
            users::Entity,
            Expr::col((users::Entity, users::Column::Id)).equals((roles::Entity, roles::Column::UserPk)),
        )
        .and_where(Expr::col((roles::Entity, roles::Column::AppId)).eq(app_id.as_str()))
        .and_where(Expr::col((users::Entity, users::Column::DeletingSince)).is_null())
        .and_where(match kind {
            RoleKind::Admin => bot_id.eq(""),
            RoleKind::Bot => bot_id.ne(""),
        });
    let backend = conn.get_database_backend();
    let count = held.clone().expr(Expr::col(role_id).count_distinct()).to_owned();
    let total = conn
        .query_one(backend.build(&count))
        .await
        .map_err(unexpected)?
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()
        .map_err(unexpected)?
        .unwrap_or_default();
    let page =
        held.distinct().column(role_id).order_by(role_id, sea_orm::Order::Asc).offset(offset).limit(limit).to_owned();
    let role_ids = conn
        .query_all(backend.build(&page))
        .await
        .map_err(unexpected)?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()
        .map_err(unexpected)?;
    Ok(RolePage { total: u64::try_from(total).unwrap_or_default(), role_ids })
}

/// A stored value that no longer parses: a server fault.
fn stored(err: crate::domain::ValidationError) -> StoreError {
    StoreError::Unexpected(anyhow::anyhow!("stored member data is invalid: {err}"))
}
