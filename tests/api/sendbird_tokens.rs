//! Sendbird access and session tokens through the gateway, validated over gRPC.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::helpers::{TestStack, assert_sendbird_error, spawn_stack};

async fn create_with_token(stack: &TestStack, user_id: &str) -> Value {
    let body = json!({ "user_id": user_id, "nickname": "n", "profile_url": "", "issue_access_token": true });
    stack.ok(Method::POST, "/v3/users", Some(body)).await
}

#[tokio::test]
async fn an_access_token_is_shown_once_and_validates() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let created = create_with_token(&stack, "alice").await;
    let token = created["access_token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 40);
    let answer = stack.validate(&token).await;
    assert!(answer.valid, "{answer:?}");
    assert_eq!(answer.user_id.len(), 24, "tokens name the registry's immutable id");
    let viewed = stack.ok(Method::GET, "/v3/users/alice", None).await;
    assert_eq!(viewed["access_token"], "", "only a hash is kept");
}

#[tokio::test]
async fn the_eleventh_access_token_revokes_the_first() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    let first = create_with_token(&stack, "u").await["access_token"].as_str().unwrap().to_owned();
    let mut latest = Vec::new();
    for _ in 0..10 {
        let updated = stack.ok(Method::PUT, "/v3/users/u", Some(json!({ "issue_access_token": true }))).await;
        latest.push(updated["access_token"].as_str().unwrap().to_owned());
    }
    assert!(!stack.validate(&first).await.valid, "the oldest went");
    for token in &latest {
        assert!(stack.validate(token).await.valid);
    }
}

#[tokio::test]
async fn session_tokens_issue_validate_and_revoke() {
    let stack = spawn_stack(Backend::Sqlite, true).await;
    stack.ok(Method::POST, "/v3/users", Some(json!({ "user_id": "s", "nickname": "n", "profile_url": "" }))).await;
    let issued = stack.ok(Method::POST, "/v3/users/s/token", Some(json!({}))).await;
    let token = issued["token"].as_str().unwrap().to_owned();
    let week = 7 * 24 * 3600 * 1000;
    assert!((issued["expires_at"].as_i64().unwrap() - platform::now_millis() - week).abs() < 60_000);
    assert!(stack.validate(&token).await.valid);

    // An empty body, as the SDK sends without a request object.
    let empty = stack.call(Method::POST, "/v3/users/s/token", &stack.token, None).await;
    assert_eq!(empty.status(), StatusCode::OK);
    let chosen = platform::now_millis() + 3_600_000;
    let custom = stack.ok(Method::POST, "/v3/users/s/token", Some(json!({ "expires_at": chosen }))).await;
    assert_eq!(custom["expires_at"], chosen);

    assert_eq!(stack.ok(Method::DELETE, "/v3/users/s/token", None).await, json!({}));
    assert!(!stack.validate(&token).await.valid);
    let fresh = stack.ok(Method::POST, "/v3/users/s/token", None).await;
    assert!(stack.validate(fresh["token"].as_str().unwrap()).await.valid);

    for (body, code) in [
        (json!({ "expires_at": platform::now_millis() - 1000 }), 400111),
        (json!({ "expires_at": "tomorrow" }), 400101),
    ] {
        let response = stack.call(Method::POST, "/v3/users/s/token", &stack.token, Some(body)).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, code).await;
    }
    let unknown = stack.call(Method::POST, "/v3/users/nobody/token", &stack.token, None).await;
    assert_sendbird_error(unknown, StatusCode::BAD_REQUEST, 400201).await;
}

#[tokio::test]
async fn the_deprecated_session_token_flag_still_works() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let expires = platform::now_millis() + 600_000;
    let body = json!({
        "user_id": "old", "nickname": "n", "profile_url": "",
        "issue_session_token": true, "session_token_expires_at": expires
    });
    let created = stack.ok(Method::POST, "/v3/users", Some(body)).await;
    let tokens = created["session_tokens"].as_array().unwrap();
    assert_eq!(tokens[0]["expires_at"], expires);
    assert!(stack.validate(tokens[0]["session_token"].as_str().unwrap()).await.valid);
}

#[tokio::test]
async fn deleting_a_user_stops_its_tokens_at_once() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    let access = create_with_token(&stack, "gone").await["access_token"].as_str().unwrap().to_owned();
    let session = stack.ok(Method::POST, "/v3/users/gone/token", None).await["token"].as_str().unwrap().to_owned();
    assert!(stack.validate(&access).await.valid && stack.validate(&session).await.valid);
    stack.ok(Method::DELETE, "/v3/users/gone", None).await;
    assert!(!stack.validate(&access).await.valid);
    assert!(!stack.validate(&session).await.valid);
}

#[tokio::test]
async fn another_application_cannot_issue_or_revoke_tokens_for_my_users() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    stack.ok(Method::POST, "/v3/users", Some(json!({ "user_id": "mine", "nickname": "n", "profile_url": "" }))).await;
    let token = stack.ok(Method::POST, "/v3/users/mine/token", None).await["token"].as_str().unwrap().to_owned();
    let other = stack.second_application().await;
    for method in [Method::POST, Method::DELETE] {
        let response = stack.call(method, "/v3/users/mine/token", &other, None).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, 400201).await;
    }
    assert!(stack.validate(&token).await.valid);
}
