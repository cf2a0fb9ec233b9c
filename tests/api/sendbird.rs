//! The Sendbird slice: `POST /v3/users` and `GET /v3/users/{user_id}` with `Api-Token`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::Backend;

use crate::helpers::{TestStack, assert_sendbird_error, spawn_stack};

async fn create(stack: &TestStack, body: Value) -> reqwest::Response {
    stack.post("/v3/users", Some(&stack.token), &body.to_string()).await
}

async fn assert_absent(stack: &TestStack, user_id: &str) {
    let response = stack.get(&format!("/v3/users/{user_id}"), Some(&stack.token)).await;
    assert_sendbird_error(response, StatusCode::BAD_REQUEST, 400201).await;
}

async fn creates_and_views_a_user(backend: Backend, with_redis: bool) {
    let stack = spawn_stack(backend, with_redis).await;
    let response = create(
        &stack,
        json!({
            "user_id": "Jacob",
            "nickname": "Asty",
            "profile_url": "https://sendbird.com/main/img/profiles/profile_05_512px.png",
            "metadata": { "tier": "premium" }
        }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["user_id"], "Jacob");
    assert_eq!(created["nickname"], "Asty");
    assert_eq!(created["profile_url"], "https://sendbird.com/main/img/profiles/profile_05_512px.png");
    assert_eq!(created["is_created"], true);
    assert_eq!(created["is_active"], true);
    assert_eq!(created["access_token"], "");
    assert_eq!(created["metadata"], json!({ "tier": "premium" }));
    assert!(created["created_at"].as_i64().unwrap() > 1_700_000_000);

    let response = stack.get("/v3/users/Jacob", Some(&stack.token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let viewed: Value = response.json().await.unwrap();
    let mut expected = created.clone();
    expected.as_object_mut().unwrap().remove("is_created");
    assert_eq!(viewed, expected);
}

#[tokio::test]
async fn creates_and_views_a_user_on_sqlite() {
    creates_and_views_a_user(Backend::Sqlite, false).await;
}

#[tokio::test]
async fn creates_and_views_a_user_on_postgres_with_redis() {
    creates_and_views_a_user(Backend::Postgres, true).await;
}

#[tokio::test]
async fn a_duplicate_user_id_is_refused_and_changes_nothing() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let first = create(&stack, json!({ "user_id": "dup", "nickname": "first", "profile_url": "" })).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = create(&stack, json!({ "user_id": "dup", "nickname": "second", "profile_url": "" })).await;
    assert_sendbird_error(second, StatusCode::BAD_REQUEST, 400202).await;
    let kept: Value = stack.get("/v3/users/dup", Some(&stack.token)).await.json().await.unwrap();
    assert_eq!(kept["nickname"], "first");
}

#[tokio::test]
async fn a_missing_or_wrong_api_token_is_refused() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let body = json!({ "user_id": "u", "nickname": "n", "profile_url": "" }).to_string();
    for token in [None, Some(""), Some("0123456789abcdef0123456789abcdef01234567")] {
        let response = stack.post("/v3/users", token, &body).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, 400401).await;
        let response = stack.get("/v3/users/u", token).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, 400401).await;
    }
    assert_absent(&stack, "u").await;
}

#[tokio::test]
async fn limits_from_the_seeds_are_enforced_at_and_past_the_edge() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let at_limit = create(
        &stack,
        json!({ "user_id": "é".repeat(80), "nickname": "n".repeat(80), "profile_url": "u".repeat(2048) }),
    )
    .await;
    assert_eq!(at_limit.status(), StatusCode::OK);

    for (body, field) in [
        (json!({ "user_id": "a".repeat(81), "nickname": "n", "profile_url": "" }), "user_id"),
        (json!({ "user_id": "b", "nickname": "n".repeat(81), "profile_url": "" }), "nickname"),
        (json!({ "user_id": "c", "nickname": "n", "profile_url": "u".repeat(2049) }), "profile_url"),
    ] {
        let message = assert_sendbird_error(create(&stack, body).await, StatusCode::BAD_REQUEST, 400110).await;
        assert!(message.contains(field), "{message}");
    }
    for user_id in ["b", "c"] {
        assert_absent(&stack, user_id).await;
    }
}

