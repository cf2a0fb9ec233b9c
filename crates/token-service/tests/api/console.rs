//! The dashboard's sessions, on both backends: started only by an API token of scope `app`,
//! found by the id the browser holds (never stored), joined by other applications, signed out of
//! an application when its token is revoked, gone at expiry or sign-out.

use std::{sync::Arc, time::Duration};

use platform::ManualClock;
use sea_orm::{ConnectionTrait, Statement};
use test_support::Backend;
use token_service::{
    app::{CONSOLE_SESSION_TTL_MS, Tokens},
    domain::{AppId, AppSettings, Name, Scope, Secret},
    error::TokenError,
    store::MemoryKv,
};

use crate::helpers::{replica, store};

test_support::contract!(
    a_session_starts_with_an_app_token_and_is_found_by_its_id_only,
    applications_join_a_session_and_leave_it_with_their_tokens,
    a_session_ends_at_expiry_and_at_sign_out,
);

const START_MS: i64 = 4_000_000_000_000;

async fn tokens_on(backend: Backend, clock: &ManualClock) -> (Tokens, test_support::TestDatabase) {
    let (store, db) = store(backend).await;
    let shared = Arc::new(MemoryKv::with_clock(100, Arc::new(clock.clone())));
    (replica(store, shared, clock), db)
}

/// An application and an API token of it with `scopes`.
async fn app_with_token(tokens: &Tokens, scopes: Vec<Scope>) -> (AppId, String, Secret) {
    let name = Name::parse("name", "console".into()).unwrap();
    let app = tokens.create_application(name, AppSettings::default(), false).await.unwrap().application;
    let (token, secret) =
        tokens.create_api_token(app.id.clone(), Name::parse("name", "t".into()).unwrap(), scopes).await.unwrap();
    (app.id, token.id, secret)
}

fn again(secret: &Secret) -> Secret {
    Secret::from_presented(secret.expose().to_owned())
}

