//! Token-service schema, one migration per change, with its own history table.

use sea_orm_migration::prelude::*;

mod m20261124_000001_create_applications;
mod m20261125_000002_app_keys;
mod m20261126_000003_admin_clients;
mod m20261203_000004_user_activation;
mod m20261204_000005_console_sessions;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_applications::Migration),
            Box::new(m20261125_000002_app_keys::Migration),
            Box::new(m20261126_000003_admin_clients::Migration),
            Box::new(m20261203_000004_user_activation::Migration),
            Box::new(m20261204_000005_console_sessions::Migration),
        ]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("token_migrations").into_iden()
    }
}
