//! User tokens over gRPC: session tokens (issue, validate, revoke, rotate keys, survive a Redis
//! flush, Redis outages under each policy) and access tokens (limit, revoke).

use std::sync::{Arc, atomic::Ordering};

use platform::config::RedisFailurePolicy;
use proto::token::v1 as pb;
use secrecy::SecretString;
use test_support::{Backend, TestDatabase};
use tonic::Code;

use crate::helpers::{OwnRedis, TestDirectory, free_port, spawn_token_service, spawn_with, spawn_with_directory};

const VALID: i32 = pb::InvalidReason::Unspecified as i32;

fn reason(r: pb::InvalidReason) -> i32 {
    r as i32
}

#[tokio::test]
async fn session_tokens_work_until_revoked_and_new_ones_work_after() {
    let mut service = spawn_token_service(true).await;
    let app = service.create_app().await;
    let token = service.session_token(&app, "0000000000000000000000a1").await;
    let access = service.access_token(&app, "0000000000000000000000a1").await;

    let answer = service.validate(&token).await;
    assert!(answer.valid, "{answer:?}");
    assert_eq!((answer.app_id.as_str(), answer.user_id.as_str()), (app.as_str(), "0000000000000000000000a1"));
    assert_eq!(answer.kind, pb::TokenKind::Session as i32);
    let expires = proto::timestamp_to_millis(&answer.expires_at.unwrap());
    let week = 7 * 24 * 3600 * 1000;
    assert!((expires - platform::now_millis() - week).abs() < 60_000, "default lifetime is 7 days");

    let revoke = pb::RevokeSessionTokensRequest { app_id: app.clone(), user_id: "0000000000000000000000a1".into() };
    service.client.revoke_session_tokens(revoke).await.expect("revoked");
    let answer = service.validate(&token).await;
    assert!(!answer.valid);
    assert_eq!(answer.reason, reason(pb::InvalidReason::Revoked));

    let fresh = service.session_token(&app, "0000000000000000000000a1").await;
    assert!(service.validate(&fresh).await.valid, "a token issued after the revocation works");
    assert!(service.validate(&access).await.valid, "access tokens are not session tokens");
    let other_user = service.session_token(&app, "0000000000000000000000a2").await;
    assert!(service.validate(&other_user).await.valid);
}

