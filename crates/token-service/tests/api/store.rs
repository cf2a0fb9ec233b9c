//! The `TokenStore` contract on SQLite and PostgreSQL.

use test_support::Backend;
use token_service::{app::StoreError, domain::AppId};

use crate::helpers::{api_token, application, store};

test_support::contract!(
    access_tokens_beyond_the_limit_are_revoked_oldest_first,
    fifty_concurrent_issues_leave_exactly_the_limit,
    revoking_a_user_revokes_its_access_tokens_and_records_the_instant,
    generated_signing_keys_come_newest_first,
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
    assert!(matches!(err, StoreError::ApplicationNotFound), "{err:?}");
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
        assert_eq!(revoked_before(&store, &app.id, "u1").await, None);
        store.revoke_session_tokens(&app.id, "u1", 100).await.unwrap();
        store.revoke_session_tokens(&app.id, "u1", 200).await.unwrap();
        assert_eq!(revoked_before(&store, &app.id, "u1").await, Some(200));
        store.revoke_session_tokens(&app.id, "u1", 150).await.unwrap();
        assert_eq!(revoked_before(&store, &app.id, "u1").await, Some(200), "never backwards");
        assert_eq!(revoked_before(&store, &app.id, "u2").await, None);
    }
}

/// The "revoked before" instant kept for the user, when there is one.
async fn revoked_before(
    store: &std::sync::Arc<dyn token_service::app::TokenStore>,
    app: &AppId,
    user: &str,
) -> Option<i64> {
    store.find_user_state(app, user).await.unwrap().map(|s| s.revoked_before).filter(|before| *before > 0)
}

async fn is_deleted(store: &std::sync::Arc<dyn token_service::app::TokenStore>, app: &AppId, user: &str) -> bool {
    store.find_user_state(app, user).await.unwrap().is_some_and(|s| s.deleted)
}

fn access_token(app: &AppId, user: &str, created_at: i64) -> token_service::domain::AccessToken {
    let secret = token_service::domain::Secret::generate();
    token_service::domain::AccessToken {
        id: platform::ids::new_id(),
        app_id: app.clone(),
        user_id: user.to_owned(),
        token_hash: secret.hash(),
        created_at,
    }
}

async fn access_tokens_beyond_the_limit_are_revoked_oldest_first(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = AppId::generate();
    let tokens: Vec<_> = (0..4).map(|i| access_token(&app, "u", 1000 + i)).collect();
    for token in &tokens[..3] {
        assert!(store.issue_access_token(token, 3, token.created_at).await.unwrap().is_empty());
    }
    let revoked = store.issue_access_token(&tokens[3], 3, 2000).await.unwrap();
    assert_eq!(revoked, vec![tokens[0].clone()]);
    assert!(store.find_access_token(&tokens[0].token_hash).await.unwrap().is_none());
    let live = store.list_access_tokens(&app, "u").await.unwrap();
    assert_eq!(live, vec![tokens[3].clone(), tokens[2].clone(), tokens[1].clone()], "newest first");
    // Explicit revocation, only through the token's own application.
    assert!(store.revoke_access_token(&AppId::generate(), &tokens[1].id, 1).await.unwrap().is_none());
    assert_eq!(store.revoke_access_token(&app, &tokens[1].id, 1).await.unwrap(), Some(tokens[1].clone()));
    assert!(store.revoke_access_token(&app, &tokens[1].id, 2).await.unwrap().is_none(), "already revoked");
}

async fn fifty_concurrent_issues_leave_exactly_the_limit(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = AppId::generate();
    let issues = (0..50).map(|i| {
        let (store, token) = (store.clone(), access_token(&app, "busy", 1000 + i));
        tokio::spawn(async move { store.issue_access_token(&token, 10, token.created_at).await })
    });
    let mut revoked = 0;
    for issue in issues {
        revoked += issue.await.unwrap().expect("issued").len();
    }
    assert_eq!(revoked, 40);
    assert_eq!(store.list_access_tokens(&app, "busy").await.unwrap().len(), 10);
}

async fn revoking_a_user_revokes_its_access_tokens_and_records_the_instant(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = AppId::generate();
    let mine = access_token(&app, "gone", 1);
    let other = access_token(&app, "stays", 1);
    store.issue_access_token(&mine, 10, 1).await.unwrap();
    store.issue_access_token(&other, 10, 1).await.unwrap();
    let revoked = store.revoke_user_tokens(&app, "gone", 5000).await.unwrap();
    assert_eq!(revoked, vec![mine.clone()]);
    assert!(store.find_access_token(&mine.token_hash).await.unwrap().is_none());
    assert!(store.find_access_token(&other.token_hash).await.unwrap().is_some());
    assert_eq!(revoked_before(&store, &app, "gone").await, Some(5000));
    assert!(is_deleted(&store, &app, "gone").await);
    assert!(!is_deleted(&store, &app, "stays").await);
    let late = access_token(&app, "gone", 6000);
    let refused = store.issue_access_token(&late, 10, 6000).await.unwrap_err();
    assert!(matches!(refused, StoreError::UserDeleted), "{refused:?}");
    assert!(store.find_access_token(&late.token_hash).await.unwrap().is_none(), "nothing written");
    assert_eq!(revoked_before(&store, &app, "stays").await, None, "issuing is not revoking");
}

async fn generated_signing_keys_come_newest_first(backend: Backend) {
    let (store, _db) = store(backend).await;
    assert!(store.signing_keys().await.unwrap().is_empty());
    store.add_signing_key("old", &[1; 32], 1).await.unwrap();
    store.add_signing_key("new", &[2; 32], 2).await.unwrap();
    assert!(store.add_signing_key("new", &[3; 32], 3).await.is_err(), "kids are unique");
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(keys, vec![("new".to_owned(), vec![2; 32]), ("old".to_owned(), vec![1; 32])]);
}
