use sea_orm_migration::prelude::*;

use crate::store::{AGENT_KEY, CHANNEL_KEY};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Contexts {
    Table,
    AppId,
    UserId,
    AgentId,
    Language,
    Country,
    Values,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    AppId,
    AgentId,
    Nickname,
    ProfileUrl,
    AgentType,
    CallbackUrl,
    IsPrivacyMode,
    EnableMarkAsRead,
    ShowMember,
    ChannelInvitationPreference,
    Metadata,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MessengerChannels {
    Table,
    AppId,
    ChannelUrl,
    AgentId,
    UserId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Contexts::Table)
                    .col(ColumnDef::new(Contexts::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(Contexts::UserId).text().not_null())
                    .col(ColumnDef::new(Contexts::AgentId).text().not_null())
                    .col(ColumnDef::new(Contexts::Language).text().null())
                    .col(ColumnDef::new(Contexts::Country).string_len(2).null())
                    .col(ColumnDef::new(Contexts::Values).text().not_null())
                    .col(ColumnDef::new(Contexts::UpdatedAt).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .name("contexts_pkey")
                            .col(Contexts::AppId)
                            .col(Contexts::UserId)
                            .col(Contexts::AgentId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Agents::Table)
                    .col(ColumnDef::new(Agents::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(Agents::AgentId).text().not_null())
                    .col(ColumnDef::new(Agents::Nickname).text().not_null())
                    .col(ColumnDef::new(Agents::ProfileUrl).text().not_null())
                    .col(ColumnDef::new(Agents::AgentType).text().not_null())
                    .col(ColumnDef::new(Agents::CallbackUrl).text().not_null())
                    .col(ColumnDef::new(Agents::IsPrivacyMode).boolean().not_null())
                    .col(ColumnDef::new(Agents::EnableMarkAsRead).boolean().not_null())
                    .col(ColumnDef::new(Agents::ShowMember).boolean().not_null())
                    .col(ColumnDef::new(Agents::ChannelInvitationPreference).integer().not_null())
                    .col(ColumnDef::new(Agents::Metadata).text().not_null())
                    .col(ColumnDef::new(Agents::CreatedAt).big_integer().not_null())
                    .primary_key(Index::create().name(AGENT_KEY.name).col(Agents::AppId).col(Agents::AgentId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MessengerChannels::Table)
                    .col(ColumnDef::new(MessengerChannels::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(MessengerChannels::ChannelUrl).text().not_null())
                    .col(ColumnDef::new(MessengerChannels::AgentId).text().not_null())
                    .col(ColumnDef::new(MessengerChannels::UserId).text().not_null())
                    .col(ColumnDef::new(MessengerChannels::CreatedAt).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .name("messenger_channels_pkey")
                            .col(MessengerChannels::AppId)
                            .col(MessengerChannels::ChannelUrl),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("messenger_channels_agent_fk")
                            .from(MessengerChannels::Table, (MessengerChannels::AppId, MessengerChannels::AgentId))
                            .to(Agents::Table, (Agents::AppId, Agents::AgentId))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One channel per (agent, user): concurrent opens converge on it.
        manager
            .create_index(
                Index::create()
                    .name(CHANNEL_KEY.name)
                    .table(MessengerChannels::Table)
                    .col(MessengerChannels::AppId)
                    .col(MessengerChannels::AgentId)
                    .col(MessengerChannels::UserId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [MessengerChannels::Table.into_iden(), Agents::Table.into_iden(), Contexts::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
