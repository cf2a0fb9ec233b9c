//! Events (each stored once, numbered in the order stored), subscriptions with their sealed
//! secrets, deliveries (one per event and subscription), and the generated sealing key.
//! Table and index names are frozen here: a later rename is a new migration.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Seq,
    Id,
    AppId,
    Kind,
    SubjectId,
    OccurredAt,
    StoredAt,
    Payload,
}

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    AppId,
    Format,
    Target,
    EventTypes,
    Enabled,
    Attributes,
    GroupId,
    SecretKid,
    Secret,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Seq,
    Id,
    AppId,
    SubscriptionId,
    EventSeq,
    SubjectId,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseId,
    LeaseUntil,
    LastStatus,
    LastError,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum EventKeys {
    Table,
    Kid,
    Secret,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(ColumnDef::new(Events::Seq).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Events::Id).string_len(24).not_null().unique_key())
                    .col(ColumnDef::new(Events::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(Events::Kind).string_len(64).not_null())
                    .col(ColumnDef::new(Events::SubjectId).string_len(64).not_null())
                    .col(ColumnDef::new(Events::OccurredAt).big_integer().not_null())
                    .col(ColumnDef::new(Events::StoredAt).big_integer().not_null())
                    .col(ColumnDef::new(Events::Payload).binary().not_null())
                    .to_owned(),
            )
            .await?;
        // WatchEvents reads one application's events in order.
        manager
            .create_index(
                Index::create()
                    .name("events_app_seq_idx")
                    .table(Events::Table)
                    .col(Events::AppId)
                    .col(Events::Seq)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Subscriptions::Table)
                    .col(ColumnDef::new(Subscriptions::Id).string_len(24).not_null().primary_key())
                    .col(ColumnDef::new(Subscriptions::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(Subscriptions::Format).string_len(16).not_null())
                    .col(ColumnDef::new(Subscriptions::Target).text().not_null())
                    .col(ColumnDef::new(Subscriptions::EventTypes).text().not_null())
                    .col(ColumnDef::new(Subscriptions::Enabled).boolean().not_null())
                    .col(ColumnDef::new(Subscriptions::Attributes).text().not_null())
                    .col(ColumnDef::new(Subscriptions::GroupId).string_len(64).not_null())
                    .col(ColumnDef::new(Subscriptions::SecretKid).string_len(64).not_null())
                    .col(ColumnDef::new(Subscriptions::Secret).binary().not_null())
                    .col(ColumnDef::new(Subscriptions::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Subscriptions::UpdatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("subscriptions_app_idx")
                    .table(Subscriptions::Table)
                    .col(Subscriptions::AppId)
                    .col(Subscriptions::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .col(ColumnDef::new(Deliveries::Seq).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Deliveries::Id).string_len(24).not_null().unique_key())
                    .col(ColumnDef::new(Deliveries::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(Deliveries::SubscriptionId).string_len(24).not_null())
                    .col(ColumnDef::new(Deliveries::EventSeq).big_integer().not_null())
                    .col(ColumnDef::new(Deliveries::SubjectId).string_len(64).not_null())
                    .col(ColumnDef::new(Deliveries::Status).small_integer().not_null())
                    .col(ColumnDef::new(Deliveries::Attempts).integer().not_null())
                    .col(ColumnDef::new(Deliveries::NextAttemptAt).big_integer().not_null())
                    .col(ColumnDef::new(Deliveries::LeaseId).string_len(32).null())
                    .col(ColumnDef::new(Deliveries::LeaseUntil).big_integer().not_null())
                    .col(ColumnDef::new(Deliveries::LastStatus).integer().not_null())
                    .col(ColumnDef::new(Deliveries::LastError).text().not_null())
                    .col(ColumnDef::new(Deliveries::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Deliveries::FinishedAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        // Leasing reads pending deliveries in order; ordering asks for the earlier pending ones of
        // a (subscription, subject); listing reads an application's newest first.
        for (name, cols) in [
            ("deliveries_pending_idx", vec![Deliveries::Status, Deliveries::Seq]),
            ("deliveries_order_idx", vec![Deliveries::SubscriptionId, Deliveries::SubjectId, Deliveries::Seq]),
            ("deliveries_app_idx", vec![Deliveries::AppId, Deliveries::Seq]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Deliveries::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(EventKeys::Table)
                    .col(ColumnDef::new(EventKeys::Kid).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(EventKeys::Secret).text().not_null())
                    .col(ColumnDef::new(EventKeys::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in
            [Alias::new("event_keys"), Alias::new("deliveries"), Alias::new("subscriptions"), Alias::new("events")]
        {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
