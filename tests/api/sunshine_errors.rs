//! Mistakes on the Sunshine routes: Sunshine's error body with the right status for each (400,
//! 401, 404, 405, 409, 413, 422), always JSON, never a 500, and nothing changed.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::{
    helpers::spawn_stack,
    sunshine::{AppKey, Auth, all_users, app_key, assert_error, call, expect, hs256, other_application, path},
};

#[tokio::test]
async fn mistakes_get_sunshine_error_bodies_and_change_nothing() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let key = app_key(&stack, &stack.app_id).await;
    let at = |p: &str| path(&stack.app_id, p);
    let users = at("/users");
    for (body, status, code, title) in [
        (json!({}), StatusCode::BAD_REQUEST, "bad_request", "externalId"),
        (json!({ "externalId": "" }), StatusCode::BAD_REQUEST, "bad_request", "externalId"),
        (json!({ "externalId": "x".repeat(1025) }), StatusCode::BAD_REQUEST, "bad_request", "externalId"),
        (json!({ "externalId": 7 }), StatusCode::BAD_REQUEST, "bad_request", "externalId"),
        (
            json!({ "externalId": "e", "profile": { "givenName": "g".repeat(129) } }),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "profile.givenName",
        ),
        (
            json!({ "externalId": "e", "profile": { "avatarUrl": "u".repeat(2049) } }),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "profile.avatarUrl",
        ),
        (
            json!({ "externalId": "e", "profile": { "email": "not-an-email" } }),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "profile.email",
        ),
        (
            json!({ "externalId": "e", "profile": { "locale": "english please" } }),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "profile.locale",
        ),
        (json!({ "externalId": "e", "toBeRetained": "yes" }), StatusCode::BAD_REQUEST, "bad_request", "toBeRetained"),
        (
            json!({ "externalId": "e", "signedUpAt": "20 Sep 2020" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
            "signedUpAt",
        ),
        (
            json!({ "externalId": "e", "signedUpAt": "2021-02-29T00:00:00.000Z" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
            "signedUpAt",
        ),
        (
            json!({ "externalId": "e", "metadata": { "a": { "b": 1 } } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
            "flat",
        ),
        (
            json!({ "externalId": "e", "metadata": { "a": [1] } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
            "flat",
        ),
        (
            json!({ "externalId": "e", "metadata": { "k": "v".repeat(4100) } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
            "4 KB",
        ),
    ] {
        let response = call(&stack, Method::POST, &users, Auth::Basic(&key), Some(body.clone())).await;
        let got = assert_error(response, status, code).await;
        assert!(got.contains(title), "{body}: {got}");
    }
    let huge = json!({ "externalId": "e", "profile": { "givenName": "x".repeat(70 * 1024) } });
    assert_error(
        call(&stack, Method::POST, &users, Auth::Basic(&key), Some(huge)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    let not_json = stack
        .http
        .post(format!("{}{users}", stack.base))
        .basic_auth(&key.id, Some(&key.secret))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_error(not_json, StatusCode::BAD_REQUEST, "bad_request").await;

    // Callers: none, a wrong secret, a key of another application, a malformed Basic value.
    let other_key = app_key(&stack, &other_application(&stack).await).await;
    let wrong = AppKey { id: key.id.clone(), secret: "0".repeat(64) };
    for auth in [Auth::None, Auth::Basic(&wrong), Auth::Basic(&other_key), Auth::Raw("Basic !!"), Auth::Bearer("nope")]
    {
        let response = call(&stack, Method::POST, &users, auth, Some(json!({ "externalId": "x" }))).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    // The other application's key works on its own path only; a path of no application refuses all.
    assert_error(
        call(&stack, Method::GET, &path("nope", "/users/x"), Auth::Basic(&key), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    // An API token of the other dialects is no app key.
    let token = stack.token.clone();
    assert_error(
        call(&stack, Method::GET, &at("/keys"), Auth::Bearer(&token), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    // Unknown users and routes, wrong methods: Sunshine's body, never text.
    assert_error(
        call(&stack, Method::GET, &at("/users/nobody"), Auth::Basic(&key), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        call(&stack, Method::GET, &at(&format!("/users/{}", platform::ids::new_id())), Auth::Basic(&key), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        call(&stack, Method::PATCH, &at("/users/nobody"), Auth::Basic(&key), Some(json!({}))).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        call(&stack, Method::GET, &at("/switchboards"), Auth::Basic(&key), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        call(&stack, Method::PUT, &at("/users/x"), Auth::Basic(&key), Some(json!({}))).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    assert_error(
        call(&stack, Method::GET, &at("/users/%FF"), Auth::Basic(&key), None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(all_users(&stack, &stack.app_id).await.is_empty(), "no mistake created a user");
}

/// NUL in any field: refused with a 4xx where a database column cannot hold it, stored where the
/// service keeps it as JSON (metadata values), never a 500.
#[tokio::test]
async fn nul_characters_are_refused_never_a_500() {
    let stack = spawn_stack(Backend::Postgres, false).await;
    let key = app_key(&stack, &stack.app_id).await;
    let at = |p: &str| path(&stack.app_id, p);
    expect(
        call(&stack, Method::POST, &at("/users"), Auth::Basic(&key), Some(json!({ "externalId": "clean" }))).await,
        StatusCode::CREATED,
    )
    .await;
    let nul = "a\u{0}b";
    let login = |claims: Value, kid: &str| json!({ "jwt": hs256(&claims, kid, key.secret.as_bytes()) });
    let nul_id = AppKey { id: nul.into(), secret: key.secret.clone() };
    let nul_secret = AppKey { id: key.id.clone(), secret: nul.into() };
    let cases: Vec<(Method, String, Auth<'_>, Option<Value>, StatusCode)> = vec![
        (Method::POST, at("/users"), Auth::Basic(&key), Some(json!({ "externalId": nul })), StatusCode::BAD_REQUEST),
        (
            Method::POST,
            at("/users"),
            Auth::Basic(&key),
            Some(json!({ "externalId": "e1", "profile": { "givenName": nul } })),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            at("/users"),
            Auth::Basic(&key),
            Some(json!({ "externalId": "e2", "profile": { "avatarUrl": nul } })),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            at("/users"),
            Auth::Basic(&key),
            Some(json!({ "externalId": "e3", "metadata": { nul: "v" } })),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            at("/users"),
            Auth::Basic(&key),
            Some(json!({ "externalId": "e4", "metadata": { "k": nul } })),
            StatusCode::CREATED,
        ),
        (
            Method::PATCH,
            at("/users/clean"),
            Auth::Basic(&key),
            Some(json!({ "profile": { "surname": nul } })),
            StatusCode::BAD_REQUEST,
        ),
        (Method::POST, at("/keys"), Auth::Basic(&key), Some(json!({ "displayName": nul })), StatusCode::BAD_REQUEST),
        (
            Method::POST,
            at("/conversations"),
            Auth::Basic(&key),
            Some(json!({ "type": "sdkGroup", "displayName": nul })),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            at("/conversations"),
            Auth::Basic(&key),
            Some(json!({ "type": "sdkGroup", "description": nul })),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            at("/conversations"),
            Auth::Basic(&key),
            Some(json!({ "type": "sdkGroup", "metadata": { nul: 1 } })),
            StatusCode::CREATED,
        ),
        (
            Method::POST,
            at("/conversations"),
            Auth::Basic(&key),
            Some(json!({ "type": "sdkGroup", "participants": [{ "userExternalId": nul }] })),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            at("/login"),
            Auth::None,
            Some(login(json!({ "scope": "user", "external_id": nul }), &key.id)),
            StatusCode::BAD_REQUEST,
        ),
        (Method::GET, at("/users/a%00b"), Auth::Basic(&key), None, StatusCode::NOT_FOUND),
        (Method::GET, at("/keys/a%00b"), Auth::Basic(&key), None, StatusCode::NOT_FOUND),
        (Method::DELETE, at("/keys/a%00b"), Auth::Basic(&key), None, StatusCode::NOT_FOUND),
        (Method::GET, at("/conversations/a%00b"), Auth::Basic(&key), None, StatusCode::NOT_FOUND),
        (Method::GET, at("/conversations/a%00b/participants"), Auth::Basic(&key), None, StatusCode::NOT_FOUND),
        (Method::GET, at("/keys"), Auth::Basic(&nul_id), None, StatusCode::UNAUTHORIZED),
        (Method::GET, at("/keys"), Auth::Basic(&nul_secret), None, StatusCode::UNAUTHORIZED),
    ];
    let mut wrong = Vec::new();
    for (method, path, auth, body, expected) in cases {
        let response = call(&stack, method.clone(), &path, auth, body.clone()).await;
        let status = response.status();
        if status != expected {
            wrong.push(format!("{method} {path} {body:?}: {status} {}", response.text().await.unwrap()));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let stored =
        expect(call(&stack, Method::GET, &at("/users/e4"), Auth::Basic(&key), None).await, StatusCode::OK).await;
    assert_eq!(stored["user"]["metadata"], json!({ "k": nul }), "kept exactly");
}

/// A JWT whose `kid` holds NUL names no key (PostgreSQL text holds no NUL: token-service must
/// not send it a query that fails): 401, never 500.
#[tokio::test]
async fn a_jwt_kid_holding_nul_is_401() {
    let stack = spawn_stack(Backend::Postgres, false).await;
    let key = app_key(&stack, &stack.app_id).await;
    let app_jwt = hs256(&json!({ "scope": "app" }), "a\u{0}b", key.secret.as_bytes());
    let response = call(&stack, Method::GET, &path(&stack.app_id, "/keys"), Auth::Bearer(&app_jwt), None).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let login_jwt = hs256(&json!({ "scope": "user", "external_id": "x" }), "a\u{0}b", key.secret.as_bytes());
    let response =
        call(&stack, Method::POST, &path(&stack.app_id, "/login"), Auth::None, Some(json!({ "jwt": login_jwt }))).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
