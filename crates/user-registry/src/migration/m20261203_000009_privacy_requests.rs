//! Data-subject requests (erasure, export), durable and carried out by a worker: a claim is a
//! lease (`claimed_until`), so a worker that dies mid-request leaves it to another. Once done,
//! `subjects` is cleared: the record keeps no personal data; an export lives until its expiry.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PrivacyRequests {
    Table,
    Id,
    AppId,
    Action,
    Status,
    Subjects,
    Options,
    Users,
    CreatedAt,
    UpdatedAt,
    ClaimedUntil,
    Attempts,
    Export,
    ExportKey,
    ExportExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PrivacyRequests::Table)
                    .col(ColumnDef::new(PrivacyRequests::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(PrivacyRequests::AppId).string().not_null())
                    .col(ColumnDef::new(PrivacyRequests::Action).string().not_null())
                    .col(ColumnDef::new(PrivacyRequests::Status).string().not_null())
                    .col(ColumnDef::new(PrivacyRequests::Subjects).text().null())
                    .col(ColumnDef::new(PrivacyRequests::Options).text().not_null())
                    .col(ColumnDef::new(PrivacyRequests::Users).integer().not_null().default(0))
                    .col(ColumnDef::new(PrivacyRequests::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(PrivacyRequests::UpdatedAt).big_integer().not_null())
                    .col(ColumnDef::new(PrivacyRequests::ClaimedUntil).big_integer().null())
                    .col(ColumnDef::new(PrivacyRequests::Attempts).integer().not_null().default(0))
                    .col(ColumnDef::new(PrivacyRequests::Export).blob().null())
                    .col(ColumnDef::new(PrivacyRequests::ExportKey).string().null())
                    .col(ColumnDef::new(PrivacyRequests::ExportExpiresAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        // Listing an application's requests, and the worker's search for open ones.
        manager
            .create_index(
                Index::create()
                    .name("privacy_requests_app_idx")
                    .table(PrivacyRequests::Table)
                    .col(PrivacyRequests::AppId)
                    .col(PrivacyRequests::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("privacy_requests_open_idx")
                    .table(PrivacyRequests::Table)
                    .col(PrivacyRequests::Status)
                    .col(PrivacyRequests::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PrivacyRequests::Table).to_owned()).await
    }
}
