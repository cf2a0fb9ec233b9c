//! A row per user this service holds something of, locked by every write that adds to a user
//! (a conversation's participants) and by the deletion of the user's data, which marks it
//! `deleted_at`: a join racing a deletion either lands before it (and is deleted with the rest)
//! or is refused after it, never left behind.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContextUsers {
    Table,
    AppId,
    UserId,
    DeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ContextUsers::Table)
                    .col(ColumnDef::new(ContextUsers::AppId).string().not_null())
                    .col(ColumnDef::new(ContextUsers::UserId).string().not_null())
                    .col(ColumnDef::new(ContextUsers::DeletedAt).big_integer().null())
                    .primary_key(
                        Index::create().name("context_users_pkey").col(ContextUsers::AppId).col(ContextUsers::UserId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ContextUsers::Table).to_owned()).await
    }
}
