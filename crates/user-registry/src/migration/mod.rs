//! The registry's schema, one migration per change. Its own history table keeps it apart from
//! the other services when they share one PostgreSQL database.

use sea_orm_migration::prelude::*;

mod m20261124_000001_create_users;
mod m20261125_000002_lifecycle;
mod m20261126_000003_add_sunshine_fields;
mod m20261127_000004_add_members;
mod m20261127_000005_long_external_ids;
mod m20261128_000006_add_deletion_claims;
mod m20261129_000007_add_member_listings;
mod m20261203_000008_one_profile;
mod m20261203_000009_privacy_requests;
mod m20261203_000010_outbox_sequence;
mod m20261203_000011_unicode_external_ids;
mod m20261204_000012_email_search;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_users::Migration),
            Box::new(m20261125_000002_lifecycle::Migration),
            Box::new(m20261126_000003_add_sunshine_fields::Migration),
            Box::new(m20261127_000004_add_members::Migration),
            Box::new(m20261127_000005_long_external_ids::Migration),
            Box::new(m20261128_000006_add_deletion_claims::Migration),
            Box::new(m20261129_000007_add_member_listings::Migration),
            Box::new(m20261203_000008_one_profile::Migration),
            Box::new(m20261203_000009_privacy_requests::Migration),
            Box::new(m20261203_000010_outbox_sequence::Migration),
            Box::new(m20261203_000011_unicode_external_ids::Migration),
            Box::new(m20261204_000012_email_search::Migration),
        ]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("registry_migrations").into_iden()
    }
}
