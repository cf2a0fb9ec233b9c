//! Sunshine's user facts: when the user signed up, whether to retain it, whether a JWT login
//! authenticated it, and its channel identities (each held by at most one user of an
//! application).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    SignedUpAt,
    ToBeRetained,
    Authenticated,
}

#[derive(DeriveIden)]
enum UserIdentities {
    Table,
    AppId,
    ChannelType,
    ValueDigest,
    Value,
    UserPk,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [
            ColumnDef::new(Users::SignedUpAt).big_integer().null().to_owned(),
            ColumnDef::new(Users::ToBeRetained).boolean().not_null().default(false).to_owned(),
            ColumnDef::new(Users::Authenticated).boolean().not_null().default(false).to_owned(),
        ] {
            manager.alter_table(Table::alter().table(Users::Table).add_column(column).to_owned()).await?;
        }

        // Unique by a digest of the value, not the value: a value may be 1024 characters (4 KB of
        // UTF-8), more than a PostgreSQL B-tree entry holds (2704 bytes).
        manager
            .create_table(
                Table::create()
                    .table(UserIdentities::Table)
                    .col(ColumnDef::new(UserIdentities::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(UserIdentities::ChannelType).string_len(64).not_null())
                    // Hex SHA-256 of the value.
                    .col(ColumnDef::new(UserIdentities::ValueDigest).string_len(64).not_null())
                    .col(ColumnDef::new(UserIdentities::Value).text().not_null())
                    .col(ColumnDef::new(UserIdentities::UserPk).string_len(24).not_null())
                    .primary_key(
                        Index::create()
                            .name("user_identities_pkey")
                            .col(UserIdentities::AppId)
                            .col(UserIdentities::ChannelType)
                            .col(UserIdentities::ValueDigest),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("user_identities_user_fk")
                            .from(UserIdentities::Table, UserIdentities::UserPk)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("user_identities_user_idx")
                    .table(UserIdentities::Table)
                    .col(UserIdentities::UserPk)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(UserIdentities::Table).to_owned()).await?;
        for column in [Users::Authenticated, Users::ToBeRetained, Users::SignedUpAt] {
            manager.alter_table(Table::alter().table(Users::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
