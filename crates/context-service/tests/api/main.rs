//! context-service integration tests: the store contracts on SQLite and PostgreSQL, and the
//! gRPC server on a real port.
#![allow(clippy::unwrap_used)] // a test's unwrap is its assertion

mod conversations;
mod grpc;
mod store;

use std::sync::Arc;

use context_service::{app::ContextStore, migration::Migrator, store::SeaContextStore};
use sea_orm_migration::MigratorTrait;
use test_support::{Backend, TestDatabase};

pub async fn store(backend: Backend) -> (Arc<dyn ContextStore>, TestDatabase) {
    let (store, db) = stores(backend).await;
    (store, db)
}

/// The store behind both traits, `ContextStore` and `ConversationStore`.
pub async fn stores(backend: Backend) -> (Arc<SeaContextStore>, TestDatabase) {
    test_support::init_logging();
    let db = TestDatabase::new(backend).await;
    let conn = platform::db::connect(&db.url, 5).await.expect("connect");
    Migrator::up(&conn, None).await.expect("migrate");
    // Reads through the reader pool, as the service has them (on SQLite a second pool).
    let reads = platform::db::connect_reader(&db.url, 5, &conn).await.expect("reader");
    (Arc::new(SeaContextStore::new(conn).with_reader(reads)), db)
}
