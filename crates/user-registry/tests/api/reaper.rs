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
    app::{ReapReport, Registry, StoreError, UserLifecycle, UserStore},
    domain::{AppId, DeletionReason, Lookup, RosterId, User, UserFilter, UserId},
    store::SeaUserStore,
};

use crate::helpers::{app, count, new_user, store_and_connection, store_on_pool, test_sealer};

test_support::contract!(
    the_reaper_deletes_only_expired_unassociated_users_in_batches,
    the_reaper_holds_no_transaction_while_it_tells_the_other_services,
    claims_left_behind_are_finished_once_their_lease_runs_out,
    a_claim_taken_over_is_deleted_by_the_claim_that_took_it,
);

const DAY: i64 = 24 * 3600 * 1000;

/// Other services as the reaper sees them: fixed lifetimes, and a record of every deletion
/// announced (a user announced twice would mean two reapers took it).
#[derive(Default)]
struct Recorder {
    lifetimes: Vec<(AppId, i64)>,
    deleted: Mutex<Vec<String>>,
    /// A user whose deletion the services fail to take, while set.
    failing: Mutex<Option<RosterId>>,
}

#[async_trait]
impl UserLifecycle for Recorder {
    async fn set_active(&self, _: &AppId, _: &RosterId, _: bool) -> anyhow::Result<()> {
        anyhow::bail!("the reaper never changes a user's activation")
    }

