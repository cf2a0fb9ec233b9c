//! Database connections (PostgreSQL or SQLite) and unique-constraint mapping.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, SqlErr};
use sea_orm_migration::MigratorTrait;

use crate::{Settings, seal::Sealer};

/// Opens a pool; statement logging is off because bound values can hold emails or secrets.
///
/// SQLite files get their directory created, WAL journaling with `synchronous = NORMAL`, and a
/// pool of **one** connection whatever `max_connections` says: SQLite takes one writer at a time,
/// so every statement queues in-process for that connection instead of a second writer sleeping
/// in the busy handler (or failing to upgrade a read transaction). The trade-off of `NORMAL` in
/// WAL mode: a power loss or OS crash (not a process crash) can undo the last transactions
/// committed before it; the database stays consistent. README and docs/operations.md say so.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_path(url)
        && let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(pool_size(url, max_connections))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(3))
        // Well inside the gateway's upstream deadline: a database that is away is answered as
        // unavailable before the caller gives up.
        .acquire_timeout(Duration::from_secs(3))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            opts.journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal)
        });
    Database::connect(options).await
}

/// A pool for reads only beside `writer`, the pool `connect` opened for `url`. On a SQLite file
/// it is a second pool of `max_connections` read-only connections: in WAL mode readers never
/// wait for the one writer, so reads do not queue behind writes (each read sees every
/// transaction committed before it began). Anywhere else (PostgreSQL, an in-memory SQLite, which
/// a second pool would not share) it is `writer` itself.
pub async fn connect_reader(
    url: &str,
    max_connections: u32,
    writer: &DatabaseConnection,
) -> Result<DatabaseConnection, DbErr> {
    if sqlite_path(url).is_none() {
        return Ok(writer.clone());
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(3))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| opts.read_only(true).create_if_missing(false));
    Database::connect(options).await
}

/// `connect_reader` for `service`'s database, after `open` opened `writer`.
pub async fn open_reader(
    settings: &Settings,
    service: &'static str,
    writer: &DatabaseConnection,
) -> anyhow::Result<DatabaseConnection> {
    Ok(connect_reader(&settings.database_url(service), settings.database.max_connections, writer).await?)
}

/// The connections a pool for `url` holds: `configured`, or one for SQLite (see `connect`).
pub fn pool_size(url: &str, configured: u32) -> u32 {
    if url.starts_with("sqlite:") { 1 } else { configured }
}

/// Opens `service`'s database and, when `database.auto_migrate` is on, applies its migrations.
pub async fn open<M: MigratorTrait>(settings: &Settings, service: &'static str) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url(service);
    let db = connect(&url, settings.database.max_connections).await?;
    crate::metrics::watch_pool(service, &db, pool_size(&url, settings.database.max_connections));
    if settings.database.auto_migrate {
        M::up(&db, None).await?;
    }
    Ok(db)
}

/// Applies every pending migration of `service` (what `roster migrate` runs).
pub async fn migrate<M: MigratorTrait>(settings: &Settings, service: &str) -> anyhow::Result<()> {
    let db = connect(&settings.database_url(service), 1).await?;
    M::up(&db, None).await?;
    db.close().await?;
    Ok(())
}

/// The configured sealing keys (`secrets.sealing_keys`), or else the service's own generated
/// key, created once and kept in `table` (columns `kid`, `secret` in hex, `created_at`) of its
/// database. A generated key protects nothing against a leak of that database: said in the log.
pub async fn sealer(db: &DatabaseConnection, settings: &Settings, table: &str) -> anyhow::Result<Sealer> {
    use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};
    use secrecy::ExposeSecret;

    if let Some(keys) = &settings.secrets.sealing_keys {
        let keys = crate::seal::parse_sealing_keys(keys.expose_secret()).map_err(anyhow::Error::msg)?;
        return Sealer::new(keys).map_err(anyhow::Error::msg);
    }
    const KID: &str = "generated-1";
    let backend = db.get_database_backend();
    let insert = Query::insert()
        .into_table(Alias::new(table))
        .columns([Alias::new("kid"), Alias::new("secret"), Alias::new("created_at")])
        .values_panic([KID.into(), hex::encode(Sealer::generate_key()).into(), crate::now_millis().into()])
        // Concurrent first starts: one key wins, every replica reads it back.
        .on_conflict(OnConflict::column(Alias::new("kid")).do_nothing().to_owned())
        .to_owned();
    db.execute(backend.build(&insert)).await?;
    let select = Query::select()
        .column(Alias::new("secret"))
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("kid")).eq(KID))
        .to_owned();
    let row = db.query_one(backend.build(&select)).await?.ok_or_else(|| anyhow::anyhow!("generated key missing"))?;
    let secret: String = row.try_get("", "secret")?;
    tracing::warn!(
        table,
        "secrets.sealing_keys is not set: secrets are sealed under a generated key kept in this service's own \
         database; configure keys in production"
    );
    Sealer::new(vec![(KID.to_owned(), hex::decode(secret)?)]).map_err(anyhow::Error::msg)
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && !path.starts_with(':')).then_some(path)
}

pub fn is_sqlite(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite
}

/// A unique index, named the same on every backend, so a violation can be told apart from others.
#[derive(Debug, Clone, Copy)]
pub struct UniqueIndex {
    pub name: &'static str,
    pub table: &'static str,
    pub columns: &'static [&'static str],
}

