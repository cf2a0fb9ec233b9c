//! Kore.ai members. The member's keys live on the user's own row, so one multi-row INSERT ...
//! ON CONFLICT DO NOTHING decides every uniqueness rule of a bulk import at once; what has no
//! uniqueness rule (groups, roles, bot tasks, flags) is one JSON column. Groups also get a table
//! of their own, a row per group created the first time a member names it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    AppId,
    MemberEmailId,
    MemberEmailNorm,
    MemberOrgUserId,
    MemberActivation,
    MemberAttributes,
}

#[derive(DeriveIden)]
enum MemberGroups {
    Table,
    AppId,
    GroupId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE. NULL on every user that is not a member.
        for column in [
            ColumnDef::new(Users::MemberEmailId).text().null().to_owned(),
            // Lowercased: what uniqueness among members is decided on.
            ColumnDef::new(Users::MemberEmailNorm).text().null().to_owned(),
            ColumnDef::new(Users::MemberOrgUserId).text().null().to_owned(),
            ColumnDef::new(Users::MemberActivation).string_len(16).null().to_owned(),
            // JSON: groups, roles, bot tasks, can_create_bot, is_developer.
            ColumnDef::new(Users::MemberAttributes).text().null().to_owned(),
        ] {
            manager.alter_table(Table::alter().table(Users::Table).add_column(column).to_owned()).await?;
        }
        // NULLs are distinct in unique indexes on both backends, so users who are not members
        // never collide. Email ids are at most 128 characters and org user ids 256: well within
        // a PostgreSQL B-tree entry.
        for (name, column) in [
            ("users_app_member_email_key", Users::MemberEmailNorm),
            ("users_app_member_org_user_id_key", Users::MemberOrgUserId),
        ] {
            manager
                .create_index(
                    Index::create().name(name).table(Users::Table).unique().col(Users::AppId).col(column).to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(MemberGroups::Table)
                    .col(ColumnDef::new(MemberGroups::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(MemberGroups::GroupId).text().not_null())
                    .col(ColumnDef::new(MemberGroups::CreatedAt).big_integer().not_null())
                    .primary_key(
                        Index::create().name("member_groups_pkey").col(MemberGroups::AppId).col(MemberGroups::GroupId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MemberGroups::Table).to_owned()).await?;
        for name in ["users_app_member_org_user_id_key", "users_app_member_email_key"] {
            manager.drop_index(Index::drop().name(name).table(Users::Table).to_owned()).await?;
        }
        for column in [
            Users::MemberAttributes,
            Users::MemberActivation,
            Users::MemberOrgUserId,
            Users::MemberEmailNorm,
            Users::MemberEmailId,
        ] {
            manager.alter_table(Table::alter().table(Users::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