async fn a_session_starts_with_an_app_token_and_is_found_by_its_id_only(backend: Backend) {
    let clock = ManualClock::at(START_MS);
    let (tokens, db) = tokens_on(backend, &clock).await;
    let (app, token_id, secret) = app_with_token(&tokens, vec![Scope::App]).await;
    let started = tokens.start_console_session(again(&secret)).await.unwrap();
    assert_eq!(started.id.len(), 64);
    assert!(started.id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(started.session.csrf.len(), 64);
    assert_ne!(started.session.csrf, started.id);
    assert_eq!(started.session.expires_at, START_MS + CONSOLE_SESSION_TTL_MS);
    let found = tokens.console_session(&started.id).await.unwrap().expect("found by its id");
    assert_eq!(found, started.session);
    assert_eq!((found.apps[0].app_id.clone(), found.apps[0].api_token_id.clone()), (app, token_id));

    // Another id, or the stored hash presented as an id, finds nothing.
    assert_eq!(tokens.console_session(&"0".repeat(64)).await.unwrap(), None);
    assert_eq!(tokens.console_session(&found.id_hash).await.unwrap(), None);
    assert_eq!(tokens.console_session("").await.unwrap(), None);
    // The id itself is nowhere in the database.
    let conn = platform::db::connect(&db.url, 1).await.unwrap();
    let backend_of = conn.get_database_backend();
    let rows =
        conn.query_all(Statement::from_string(backend_of, "SELECT id_hash, csrf FROM console_sessions")).await.unwrap();
    assert_eq!(rows.len(), 1);
    let stored: String = rows[0].try_get_by_index(0).unwrap();
    assert_ne!(stored, started.id);

    // Only an API token of scope `app` signs in.
    let (_, _, sensitive_only) = app_with_token(&tokens, vec![Scope::SensitiveMetadata]).await;
    for (who, token) in
        [("a sensitive-metadata token", again(&sensitive_only)), ("garbage", Secret::from_presented("nope".into()))]
    {
        let refused = tokens.start_console_session(token).await.unwrap_err();
        assert!(matches!(refused, TokenError::CredentialInvalid), "{who}: {refused:?}");
    }
    let empty = tokens.start_console_session(Secret::from_presented(String::new())).await.unwrap_err();
    assert!(matches!(empty, TokenError::CredentialMissing), "{empty:?}");
}

async fn applications_join_a_session_and_leave_it_with_their_tokens(backend: Backend) {
    let clock = ManualClock::at(START_MS);
    let (tokens, _db) = tokens_on(backend, &clock).await;
    let (a, _, a_secret) = app_with_token(&tokens, vec![Scope::App]).await;
    let (b, b_token, b_secret) = app_with_token(&tokens, vec![Scope::App]).await;
    let started = tokens.start_console_session(again(&a_secret)).await.unwrap();
    clock.advance(Duration::from_secs(1));
    let joined = tokens.add_console_application(&started.id, again(&b_secret)).await.unwrap().expect("joined");
    let apps: Vec<AppId> = joined.apps.iter().map(|x| x.app_id.clone()).collect();
    assert_eq!(apps, [a.clone(), b.clone()], "in the order they were added");
    assert_eq!(joined.csrf, started.session.csrf, "the same session");

    // Signing in to `a` again with another of its tokens keeps one entry, now on that token.
    let (a_other, a_other_secret) =
        tokens.create_api_token(a.clone(), Name::parse("name", "t2".into()).unwrap(), vec![]).await.unwrap();
    let again_a = tokens.add_console_application(&started.id, a_other_secret).await.unwrap().expect("joined");
    assert_eq!(again_a.apps.len(), 2);
    let entry = again_a.apps.iter().find(|x| x.app_id == a).unwrap();
    assert_eq!(entry.api_token_id, a_other.id);

    // Revoking the token an application was signed in with signs the session out of it.
    tokens.revoke_api_token(&a, &a_other.id).await.unwrap();
    let left = tokens.console_session(&started.id).await.unwrap().expect("b remains");
    assert_eq!(left.apps.iter().map(|x| &x.app_id).collect::<Vec<_>>(), [&b]);
    // The first token of `a`, still live, is no longer the session's: `a` stays out.
    assert!(tokens.authenticate_api_token(again(&a_secret), None).await.is_ok());
    tokens.revoke_api_token(&b, &b_token).await.unwrap();
    assert_eq!(tokens.console_session(&started.id).await.unwrap(), None, "no application left");
}

async fn a_session_ends_at_expiry_and_at_sign_out(backend: Backend) {
    let clock = ManualClock::at(START_MS);
    let (tokens, _db) = tokens_on(backend, &clock).await;
    let (_, _, secret) = app_with_token(&tokens, vec![Scope::App]).await;
    let first = tokens.start_console_session(again(&secret)).await.unwrap();
    clock.advance(Duration::from_millis(CONSOLE_SESSION_TTL_MS as u64 - 1));
    assert!(tokens.console_session(&first.id).await.unwrap().is_some());
    clock.advance(Duration::from_millis(1));
    assert_eq!(tokens.console_session(&first.id).await.unwrap(), None, "expired");
    // A new sign-in sweeps the expired one away; joining it then finds nothing.
    let second = tokens.start_console_session(again(&secret)).await.unwrap();
    assert_eq!(tokens.add_console_application(&first.id, again(&secret)).await.unwrap(), None);

    tokens.end_console_session(&second.id).await.unwrap();
    assert_eq!(tokens.console_session(&second.id).await.unwrap(), None, "signed out");
    assert_eq!(tokens.add_console_application(&second.id, again(&secret)).await.unwrap(), None);
    tokens.end_console_session(&second.id).await.unwrap();
}

/// Over gRPC: the id answered once, the session found by it, a wrong token UNAUTHENTICATED,
/// sign-out final.
#[tokio::test]
async fn console_sessions_over_grpc() {
    use proto::token::v1 as pb;
    let mut service = crate::helpers::spawn_token_service(false).await;
    let app_id = service.create_app().await;
    let request = pb::CreateApiTokenRequest { app_id: app_id.clone(), name: "ops".into(), scopes: vec![] };
    let api_token = service.client.create_api_token(request).await.unwrap().into_inner().api_token;
    let start = |api_token: String| pb::StartConsoleSessionRequest { api_token };
    let started = service.client.start_console_session(start(api_token)).await.unwrap().into_inner();
    let session = started.session.expect("a session");
    assert_eq!(session.app_ids, std::slice::from_ref(&app_id));
    let found = service.client.get_console_session(pb::GetConsoleSessionRequest { id: started.id.clone() }).await;
    assert_eq!(found.unwrap().into_inner().session, Some(session));
    let refused = service.client.start_console_session(start("f".repeat(40))).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    service.client.end_console_session(pb::EndConsoleSessionRequest { id: started.id.clone() }).await.unwrap();
    let gone = service.client.get_console_session(pb::GetConsoleSessionRequest { id: started.id }).await;
    assert_eq!(gone.unwrap().into_inner().session, None);
}