impl UniqueIndex {
    /// True when `err` is a violation of this index. PostgreSQL names the constraint; SQLite
    /// names the columns (`UNIQUE constraint failed: users.app_id, users.user_id`).
    pub fn is_violated_by(&self, err: &DbErr) -> bool {
        let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() else {
            return false;
        };
        if message.contains(&format!("\"{}\"", self.name)) {
            return true;
        }
        let columns: Vec<String> = self.columns.iter().map(|c| format!("{}.{c}", self.table)).collect();
        message.ends_with(&columns.join(", "))
    }
}

/// Database errors are server faults; constraint violations must be mapped before this.
pub fn unexpected(err: DbErr) -> anyhow::Error {
    anyhow::Error::new(err).context("database")
}

/// Whether `err` says the database could not be reached (no connection, a broken one, a pool
/// that timed out, a server shutting down or starting up), as opposed to a statement it refused.
pub fn is_unreachable(err: &(dyn std::error::Error + 'static)) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    let sqlx_unreachable = |e: &sqlx::Error| match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        // Class 08 (connection exception), 57P01-03 (admin shutdown, crash shutdown, cannot
        // connect now): the server is going or coming.
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|code| code.starts_with("08") || ["57P01", "57P02", "57P03"].contains(&code.as_ref()))
        }
        _ => false,
    };
    if let Some(db) = err.downcast_ref::<DbErr>() {
        return match db {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_unreachable(e),
            _ => false,
        };
    }
    err.downcast_ref::<sqlx::Error>().is_some_and(sqlx_unreachable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_found_in_urls() {
        assert_eq!(sqlite_path("sqlite://./data/a.db?mode=rwc"), Some("./data/a.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x/y"), None);
    }

    /// SQLite: one connection whatever the configuration says, WAL, synchronous NORMAL (1); and
    /// a hundred concurrent writers all succeed, queued for it rather than refused as busy.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_is_one_queued_connection_in_wal_with_synchronous_normal() {
        let dir = std::env::temp_dir().join(format!("roster-db-{}", crate::ids::new_id()));
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.display());
        assert_eq!((pool_size(&url, 10), pool_size("postgres://x/y", 10)), (1, 10));
        let db = connect(&url, 10).await.unwrap();
        let pragma = |name: &'static str| {
            let db = db.clone();
            async move {
                let row =
                    db.query_one(sea_orm::Statement::from_string(db.get_database_backend(), format!("PRAGMA {name}")));
                row.await.unwrap().unwrap().try_get_by_index::<String>(0).unwrap_or_default()
            }
        };
        assert_eq!(pragma("journal_mode").await.to_lowercase(), "wal");
        let row = db.query_one(sea_orm::Statement::from_string(db.get_database_backend(), "PRAGMA synchronous")).await;
        assert_eq!(row.unwrap().unwrap().try_get_by_index::<i32>(0).unwrap(), 1, "NORMAL");
        db.execute_unprepared("CREATE TABLE t (n INTEGER PRIMARY KEY)").await.unwrap();
        let writers: Vec<_> = (0..100)
            .map(|n| {
                let db = db.clone();
                tokio::spawn(async move { db.execute_unprepared(&format!("INSERT INTO t VALUES ({n})")).await })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        let count = db.query_one(sea_orm::Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) FROM t"));
        assert_eq!(count.await.unwrap().unwrap().try_get_by_index::<i64>(0).unwrap(), 100);
        drop(db);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The reader pool answers while the one writer connection is held by an open transaction
    /// (a read through the writer would wait for it), sees only what was committed, and cannot
    /// write. On PostgreSQL and in-memory SQLite it is the writer itself.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_reads_do_not_queue_behind_the_writer() {
        let dir = std::env::temp_dir().join(format!("roster-db-{}", crate::ids::new_id()));
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.display());
        let writer = connect(&url, 10).await.unwrap();
        let reader = connect_reader(&url, 4, &writer).await.unwrap();
        let backend = writer.get_database_backend();
        let count = |db: DatabaseConnection| async move {
            let row = db.query_one(sea_orm::Statement::from_string(backend, "SELECT COUNT(*) FROM t")).await;
            row.map(|row| row.unwrap().try_get_by_index::<i64>(0).unwrap())
        };
        writer.execute_unprepared("CREATE TABLE t (n INTEGER PRIMARY KEY)").await.unwrap();
        writer.execute_unprepared("INSERT INTO t VALUES (1)").await.unwrap();
        let open = sea_orm::TransactionTrait::begin(&writer).await.unwrap();
        open.execute_unprepared("INSERT INTO t VALUES (2)").await.unwrap();
        // The writer's one connection is in `open`: the reader still answers, without row 2.
        assert_eq!(count(reader.clone()).await.unwrap(), 1);
        open.commit().await.unwrap();
        assert_eq!(count(reader.clone()).await.unwrap(), 2);
        assert!(reader.execute_unprepared("INSERT INTO t VALUES (3)").await.is_err(), "read-only");
        assert_eq!(count(writer.clone()).await.unwrap(), 2);

        let memory = connect("sqlite::memory:", 1).await.unwrap();
        memory.execute_unprepared("CREATE TABLE m (n INTEGER)").await.unwrap();
        let same = connect_reader("sqlite::memory:", 4, &memory).await.unwrap();
        same.execute_unprepared("INSERT INTO m VALUES (1)").await.expect("the writer itself");
        drop((writer, reader));
        let _ = std::fs::remove_dir_all(dir);
    }
}