    async fn before_delete(&self, _: &AppId, id: &RosterId) -> anyhow::Result<()> {
        if self.failing.lock().unwrap().as_ref() == Some(id) {
            anyhow::bail!("context-service unavailable");
        }
        self.deleted.lock().unwrap().push(id.as_str().to_owned());
        // Let a concurrent reaper run between this batch's choice and its delete.
        tokio::task::yield_now().await;
        Ok(())
    }
    async fn unassociated_lifetimes(&self) -> anyhow::Result<Vec<(AppId, i64)>> {
        Ok(self.lifetimes.clone())
    }
    async fn application_exists(&self, _: &AppId) -> anyhow::Result<bool> {
        Ok(true)
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

/// Other services that, while told of a deletion, use the registry's store, as anything may
/// while a real call is on the wire: they look the user up, try to associate it, and associate
/// another user.
struct UsesTheStore {
    store: Arc<SeaUserStore>,
    lifetimes: Vec<(AppId, i64)>,
    other: Lookup,
    /// For each call: whether the user was found, and whether associating it was refused as
    /// not found.
    seen: Mutex<Vec<(bool, bool)>>,
}

#[async_trait]
impl UserLifecycle for UsesTheStore {
    async fn set_active(&self, _: &AppId, _: &RosterId, _: bool) -> anyhow::Result<()> {
        anyhow::bail!("the reaper never changes a user's activation")
    }

    async fn before_delete(&self, app_id: &AppId, id: &RosterId) -> anyhow::Result<()> {
        let by_id = Lookup::Id(id.clone());
        let found = self.store.find(app_id, &by_id).await?.is_some();
        let refused = matches!(self.store.mark_associated(app_id, &by_id, 0).await, Err(StoreError::UserNotFound));
        self.seen.lock().unwrap().push((found, refused));
        self.store.mark_associated(app_id, &self.other, 0).await?;
        Ok(())
    }
    async fn unassociated_lifetimes(&self) -> anyhow::Result<Vec<(AppId, i64)>> {
        Ok(self.lifetimes.clone())
    }
    async fn application_exists(&self, _: &AppId) -> anyhow::Result<bool> {
        Ok(true)
    }

    async fn may_read_sensitive(&self, _: &AppId, _: &str) -> anyhow::Result<bool> {
        Ok(false)
    }
}

/// On a pool of one connection, a reaper that held a transaction (and on SQLite the write lock)
/// while it told the other services would leave them no connection to use; it holds none, and
/// the user it claimed is already gone: a MarkAssociated racing the reaper finds nothing, while
/// one of a user it has not claimed wins and keeps that user.
async fn the_reaper_holds_no_transaction_while_it_tells_the_other_services(backend: Backend) {
    let (store, _conn, _db) = store_on_pool(backend, test_sealer(), 1).await;
    let app = app();
    let uid = |name: &str| Lookup::UserId(UserId::parse(name.into()).unwrap());
    let services = Arc::new(UsesTheStore {
        store: store.clone(),
        lifetimes: vec![(app.clone(), DAY)],
        other: uid("younger"),
        seen: Mutex::default(),
    });
    let clock = ManualClock::at(1_000);
    let registry = Registry::new(store.clone() as Arc<dyn UserStore>, services.clone(), Arc::new(clock.clone()));
    for (name, at) in [("older", 1_000), ("younger", 2_000)] {
        clock.set(at);
        let mut new = new_user(name);
        new.expires_unassociated = true;
        registry.create_user(app.clone(), new).await.unwrap();
    }

    clock.set(2_000 + DAY + 1);
    // Batches of one: the older user is claimed first, and the younger one is associated while
    // the services are told about the older.
    assert_eq!(registry.reap(1).await, ReapReport { deleted: 1, failed_apps: 0 });
    assert_eq!(*services.seen.lock().unwrap(), [(false, true)], "claimed: gone before the services are told");
    assert!(store.find(&app, &uid("older")).await.unwrap().is_none());
    let kept = store.find(&app, &uid("younger")).await.unwrap().expect("associated in time: kept");
    assert_eq!(kept.associated_at, Some(0));
}

/// Claims left behind, by a pass that died after claiming or by one whose call to the other
/// services failed, keep their users gone; once the lease has run out a later pass tells the
/// services and deletes them.
async fn claims_left_behind_are_finished_once_their_lease_runs_out(backend: Backend) {
    let (store, conn, _db) = store_and_connection(backend, test_sealer()).await;
    let app = app();
    let recorder = Arc::new(Recorder { lifetimes: vec![(app.clone(), DAY)], ..Default::default() });
    let clock = ManualClock::default();
    let registry = Registry::new(store.clone() as Arc<dyn UserStore>, recorder.clone(), Arc::new(clock.clone()));
    let mut ids = Vec::new();
    for at in 1..=4 {
        clock.set(at);
        ids.push(expiring(&registry, &app, 1).await.remove(0).id);
    }
    let now = 10 + DAY;
    clock.set(now);

    // A pass claims the oldest and dies before telling anyone.
    let stale_before = now - Registry::DELETION_LEASE_MS;
    assert_eq!(store.claim_unassociated(&app, now - DAY, stale_before, 1, now).await.unwrap(), ids[..1]);
    // The next pass takes the other three; the services fail on the third user, so only the
    // second is deleted and the last two stay claimed.
    *recorder.failing.lock().unwrap() = Some(ids[2].clone());
    assert_eq!(registry.reap(10).await, ReapReport { deleted: 1, failed_apps: 1 });
    *recorder.failing.lock().unwrap() = None;
    assert!(store.list(&app, None, 10, &UserFilter::default()).await.unwrap().is_empty(), "claimed: not listed");
    for id in [&ids[0], &ids[2], &ids[3]] {
        let by_id = Lookup::Id(id.clone());
        assert!(store.find(&app, &by_id).await.unwrap().is_none(), "claimed: gone");
        assert!(matches!(store.mark_associated(&app, &by_id, now).await, Err(StoreError::UserNotFound)));
    }

    // While the lease holds, nobody takes them over.
    assert_eq!(registry.reap(10).await, ReapReport::default());
    clock.set(now + Registry::DELETION_LEASE_MS);
    assert_eq!(registry.reap(10).await, ReapReport::default());
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM users").await, 3);
    assert_eq!(*recorder.deleted.lock().unwrap(), [ids[1].as_str()]);

    clock.set(now + Registry::DELETION_LEASE_MS + 1);
    assert_eq!(registry.reap(10).await, ReapReport { deleted: 3, failed_apps: 0 });
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM users").await, 0);
    let mut announced = recorder.deleted.lock().unwrap().clone();
    announced.sort();
    let mut expected: Vec<&str> = ids.iter().map(RosterId::as_str).collect();
    expected.sort();
    assert_eq!(announced, expected, "each user told once its call went through");
}

/// A pass too slow for its lease finds its users taken over: they are no longer its to delete,
/// so each deletion is counted by one pass only.
async fn a_claim_taken_over_is_deleted_by_the_claim_that_took_it(backend: Backend) {
    let (store, _conn, _db) = store_and_connection(backend, test_sealer()).await;
    let app = app();
    let recorder = Arc::new(Recorder::default());
    let registry = Registry::new(store.clone() as Arc<dyn UserStore>, recorder, Arc::new(ManualClock::at(1)));
    let id = [expiring(&registry, &app, 1).await.remove(0).id];
    let (slow, late) = (10 + DAY, 10 + DAY + Registry::DELETION_LEASE_MS + 1);
    let claim = |now: i64| store.claim_unassociated(&app, now - DAY, now - Registry::DELETION_LEASE_MS, 10, now);

    assert_eq!(claim(slow).await.unwrap(), id);
    assert_eq!(claim(late).await.unwrap(), id, "taken over once the lease ran out");
    assert!(store.delete_claimed(&app, &id, slow, DeletionReason::Reaper).await.unwrap().is_empty());
    assert_eq!(store.delete_claimed(&app, &id, late, DeletionReason::Reaper).await.unwrap(), id);
}
