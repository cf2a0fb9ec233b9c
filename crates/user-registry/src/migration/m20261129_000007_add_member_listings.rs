//! Who is in each member group, and which roles members hold: a row per (group, member) and per
//! (member, role, bot), written in the member's transaction beside the JSON attributes the
//! member is read from, so groups can be listed with their members and roles listed distinct
//! without reading every member. They go with the user (ON DELETE CASCADE). Existing members
//! are indexed from their attributes.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, FromQueryResult},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    AppId,
    MemberAttributes,
}

#[derive(DeriveIden)]
enum MemberGroupUsers {
    Table,
    AppId,
    GroupId,
    UserPk,
}

#[derive(DeriveIden)]
enum MemberRoles {
    Table,
    UserPk,
    RoleId,
    BotId,
    AppId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MemberGroupUsers::Table)
                    .col(ColumnDef::new(MemberGroupUsers::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(MemberGroupUsers::GroupId).text().not_null())
                    .col(ColumnDef::new(MemberGroupUsers::UserPk).string_len(24).not_null())
                    .primary_key(
                        Index::create()
                            .name("member_group_users_pkey")
                            .col(MemberGroupUsers::AppId)
                            .col(MemberGroupUsers::GroupId)
                            .col(MemberGroupUsers::UserPk),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("member_group_users_user_fk")
                            .from(MemberGroupUsers::Table, MemberGroupUsers::UserPk)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MemberRoles::Table)
                    .col(ColumnDef::new(MemberRoles::UserPk).string_len(24).not_null())
                    .col(ColumnDef::new(MemberRoles::RoleId).text().not_null())
                    // Empty for a role held without a bot: bot ids are never empty.
                    .col(ColumnDef::new(MemberRoles::BotId).text().not_null())
                    .col(ColumnDef::new(MemberRoles::AppId).string_len(24).not_null())
                    .primary_key(
                        Index::create()
                            .name("member_roles_pkey")
                            .col(MemberRoles::UserPk)
                            .col(MemberRoles::RoleId)
                            .col(MemberRoles::BotId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("member_roles_user_fk")
                            .from(MemberRoles::Table, MemberRoles::UserPk)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A member's rows are replaced by user; roles are listed by application.
        manager
            .create_index(
                Index::create()
                    .name("member_group_users_user_idx")
                    .table(MemberGroupUsers::Table)
                    .col(MemberGroupUsers::UserPk)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("member_roles_app_role_idx")
                    .table(MemberRoles::Table)
                    .col(MemberRoles::AppId)
                    .col(MemberRoles::RoleId)
                    .to_owned(),
            )
            .await?;
        index_existing_members(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MemberRoles::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(MemberGroupUsers::Table).to_owned()).await
    }
}

#[derive(FromQueryResult)]
struct Row {
    id: String,
    app_id: String,
    member_attributes: String,
}

/// The attributes as this migration found them stored (a frozen copy of the store's format).
#[derive(serde::Deserialize)]
struct Attributes {
    groups: Vec<String>,
    roles: Vec<Role>,
}

#[derive(serde::Deserialize)]
struct Role {
    role_id: String,
    bot_id: Option<String>,
}

/// Members a keyset page at a time, so no table is read whole into memory.
async fn index_existing_members(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    const PAGE: u64 = 500;
    let db = manager.get_connection();
    let backend = db.get_database_backend();
    let mut after = String::new();
    loop {
        let select = Query::select()
            .columns([Users::Id, Users::AppId, Users::MemberAttributes])
            .from(Users::Table)
            .and_where(Expr::col(Users::MemberAttributes).is_not_null())
            .and_where(Expr::col(Users::Id).gt(after.clone()))
            .order_by(Users::Id, Order::Asc)
            .limit(PAGE)
            .to_owned();
        let rows = Row::find_by_statement(backend.build(&select)).all(db).await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.id.clone();
        for row in rows {
            let attributes: Attributes = serde_json::from_str(&row.member_attributes)
                .map_err(|e| DbErr::Migration(format!("member {}: attributes: {e}", row.id)))?;
            for group in attributes.groups {
                let mut insert = Query::insert();
                insert
                    .into_table(MemberGroupUsers::Table)
                    .columns([MemberGroupUsers::AppId, MemberGroupUsers::GroupId, MemberGroupUsers::UserPk])
                    .on_conflict(OnConflict::new().do_nothing().to_owned());
                insert.values([row.app_id.clone().into(), group.into(), row.id.clone().into()]).map_err(query)?;
                db.execute(backend.build(&insert)).await?;
            }
            for role in attributes.roles {
                let mut insert = Query::insert();
                insert
                    .into_table(MemberRoles::Table)
                    .columns([MemberRoles::UserPk, MemberRoles::RoleId, MemberRoles::BotId, MemberRoles::AppId])
                    .on_conflict(OnConflict::new().do_nothing().to_owned());
                let bot_id = role.bot_id.unwrap_or_default();
                insert
                    .values([row.id.clone().into(), role.role_id.into(), bot_id.into(), row.app_id.clone().into()])
                    .map_err(query)?;
                db.execute(backend.build(&insert)).await?;
            }
        }
    }
}

fn query(err: sea_query::error::Error) -> DbErr {
    DbErr::Migration(err.to_string())
}
