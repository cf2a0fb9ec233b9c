//! Context-service schema, one migration per change, with its own history table.

use sea_orm_migration::prelude::*;

mod m20261124_000001_create_contexts;
mod m20261124_000002_create_conversations;
mod m20261203_000003_user_guards;
mod m20261203_000004_outbox;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_contexts::Migration),
            Box::new(m20261124_000002_create_conversations::Migration),
            Box::new(m20261203_000003_user_guards::Migration),
            Box::new(m20261203_000004_outbox::Migration),
        ]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("context_migrations").into_iden()
    }
}
