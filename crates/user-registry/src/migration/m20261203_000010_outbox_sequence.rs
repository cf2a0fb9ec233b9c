//! The outbox gets a position (`seq`, assigned on insert) for the relay to publish in the order
//! written (per user, writes are serialised by the row lock, so a user's events come in the order
//! of their changes), and `resource`: the user after the change, as published. A new table,
//! `outbox`, replaces `outbox_events` (SQLite cannot add an auto-increment key to a table); rows
//! are carried over in order.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Seq,
    Id,
    AppId,
    Kind,
    SubjectId,
    Payload,
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
                    .table(Outbox::Table)
                    .col(ColumnDef::new(Outbox::Seq).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Outbox::Id).string_len(24).not_null().unique_key())
                    .col(ColumnDef::new(Outbox::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(Outbox::Kind).string_len(64).not_null())
                    .col(ColumnDef::new(Outbox::SubjectId).string_len(24).not_null())
                    .col(ColumnDef::new(Outbox::Payload).text().not_null())
                    .col(ColumnDef::new(Outbox::Resource).binary().null())
                    .col(ColumnDef::new(Outbox::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Outbox::DeliveredAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO outbox (id, app_id, kind, subject_id, payload, created_at, delivered_at) \
                 SELECT id, app_id, kind, subject_id, payload, created_at, delivered_at FROM outbox_events \
                 ORDER BY created_at, id",
            )
            .await?;
        manager.drop_table(Table::drop().table(Alias::new("outbox_events")).to_owned()).await?;
        // The relay reads unpublished rows in order.
        manager
            .create_index(
                Index::create()
                    .name("outbox_unpublished_idx")
                    .table(Outbox::Table)
                    .col(Outbox::DeliveredAt)
                    .col(Outbox::Seq)
                    .to_owned(),
            )
            .await
    }

    /// Back to `outbox_events` as 000002 made it, rows carried over (their resources dropped).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("outbox_events"))
                    .col(ColumnDef::new(Alias::new("id")).string_len(24).not_null().primary_key())
                    .col(ColumnDef::new(Alias::new("app_id")).string_len(24).not_null())
                    .col(ColumnDef::new(Alias::new("kind")).string_len(64).not_null())
                    .col(ColumnDef::new(Alias::new("subject_id")).string_len(24).not_null())
                    .col(ColumnDef::new(Alias::new("payload")).text().not_null())
                    .col(ColumnDef::new(Alias::new("created_at")).big_integer().not_null())
                    .col(ColumnDef::new(Alias::new("delivered_at")).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_events_pending_idx")
                    .table(Alias::new("outbox_events"))
                    .col(Alias::new("delivered_at"))
                    .col(Alias::new("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO outbox_events (id, app_id, kind, subject_id, payload, created_at, delivered_at) \
                 SELECT id, app_id, kind, subject_id, payload, created_at, delivered_at FROM outbox ORDER BY seq",
            )
            .await?;
        manager.drop_table(Table::drop().table(Outbox::Table).to_owned()).await
    }
}