#[tokio::test]
async fn malformed_bodies_get_sendbirds_codes_and_change_nothing() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let cases: [(&str, u64); 7] = [
        ("{not json", 400403),
        ("[1, 2]", 400403),
        (r#"{"nickname": "n", "profile_url": ""}"#, 400105),
        (r#"{"user_id": "x", "profile_url": ""}"#, 400105),
        (r#"{"user_id": "x", "nickname": "n"}"#, 400105),
        (r#"{"user_id": 7, "nickname": "n", "profile_url": ""}"#, 400100),
        (r#"{"user_id": "x", "nickname": "n", "profile_url": "", "metadata": "m"}"#, 400103),
    ];
    for (body, code) in cases {
        let response = stack.post("/v3/users", Some(&stack.token), body).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, code).await;
    }
    assert_absent(&stack, "x").await;
}

#[tokio::test]
async fn an_unknown_user_is_resource_not_found() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    assert_absent(&stack, "nobody").await;
}

#[tokio::test]
async fn applications_never_see_each_others_users() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let created = create(&stack, json!({ "user_id": "private", "nickname": "p", "profile_url": "" })).await;
    assert_eq!(created.status(), StatusCode::OK);
    let other = stack.second_application().await;
    let response = stack.get("/v3/users/private", Some(&other)).await;
    assert_sendbird_error(response, StatusCode::BAD_REQUEST, 400201).await;
    let body = json!({ "user_id": "private", "nickname": "mine", "profile_url": "" }).to_string();
    let own = stack.post("/v3/users", Some(&other), &body).await;
    assert_eq!(own.status(), StatusCode::OK, "the same user_id is free in another application");
}

#[tokio::test]
async fn an_application_over_its_rate_limit_gets_429_with_retry_after() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let settings = proto::token::v1::ApplicationSettings { rate_limit_per_second: 2, ..Default::default() };
    let limited = stack.application_with(Some(settings)).await;
    for _ in 0..2 {
        let response = stack.get("/v3/users/anyone", Some(&limited)).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, 400201).await;
    }
    let response = stack.get("/v3/users/anyone", Some(&limited)).await;
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_sendbird_error(response, StatusCode::TOO_MANY_REQUESTS, 500910).await;
    // Other applications are not held back.
    let other = stack.get("/v3/users/anyone", Some(&stack.token)).await;
    assert_sendbird_error(other, StatusCode::BAD_REQUEST, 400201).await;
}

#[tokio::test]
async fn axum_rejections_come_in_sendbirds_shape_too() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    // A path that is not UTF-8, and a method the route does not have.
    let bad_path = stack.get("/v3/users/%FF", Some(&stack.token)).await;
    assert_sendbird_error(bad_path, StatusCode::BAD_REQUEST, 400111).await;
    let wrong_method =
        stack.http.patch(format!("{}/v3/users/u", stack.base)).header("api-token", &stack.token).send().await.unwrap();
    assert_sendbird_error(wrong_method, StatusCode::METHOD_NOT_ALLOWED, 400111).await;
    // NUL reaches no database: a clear 400, never a 500.
    for path in ["/v3/users/a%00b", "/v3/bots/a%00b", "/v3/users?nickname=%00"] {
        let response = stack.get(path, Some(&stack.token)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    let body = json!({ "user_id": "nul", "nickname": "a\u{0}b", "profile_url": "" });
    let response = stack.post("/v3/users", Some(&stack.token), &body.to_string()).await;
    assert_sendbird_error(response, StatusCode::BAD_REQUEST, 400111).await;
}
