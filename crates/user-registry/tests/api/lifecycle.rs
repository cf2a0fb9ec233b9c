//! A user's life beyond its profile, on both backends: sealed sensitive metadata, the outbox
//! event written with the user, and association (which keeps a user from the reaper).

use platform::seal::Sealer;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use test_support::Backend;
use user_registry::{
    app::{Extras, StoreError, UserStore},
    domain::{ExternalId, Lookup, RosterId, SensitiveFields, User, UserPatch},
};

use crate::helpers::{app, count, new_user, store_and_connection, test_sealer, user};

test_support::contract!(
    sensitive_fields_are_sealed_at_rest_merge_and_survive_key_rotation,
    a_created_user_and_its_event_commit_together,
    association_keeps_its_first_instant,
    every_change_writes_its_events_in_order_with_the_user_after_it,
);

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
        format!("SELECT COUNT(*) FROM outbox WHERE kind = 'user.created' AND subject_id = '{}'", id.as_str())
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
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").await, 2);
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

/// Each change writes its events in its own transaction, the user as it is after the change
/// carried along; the relay's reader returns them in the order written, and a published row is
/// not returned again.
async fn every_change_writes_its_events_in_order_with_the_user_after_it(backend: Backend) {
    use platform::outbox::Outbox;
    use user_registry::{
        domain::{DeletionReason, MetaValue, Metadata, MetadataWrite, Nickname},
        store::SeaOutbox,
    };

    let (store, conn, _db) = store_and_connection(backend, test_sealer()).await;
    let outbox = SeaOutbox::new(conn.clone());
    let app = app();
    let alice = user(&app, "alice");
    let by_id = Lookup::Id(alice.id.clone());
    store.create(&alice, &Extras::NONE).await.unwrap();
    let nickname = UserPatch { nickname: Some(Nickname::parse("Al".into()).unwrap()), ..Default::default() };
    store.update(&app, &by_id, &nickname, 10).await.unwrap();
    let off = UserPatch { is_active: Some(false), ..Default::default() };
    store.update(&app, &by_id, &off, 11).await.unwrap();
    store.update(&app, &by_id, &off, 12).await.unwrap(); // already off: no second deactivation
    let on = UserPatch { is_active: Some(true), ..Default::default() };
    store.update(&app, &by_id, &on, 13).await.unwrap();
    let metadata = Metadata::parse([("plan".to_owned(), MetaValue::String("pro".into()))].into()).unwrap();
    store.write_metadata(&app, &by_id, &metadata, MetadataWrite::Upsert, 14).await.unwrap();
    store.delete_personal_information(&app, &by_id, 15).await.unwrap();
    let claimed = store.claim_user(&app, &by_id, 16).await.unwrap().unwrap();
    store.delete_claimed(&app, std::slice::from_ref(&claimed), 16, DeletionReason::Erasure).await.unwrap();
    // A refused change writes nothing.
    assert!(store.update(&app, &by_id, &nickname, 17).await.is_err());

    let pending = outbox.pending(100).await.unwrap();
    let kinds: Vec<&str> = pending.iter().map(|p| p.event.r#type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "user.updated",
            "user.deactivated",
            "user.updated",
            "user.updated",
            "user.reactivated",
            "user.updated",
            "user.updated",
            "user.updated",
            "user.deleted",
        ]
    );
    let users: Vec<_> = pending.iter().map(|p| p.event.user.clone().unwrap()).collect();
    assert!(pending.iter().all(|p| p.event.subject_id == alice.id.as_str() && p.event.app_id == app.as_str()));
    assert_eq!(users[0].nickname, alice.nickname.as_str());
    assert_eq!(users[1].nickname, "Al", "the user after the change");
    assert!(!users[2].is_active && !users[3].is_active && users[5].is_active);
    let plan = users[7].metadata.get("plan").and_then(|v| v.kind.clone());
    assert_eq!(plan, Some(proto::registry::v1::metadata_value::Kind::StringValue("pro".into())));
    assert_eq!(users[8].nickname, "", "personal information gone");
    let deleted = &pending[9].event;
    assert_eq!(deleted.detail, "erasure");
    assert_eq!(deleted.user.as_ref().unwrap().user_id, "alice");
    assert_eq!(deleted.user.as_ref().unwrap().nickname, "", "a deletion carries ids only");
    assert_eq!(deleted.occurred_at, 16);
    // Ids are unique, and published rows are not read again.
    let ids: std::collections::HashSet<&str> = pending.iter().map(|p| p.event.id.as_str()).collect();
    assert_eq!(ids.len(), pending.len());
    let first: Vec<i64> = pending[..4].iter().map(|p| p.seq).collect();
    outbox.mark_published(&first, 20).await.unwrap();
    let rest = outbox.pending(100).await.unwrap();
    assert_eq!(rest.len(), 6);
    assert_eq!(rest[0].event.id, pending[4].event.id);
}