#[tokio::test]
async fn a_redis_flush_never_brings_a_revoked_token_back() {
    let db = TestDatabase::sqlite();
    let settings = test_support::settings(&db, true);
    let mut first = spawn_with(&settings).await;
    let app = first.create_app().await;
    let token = first.session_token(&app, "0000000000000000000000a1").await;
    let revoke = pb::RevokeSessionTokensRequest { app_id: app.clone(), user_id: "0000000000000000000000a1".into() };
    first.client.revoke_session_tokens(revoke).await.expect("revoked");

    // Flush everything this deployment keeps in Redis, then ask a fresh replica.
    let client = redis::Client::open(test_support::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let pattern = format!("{}:*", settings.redis.key_prefix);
    let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query_async(&mut conn).await.unwrap();
    assert!(!keys.is_empty(), "revocation state was in Redis");
    let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();

    let mut second = spawn_with(&settings).await;
    let answer = second.validate(&token).await;
    assert_eq!(answer.reason, reason(pb::InvalidReason::Revoked), "{answer:?}");
}

#[tokio::test]
async fn redis_outages_follow_the_policy_and_recovery_needs_nothing() {
    let metrics = platform::metrics::install();
    let mut redis = OwnRedis::start(free_port());
    redis.ready().await;
    let db = TestDatabase::sqlite();
    let mut settings = test_support::settings(&db, false);
    settings.redis.url = Some(SecretString::from(redis.url()));
    settings.session.revocation_cache_ms = 0;
    let mut closed = spawn_with(&settings).await;
    let app = closed.create_app().await;
    let token = closed.session_token(&app, "0000000000000000000000a1").await;
    let revoked = closed.session_token(&app, "0000000000000000000000a2").await;
    let access = closed.access_token(&app, "0000000000000000000000a1").await;
    let revoke = pb::RevokeSessionTokensRequest { app_id: app.clone(), user_id: "0000000000000000000000a2".into() };
    closed.client.revoke_session_tokens(revoke).await.expect("revoked");
    assert!(closed.validate(&token).await.valid);

    settings.session.redis_failure = RedisFailurePolicy::Database;
    let mut database = spawn_with(&settings).await;
    settings.session.redis_failure = RedisFailurePolicy::Open;
    let mut open = spawn_with(&settings).await;

    redis.stop();
    let answer = closed.validate(&token).await;
    assert_eq!(answer.reason, reason(pb::InvalidReason::Unavailable), "fail closed: {answer:?}");
    // Access tokens live in the database: whatever the policy, they are checked there.
    let answer = closed.validate(&access).await;
    assert!(answer.valid, "an access token is read from the database: {answer:?}");
    // A failed Redis is not waited for again by every call: one probe per interval.
    let failures = || {
        let text = metrics.render();
        text.lines()
            .find_map(|l| l.strip_prefix("roster_redis_failures_total "))
            .map_or(0, |n| n.trim().parse::<u64>().unwrap())
    };
    let before = failures();
    for _ in 0..30 {
        assert_eq!(closed.validate(&token).await.reason, reason(pb::InvalidReason::Unavailable));
        assert!(closed.validate(&access).await.valid);
    }
    let tried = failures() - before;
    assert!(tried <= 3, "60 validations tried the absent Redis {tried} times, not once per call");
    assert!(database.validate(&token).await.valid, "database policy reads the durable state");
    assert_eq!(database.validate(&revoked).await.reason, reason(pb::InvalidReason::Revoked));
    assert!(open.validate(&token).await.valid, "open policy skips the revocation check");

    // Redis comes back on the same port; the service reconnects by itself.
    let restarted = OwnRedis::start(redis.port);
    restarted.ready().await;
    let mut recovered = false;
    for _ in 0..100 {
        if closed.validate(&token).await.valid {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "validation recovers when Redis returns");
    assert_eq!(
        closed.validate(&revoked).await.reason,
        reason(pb::InvalidReason::Revoked),
        "state reloaded from the database"
    );
}

fn key(byte: u8) -> String {
    hex_of(&[byte; 32])
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn signing_keys_rotate_without_breaking_live_tokens() {
    let db = TestDatabase::sqlite();
    let mut settings = test_support::settings(&db, false);
    settings.session.signing_keys = Some(SecretString::from(format!("old:{}", key(1))));
    let mut before = spawn_with(&settings).await;
    let app = before.create_app().await;
    let old_token = before.session_token(&app, "0000000000000000000000a1").await;

    settings.session.signing_keys = Some(SecretString::from(format!("new:{},old:{}", key(2), key(1))));
    let mut rotated = spawn_with(&settings).await;
    assert!(rotated.validate(&old_token).await.valid, "tokens of the old key keep working");
    let new_token = rotated.session_token(&app, "0000000000000000000000a1").await;
    assert!(rotated.validate(&new_token).await.valid);
    assert_ne!(new_token.split('.').next(), old_token.split('.').next(), "a new kid in the header");

    settings.session.signing_keys = Some(SecretString::from(format!("new:{}", key(2))));
    let mut retired = spawn_with(&settings).await;
    assert_eq!(retired.validate(&old_token).await.reason, reason(pb::InvalidReason::Unknown));
    assert!(retired.validate(&new_token).await.valid);
}

#[tokio::test]
async fn generated_keys_survive_a_restart() {
    let db = TestDatabase::sqlite();
    let settings = test_support::settings(&db, false);
    let mut first = spawn_with(&settings).await;
    let app = first.create_app().await;
    let token = first.session_token(&app, "0000000000000000000000a1").await;
    let mut second = spawn_with(&settings).await;
    assert!(second.validate(&token).await.valid);
}

#[tokio::test]
async fn fifty_concurrent_access_token_issues_leave_exactly_ten_valid() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let settings = test_support::settings(&db, true);
    let mut service = spawn_with(&settings).await;
    let app = service.create_app().await;
    let issues = (0..50).map(|_| {
        let mut client = service.client.clone();
        let request = pb::IssueAccessTokenRequest { app_id: app.clone(), user_id: "0000000000000000000000b5".into() };
        tokio::spawn(async move { client.issue_access_token(request).await.expect("issued").into_inner().token })
    });
    let mut tokens = Vec::new();
    for issue in issues {
        tokens.push(issue.await.unwrap());
    }
    let mut valid = 0;
    for token in &tokens {
        if service.validate(token).await.valid {
            valid += 1;
        }
    }
    assert_eq!(valid, 10);
    let listed = pb::ListAccessTokensRequest {
        app_id: app.clone(),
        user_id: "0000000000000000000000b5".into(),
        include_revoked: false,
    };
    let live = service.client.list_access_tokens(listed).await.unwrap().into_inner().tokens;
    assert_eq!(live.len(), 10);
    assert!(live.iter().all(|t| t.revoked_at.is_none()));
    // With the revoked ones: every token issued, the pushed-out ones with the instant.
    let history =
        pb::ListAccessTokensRequest { app_id: app, user_id: "0000000000000000000000b5".into(), include_revoked: true };
    let all = service.client.list_access_tokens(history).await.unwrap().into_inner().tokens;
    assert_eq!(all.len(), tokens.len());
    assert_eq!(all.iter().filter(|t| t.revoked_at.is_some()).count(), tokens.len() - 10);
}

#[tokio::test]
async fn access_tokens_validate_until_revoked() {
    let mut service = spawn_token_service(true).await;
    let app = service.create_app().await;
    let issued = service
        .client
        .issue_access_token(pb::IssueAccessTokenRequest {
            app_id: app.clone(),
            user_id: "0000000000000000000000a1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(issued.token.len(), 40);
    let answer = service.validate(&issued.token).await;
    assert!(answer.valid);
    assert_eq!((answer.kind, answer.expires_at), (pb::TokenKind::Access as i32, None));

    let other_app = service.create_app().await;
    let scoped = pb::ValidateTokenRequest { token: issued.token.clone(), app_id: Some(other_app) };
    let answer = service.client.validate_token(scoped).await.unwrap().into_inner();
    assert_eq!(answer.reason, reason(pb::InvalidReason::Unknown), "another application's token");

    let revoke = pb::RevokeAccessTokenRequest { app_id: app, token_id: issued.info.unwrap().id };
    service.client.revoke_access_token(revoke.clone()).await.expect("revoked");
    assert_eq!(service.validate(&issued.token).await.reason, reason(pb::InvalidReason::Unknown));
    let again = service.client.revoke_access_token(revoke).await.unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
}

#[tokio::test]
async fn revoking_a_user_stops_every_token_at_once() {
    let mut service = spawn_token_service(true).await;
    let app = service.create_app().await;
    let session = service.session_token(&app, "00000000000000000000dead").await;
    let access = service.access_token(&app, "00000000000000000000dead").await;
    // Warm every cache first.
    assert!(service.validate(&session).await.valid && service.validate(&access).await.valid);
    let request = pb::RevokeUserTokensRequest { app_id: app.clone(), user_id: "00000000000000000000dead".into() };
    service.client.revoke_user_tokens(request).await.expect("revoked");
    assert!(!service.validate(&session).await.valid);
    assert!(!service.validate(&access).await.valid);
    // A request racing the deletion cannot hand the deleted user a new token.
    let session = pb::IssueSessionTokenRequest {
        app_id: app.clone(),
        user_id: "00000000000000000000dead".into(),
        expires_at: None,
    };
    assert_eq!(service.client.issue_session_token(session).await.unwrap_err().code(), Code::NotFound);
    let access = pb::IssueAccessTokenRequest { app_id: app, user_id: "00000000000000000000dead".into() };
    assert_eq!(service.client.issue_access_token(access).await.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn bad_tokens_and_bad_requests_are_told_apart() {
    let mut service = spawn_token_service(false).await;
    let app = service.create_app().await;
    for (token, expected) in [
        ("", pb::InvalidReason::Malformed),
        ("short", pb::InvalidReason::Malformed),
        ("a.b.c", pb::InvalidReason::Malformed),
        ("0123456789abcdef0123456789abcdef01234567", pb::InvalidReason::Unknown),
    ] {
        assert_eq!(service.validate(token).await.reason, reason(expected), "{token:?}");
    }
    let past = pb::IssueSessionTokenRequest {
        app_id: app.clone(),
        user_id: "0000000000000000000000a0".into(),
        expires_at: Some(proto::timestamp_from_millis(platform::now_millis() - 1000)),
    };
    assert_eq!(service.client.issue_session_token(past).await.unwrap_err().code(), Code::InvalidArgument);

    let chosen = platform::now_millis() + 3_600_500;
    let request = pb::IssueSessionTokenRequest {
        app_id: app.clone(),
        user_id: "0000000000000000000000a0".into(),
        expires_at: Some(proto::timestamp_from_millis(chosen)),
    };
    let issued = service.client.issue_session_token(request).await.unwrap().into_inner();
    assert_eq!(proto::timestamp_to_millis(&issued.expires_at.unwrap()), chosen);
    let answer = service.validate(&issued.token).await;
    assert_eq!(answer.reason, VALID);
    assert!(proto::timestamp_to_millis(&answer.expires_at.unwrap()) >= chosen, "never earlier than promised");

    let unknown_app = pb::IssueSessionTokenRequest {
        app_id: platform::ids::new_id(),
        user_id: "0000000000000000000000a0".into(),
        expires_at: None,
    };
    assert_eq!(service.client.issue_session_token(unknown_app).await.unwrap_err().code(), Code::NotFound);
    let no_user = pb::IssueAccessTokenRequest { app_id: app, user_id: String::new() };
    assert_eq!(service.client.issue_access_token(no_user).await.unwrap_err().code(), Code::InvalidArgument);
}

/// The hot path: only a cache miss reads revocation state from the database; later validations
/// are answered by this replica's short cache or by Redis. Counted by the service's own metric
/// (`result="miss"` is the one branch that reads the database).
#[tokio::test]
async fn validation_reads_the_database_only_on_a_cache_miss() {
    let handle = platform::metrics::install();
    let db = TestDatabase::sqlite();
    let mut settings = test_support::settings(&db, true);
    let mut first = spawn_with(&settings).await;
    let app = first.create_app().await;
    let token = first.session_token(&app, "0000000000000000000000a1").await;
    for _ in 0..20 {
        assert!(first.validate(&token).await.valid);
    }
    // A second replica that trusts nothing locally: it must get the state from Redis.
    settings.session.revocation_cache_ms = 0;
    let mut second = spawn_with(&settings).await;
    for _ in 0..20 {
        assert!(second.validate(&token).await.valid);
    }
    let text = handle.render();
    let count = |result: &str| -> u64 {
        let needle = format!("roster_cache_requests_total{{cache=\"revocation\",result=\"{result}\"}} ");
        text.lines().find_map(|l| l.strip_prefix(&needle)).map_or(0, |n| n.trim().parse().unwrap())
    };
    // The issue read the state once (the one miss) and left it in both caches.
    assert_eq!(count("miss"), 1, "one database read for an issue and 40 validations:\n{text}");
    assert_eq!(count("hit_local"), 20);
    assert_eq!(count("hit"), 20);
}

/// Tokens are only for users the registry has (issue 16, point 6): an id it does not know is
/// refused as a missing user and nothing is issued; one it knows is asked about once per
/// replica, not on every issue; with the registry away the answer is UNAVAILABLE, not a token.
#[tokio::test]
async fn tokens_are_issued_only_for_users_the_registry_has() {
    let db = TestDatabase::sqlite();
    let settings = test_support::settings(&db, false);
    let absent = "0000000000000000000000ab".to_owned();
    let directory = Arc::new(TestDirectory { absent: vec![absent.clone()], ..Default::default() });
    let mut service = spawn_with_directory(&settings, directory.clone()).await;
    let app = service.create_app().await;

    let session = pb::IssueSessionTokenRequest { app_id: app.clone(), user_id: absent.clone(), expires_at: None };
    let refused = service.client.issue_session_token(session).await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    let access = pb::IssueAccessTokenRequest { app_id: app.clone(), user_id: absent.clone() };
    assert_eq!(service.client.issue_access_token(access).await.unwrap_err().code(), Code::NotFound);
    let listed = pb::ListAccessTokensRequest { app_id: app.clone(), user_id: absent, include_revoked: false };
    assert!(service.client.list_access_tokens(listed).await.unwrap().into_inner().tokens.is_empty(), "none stored");
    // Not a Roster id: the registry is not even asked.
    let asked = directory.finds.load(Ordering::SeqCst);
    let named = pb::IssueAccessTokenRequest { app_id: app.clone(), user_id: "nonexistent-user".into() };
    assert_eq!(service.client.issue_access_token(named).await.unwrap_err().code(), Code::InvalidArgument);
    assert_eq!(directory.finds.load(Ordering::SeqCst), asked);

    let known = "0000000000000000000000a7";
    let before = directory.finds.load(Ordering::SeqCst);
    for _ in 0..3 {
        let token = service.session_token(&app, known).await;
        assert!(service.validate(&token).await.valid);
        service.access_token(&app, known).await;
    }
    assert_eq!(directory.finds.load(Ordering::SeqCst), before + 1, "asked once, then remembered");

    // The real client, its registry away: no token, and a retryable answer.
    let mut away = settings.clone();
    away.registry.endpoint = format!("http://127.0.0.1:{}", free_port());
    let app_service = token_service::Application::build(&away).await.expect("build");
    let addr = app_service.local_addr();
    let shutdown = platform::Shutdown::new();
    tokio::spawn(app_service.run(shutdown.clone()));
    let mut client = proto::token::v1::token_service_client::TokenServiceClient::new(test_support::channel(addr).await);
    let session = pb::IssueSessionTokenRequest { app_id: app, user_id: known.into(), expires_at: None };
    let status = client.issue_session_token(session).await.unwrap_err();
    shutdown.trigger();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}
