//! The dashboard's sign-in sessions: a random id (kept as its SHA-256), a CSRF token, an expiry,
//! and the applications signed in to, each through one of its API tokens (revoking the token
//! signs the session out of that application).

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum ConsoleSessions {
    Table,
    IdHash,
    Csrf,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ConsoleSessionApps {
    Table,
    SessionHash,
    AppId,
    ApiTokenId,
    AddedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConsoleSessions::Table)
                    .col(ColumnDef::new(ConsoleSessions::IdHash).string().not_null().primary_key())
                    .col(ColumnDef::new(ConsoleSessions::Csrf).string().not_null())
                    .col(ColumnDef::new(ConsoleSessions::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(ConsoleSessions::ExpiresAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("console_sessions_expires_idx")
                    .table(ConsoleSessions::Table)
                    .col(ConsoleSessions::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConsoleSessionApps::Table)
                    .col(ColumnDef::new(ConsoleSessionApps::SessionHash).string().not_null())
                    .col(ColumnDef::new(ConsoleSessionApps::AppId).string().not_null())
                    .col(ColumnDef::new(ConsoleSessionApps::ApiTokenId).string().not_null())
                    .col(ColumnDef::new(ConsoleSessionApps::AddedAt).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .name("console_session_apps_pkey")
                            .col(ConsoleSessionApps::SessionHash)
                            .col(ConsoleSessionApps::AppId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("console_session_apps_session_fkey")
                            .from(ConsoleSessionApps::Table, ConsoleSessionApps::SessionHash)
                            .to(ConsoleSessions::Table, ConsoleSessions::IdHash)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ConsoleSessionApps::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ConsoleSessions::Table).to_owned()).await
    }
}
