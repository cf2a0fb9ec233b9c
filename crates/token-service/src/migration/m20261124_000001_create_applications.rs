use sea_orm_migration::prelude::*;

use crate::store::{ACCESS_TOKEN_HASH_KEY, API_TOKEN_HASH_KEY};

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

/// One row per user that has tokens: "every session token issued before this instant is
/// revoked" (0: never), kept durably so a cache flush never brings a revoked token back. Its
/// row lock also serialises concurrent access-token issues for the user.
#[derive(DeriveIden)]
enum TokenUsers {
    Table,
    AppId,
    UserId,
    RevokedBefore,
    DeletedAt,
}

#[derive(DeriveIden)]
enum AccessTokens {
    Table,
    Id,
    AppId,
    UserId,
    TokenHash,
    CreatedAt,
    RevokedAt,
}

/// Generated session-token signing keys (used when none are configured).
#[derive(DeriveIden)]
enum SigningKeys {
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
                    .table(TokenUsers::Table)
                    .col(ColumnDef::new(TokenUsers::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(TokenUsers::UserId).text().not_null())
                    .col(ColumnDef::new(TokenUsers::RevokedBefore).big_integer().not_null())
                    // Set when the registry deleted the user: no token is issued for it again.
                    .col(ColumnDef::new(TokenUsers::DeletedAt).big_integer().null())
                    .primary_key(
                        Index::create().name("token_users_pkey").col(TokenUsers::AppId).col(TokenUsers::UserId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccessTokens::Table)
                    .col(ColumnDef::new(AccessTokens::Id).string_len(24).not_null().primary_key())
                    .col(ColumnDef::new(AccessTokens::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(AccessTokens::UserId).text().not_null())
                    .col(ColumnDef::new(AccessTokens::TokenHash).string_len(64).not_null())
                    .col(ColumnDef::new(AccessTokens::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(AccessTokens::RevokedAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(ACCESS_TOKEN_HASH_KEY.name)
                    .table(AccessTokens::Table)
                    .col(AccessTokens::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("access_tokens_user_idx")
                    .table(AccessTokens::Table)
                    .col(AccessTokens::AppId)
                    .col(AccessTokens::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(ColumnDef::new(SigningKeys::Kid).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(SigningKeys::Secret).text().not_null())
                    .col(ColumnDef::new(SigningKeys::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ApiTokens::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Applications::Table).to_owned()).await
    }
}
