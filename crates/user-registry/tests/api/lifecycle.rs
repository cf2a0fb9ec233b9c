//! A user's life beyond its profile, on both backends: sealed sensitive metadata, the outbox
//! event written with the user, association, and the reaper of end users never associated.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, Ordering},
    },
};

use async_trait::async_trait;
use platform::{Clock, seal::Sealer};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use test_support::Backend;
use user_registry::{
    app::{Extras, Registry, StoreError, UserLifecycle, UserStore},
    domain::{AppId, ExternalId, Lookup, RosterId, SensitiveFields, User, UserPatch},
};

use crate::helpers::{app, new_user, store_and_connection, test_sealer, user};

test_support::contract!(
    sensitive_fields_are_sealed_at_rest_merge_and_survive_key_rotation,
    a_created_user_and_its_event_commit_together,
    association_keeps_its_first_instant,
    the_reaper_deletes_only_expired_unassociated_users_in_batches,
);

const DAY: i64 = 24 * 3600 * 1000;

fn fields(pairs: &[(&str, &str)]) -> SensitiveFields {
    SensitiveFields::parse(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).expect("valid")
}

async fn raw_sealed(conn: &DatabaseConnection, user_pk: &str) -> (String, Vec<u8>) {
    let row = conn
        .query_one(Statement::from_sql_and_values(
            conn.get_database_backend(),
            match conn.get_database_backend() {
                sea_orm::DbBackend::Postgres => "SELECT kid, sealed FROM user_sensitive_metadata WHERE user_pk = $1",
                _ => "SELECT kid, sealed FROM user_sensitive_metadata WHERE user_pk = ?",
            },
            [user_pk.into()],
        ))
        .await
        .expect("query")
        .expect("a sealed row");
    (row.try_get("", "kid").expect("kid"), row.try_get("", "sealed").expect("sealed"))
}

async fn count(conn: &DatabaseConnection, sql: &str) -> i64 {
    let row = conn
        .query_one(Statement::from_string(conn.get_database_backend(), sql.to_owned()))
        .await
        .expect("query")
        .expect("row");
    row.try_get_by_index::<i64>(0).expect("count")
}

async fn sensitive_fields_are_sealed_at_rest_merge_and_survive_key_rotation(backend: Backend) {
    let (store, conn, db) = store_and_connection(backend, test_sealer()).await;
    let app = app();
    let (maria, _, _) = User::new(app.clone(), new_user("maria"), 1);
    let secret = fields(&[("auth_token", "eyJhbGciOiJIUzI1NiIs-plaintext"), ("session_id", "sess_abc123")]);
    store.create(&maria, &Extras { image: None, sensitive: &secret }).await.unwrap();
    let by_id = Lookup::Id(maria.id.clone());

    let (kid, sealed) = raw_sealed(&conn, maria.id.as_str()).await;
    assert_eq!(kid, "current");
    for plain in ["eyJhbGciOiJIUzI1NiIs-plaintext", "sess_abc123", "auth_token", "session_id"] {
        assert!(!sealed.windows(plain.len()).any(|w| w == plain.as_bytes()), "{plain} readable in the row");
    }
    assert_eq!(store.find_sensitive(&app, &by_id).await.unwrap(), secret);

    // A merge keeps the keys not sent.
    let patch = UserPatch { sensitive: Some(fields(&[("session_id", "sess_new")])), ..Default::default() };
    store.update(&app, &by_id, &patch, 2).await.unwrap();
    let merged = store.find_sensitive(&app, &by_id).await.unwrap();
    assert_eq!(merged.entries()["session_id"], "sess_new");
    assert_eq!(merged.entries()["auth_token"], "eyJhbGciOiJIUzI1NiIs-plaintext");

    // Rotation: a new key first, the old one still listed: old rows open, new writes use the new key.
    let rotated = Sealer::new(vec![("next".into(), vec![9; 32]), ("current".into(), vec![7; 32])]).unwrap();
    let store2 = user_registry::store::SeaUserStore::new(conn.clone(), rotated);
    assert_eq!(store2.find_sensitive(&app, &by_id).await.unwrap(), merged);
    store2.update(&app, &by_id, &patch, 3).await.unwrap();
    assert_eq!(raw_sealed(&conn, maria.id.as_str()).await.0, "next");
    // Dropped key: a row under it no longer opens, and that is an error, never empty fields.
    let old_only = user_registry::store::SeaUserStore::new(conn.clone(), test_sealer());
    assert!(matches!(old_only.find_sensitive(&app, &by_id).await, Err(StoreError::Unexpected(_))));

    // Another application's id finds nothing; a user without fields has none.
    assert!(matches!(store.find_sensitive(&crate::helpers::app(), &by_id).await, Err(StoreError::UserNotFound)));
    let plain = user(&app, "plain");
    store.create(&plain, &Extras::NONE).await.unwrap();
    assert!(store.find_sensitive(&app, &Lookup::Id(plain.id.clone())).await.unwrap().is_empty());

    // Deleting the user deletes its sealed row.
    store.delete(&app, &maria.id).await.unwrap();
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM user_sensitive_metadata").await, 0);
    drop(db);
}

