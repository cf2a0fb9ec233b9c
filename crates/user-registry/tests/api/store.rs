//! The `UserStore` contract, run against SQLite and PostgreSQL alike.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use test_support::Backend;
use user_registry::{
    app::{Extras, StoreError},
    domain::{ExternalId, Lookup, UserId},
    store::UNIQUE_KEYS,
};

use crate::helpers::{app, store, store_and_connection, test_sealer, user};

test_support::contract!(
    creates_and_finds_by_every_key,
    user_id_is_unique_per_application,
    external_id_is_unique_case_insensitively,
    applications_never_see_each_other,
    concurrent_creates_of_one_user_id_store_exactly_one,
    long_multibyte_external_ids_are_unique_case_insensitively,
    the_unique_keys_the_store_maps_are_those_the_migrations_made,
    the_unicode_migration_rewrites_stored_forms_and_leaves_collisions,
    published_outbox_rows_are_purged_after_their_keep_and_no_others,
);

async fn creates_and_finds_by_every_key(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    let mut alice = user(&app, "alice");
    alice.external_id = Some(ExternalId::parse("CRM-1".into()).unwrap());
    store.create(&alice, &Extras::NONE).await.expect("created");

    for lookup in [
        Lookup::Id(alice.id.clone()),
        Lookup::UserId(alice.user_id.clone()),
        Lookup::ExternalId(ExternalId::parse("crm-1".into()).unwrap()),
    ] {
        let found = store.find(&app, &lookup).await.expect("query").expect("found");
        assert_eq!(found, alice, "{lookup:?}");
    }
    let missing = store.find(&app, &Lookup::UserId(UserId::parse("bob".into()).unwrap())).await.expect("query");
    assert!(missing.is_none());
}

async fn user_id_is_unique_per_application(backend: Backend) {
    let (store, _db) = store(backend).await;
    let (a, b) = (app(), app());
    store.create(&user(&a, "alice"), &Extras::NONE).await.expect("first");
    let err = store.create(&user(&a, "alice"), &Extras::NONE).await.expect_err("duplicate");
    assert!(matches!(err, StoreError::UserIdTaken), "{err:?}");
    store.create(&user(&b, "alice"), &Extras::NONE).await.expect("same user_id in another app");
}

async fn external_id_is_unique_case_insensitively(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    let mut first = user(&app, "one");
    first.external_id = Some(ExternalId::parse("Crm-42".into()).unwrap());
    store.create(&first, &Extras::NONE).await.expect("first");
    let mut second = user(&app, "two");
    second.external_id = Some(ExternalId::parse("CRM-42".into()).unwrap());
    let err = store.create(&second, &Extras::NONE).await.expect_err("duplicate");
    assert!(matches!(err, StoreError::ExternalIdTaken), "{err:?}");
    // Users without an external id never collide.
    store.create(&user(&app, "three"), &Extras::NONE).await.expect("no external id");
    store.create(&user(&app, "four"), &Extras::NONE).await.expect("no external id");
}

async fn applications_never_see_each_other(backend: Backend) {
    let (store, _db) = store(backend).await;
    let (a, b) = (app(), app());
    let alice = user(&a, "alice");
    store.create(&alice, &Extras::NONE).await.expect("created");
    for lookup in [Lookup::Id(alice.id.clone()), Lookup::UserId(alice.user_id.clone())] {
        assert!(store.find(&b, &lookup).await.expect("query").is_none(), "{lookup:?}");
    }
}

/// Also the event: a create is its row and its "user.created" together (on PostgreSQL one
/// statement), so twenty racers leave one user and one event.
async fn concurrent_creates_of_one_user_id_store_exactly_one(backend: Backend) {
    let (store, conn, _db) = crate::helpers::store_and_connection(backend, crate::helpers::test_sealer()).await;
    let store: std::sync::Arc<dyn user_registry::app::UserStore> = store;
    let app = app();
    let attempts = (0..20).map(|_| {
        let store = store.clone();
        let candidate = user(&app, "racer");
        tokio::spawn(async move { store.create(&candidate, &Extras::NONE).await })
    });
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.expect("task") {
            Ok(()) => created += 1,
            Err(StoreError::UserIdTaken) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1);
    let events = format!("SELECT COUNT(*) FROM outbox WHERE app_id = '{}' AND kind = 'user.created'", app.as_str());
    assert_eq!(crate::helpers::count(&conn, &events).await, 1);
}

