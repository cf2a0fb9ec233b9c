use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Channels {
    Table,
    AppId,
    Id,
    Name,
    Description,
    Modality,
    Metadata,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    AppId,
    Id,
    Kind,
    DisplayName,
    Description,
    Metadata,
    ChannelId,
    AgentId,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ConversationParticipants {
    Table,
    AppId,
    ConversationId,
    UserId,
    Id,
    Position,
    JoinedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Channels::Table)
                    .col(ColumnDef::new(Channels::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(Channels::Id).string_len(24).not_null())
                    .col(ColumnDef::new(Channels::Name).text().not_null())
                    .col(ColumnDef::new(Channels::Description).text().null())
                    .col(ColumnDef::new(Channels::Modality).text().not_null())
                    .col(ColumnDef::new(Channels::Metadata).text().not_null())
                    .col(ColumnDef::new(Channels::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Channels::UpdatedAt).big_integer().not_null())
                    .primary_key(Index::create().name("channels_pkey").col(Channels::AppId).col(Channels::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Conversations::Table)
                    .col(ColumnDef::new(Conversations::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(Conversations::Id).string_len(24).not_null())
                    .col(ColumnDef::new(Conversations::Kind).text().not_null())
                    .col(ColumnDef::new(Conversations::DisplayName).text().null())
                    .col(ColumnDef::new(Conversations::Description).text().null())
                    .col(ColumnDef::new(Conversations::Metadata).text().not_null())
                    .col(ColumnDef::new(Conversations::ChannelId).string_len(24).null())
                    .col(ColumnDef::new(Conversations::AgentId).text().null())
                    .col(ColumnDef::new(Conversations::Status).text().not_null())
                    .col(ColumnDef::new(Conversations::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Conversations::UpdatedAt).big_integer().not_null())
                    .primary_key(
                        Index::create().name("conversations_pkey").col(Conversations::AppId).col(Conversations::Id),
                    )
                    // A channel of the same application, or none (a NULL channel_id is not checked).
                    .foreign_key(
                        ForeignKey::create()
                            .name("conversations_channel_fk")
                            .from(Conversations::Table, (Conversations::AppId, Conversations::ChannelId))
                            .to(Channels::Table, (Channels::AppId, Channels::Id)),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConversationParticipants::Table)
                    .col(ColumnDef::new(ConversationParticipants::AppId).string_len(24).not_null())
                    .col(ColumnDef::new(ConversationParticipants::ConversationId).string_len(24).not_null())
                    .col(ColumnDef::new(ConversationParticipants::UserId).text().not_null())
                    .col(ColumnDef::new(ConversationParticipants::Id).string_len(24).not_null())
                    .col(ColumnDef::new(ConversationParticipants::Position).integer().not_null())
                    .col(ColumnDef::new(ConversationParticipants::JoinedAt).big_integer().not_null())
                    // One place per user in a conversation.
                    .primary_key(
                        Index::create()
                            .name("conversation_participants_pkey")
                            .col(ConversationParticipants::AppId)
                            .col(ConversationParticipants::ConversationId)
                            .col(ConversationParticipants::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("conversation_participants_conversation_fk")
                            .from(
                                ConversationParticipants::Table,
                                (ConversationParticipants::AppId, ConversationParticipants::ConversationId),
                            )
                            .to(Conversations::Table, (Conversations::AppId, Conversations::Id))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Pages of participants in the order given.
        manager
            .create_index(
                Index::create()
                    .name("conversation_participants_position_key")
                    .table(ConversationParticipants::Table)
                    .col(ConversationParticipants::AppId)
                    .col(ConversationParticipants::ConversationId)
                    .col(ConversationParticipants::Position)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // A user's places, found when the registry deletes the user.
        manager
            .create_index(
                Index::create()
                    .name("conversation_participants_user_idx")
                    .table(ConversationParticipants::Table)
                    .col(ConversationParticipants::AppId)
                    .col(ConversationParticipants::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in
            [ConversationParticipants::Table.into_iden(), Conversations::Table.into_iden(), Channels::Table.into_iden()]
        {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
