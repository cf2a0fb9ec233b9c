//! Benchmark of moving users in bulk, never a test: 100,000 Kore.ai members through the
//! registry's ImportUsers on PostgreSQL, against the raw multi-row INSERT rate of the same rows
//! into the same `users` table, on the same server in the same run; then those users exported
//! (ExportUsers) and restored into a second registry keeping their ids (RestoreUsers), the two
//! halves of `roster users export` and a Roster export's `roster users import`.
//!
//! ```sh
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres \
//!   cargo run --release -p user-registry --example bulk_import_bench [USERS]
//! ```
//!
//! It first waits (at most 10 minutes, polling every 30 s) for the 1-minute load average to fall
//! under 1.0 (`BENCH_NO_WAIT=1` skips that, for a quick try), and prints the load next to each
//! figure. Each side runs twice on a fresh database
//! (raw, import + export + restore, twice); the best of each is compared.
#![allow(clippy::unwrap_used)] // a benchmark fails loudly on a broken set-up
#![allow(clippy::disallowed_methods)] // it measures wall time

use std::time::{Duration, Instant};

use platform::{AppId, Shutdown};
use proto::{
    registry::v1::{self as pb, registry_service_client::RegistryServiceClient},
    token::v1::{CreateApplicationRequest, token_service_client::TokenServiceClient},
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use sea_orm_migration::{
    MigratorTrait,
    sea_query::{Alias, OnConflict, Query, SimpleExpr, Value},
};
use test_support::TestDatabase;
use user_registry::migration::Migrator;

/// Users per transaction on both sides: the registry's import batch.
const BATCH: usize = 1000;
/// Users per gRPC message, the CLI's default.
const PER_MESSAGE: usize = 500;

fn load() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|l| l.parse().ok()))
        .unwrap_or(f64::NAN)
}

