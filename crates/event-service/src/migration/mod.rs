//! Event-service schema, one migration per change, with its own history table.

use sea_orm_migration::prelude::*;

mod m20261203_000001_create_events;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261203_000001_create_events::Migration)]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("event_migrations").into_iden()
    }
}
