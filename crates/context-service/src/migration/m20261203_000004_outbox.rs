//! The transactional outbox of conversation events, written with the change and read in order by
//! the relay to event-service.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContextOutbox {
    Table,
    Seq,
    Id,
    AppId,
    Kind,
    SubjectId,
    UserId,
    Detail,
    Resource,
    CreatedAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ContextOutbox::Table)
                    .col(ColumnDef::new(ContextOutbox::Seq).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(ContextOutbox::Id).string_len(24).not_null().unique_key())
                    .col(ColumnDef::new(ContextOutbox::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(ContextOutbox::Kind).string_len(64).not_null())
                    .col(ColumnDef::new(ContextOutbox::SubjectId).string_len(64).not_null())
                    .col(ColumnDef::new(ContextOutbox::UserId).string_len(64).null())
                    .col(ColumnDef::new(ContextOutbox::Detail).string_len(128).not_null())
                    .col(ColumnDef::new(ContextOutbox::Resource).binary().not_null())
                    .col(ColumnDef::new(ContextOutbox::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(ContextOutbox::DeliveredAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("context_outbox_unpublished_idx")
                    .table(ContextOutbox::Table)
                    .col(ContextOutbox::DeliveredAt)
                    .col(ContextOutbox::Seq)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ContextOutbox::Table).to_owned()).await
    }
}
