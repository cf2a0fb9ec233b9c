//! One name and one picture per user, whichever dialect writes them: Ada's `display_name` and
//! Sendbird's `nickname` are the same value, as are Ada's `avatar`, Sunshine's `avatarUrl` and
//! Sendbird's `profile_url`. The profile's own copies move into `nickname` and `profile_url`
//! where those were empty (where both were set, Sendbird's value stays), then go.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Nickname,
    ProfileUrl,
    DisplayName,
    AvatarUrl,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        for (target, source) in [(Users::Nickname, Users::DisplayName), (Users::ProfileUrl, Users::AvatarUrl)] {
            let copy = Query::update()
                .table(Users::Table)
                .value(target, Expr::col(source))
                .and_where(Expr::col(target).eq(""))
                .and_where(Expr::col(source).is_not_null())
                .to_owned();
            db.execute(backend.build(&copy)).await?;
        }
        for column in [Users::DisplayName, Users::AvatarUrl] {
            manager.alter_table(Table::alter().table(Users::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Users::DisplayName, Users::AvatarUrl] {
            manager
                .alter_table(
                    Table::alter().table(Users::Table).add_column(ColumnDef::new(column).text().null()).to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
