//! The `TokenStore` contract on SQLite and PostgreSQL.

use test_support::Backend;
use token_service::{domain::AppId, error::TokenError};

use crate::helpers::{api_token, application, store};

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(test_support::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(test_support::Backend::Postgres).await })*
        }
    };
}

contract!(
    an_application_and_its_first_token_are_stored_together,
    applications_page_in_id_order,
    tokens_need_an_existing_application,
    revoked_tokens_are_no_longer_found,
    a_token_is_revoked_only_through_its_own_application,
);

async fn an_application_and_its_first_token_are_stored_together(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = application("first");
    let (token, secret) = api_token(&app.id);
    store.create_application(&app, Some(&token)).await.expect("created");
    assert_eq!(store.find_application(&app.id).await.unwrap(), Some(app.clone()));
    let found = store.find_api_token(&secret.hash()).await.unwrap().expect("found");
    assert_eq!(found, token);
    assert_ne!(found.token_hash, secret.expose(), "only the hash is stored");
}

async fn applications_page_in_id_order(backend: Backend) {
    let (store, _db) = store(backend).await;
    let mut apps: Vec<_> = (0..5).map(|i| application(&format!("app {i}"))).collect();
    for app in &apps {
        store.create_application(app, None).await.unwrap();
    }
    apps.sort_by(|a, b| a.id.cmp(&b.id));
    let first = store.list_applications(None, 2).await.unwrap();
    assert_eq!(first, apps[..2]);
    let rest = store.list_applications(Some(&first[1].id), 10).await.unwrap();
    assert_eq!(rest, apps[2..]);
}

async fn tokens_need_an_existing_application(backend: Backend) {
    let (store, _db) = store(backend).await;
    let (token, _) = api_token(&AppId::generate());
    let err = store.create_api_token(&token).await.expect_err("no such app");
    assert!(matches!(err, TokenError::ApplicationNotFound), "{err:?}");
}

async fn revoked_tokens_are_no_longer_found(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = application("a");
    store.create_application(&app, None).await.unwrap();
    let (token, secret) = api_token(&app.id);
    store.create_api_token(&token).await.unwrap();
    let hash = store.revoke_api_token(&app.id, &token.id, 1).await.unwrap();
    assert_eq!(hash, Some(secret.hash()));
    assert!(store.find_api_token(&secret.hash()).await.unwrap().is_none());
    assert_eq!(store.revoke_api_token(&app.id, &token.id, 2).await.unwrap(), None, "already revoked");
}

async fn a_token_is_revoked_only_through_its_own_application(backend: Backend) {
    let (store, _db) = store(backend).await;
    let (a, b) = (application("a"), application("b"));
    store.create_application(&a, None).await.unwrap();
    store.create_application(&b, None).await.unwrap();
    let (token, secret) = api_token(&a.id);
    store.create_api_token(&token).await.unwrap();
    assert_eq!(store.revoke_api_token(&b.id, &token.id, 1).await.unwrap(), None);
    assert!(store.find_api_token(&secret.hash()).await.unwrap().is_some());
}

#[tokio::test]
async fn user_revocations_are_durable_and_move_forward() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (store, _db) = store(backend).await;
        let app = application("a");
        store.create_application(&app, None).await.unwrap();
        assert_eq!(store.find_user_revocation(&app.id, "u1").await.unwrap(), None);
        store.revoke_user_tokens(&app.id, "u1", 100).await.unwrap();
        store.revoke_user_tokens(&app.id, "u1", 200).await.unwrap();
        assert_eq!(store.find_user_revocation(&app.id, "u1").await.unwrap(), Some(200));
        assert_eq!(store.find_user_revocation(&app.id, "u2").await.unwrap(), None);
    }
}
