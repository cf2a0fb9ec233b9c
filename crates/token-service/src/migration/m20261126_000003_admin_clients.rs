//! Admin clients (Kore.ai's admin API apps): a client id, a sealed secret that signs HS256
//! JWTs, and the scopes the client holds.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AdminClients {
    Table,
    Id,
    AppId,
    Name,
    Scopes,
    SealKid,
    SealedSecret,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AdminClients::Table)
                    .col(ColumnDef::new(AdminClients::Id).string_len(48).not_null().primary_key())
                    .col(ColumnDef::new(AdminClients::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(AdminClients::Name).text().not_null())
                    // Comma-separated scope names.
                    .col(ColumnDef::new(AdminClients::Scopes).text().not_null())
                    .col(ColumnDef::new(AdminClients::SealKid).string_len(64).not_null())
                    .col(ColumnDef::new(AdminClients::SealedSecret).blob().not_null())
                    .col(ColumnDef::new(AdminClients::CreatedAt).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("admin_clients_app_fk")
                            .from(AdminClients::Table, AdminClients::AppId)
                            .to(Applications::Table, Applications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("admin_clients_app_idx")
                    .table(AdminClients::Table)
                    .col(AdminClients::AppId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AdminClients::Table).to_owned()).await
    }
}
