//! Deletion claims: a user whose deletion must first be announced to the other services is
//! claimed (`deleting_since`, the claim's instant) in a short transaction, the services are told
//! with no transaction open, and a second short transaction deletes it. A claimed user is gone to
//! every lookup; a claim older than its lease was left by a process that died, and a later pass
//! finishes it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    AppId,
    DeletingSince,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::DeletingSince).big_integer().null())
                    .to_owned(),
            )
            .await?;
        // The reaper's search for claims whose lease ran out.
        manager
            .create_index(
                Index::create()
                    .name("users_deleting_idx")
                    .table(Users::Table)
                    .col(Users::AppId)
                    .col(Users::DeletingSince)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("users_deleting_idx").table(Users::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::DeletingSince).to_owned()).await
    }
}
