use sea_orm_migration::prelude::*;

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
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Contexts::Table).to_owned()).await
    }
}
