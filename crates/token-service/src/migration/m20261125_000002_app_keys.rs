//! Credentials customers sign JWTs with: app keys (the secret sealed, because verifying HS256
//! needs it back), registered public keys (RS256/ES256), and the generated sealing key for
//! stacks that configure none.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AppKeys {
    Table,
    Id,
    AppId,
    DisplayName,
    SealKid,
    SealedSecret,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PublicKeys {
    Table,
    Id,
    AppId,
    Algorithm,
    Pem,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TokenSealingKeys {
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
                    .table(AppKeys::Table)
                    .col(ColumnDef::new(AppKeys::Id).string_len(32).not_null().primary_key())
                    .col(ColumnDef::new(AppKeys::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(AppKeys::DisplayName).text().not_null())
                    .col(ColumnDef::new(AppKeys::SealKid).string_len(64).not_null())
                    .col(ColumnDef::new(AppKeys::SealedSecret).blob().not_null())
                    .col(ColumnDef::new(AppKeys::CreatedAt).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("app_keys_app_fk")
                            .from(AppKeys::Table, AppKeys::AppId)
                            .to(Applications::Table, Applications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("app_keys_app_idx").table(AppKeys::Table).col(AppKeys::AppId).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PublicKeys::Table)
                    .col(ColumnDef::new(PublicKeys::Id).string_len(32).not_null().primary_key())
                    .col(ColumnDef::new(PublicKeys::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(PublicKeys::Algorithm).string_len(8).not_null())
                    .col(ColumnDef::new(PublicKeys::Pem).text().not_null())
                    .col(ColumnDef::new(PublicKeys::CreatedAt).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("public_keys_app_fk")
                            .from(PublicKeys::Table, PublicKeys::AppId)
                            .to(Applications::Table, Applications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("public_keys_app_idx").table(PublicKeys::Table).col(PublicKeys::AppId).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TokenSealingKeys::Table)
                    .col(ColumnDef::new(TokenSealingKeys::Kid).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(TokenSealingKeys::Secret).text().not_null())
                    .col(ColumnDef::new(TokenSealingKeys::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [TokenSealingKeys::Table.into_iden(), PublicKeys::Table.into_iden(), AppKeys::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