async fn a_created_user_and_its_event_commit_together(backend: Backend) {
    let (store, conn, _db) = store_and_connection(backend, test_sealer()).await;
    let app = app();
    let first = user(&app, "same");
    store.create(&first, &Extras::NONE).await.unwrap();
    let events = |id: &RosterId| {
        format!("SELECT COUNT(*) FROM outbox_events WHERE kind = 'user.created' AND subject_id = '{}'", id.as_str())
    };
    assert_eq!(count(&conn, &events(&first.id)).await, 1);
    // A refused create leaves no event behind.
    let duplicate = user(&app, "same");
    assert!(matches!(store.create(&duplicate, &Extras::NONE).await, Err(StoreError::UserIdTaken)));
    assert_eq!(count(&conn, &events(&duplicate.id)).await, 0);
    // An upsert that finds its user writes nothing; one that creates writes one event.
    let mut new = new_user("ext-user");
    new.external_id = Some(ExternalId::parse("CRM-7".into()).unwrap());
    let (candidate, _, _) = User::new(app.clone(), new.clone(), 5);
    let (created, was_new) = store.upsert_by_external_id(&candidate, &Extras::NONE, false).await.unwrap();
    assert!(was_new);
    new.user_id = None;
    let (again, _, _) = User::new(app.clone(), new, 6);
    assert!(!store.upsert_by_external_id(&again, &Extras::NONE, false).await.unwrap().1);
    assert_eq!(count(&conn, &events(&created.id)).await, 1);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM outbox_events WHERE delivered_at IS NULL").await, 2);
}

async fn association_keeps_its_first_instant(backend: Backend) {
    let (store, _conn, _db) = store_and_connection(backend, test_sealer()).await;
    let app = app();
    let alice = user(&app, "alice");
    store.create(&alice, &Extras::NONE).await.unwrap();
    let by_id = Lookup::Id(alice.id.clone());
    assert_eq!(store.find(&app, &by_id).await.unwrap().unwrap().associated_at, None);
    assert_eq!(store.mark_associated(&app, &by_id, 100).await.unwrap().associated_at, Some(100));
    assert_eq!(store.mark_associated(&app, &by_id, 200).await.unwrap().associated_at, Some(100));
    assert!(matches!(store.mark_associated(&crate::helpers::app(), &by_id, 300).await, Err(StoreError::UserNotFound)));
}

/// A clock the test moves.
#[derive(Debug, Default)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Other services as the reaper sees them: fixed lifetimes, and a record of every deletion
/// announced (a user announced twice would mean two reapers took it).
#[derive(Default)]
struct Recorder {
    lifetimes: Vec<(AppId, i64)>,
    deleted: Mutex<Vec<String>>,
}

#[async_trait]
impl UserLifecycle for Recorder {
    async fn before_delete(&self, _: &AppId, id: &RosterId) -> anyhow::Result<()> {
        self.deleted.lock().unwrap().push(id.as_str().to_owned());
        // Let a concurrent reaper run between this batch's choice and its delete.
        tokio::task::yield_now().await;
        Ok(())
    }
    async fn unassociated_lifetimes(&self) -> anyhow::Result<Vec<(AppId, i64)>> {
        Ok(self.lifetimes.clone())
    }
    async fn may_read_sensitive(&self, _: &AppId, _: &str) -> anyhow::Result<bool> {
        Ok(false)
    }
}

/// Creates `n` users that expire unless associated, at the clock's current instant.
async fn expiring(registry: &Registry, app: &AppId, n: usize) -> Vec<User> {
    let mut users = Vec::new();
    for _ in 0..n {
        let mut new = new_user("x");
        new.user_id = None;
        new.expires_unassociated = true;
        users.push(registry.create_user(app.clone(), new).await.unwrap());
    }
    users
}

