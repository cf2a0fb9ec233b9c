use sea_orm_migration::prelude::*;

use crate::store::{EXTERNAL_ID_KEY, USER_ID_KEY};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    AppId,
    UserId,
    ExternalId,
    ExternalIdNorm,
    Nickname,
    ProfileUrl,
    Metadata,
    IsActive,
    Origin,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(
                        ColumnDef::new(Users::Id)
                            .string_len(24)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Users::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(Users::UserId).text().not_null())
                    .col(ColumnDef::new(Users::ExternalId).text().null())
                    .col(ColumnDef::new(Users::ExternalIdNorm).text().null())
                    .col(ColumnDef::new(Users::Nickname).text().not_null())
                    .col(ColumnDef::new(Users::ProfileUrl).text().not_null())
                    .col(ColumnDef::new(Users::Metadata).text().not_null())
                    .col(ColumnDef::new(Users::IsActive).boolean().not_null())
                    .col(ColumnDef::new(Users::Origin).string_len(16).not_null())
                    .col(ColumnDef::new(Users::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Users::UpdatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        for (key, columns) in [
            (USER_ID_KEY, [Users::AppId, Users::UserId]),
            (EXTERNAL_ID_KEY, [Users::AppId, Users::ExternalIdNorm]),
        ] {
            let mut index = Index::create();
            index.name(key.name).table(Users::Table).unique();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        // Keyset pages walk (app_id, id).
        manager
            .create_index(
                Index::create()
                    .name("users_app_id_idx")
                    .table(Users::Table)
                    .col(Users::AppId)
                    .col(Users::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}
