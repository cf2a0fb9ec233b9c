//! The `UserStore` contract, run against SQLite and PostgreSQL alike.

use test_support::Backend;
use user_registry::{
    app::{Extras, StoreError},
    domain::{ExternalId, Lookup, UserId},
};

use crate::helpers::{app, store, user};

test_support::contract!(
    creates_and_finds_by_every_key,
    user_id_is_unique_per_application,
    external_id_is_unique_case_insensitively,
    applications_never_see_each_other,
    concurrent_creates_of_one_user_id_store_exactly_one,
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

async fn concurrent_creates_of_one_user_id_store_exactly_one(backend: Backend) {
    let (store, _db) = store(backend).await;
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
}