async fn the_reaper_deletes_only_expired_unassociated_users_in_batches(backend: Backend) {
    let (store, _conn, _db) = store_and_connection(backend, test_sealer()).await;
    let (app, quiet_app) = (app(), crate::helpers::app());
    let recorder = Arc::new(Recorder { lifetimes: vec![(app.clone(), DAY)], ..Default::default() });
    let clock = Arc::new(TestClock::default());
    clock.0.store(1_000, Ordering::SeqCst);
    let registry = Registry::new(store.clone() as Arc<dyn UserStore>, recorder.clone(), clock.clone());

    let doomed = expiring(&registry, &app, 5).await;
    let kept_associated = expiring(&registry, &app, 1).await.remove(0);
    registry.mark_associated(&app, &Lookup::Id(kept_associated.id.clone())).await.unwrap();
    let mut permanent = new_user("sendbird-user");
    permanent.expires_unassociated = false;
    let permanent = registry.create_user(app.clone(), permanent).await.unwrap();
    // An application whose lifetime is off (absent from the list) keeps its expiring users.
    let elsewhere = expiring(&registry, &quiet_app, 1).await.remove(0);
    clock.0.store(1_000 + DAY - 10, Ordering::SeqCst);
    let young = expiring(&registry, &app, 1).await.remove(0);

    // Exactly at the lifetime: nobody yet.
    clock.0.store(1_000 + DAY, Ordering::SeqCst);
    assert_eq!(registry.reap(2).await.deleted, 0);

    clock.0.store(1_000 + DAY + 1, Ordering::SeqCst);
    let report = registry.reap(2).await;
    assert_eq!(report.deleted, 5, "three batches of at most 2");
    let mut announced = recorder.deleted.lock().unwrap().clone();
    announced.sort();
    let mut expected: Vec<String> = doomed.iter().map(|u| u.id.as_str().to_owned()).collect();
    expected.sort();
    assert_eq!(announced, expected, "tokens and context of exactly the reaped users go first");
    for user in &doomed {
        assert!(store.find(&app, &Lookup::Id(user.id.clone())).await.unwrap().is_none());
    }
    for (owner, user) in [(&app, &kept_associated), (&app, &permanent), (&quiet_app, &elsewhere), (&app, &young)] {
        assert!(store.find(owner, &Lookup::Id(user.id.clone())).await.unwrap().is_some(), "{:?} kept", user.user_id);
    }

    clock.0.store(1_000 + 2 * DAY, Ordering::SeqCst);
    assert_eq!(registry.reap(100).await.deleted, 1, "the young one, a day later");
    assert!(store.find(&app, &Lookup::Id(young.id.clone())).await.unwrap().is_none());
    // Too late to associate it: the reaper won.
    assert!(registry.mark_associated(&app, &Lookup::Id(young.id.clone())).await.is_err());
}

/// Two reapers (two replicas, two connection pools) at once against PostgreSQL: every expired
/// user is deleted exactly once and none is announced twice.
#[tokio::test]
async fn two_reapers_at_once_share_the_work_without_overlap() {
    let (store_a, conn, _db) = store_and_connection(Backend::Postgres, test_sealer()).await;
    let app = app();
    let clock = Arc::new(TestClock::default());
    let recorder = Arc::new(Recorder { lifetimes: vec![(app.clone(), DAY)], ..Default::default() });
    let registry_a = Registry::new(store_a.clone() as Arc<dyn UserStore>, recorder.clone(), clock.clone());
    let created = expiring(&registry_a, &app, 300).await;

    let second_pool = platform::db::connect(&_db.url, 5).await.expect("connect");
    let store_b = Arc::new(user_registry::store::SeaUserStore::new(second_pool, test_sealer()));
    let registry_b = Registry::new(store_b as Arc<dyn UserStore>, recorder.clone(), clock.clone());
    clock.0.store(DAY + 1, Ordering::SeqCst);
    let (a, b) = tokio::join!(registry_a.reap(20), registry_b.reap(20));
    assert_eq!(a.failed_apps + b.failed_apps, 0);
    assert_eq!(a.deleted + b.deleted, 300, "a: {a:?}, b: {b:?}");

    let announced = recorder.deleted.lock().unwrap().clone();
    let unique: BTreeMap<&String, ()> = announced.iter().map(|id| (id, ())).collect();
    assert_eq!(announced.len(), 300, "no user announced twice");
    assert_eq!(unique.len(), created.len());
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM users").await, 0);
}