/// 1,024 characters of three-byte UTF-8 do not fit a PostgreSQL index entry whole: long
/// external ids are indexed by digest, still unique and still compared case-insensitively.
async fn long_multibyte_external_ids_are_unique_case_insensitively(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    // Incompressible (PostgreSQL compresses before it indexes): a pseudo-random CJK sequence.
    let cjk: String = (0u32..ExternalId::MAX_CHARS as u32 - 1)
        .map(|i| char::from_u32(0x4E00 + (i.wrapping_mul(2_654_435_761) >> 7) % 0x5000).unwrap())
        .collect();
    let long = |first: char| format!("{first}{cjk}");
    let mut first = user(&app, "long-1");
    first.external_id = Some(ExternalId::parse(long('A')).unwrap());
    store.create(&first, &Extras::NONE).await.expect("a 3 KB external id is stored");
    let found = store.find(&app, &Lookup::ExternalId(ExternalId::parse(long('a')).unwrap())).await.unwrap();
    assert_eq!(found.map(|u| u.id), Some(first.id.clone()), "found in the other case");
    let mut twin = user(&app, "long-2");
    twin.external_id = Some(ExternalId::parse(long('a')).unwrap());
    assert!(matches!(store.create(&twin, &Extras::NONE).await, Err(StoreError::ExternalIdTaken)));
    let mut other = user(&app, "long-3");
    other.external_id = Some(ExternalId::parse(long('B')).unwrap());
    store.create(&other, &Extras::NONE).await.expect("another long id is another user");
}

/// The store tells violations apart by index name (PostgreSQL) and by columns (SQLite); the
/// migrations keep their own frozen copies of both, and this holds the two together.
async fn the_unique_keys_the_store_maps_are_those_the_migrations_made(backend: Backend) {
    let (_store, conn, _db) = store_and_connection(backend, test_sealer()).await;
    for key in UNIQUE_KEYS {
        let columns = key.columns.join(", ");
        let found = match backend {
            Backend::Postgres => {
                let sql = "SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexname = $2";
                let rows = strings(&conn, sql, &[key.table, key.name]).await;
                rows.iter().any(|def| def.ends_with(&format!("({columns})")))
            }
            Backend::Sqlite => {
                let sql = "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND instr(sql, ?) > 0";
                let named = !strings(&conn, sql, &[key.table, &format!("\"{}\"", key.name)]).await.is_empty();
                let mut unique_columns = Vec::new();
                let sql = "SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1";
                for index in strings(&conn, sql, &[key.table]).await {
                    let sql = "SELECT name FROM pragma_index_info(?) ORDER BY seqno";
                    unique_columns.push(strings(&conn, sql, &[&index]).await.join(", "));
                }
                named && unique_columns.contains(&columns)
            }
        };
        assert!(found, "{} on {}({columns}) is not in the migrated schema", key.name, key.table);
    }
}

/// The first column of every row `sql` answers.
async fn strings(conn: &DatabaseConnection, sql: &str, values: &[&str]) -> Vec<String> {
    let values = values.iter().map(|v| (*v).into());
    let statement = Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
    let rows = conn.query_all(statement).await.expect("query");
    rows.iter().map(|row| row.try_get_by_index::<String>(0).expect("text")).collect()
}

/// A long external id stored whole before digests (SQLite accepted them) is rewritten by the
/// migration, so it is found and kept unique like any other.
#[tokio::test]
async fn the_migration_rewrites_long_external_ids_stored_whole() {
    use sea_orm::{ConnectionTrait, Statement};
    use sea_orm_migration::MigratorTrait;
    use user_registry::{app::UserStore, migration::Migrator};

    test_support::init_logging();
    let db = test_support::TestDatabase::sqlite();
    let conn = platform::db::connect(&db.url, 1).await.unwrap();
    Migrator::up(&conn, Some(3)).await.unwrap();
    let long = format!("X{}", "é".repeat(600));
    conn.execute(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "INSERT INTO users (id, app_id, user_id, external_id, external_id_norm, nickname, profile_url, \
         preferred_languages, is_active, origin, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, '', '', '[]', true, 'api', 1, 1)",
        [
            "aaaaaaaaaaaaaaaaaaaaaaaa".into(),
            "bbbbbbbbbbbbbbbbbbbbbbbb".into(),
            "old".into(),
            long.clone().into(),
            long.to_lowercase().into(),
        ],
    ))
    .await
    .unwrap();
    Migrator::up(&conn, None).await.unwrap();
    let store = user_registry::store::SeaUserStore::new(conn, crate::helpers::test_sealer());
    let app = user_registry::domain::AppId::parse("bbbbbbbbbbbbbbbbbbbbbbbb".into()).unwrap();
    let found = store.find(&app, &Lookup::ExternalId(ExternalId::parse(long.to_lowercase()).unwrap())).await.unwrap();
    assert_eq!(found.map(|u| u.user_id.as_str().to_owned()), Some("old".to_owned()));
}

