//! The `CredentialStore` contract on SQLite and PostgreSQL, for each kind of credential: one
//! generic implementation serves app keys, public keys and admin clients alike.

use platform::seal::Sealed;
use test_support::Backend;
use token_service::{
    app::{CredentialStore, SealedCredential, StoreError},
    domain::{AdminClient, AppId, AppKey, KeyAlgorithm, Name, PublicKey, Scope},
};

use crate::helpers::{application, store};

test_support::contract!(
    app_keys_are_kept_per_application,
    public_keys_are_kept_per_application,
    admin_clients_are_kept_per_application
);

fn sealed(byte: u8) -> Sealed {
    Sealed { kid: "seal-1".into(), bytes: vec![byte; 40] }
}

fn app_key(app_id: &AppId, created_at: i64) -> SealedCredential<AppKey> {
    let display_name = Name::parse("display_name", "key".into()).unwrap();
    let key = AppKey { id: AppKey::new_id(), app_id: app_id.clone(), display_name, created_at };
    SealedCredential { credential: key, sealed: sealed(created_at as u8) }
}

fn public_key(app_id: &AppId, created_at: i64) -> PublicKey {
    let pem = include_str!("keys/ec-public.pem").to_owned();
    PublicKey { id: PublicKey::new_id(), app_id: app_id.clone(), algorithm: KeyAlgorithm::Es256, pem, created_at }
}

fn admin_client(app_id: &AppId, created_at: i64) -> SealedCredential<AdminClient> {
    let name = Name::parse("name", "admin".into()).unwrap();
    let scopes = vec![Scope::UserManagement, Scope::SensitiveMetadata];
    let client = AdminClient { id: AdminClient::new_id(), app_id: app_id.clone(), name, scopes, created_at };
    SealedCredential { credential: client, sealed: sealed(created_at as u8) }
}

/// What every kind of credential promises: its application must exist; listed oldest first per
/// application; found by id whatever its application; deleted only through its own; an id with
/// a NUL names nothing.
async fn kept_per_application<C: std::fmt::Debug>(
    store: &dyn CredentialStore<C>,
    apps: (&AppId, &AppId),
    make: fn(&AppId, i64) -> C,
    id: fn(&C) -> &str,
    same: fn(&C, &C) -> bool,
) {
    let (a, b) = apps;
    let refused = store.create(&make(&AppId::generate(), 1)).await.expect_err("no such application");
    assert!(matches!(refused, StoreError::ApplicationNotFound), "{refused:?}");

    let (newer, older, other) = (make(a, 20), make(a, 10), make(b, 5));
    for credential in [&newer, &older, &other] {
        store.create(credential).await.unwrap();
    }
    let listed = store.list(a).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(same(&listed[0], &older) && same(&listed[1], &newer), "oldest first: {listed:?}");

    let found = store.find(id(&other)).await.unwrap().expect("found whatever its application");
    assert!(same(&found, &other), "{found:?}");
    assert!(store.find("no-such-id").await.unwrap().is_none());
    assert!(store.find("nul\0id").await.unwrap().is_none());

    assert!(!store.delete(a, id(&other)).await.unwrap(), "not through another application");
    assert!(!store.delete(a, "nul\0id").await.unwrap());
    assert!(store.delete(b, id(&other)).await.unwrap());
    assert!(store.find(id(&other)).await.unwrap().is_none());
    assert!(!store.delete(b, id(&other)).await.unwrap(), "already deleted");
}

async fn two_applications(
    backend: Backend,
) -> (std::sync::Arc<dyn token_service::app::TokenStore>, test_support::TestDatabase, AppId, AppId) {
    let (store, db) = store(backend).await;
    let (a, b) = (application("a"), application("b"));
    store.create_application(&a, None).await.unwrap();
    store.create_application(&b, None).await.unwrap();
    (store, db, a.id, b.id)
}

fn same_sealed<C: PartialEq>(x: &SealedCredential<C>, y: &SealedCredential<C>) -> bool {
    x.credential == y.credential && x.sealed.kid == y.sealed.kid && x.sealed.bytes == y.sealed.bytes
}

async fn app_keys_are_kept_per_application(backend: Backend) {
    let (store, _db, a, b) = two_applications(backend).await;
    kept_per_application(store.app_keys(), (&a, &b), app_key, |k| &k.credential.id, same_sealed).await;
}

async fn public_keys_are_kept_per_application(backend: Backend) {
    let (store, _db, a, b) = two_applications(backend).await;
    kept_per_application(store.public_keys(), (&a, &b), public_key, |k| &k.id, PartialEq::eq).await;
}

async fn admin_clients_are_kept_per_application(backend: Backend) {
    let (store, _db, a, b) = two_applications(backend).await;
    kept_per_application(store.admin_clients(), (&a, &b), admin_client, |c| &c.credential.id, same_sealed).await;
}
