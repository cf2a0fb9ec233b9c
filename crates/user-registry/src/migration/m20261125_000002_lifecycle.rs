//! What a user's life needs beyond its profile: association with a conversation (and the
//! reaper that deletes end users never associated), sealed sensitive metadata, the outbox of
//! events written with the change they describe, and a generated sealing key for stacks that
//! configure none.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    AppId,
    CreatedAt,
    AssociatedAt,
    ExpiresUnassociated,
}

#[derive(DeriveIden)]
enum UserSensitiveMetadata {
    Table,
    UserPk,
    AppId,
    Kid,
    Sealed,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Id,
    AppId,
    Kind,
    SubjectId,
    Payload,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum RegistryKeys {
    Table,
    Kid,
    Secret,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::AssociatedAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::ExpiresUnassociated).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await?;
        // The reaper's scan: one application's expiring users, oldest first.
        manager
            .create_index(
                Index::create()
                    .name("users_unassociated_idx")
                    .table(Users::Table)
                    .col(Users::AppId)
                    .col(Users::ExpiresUnassociated)
                    .col(Users::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserSensitiveMetadata::Table)
                    .col(ColumnDef::new(UserSensitiveMetadata::UserPk).string_len(24).not_null().primary_key())
                    .col(ColumnDef::new(UserSensitiveMetadata::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(UserSensitiveMetadata::Kid).string_len(64).not_null())
                    // Nonce, ciphertext and tag of the JSON object of fields.
                    .col(ColumnDef::new(UserSensitiveMetadata::Sealed).blob().not_null())
                    .col(ColumnDef::new(UserSensitiveMetadata::UpdatedAt).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("user_sensitive_metadata_user_fk")
                            .from(UserSensitiveMetadata::Table, UserSensitiveMetadata::UserPk)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OutboxEvents::Table)
                    .col(ColumnDef::new(OutboxEvents::Id).string_len(24).not_null().primary_key())
                    .col(ColumnDef::new(OutboxEvents::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(OutboxEvents::Kind).string_len(64).not_null())
                    .col(ColumnDef::new(OutboxEvents::SubjectId).string_len(24).not_null())
                    .col(ColumnDef::new(OutboxEvents::Payload).text().not_null())
                    .col(ColumnDef::new(OutboxEvents::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(OutboxEvents::DeliveredAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        // Delivery reads undelivered events in order.
        manager
            .create_index(
                Index::create()
                    .name("outbox_events_pending_idx")
                    .table(OutboxEvents::Table)
                    .col(OutboxEvents::DeliveredAt)
                    .col(OutboxEvents::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RegistryKeys::Table)
                    .col(ColumnDef::new(RegistryKeys::Kid).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(RegistryKeys::Secret).text().not_null())
                    .col(ColumnDef::new(RegistryKeys::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in
            [RegistryKeys::Table.into_iden(), OutboxEvents::Table.into_iden(), UserSensitiveMetadata::Table.into_iden()]
        {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager.drop_index(Index::drop().name("users_unassociated_idx").table(Users::Table).to_owned()).await?;
        for column in [Users::ExpiresUnassociated, Users::AssociatedAt] {
            manager.alter_table(Table::alter().table(Users::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
