//! Finding users by profile email (the dashboard's search): an index on the email compared
//! case-insensitively (ASCII, as SQLite's `lower()` compares), per application.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The same statement on PostgreSQL and SQLite: both index an expression.
        manager
            .get_connection()
            .execute_unprepared("CREATE INDEX users_app_email_lower_idx ON users (app_id, lower(email))")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX users_app_email_lower_idx").await?;
        Ok(())
    }
}
