//! Data-subject requests as the store keeps them: one worker at a time holds a request (its
//! lease), a worker that died leaves it to the next once the lease runs out, a request is
//! cancelled only before a worker takes it, and an ended request keeps no personal data.

use user_registry::{
    app::PrivacyOutcome,
    domain::{ExportRef, Lookup, PrivacyAction, PrivacyRequest, PrivacyStatus, Subject, UserId},
};

use crate::helpers::{app, store};
use test_support::Backend;

test_support::contract!(
    a_request_is_held_by_one_worker_until_its_lease_runs_out,
    a_request_is_cancelled_only_before_a_worker_takes_it,
    an_ended_request_keeps_no_personal_data,
);

fn request(app: &user_registry::domain::AppId, now: i64) -> PrivacyRequest {
    let subjects = vec![
        Subject::User(Lookup::UserId(UserId::parse("ann".into()).unwrap())),
        Subject::email("ann@example.com".into()).unwrap(),
    ];
    PrivacyRequest::new(app.clone(), PrivacyAction::Erase, subjects, Default::default(), now).unwrap()
}

async fn a_request_is_held_by_one_worker_until_its_lease_runs_out(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    let registered = request(&app, 100);
    store.create_privacy_request(&registered).await.unwrap();

    let (taken, attempts) = store.claim_privacy_request(1_000, 2_000).await.unwrap().expect("open request");
    assert_eq!((taken.id.clone(), attempts), (registered.id.clone(), 1));
    assert!(store.claim_privacy_request(1_999, 3_000).await.unwrap().is_none(), "held until 2,000");
    // The first worker died: once its lease ran out the next takes the request over, and the
    // dead worker can no longer end it.
    let (again, attempts) = store.claim_privacy_request(2_001, 4_000).await.unwrap().expect("taken over");
    assert_eq!((again.id.clone(), attempts), (registered.id.clone(), 2));
    let done = || PrivacyOutcome::Done { users: 1, export: None };
    assert!(!store.finish_privacy_request(&registered.id, 2_000, done(), 2_500).await.unwrap(), "lease lost");
    assert!(store.finish_privacy_request(&registered.id, 4_000, done(), 2_500).await.unwrap());
    assert!(store.claim_privacy_request(9_000, 10_000).await.unwrap().is_none(), "ended");
    let ended = store.find_privacy_request(&app, &registered.id).await.unwrap().unwrap();
    assert_eq!((ended.status, ended.users), (PrivacyStatus::Done, 1));

    // Released for a later pass after a failure: open again at once.
    let second = request(&app, 200);
    store.create_privacy_request(&second).await.unwrap();
    let (_, _) = store.claim_privacy_request(5_000, 6_000).await.unwrap().unwrap();
    store.release_privacy_request(&second.id, 6_000).await.unwrap();
    assert!(store.claim_privacy_request(5_001, 7_000).await.unwrap().is_some());
}

async fn a_request_is_cancelled_only_before_a_worker_takes_it(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    let open = request(&app, 100);
    store.create_privacy_request(&open).await.unwrap();
    let (cancelled, done) = store.cancel_privacy_request(&app, &open.id, 150).await.unwrap().unwrap();
    assert!(done);
    assert_eq!((cancelled.status, cancelled.subjects.len()), (PrivacyStatus::Cancelled, 0));
    assert!(store.claim_privacy_request(200, 300).await.unwrap().is_none(), "never carried out");

    let taken = request(&app, 100);
    store.create_privacy_request(&taken).await.unwrap();
    store.claim_privacy_request(200, 1_000).await.unwrap().unwrap();
    let (held, done) = store.cancel_privacy_request(&app, &taken.id, 500).await.unwrap().unwrap();
    assert!(!done && held.status == PrivacyStatus::Processing, "a worker holds it");
    // Another application sees nothing of it.
    assert!(store.cancel_privacy_request(&crate::helpers::app(), &taken.id, 500).await.unwrap().is_none());
    assert!(store.find_privacy_request(&crate::helpers::app(), &taken.id).await.unwrap().is_none());
}

async fn an_ended_request_keeps_no_personal_data(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    let registered = request(&app, 100);
    store.create_privacy_request(&registered).await.unwrap();
    let stored = store.find_privacy_request(&app, &registered.id).await.unwrap().unwrap();
    assert_eq!(stored.subjects, registered.subjects);
    store.claim_privacy_request(200, 1_000).await.unwrap().unwrap();
    let export = (b"{}".to_vec(), ExportRef { key: "k".repeat(24), expires_at: 5_000 });
    let outcome = PrivacyOutcome::Done { users: 2, export: Some(export) };
    assert!(store.finish_privacy_request(&registered.id, 1_000, outcome, 300).await.unwrap());
    let ended = store.find_privacy_request(&app, &registered.id).await.unwrap().unwrap();
    assert!(ended.subjects.is_empty(), "{ended:?}");
    assert_eq!(ended.export.as_ref().map(|e| e.expires_at), Some(5_000));
    let key = "k".repeat(24);
    assert_eq!(store.find_privacy_export(&app, &registered.id, &key, 4_999).await.unwrap(), Some(b"{}".to_vec()));
    assert_eq!(store.find_privacy_export(&app, &registered.id, "wrong", 4_999).await.unwrap(), None);
    // Past its expiry the export is gone, and purged.
    assert_eq!(store.find_privacy_export(&app, &registered.id, &key, 5_000).await.unwrap(), None);
    assert_eq!(store.purge_privacy_exports(5_000).await.unwrap(), 1);
    assert!(store.find_privacy_request(&app, &registered.id).await.unwrap().unwrap().export.is_none());
}