/// Users stored under the old rule (lower-casing only), then the migration to the Unicode rule:
/// a full-width id is found by its ASCII form afterwards; of a composed and a decomposed "Café"
/// (two users before), neither is rewritten, and each is still found as before.
async fn the_unicode_migration_rewrites_stored_forms_and_leaves_collisions(backend: Backend) {
    use sea_orm_migration::MigratorTrait;
    use user_registry::{app::UserStore, migration::Migrator, store::SeaUserStore};
    test_support::init_logging();
    let db = test_support::TestDatabase::new(backend).await;
    let conn = platform::db::connect(&db.url, 5).await.unwrap();
    // Every migration before the Unicode one.
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name().ends_with("unicode_external_ids"))
        .expect("the Unicode migration") as u32;
    Migrator::up(&conn, Some(before)).await.unwrap();
    let store = SeaUserStore::new(conn.clone(), test_sealer());
    let app = app();
    let users: Vec<_> = ["composed", "decomposed", "fullwidth"].iter().map(|id| user(&app, id)).collect();
    for user in &users {
        store.create(user, &Extras::NONE).await.unwrap();
    }
    // As the old rule stored them.
    for (user, external, old_form) in [
        (&users[0], "Caf\u{e9}", "caf\u{e9}"),
        (&users[1], "Cafe\u{301}", "cafe\u{301}"),
        (&users[2], "\u{ff21}\u{ff22}", "\u{ff41}\u{ff42}"),
    ] {
        let sql = format!(
            "UPDATE users SET external_id = '{external}', external_id_norm = '{old_form}' WHERE id = '{}'",
            user.id.as_str()
        );
        conn.execute(Statement::from_string(conn.get_database_backend(), sql)).await.unwrap();
    }
    Migrator::up(&conn, None).await.unwrap();

    let find = |external: &str| {
        let lookup = Lookup::ExternalId(ExternalId::parse(external.to_owned()).unwrap());
        let store = &store;
        let app = &app;
        async move { store.find(app, &lookup).await.unwrap().map(|u| u.id) }
    };
    assert_eq!(find("ab").await, Some(users[2].id.clone()), "rewritten: found by its ASCII form");
    assert_eq!(find("Caf\u{e9}").await, Some(users[0].id.clone()), "the composed one, as before");
    let norms = conn
        .query_all(Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT external_id_norm FROM users WHERE id = '{}'", users[1].id.as_str()),
        ))
        .await
        .unwrap();
    let kept: String = norms[0].try_get_by_index(0).unwrap();
    assert_eq!(kept, "cafe\u{301}", "the decomposed one would collide: left as stored");
}

/// The relay's purge (`platform::outbox::purge`): rows published longer ago than the keep are
/// deleted, a batch at a time; rows published since, and rows not yet published, stay.
async fn published_outbox_rows_are_purged_after_their_keep_and_no_others(backend: Backend) {
    use platform::outbox::Outbox;
    use user_registry::app::UserStore;
    let (store, conn, _db) = store_and_connection(backend, test_sealer()).await;
    let outbox = user_registry::store::SeaOutbox::new(conn.clone());
    let app = app();
    for i in 0..7 {
        store.create(&user(&app, &format!("u{i}")), &Extras::NONE).await.unwrap();
    }
    let pending = outbox.pending(100).await.unwrap();
    assert_eq!(pending.len(), 7);
    let seqs: Vec<i64> = pending.iter().map(|p| p.seq).collect();
    outbox.mark_published(&seqs[..3], 1_000).await.unwrap();
    outbox.mark_published(&seqs[3..5], 5_000).await.unwrap();
    // Kept one second: at 5,500 the rows published at 1,000 go, those of 5,000 stay.
    let purged = platform::outbox::purge(&outbox, 5_500, std::time::Duration::from_secs(1)).await.unwrap();
    assert_eq!(purged, 3);
    let left = crate::helpers::count(&conn, "SELECT COUNT(*) FROM outbox").await;
    assert_eq!(left, 4, "two published since and two never published");
    assert_eq!(outbox.pending(100).await.unwrap().len(), 2, "the unpublished are untouched");
    // In batches: one row at a time deletes all the rest that are old enough.
    let purged = outbox.purge_published(10_000, 1).await.unwrap();
    assert_eq!(purged, 1);
    assert_eq!(outbox.purge_published(10_000, 10).await.unwrap(), 1);
    assert_eq!(crate::helpers::count(&conn, "SELECT COUNT(*) FROM outbox").await, 2);
}
