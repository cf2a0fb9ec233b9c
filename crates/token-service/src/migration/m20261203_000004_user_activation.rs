//! Deactivation: the registry tells token-service when a user is deactivated or reactivated, and
//! token-service keeps it beside the revocation state, so validation refuses a deactivated
//! user's tokens without asking the registry.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TokenUsers {
    Table,
    DeactivatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(TokenUsers::Table)
                    .add_column(ColumnDef::new(TokenUsers::DeactivatedAt).big_integer().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(TokenUsers::Table).drop_column(TokenUsers::DeactivatedAt).to_owned())
            .await
    }
}
