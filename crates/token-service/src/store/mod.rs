//! The sea-orm implementation of the store traits, one module per concern, and the two
//! `KvCache`s (Redis and in-process). sea-orm models never leave this module.

mod applications;
mod cache;
mod console;
mod credentials;
mod entity;
mod hashed_tokens;
mod signing_keys;
mod user_tokens;

use anyhow::Context as _;
use platform::db::{UniqueIndex, unexpected};
use sea_orm::{DatabaseConnection, DbErr, SqlErr};

pub use cache::{MemoryKv, RedisKv};
use credentials::SeaCredentials;
use entity::{admin_clients, app_keys, public_keys};

use crate::{
    app::{CredentialStore, SealedCredential, StoreError, TokenStore},
    domain::{AdminClient, AppKey, PublicKey, Scope},
};

pub const API_TOKEN_HASH_KEY: UniqueIndex =
    UniqueIndex { name: "api_tokens_hash_key", table: "api_tokens", columns: &["token_hash"] };
pub const ACCESS_TOKEN_HASH_KEY: UniqueIndex =
    UniqueIndex { name: "access_tokens_hash_key", table: "access_tokens", columns: &["token_hash"] };

#[derive(Debug, Clone)]
pub struct SeaTokenStore {
    db: DatabaseConnection,
    app_keys: SeaCredentials<app_keys::Entity>,
    public_keys: SeaCredentials<public_keys::Entity>,
    admin_clients: SeaCredentials<admin_clients::Entity>,
}

impl SeaTokenStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            app_keys: SeaCredentials::new(db.clone()),
            public_keys: SeaCredentials::new(db.clone()),
            admin_clients: SeaCredentials::new(db.clone()),
            db,
        }
    }
}

impl TokenStore for SeaTokenStore {
    fn app_keys(&self) -> &dyn CredentialStore<SealedCredential<AppKey>> {
        &self.app_keys
    }

    fn public_keys(&self) -> &dyn CredentialStore<PublicKey> {
        &self.public_keys
    }

    fn admin_clients(&self) -> &dyn CredentialStore<SealedCredential<AdminClient>> {
        &self.admin_clients
    }
}

/// Scopes as stored: comma-separated names.
fn parse_scopes(stored: &str) -> anyhow::Result<Vec<Scope>> {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Scope::parse(s).with_context(|| format!("stored scope {s}")))
        .collect()
}

fn join_scopes(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

/// An insert naming an application that does not exist.
fn foreign_app(err: DbErr) -> StoreError {
    match err.sql_err() {
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => StoreError::ApplicationNotFound,
        _ => StoreError::Unexpected(unexpected(err)),
    }
}
