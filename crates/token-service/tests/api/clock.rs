//! Expiry follows the clock `Tokens` is given, never the system's: session tokens, customer
//! JWTs and the in-process caches all read the one injected clock.

use std::{sync::Arc, time::Duration};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform::{Clock, ManualClock};
use serde_json::json;
use test_support::{Backend, TestDatabase};
use token_service::{
    app::Tokens,
    domain::{AppId, AppSettings, InvalidReason, JwtRefusal, Name},
    error::TokenError,
    store::MemoryKv,
};

use crate::helpers::{replica, store};

/// An instant far from the system clock's, so nothing can pass by reading that one.
const START_MS: i64 = 4_000_000_000_000;

/// Two replicas sharing SQLite and a cache, everything on `clock`, and an application.
async fn replicas_on(clock: &ManualClock) -> (Tokens, Tokens, AppId, TestDatabase) {
    let (store, db) = store(Backend::Sqlite).await;
    let shared = Arc::new(MemoryKv::with_clock(100, Arc::new(clock.clone())));
    let (a, b) = (replica(store.clone(), shared.clone(), clock), replica(store, shared, clock));
    let name = Name::parse("name", "clocked".into()).unwrap();
    let app = a.create_application(name, AppSettings::default(), false).await.unwrap().application;
    (a, b, app.id, db)
}

#[tokio::test]
async fn session_tokens_expire_by_the_injected_clock() {
    let clock = ManualClock::at(START_MS);
    let (tokens, _, app, _db) = replicas_on(&clock).await;
    let issued = tokens.issue_session_token(&app, "0000000000000000000000a1", Some(START_MS + 60_000)).await.unwrap();
    assert!(tokens.validate(&issued.token, Some(&app)).await.unwrap().is_ok());
    // Exactly at `expires_at`: no leeway (it is the expiry Roster told the caller).
    clock.advance(Duration::from_millis(59_999));
    assert!(tokens.validate(&issued.token, Some(&app)).await.unwrap().is_ok());
    clock.advance(Duration::from_millis(1));
    assert_eq!(tokens.validate(&issued.token, Some(&app)).await.unwrap(), Err(InvalidReason::Expired));
}

#[tokio::test]
async fn customer_jwts_expire_and_start_by_the_injected_clock() {
    let clock = ManualClock::at(START_MS);
    let (tokens, _, app, _db) = replicas_on(&clock).await;
    let (key, secret) =
        tokens.create_app_key(app.clone(), Name::parse("display_name", "k".into()).unwrap()).await.unwrap();
    let sign = |claims: serde_json::Value| {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.id.clone());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret.expose().as_bytes())).unwrap()
    };
    let start = START_MS / 1000;
    let expiring = sign(json!({ "scope": "app", "exp": start + 60 }));
    let later = sign(json!({ "scope": "app", "nbf": start + 120 }));
    assert!(tokens.authenticate_jwt(&expiring, Some(&app)).await.is_ok());
    let refused = tokens.authenticate_jwt(&later, Some(&app)).await.unwrap_err();
    assert!(matches!(refused, TokenError::JwtRefused(JwtRefusal::NotYetValid)), "{refused:?}");
    // Thirty seconds of leeway either side.
    clock.advance(Duration::from_secs(91));
    let refused = tokens.authenticate_jwt(&expiring, Some(&app)).await.unwrap_err();
    assert!(matches!(refused, TokenError::JwtRefused(JwtRefusal::Expired)), "{refused:?}");
    assert!(tokens.authenticate_jwt(&later, Some(&app)).await.is_ok());
}

#[tokio::test]
async fn a_replica_trusts_revocation_state_it_read_until_its_ttl_is_up() {
    let clock = ManualClock::at(START_MS);
    let (a, b, app, _db) = replicas_on(&clock).await;
    let issued = a.issue_session_token(&app, "0000000000000000000000a1", None).await.unwrap();
    assert!(a.validate(&issued.token, Some(&app)).await.unwrap().is_ok(), "read and kept for a second");
    clock.advance(Duration::from_millis(1));
    b.revoke_session_tokens(&app, "0000000000000000000000a1").await.unwrap();
    assert_eq!(b.validate(&issued.token, Some(&app)).await.unwrap(), Err(InvalidReason::Revoked));
    clock.advance(Duration::from_millis(998));
    assert!(a.validate(&issued.token, Some(&app)).await.unwrap().is_ok(), "a's copy is still trusted");
    clock.advance(Duration::from_millis(1));
    assert_eq!(a.validate(&issued.token, Some(&app)).await.unwrap(), Err(InvalidReason::Revoked));
}

/// Application settings on the hot paths are read once per replica and trusted for the local
/// cache's bound: a new session lifetime set on one replica is used there at once, and on the
/// other once its copy is a second old (the bound these replicas run with).
#[tokio::test]
async fn a_replica_sees_new_application_settings_within_its_bound() {
    let clock = ManualClock::at(START_MS);
    let (a, b, app, _db) = replicas_on(&clock).await;
    let user = "0000000000000000000000a1";
    let lifetime = |issued: &token_service::app::IssuedSessionToken| issued.expires_at - clock.now_millis();
    let week = AppSettings::default().session_token_ttl_secs as i64 * 1000;
    assert_eq!(lifetime(&b.issue_session_token(&app, user, None).await.unwrap()), week, "b read the settings");

    let settings = AppSettings { session_token_ttl_secs: 3600, ..AppSettings::default() };
    a.update_application(&app, None, Some(settings)).await.unwrap();
    assert_eq!(lifetime(&a.issue_session_token(&app, user, None).await.unwrap()), 3_600_000, "at once on a");
    clock.advance(Duration::from_millis(999));
    assert_eq!(lifetime(&b.issue_session_token(&app, user, None).await.unwrap()), week, "b's copy is trusted");
    clock.advance(Duration::from_millis(1));
    assert_eq!(lifetime(&b.issue_session_token(&app, user, None).await.unwrap()), 3_600_000, "then read again");
}

/// Customer credentials are opened once per replica and trusted for the local bound: a deleted
/// app key is refused at once by the replica that deleted it, and by the other once its copy is a
/// second old; a key never seen is read fresh.
#[tokio::test]
async fn a_deleted_app_key_is_refused_everywhere_within_the_bound() {
    let clock = ManualClock::at(START_MS);
    let (a, b, app, _db) = replicas_on(&clock).await;
    let (key, secret) = a.create_app_key(app.clone(), Name::parse("display_name", "k".into()).unwrap()).await.unwrap();
    let basic = |tokens: &Tokens| {
        let (tokens, id, secret, app) = (tokens.clone(), key.id.clone(), secret.expose().to_owned(), app.clone());
        async move { tokens.authenticate_basic(&id, &secret, Some(&app)).await.is_ok() }
    };
    assert!(basic(&a).await && basic(&b).await, "both opened it");
    a.delete_app_key(&app, &key.id).await.unwrap();
    assert!(!basic(&a).await, "refused at once where it was deleted");
    clock.advance(Duration::from_millis(999));
    assert!(basic(&b).await, "b's copy is trusted within the bound");
    clock.advance(Duration::from_millis(1));
    assert!(!basic(&b).await, "and refused once it is up");
}
