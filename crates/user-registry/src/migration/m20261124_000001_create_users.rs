use sea_orm_migration::prelude::*;

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
    GivenName,
    Surname,
    DisplayName,
    Email,
    Language,
    AvatarUrl,
    PreferredLanguages,
    IsActive,
    Origin,
    CreatedAt,
    UpdatedAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum UserMetadata {
    Table,
    UserPk,
    AppId,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum ProfileImages {
    Table,
    UserPk,
    ContentType,
    Data,
    Digest,
}

#[derive(DeriveIden)]
enum UserDiscoveryKeys {
    Table,
    AppId,
    DiscoveryKey,
    UserPk,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(ColumnDef::new(Users::Id).string_len(24).not_null().primary_key())
                    .col(ColumnDef::new(Users::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(Users::UserId).text().not_null())
                    .col(ColumnDef::new(Users::ExternalId).text().null())
                    .col(ColumnDef::new(Users::ExternalIdNorm).text().null())
                    .col(ColumnDef::new(Users::Nickname).text().not_null())
                    .col(ColumnDef::new(Users::ProfileUrl).text().not_null())
                    .col(ColumnDef::new(Users::GivenName).text().null())
                    .col(ColumnDef::new(Users::Surname).text().null())
                    .col(ColumnDef::new(Users::DisplayName).text().null())
                    .col(ColumnDef::new(Users::Email).text().null())
                    .col(ColumnDef::new(Users::Language).text().null())
                    .col(ColumnDef::new(Users::AvatarUrl).text().null())
                    .col(ColumnDef::new(Users::PreferredLanguages).text().not_null())
                    .col(ColumnDef::new(Users::IsActive).boolean().not_null())
                    .col(ColumnDef::new(Users::Origin).string_len(16).not_null())
                    .col(ColumnDef::new(Users::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Users::UpdatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Users::LastSeenAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("users_app_user_id_key", [Users::AppId, Users::UserId]),
            ("users_app_external_id_key", [Users::AppId, Users::ExternalIdNorm]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Users::Table).unique();
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
            .await?;

        // One row per key, so a write of one key never races a write of another.
        manager
            .create_table(
                Table::create()
                    .table(UserMetadata::Table)
                    .col(ColumnDef::new(UserMetadata::UserPk).string_len(24).not_null())
                    .col(ColumnDef::new(UserMetadata::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(UserMetadata::Key).text().not_null())
                    // A JSON scalar: "text", 12, 1.5, true.
                    .col(ColumnDef::new(UserMetadata::Value).text().not_null())
                    .primary_key(
                        Index::create().name("user_metadata_pkey").col(UserMetadata::UserPk).col(UserMetadata::Key),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("user_metadata_user_fk")
                            .from(UserMetadata::Table, UserMetadata::UserPk)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Lists filtered by a metadata key and values.
        manager
            .create_index(
                Index::create()
                    .name("user_metadata_app_key_value_idx")
                    .table(UserMetadata::Table)
                    .col(UserMetadata::AppId)
                    .col(UserMetadata::Key)
                    .col(UserMetadata::Value)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UserDiscoveryKeys::Table)
                    .col(ColumnDef::new(UserDiscoveryKeys::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(UserDiscoveryKeys::DiscoveryKey).text().not_null())
                    .col(ColumnDef::new(UserDiscoveryKeys::UserPk).string_len(24).not_null())
                    .primary_key(
                        Index::create()
                            .name("user_discovery_keys_pkey")
                            .col(UserDiscoveryKeys::AppId)
                            .col(UserDiscoveryKeys::DiscoveryKey),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("user_discovery_keys_user_fk")
                            .from(UserDiscoveryKeys::Table, UserDiscoveryKeys::UserPk)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("user_discovery_keys_user_idx")
                    .table(UserDiscoveryKeys::Table)
                    .col(UserDiscoveryKeys::UserPk)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProfileImages::Table)
                    .col(ColumnDef::new(ProfileImages::UserPk).string_len(24).not_null().primary_key())
                    .col(ColumnDef::new(ProfileImages::ContentType).string_len(16).not_null())
                    .col(ColumnDef::new(ProfileImages::Data).blob().not_null())
                    .col(ColumnDef::new(ProfileImages::Digest).string_len(16).not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("profile_images_user_fk")
                            .from(ProfileImages::Table, ProfileImages::UserPk)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ProfileImages::Table.into_iden(),
            UserDiscoveryKeys::Table.into_iden(),
            UserMetadata::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
