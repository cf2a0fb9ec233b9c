use sea_orm_migration::prelude::*;

use crate::store::API_TOKEN_HASH_KEY;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Applications {
    Table,
    Id,
    Name,
    SessionTokenTtlSecs,
    AccessTokenLimit,
    AllowTokenlessUsers,
    UnassociatedUserTtlSecs,
    RateLimitPerSecond,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    AppId,
    Name,
    TokenHash,
    Scopes,
    CreatedAt,
    RevokedAt,
}

/// Per-user "every token issued before this instant is revoked", kept durably so a cache flush
/// never brings a revoked token back.
#[derive(DeriveIden)]
enum UserRevocations {
    Table,
    AppId,
    UserId,
    RevokedBefore,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Applications::Table)
                    .col(ColumnDef::new(Applications::Id).string_len(24).not_null().primary_key())
                    .col(ColumnDef::new(Applications::Name).text().not_null())
                    .col(ColumnDef::new(Applications::SessionTokenTtlSecs).big_integer().not_null())
                    .col(ColumnDef::new(Applications::AccessTokenLimit).integer().not_null())
                    .col(ColumnDef::new(Applications::AllowTokenlessUsers).boolean().not_null())
                    .col(ColumnDef::new(Applications::UnassociatedUserTtlSecs).big_integer().not_null())
                    .col(ColumnDef::new(Applications::RateLimitPerSecond).integer().not_null())
                    .col(ColumnDef::new(Applications::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(ColumnDef::new(ApiTokens::Id).string_len(24).not_null().primary_key())
                    .col(ColumnDef::new(ApiTokens::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(ApiTokens::Name).text().not_null())
                    .col(ColumnDef::new(ApiTokens::TokenHash).string_len(64).not_null())
                    .col(ColumnDef::new(ApiTokens::Scopes).text().not_null())
                    .col(ColumnDef::new(ApiTokens::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(ApiTokens::RevokedAt).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("api_tokens_app_fk")
                            .from(ApiTokens::Table, ApiTokens::AppId)
                            .to(Applications::Table, Applications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(API_TOKEN_HASH_KEY.name)
                    .table(ApiTokens::Table)
                    .col(ApiTokens::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("api_tokens_app_idx").table(ApiTokens::Table).col(ApiTokens::AppId).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserRevocations::Table)
                    .col(ColumnDef::new(UserRevocations::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(UserRevocations::UserId).text().not_null())
                    .col(ColumnDef::new(UserRevocations::RevokedBefore).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .name("user_revocations_pkey")
                            .col(UserRevocations::AppId)
                            .col(UserRevocations::UserId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ApiTokens::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Applications::Table).to_owned()).await
    }
}