async fn wait_for_quiet_machine() {
    if std::env::var_os("BENCH_NO_WAIT").is_some() {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    while load() >= 1.0 && Instant::now() < deadline {
        println!("1-minute load {:.2}: waiting for it to fall under 1.0", load());
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    println!("1-minute load {:.2}: measuring", load());
}

fn member(i: usize) -> pb::NewUser {
    let email = format!("member{i}@bench.example.com");
    pb::NewUser {
        origin: pb::Origin::Bulk.into(),
        profile: Some(pb::Profile {
            given_name: Some(format!("Given{i}")),
            surname: Some("Surname".into()),
            email: Some(email.clone()),
            ..Default::default()
        }),
        member: Some(pb::Member {
            email_id: Some(email),
            org_user_id: Some(format!("org-{i}")),
            groups: vec![format!("group-{}", i % 10)],
            can_create_bot: true,
            is_developer: true,
            activation: pb::ActivationState::Active.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The columns the registry writes for a member, with the same values.
fn raw_row(app_id: &str, i: usize) -> Vec<SimpleExpr> {
    let id = platform::ids::new_id();
    let email = format!("member{i}@bench.example.com");
    let none = || Value::String(None).into();
    let attributes = format!(
        r#"{{"groups":["group-{}"],"roles":[],"bot_tasks":[],"can_create_bot":true,"is_developer":true}}"#,
        i % 10
    );
    let now = platform::now_millis();
    vec![
        id.clone().into(),
        app_id.into(),
        id.into(),
        none(),
        none(),
        "".into(),
        "".into(),
        format!("Given{i}").into(),
        "Surname".into(),
        email.clone().into(),
        none(),
        "[]".into(),
        true.into(),
        "bulk".into(),
        now.into(),
        now.into(),
        Value::BigInt(None).into(),
        Value::BigInt(None).into(),
        false.into(),
        Value::BigInt(None).into(),
        false.into(),
        false.into(),
        email.clone().into(),
        email.into(),
        format!("org-{i}").into(),
        "active".into(),
        attributes.into(),
    ]
}

const COLUMNS: [&str; 27] = [
    "id",
    "app_id",
    "user_id",
    "external_id",
    "external_id_norm",
    "nickname",
    "profile_url",
    "given_name",
    "surname",
    "email",
    "language",
    "preferred_languages",
    "is_active",
    "origin",
    "created_at",
    "updated_at",
    "last_seen_at",
    "associated_at",
    "expires_unassociated",
    "signed_up_at",
    "to_be_retained",
    "authenticated",
    "member_email_id",
    "member_email_norm",
    "member_org_user_id",
    "member_activation",
    "member_attributes",
];

async fn migrated(db: &TestDatabase) -> DatabaseConnection {
    let conn = platform::db::connect(&db.url, 5).await.expect("connect");
    Migrator::up(&conn, None).await.expect("migrate");
    conn
}

/// What a raw batch carries besides the plain INSERT, to see where the import's time goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    Plain,
    /// `ON CONFLICT DO NOTHING RETURNING id`, as the import writes.
    OnConflict,
    /// Plus one outbox row per user, as the import writes.
    WithOutbox,
}

fn outbox_insert(app_id: &str, n: usize) -> Statement {
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new("outbox"))
        .columns(["id", "app_id", "kind", "subject_id", "payload", "created_at", "delivered_at"].map(Alias::new));
    for _ in 0..n {
        let id = platform::ids::new_id();
        let payload = format!(r#"{{"id":"{id}","user_id":"{id}","origin":"bulk","expires_unassociated":false}}"#);
        insert.values_panic([
            platform::ids::new_id().into(),
            app_id.into(),
            "user.created".into(),
            id.into(),
            payload.into(),
            platform::now_millis().into(),
            Value::BigInt(None).into(),
        ]);
    }
    DbBackend::Postgres.build(&insert)
}

/// Multi-row INSERTs of the same rows with bound values (as the store sends them), `BATCH` per
/// transaction: users per second.
async fn raw_rate(users: usize, variant: Raw) -> f64 {
    let db = TestDatabase::postgres().await;
    let conn = migrated(&db).await;
    let app_id = AppId::generate();
    let statements: Vec<(Statement, Option<Statement>)> = (0..users)
        .collect::<Vec<_>>()
        .chunks(BATCH)
        .map(|chunk| {
            let mut insert = Query::insert();
            insert.into_table(Alias::new("users")).columns(COLUMNS.map(Alias::new));
            for &i in chunk {
                insert.values_panic(raw_row(app_id.as_str(), i));
            }
            if variant == Raw::OnConflict {
                insert.on_conflict(OnConflict::new().do_nothing().to_owned()).returning_col(Alias::new("id"));
            }
            let outbox = (variant == Raw::WithOutbox).then(|| outbox_insert(app_id.as_str(), chunk.len()));
            (DbBackend::Postgres.build(&insert), outbox)
        })
        .collect();
    let started = Instant::now();
    for (statement, outbox) in statements {
        let txn = conn.begin().await.expect("begin");
        txn.query_all(statement).await.expect("insert");
        if let Some(outbox) = outbox {
            txn.execute(outbox).await.expect("outbox");
        }
        txn.commit().await.expect("commit");
    }
    users as f64 / started.elapsed().as_secs_f64()
}

/// A registry serving on a fresh PostgreSQL database, with the token-service (SQLite) it asks
/// whether applications exist, and an application there.
struct Registry {
    client: RegistryServiceClient<tonic::transport::Channel>,
    app_id: String,
    db: TestDatabase,
    _token_db: TestDatabase,
    shutdown: Shutdown,
}

impl Registry {
    async fn start() -> Self {
        let token_db = TestDatabase::sqlite();
        let token = token_service::Application::build(&test_support::settings(&token_db, false)).await.expect("token");
        let token_addr = token.local_addr();
        let shutdown = Shutdown::new();
        tokio::spawn(token.run(shutdown.clone()));
        let db = TestDatabase::postgres().await;
        let mut settings = test_support::settings(&db, false);
        settings.database.max_connections = 10;
        settings.reaper.enabled = false;
        settings.token.endpoint = format!("http://{token_addr}");
        let app = user_registry::Application::build(&settings).await.expect("registry");
        let addr = app.local_addr();
        tokio::spawn(app.run(shutdown.clone()));
        let mut tokens = TokenServiceClient::new(test_support::channel(token_addr).await);
        let request = CreateApplicationRequest { name: "bench".into(), settings: None, with_api_token: false };
        let app_id = tokens.create_application(request).await.expect("app").into_inner().application.expect("app").id;
        let client =
            RegistryServiceClient::new(test_support::channel(addr).await).max_decoding_message_size(64 * 1024 * 1024);
        Self { client, app_id, db, _token_db: token_db, shutdown }
    }

    async fn count(&self) -> i64 {
        let conn = platform::db::connect(&self.db.url, 1).await.expect("connect");
        let sql = format!("SELECT COUNT(*) FROM users WHERE app_id = '{}'", self.app_id);
        let row = conn.query_one(Statement::from_string(DbBackend::Postgres, sql)).await.expect("count");
        row.expect("a row").try_get_by_index::<i64>(0).expect("count")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// Users per second of the three bulk paths, on the same users.
struct Rates {
    import: f64,
    export: f64,
    restore: f64,
}

/// `users` members through ImportUsers into a fresh registry, then exported whole
/// (ExportUsers, 1,000 a message, as records kept in memory) and restored into a second fresh
/// registry (RestoreUsers, messages of 500): users per second of each.
async fn bulk_rates(users: usize) -> Rates {
    let mut source = Registry::start().await;
    let import = import_rate(&mut source, users).await;
    let started = Instant::now();
    let request = pb::ExportUsersRequest { app_id: source.app_id.clone(), batch_size: 1000, ..Default::default() };
    let mut stream = source.client.export_users(request).await.expect("export").into_inner();
    let mut records: Vec<pb::RestoreRecord> = Vec::with_capacity(users);
    while let Some(message) = stream.message().await.expect("message") {
        records.extend(message.users.into_iter().map(pb::RestoreRecord::from));
    }
    let export = users as f64 / started.elapsed().as_secs_f64();
    assert_eq!(records.len(), users, "every user exported");
    drop(source);

    let mut target = Registry::start().await;
    let messages: Vec<pb::RestoreUsersRequest> = records
        .chunks(PER_MESSAGE)
        .map(|chunk| pb::RestoreUsersRequest {
            app_id: target.app_id.clone(),
            records: chunk.to_vec(),
            on_conflict: pb::OnConflict::Skip.into(),
        })
        .collect();
    let started = Instant::now();
    let mut answers = target.client.restore_users(tokio_stream::iter(messages)).await.expect("restore").into_inner();
    let mut created = 0u64;
    while let Some(answer) = answers.message().await.expect("answer") {
        assert!(answer.left_out.is_empty(), "{:?}", answer.left_out.first());
        created += u64::from(answer.created);
    }
    let restore = users as f64 / started.elapsed().as_secs_f64();
    assert_eq!((created, target.count().await), (users as u64, users as i64), "every user restored");
    Rates { import, export, restore }
}

/// Users streamed through ImportUsers into `registry`: users per second.
async fn import_rate(registry: &mut Registry, users: usize) -> f64 {
    let app_id = registry.app_id.clone();
    let client = &mut registry.client;
    let messages: Vec<pb::ImportUsersRequest> = (0..users)
        .collect::<Vec<_>>()
        .chunks(PER_MESSAGE)
        .map(|chunk| pb::ImportUsersRequest {
            app_id: app_id.clone(),
            users: chunk.iter().map(|&i| member(i)).collect(),
        })
        .collect();
    let started = Instant::now();
    let answer = client.import_users(tokio_stream::iter(messages)).await.expect("import").into_inner();
    let rate = users as f64 / started.elapsed().as_secs_f64();
    assert_eq!((answer.created, answer.failures.len()), (users as u64, 0), "every user created");
    assert_eq!(registry.count().await, users as i64);
    rate
}

#[tokio::main]
async fn main() {
    let users: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    wait_for_quiet_machine().await;
    let (mut raw, mut import, mut export, mut restore) = (0f64, 0f64, 0f64, 0f64);
    for round in 1..=2 {
        if std::env::var_os("BENCH_BREAKDOWN").is_some() {
            for variant in [Raw::OnConflict, Raw::WithOutbox] {
                let r = raw_rate(users, variant).await;
                println!("round {round}: raw {variant:?} {r:>9.0} users/s (load {:.2})", load());
            }
        }
        let r = raw_rate(users, Raw::Plain).await;
        println!("round {round}: raw multi-row INSERT {r:>9.0} users/s (load {:.2})", load());
        let rates = bulk_rates(users).await;
        println!("round {round}: ImportUsers        {:>9.0} users/s (load {:.2})", rates.import, load());
        println!("round {round}: ExportUsers        {:>9.0} users/s", rates.export);
        println!("round {round}: RestoreUsers       {:>9.0} users/s (load {:.2})", rates.restore, load());
        (raw, import, export, restore) =
            (raw.max(r), import.max(rates.import), export.max(rates.export), restore.max(rates.restore));
    }
    println!("best of 2, {users} users: raw {raw:.0} users/s, import {import:.0} users/s, ratio {:.2}", import / raw);
    println!(
        "best of 2, {users} users: export {export:.0} users/s, restore {restore:.0} users/s, ratio to raw {:.2}",
        restore / raw
    );
}
