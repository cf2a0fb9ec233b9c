//! The reaper of end users never associated with a conversation, on both backends: what it
//! takes, and that two at once share the work.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use platform::ManualClock;
use test_support::Backend;
use user_registry::{
    app::{Registry, UserLifecycle, UserStore},
    domain::{AppId, Lookup, RosterId, User},
};

use crate::helpers::{app, count, new_user, store_and_connection, test_sealer};

test_support::contract!(the_reaper_deletes_only_expired_unassociated_users_in_batches);

const DAY: i64 = 24 * 3600 * 1000;

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
    let clock = ManualClock::at(1_000);
    let registry = Registry::new(store.clone() as Arc<dyn UserStore>, recorder.clone(), Arc::new(clock.clone()));

    let doomed = expiring(&registry, &app, 5).await;
    let kept_associated = expiring(&registry, &app, 1).await.remove(0);
    registry.mark_associated(&app, &Lookup::Id(kept_associated.id.clone())).await.unwrap();
    let mut permanent = new_user("sendbird-user");
    permanent.expires_unassociated = false;
    let permanent = registry.create_user(app.clone(), permanent).await.unwrap();
    // An application whose lifetime is off (absent from the list) keeps its expiring users.
    let elsewhere = expiring(&registry, &quiet_app, 1).await.remove(0);
    clock.set(1_000 + DAY - 10);
    let young = expiring(&registry, &app, 1).await.remove(0);

    // Exactly at the lifetime: nobody yet.
    clock.set(1_000 + DAY);
    assert_eq!(registry.reap(2).await.deleted, 0);

    clock.set(1_000 + DAY + 1);
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

    clock.set(1_000 + 2 * DAY);
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
    let clock = ManualClock::default();
    let recorder = Arc::new(Recorder { lifetimes: vec![(app.clone(), DAY)], ..Default::default() });
    let registry_a = Registry::new(store_a.clone() as Arc<dyn UserStore>, recorder.clone(), Arc::new(clock.clone()));
    let created = expiring(&registry_a, &app, 300).await;

    let second_pool = platform::db::connect(&_db.url, 5).await.expect("connect");
    let store_b = Arc::new(user_registry::store::SeaUserStore::new(second_pool, test_sealer()));
    let registry_b = Registry::new(store_b as Arc<dyn UserStore>, recorder.clone(), Arc::new(clock.clone()));
    clock.set(DAY + 1);
    let (a, b) = tokio::join!(registry_a.reap(20), registry_b.reap(20));
    assert_eq!(a.failed_apps + b.failed_apps, 0);
    assert_eq!(a.deleted + b.deleted, 300, "a: {a:?}, b: {b:?}");

    let announced = recorder.deleted.lock().unwrap().clone();
    let unique: BTreeMap<&String, ()> = announced.iter().map(|id| (id, ())).collect();
    assert_eq!(announced.len(), 300, "no user announced twice");
    assert_eq!(unique.len(), created.len());
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM users").await, 0);
}
