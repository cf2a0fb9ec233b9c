//! Erasure and access requests through the dialects: Sendbird's `/v3/privacy/gdpr` and Ada's
//! data-subject request. An erased user is gone from every service (profile, metadata, tokens,
//! context objects, conversation participation); a request that ended keeps no personal data.

use proto::token::v1::InvalidReason;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::helpers::{TestStack, assert_sendbird_error, spawn_stack};

/// The request once the worker ended it (bounded: the worker starts on registration).
async fn ended(stack: &TestStack, id: &str) -> Value {
    for _ in 0..200 {
        let request = stack.ok(Method::GET, &format!("/v3/privacy/gdpr/{id}"), None).await;
        if request["status"] != "processing" {
            return request;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("request {id} never ended");
}

async fn user(stack: &TestStack, user_id: &str, metadata: Value) -> Value {
    let body = json!({ "user_id": user_id, "nickname": user_id, "profile_url": "", "issue_access_token": true, "metadata": metadata });
    stack.ok(Method::POST, "/v3/users", Some(body)).await
}

#[tokio::test]
async fn a_gdpr_delete_erases_users_from_every_service() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let stack = spawn_stack(backend, backend == Backend::Postgres).await;
        let ann = user(&stack, "ann", json!({ "city": "Lisbon" })).await;
        let bob = user(&stack, "bob", json!({})).await;
        user(&stack, "keep", json!({})).await;
        let session = stack.ok(Method::POST, "/v3/users/ann/token", None).await["token"].as_str().unwrap().to_owned();
        // Ann's context with an AI agent, and a conversation through Ada.
        let bot = json!({ "bot_userid": "helper", "bot_nickname": "H", "bot_profile_url": "", "bot_type": "ai_agent", "bot_callback_url": "https://example.com/h", "is_privacy_mode": false });
        stack.ok(Method::POST, "/v3/bots", Some(bot)).await;
        let channel = stack
            .ok(
                Method::POST,
                "/v3/ai_agent/ai_agents/helper/messenger",
                Some(json!({ "user_id": "ann", "language": "pt-PT" })),
            )
            .await;
        let channel_url = channel["active_channel"]["channel_url"].as_str().unwrap().to_owned();

        let registered = stack
            .ok(
                Method::POST,
                "/v3/privacy/gdpr",
                Some(json!({ "action": "delete", "user_ids": ["ann", "bob", "nobody"] })),
            )
            .await;
        assert_eq!(
            (registered["action"].as_str(), registered["status"].as_str()),
            (Some("delete"), Some("processing"))
        );
        assert_eq!(registered["user_ids"], json!(["ann", "bob", "nobody"]));
        assert_eq!(registered["channel_delete_option"], "do_not_delete");
        let id = registered["request_id"].as_str().unwrap().to_owned();

        let done = ended(&stack, &id).await;
        assert_eq!(done["status"], "done", "{done}");
        assert_eq!(done["user_ids"], json!([]), "an ended request keeps no personal data");
        for gone in ["ann", "bob"] {
            assert_sendbird_error(
                stack.get(&format!("/v3/users/{gone}"), Some(&stack.token)).await,
                StatusCode::BAD_REQUEST,
                400201,
            )
            .await;
        }
        stack.ok(Method::GET, "/v3/users/keep", None).await;
        for token in [ann["access_token"].as_str().unwrap(), bob["access_token"].as_str().unwrap(), &session] {
            let answer = stack.validate(token).await;
            assert!(!answer.valid && answer.reason() != InvalidReason::Unavailable, "{answer:?}");
        }
        let response = stack
            .get(&format!("/v3/ai_agent/ai_agents/helper/channels/{channel_url}/ai_agent_context"), Some(&stack.token))
            .await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, 400201).await;
        let listed = stack.ok(Method::GET, "/v3/privacy/gdpr", None).await;
        assert!(listed["requests"].as_array().unwrap().iter().any(|r| r["request_id"] == id.as_str()));
    }
}

#[tokio::test]
async fn a_gdpr_access_request_builds_a_download_of_the_users_data() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    user(&stack, "ann", json!({ "city": "Lisbon" })).await;
    let registered =
        stack.ok(Method::POST, "/v3/privacy/gdpr", Some(json!({ "action": "access", "user_id": "ann" }))).await;
    assert_eq!((registered["action"].as_str(), registered["user_id"].as_str()), (Some("access"), Some("ann")));
    let done = ended(&stack, registered["request_id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done");
    assert_eq!(done["user_id"], "", "an ended request keeps no personal data");
    let url = done["files"]["url"].as_str().unwrap().to_owned();
    assert!(done["files"]["expires_at"].as_i64().unwrap() > 0);
    let export: Value = stack.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(export["users"][0]["user_id"], "ann");
    assert_eq!(export["users"][0]["metadata"]["city"], "Lisbon");
    // The user is still there: access is not erasure. A wrong key finds nothing.
    stack.ok(Method::GET, "/v3/users/ann", None).await;
    let forged = url.replace(".json", "0.json");
    assert_eq!(stack.http.get(&forged).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // Bad requests change nothing.
    for (body, code) in [
        (json!({ "action": "delete" }), 400105),
        (json!({ "action": "access" }), 400105),
        (json!({ "action": "erase", "user_ids": ["ann"] }), 400111),
        (json!({ "action": "delete", "user_ids": ["ann"], "channel_delete_option": "some" }), 400111),
        (json!({ "action": "delete", "user_ids": (0..101).map(|i| format!("u{i}")).collect::<Vec<_>>() }), 400111),
    ] {
        let refused = stack.call(Method::POST, "/v3/privacy/gdpr", &stack.token, Some(body.clone())).await;
        assert_sendbird_error(refused, StatusCode::BAD_REQUEST, code).await;
    }
    assert_sendbird_error(
        stack.get("/v3/privacy/gdpr/000000000000000000000000", Some(&stack.token)).await,
        StatusCode::BAD_REQUEST,
        400201,
    )
    .await;
    stack.ok(Method::GET, "/v3/users/ann", None).await;
}

#[tokio::test]
async fn an_ada_erasure_takes_every_end_user_with_the_email() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let ada = async |method: Method, path: &str, body: Option<Value>| {
        let mut request = stack.http.request(method, format!("{}{path}", stack.base)).bearer_auth(&stack.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    };
    let mut ids = Vec::new();
    for (external, email) in [("a-1", "Maria@Example.com"), ("a-2", "maria@example.com"), ("a-3", "other@example.com")]
    {
        let body = json!({ "external_id": external, "profile": { "email": email } });
        let created: Value = ada(Method::POST, "/api/v2/end-users", Some(body)).await.json().await.unwrap();
        ids.push(created["end_user_id"].as_str().unwrap().to_owned());
    }
    let answer = ada(
        Method::POST,
        "/api/v1/data-subject-request",
        Some(json!({ "type": "ERASURE", "email": "maria@example.com" })),
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.json::<Value>().await.unwrap(), json!({ "email": "maria@example.com" }));
    // Both end users with the email (compared case-insensitively) go; the worker takes them
    // one after the other.
    let mut gone = false;
    for _ in 0..200 {
        let mut statuses = Vec::new();
        for id in &ids[..2] {
            statuses.push(ada(Method::GET, &format!("/api/v2/end-users/{id}"), None).await.status());
        }
        if statuses.iter().all(|s| *s == StatusCode::NOT_FOUND) {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(gone, "the end users were never erased");
    assert_eq!(ada(Method::GET, &format!("/api/v2/end-users/{}", ids[2]), None).await.status(), StatusCode::OK);
    // A chatter_id names one end user; a bad request is Ada's 400 and changes nothing.
    let refused = ada(
        Method::POST,
        "/api/v1/data-subject-request",
        Some(json!({ "type": "ACCESS", "email": "other@example.com" })),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let refused = ada(Method::POST, "/api/v1/data-subject-request", Some(json!({ "type": "ERASURE" }))).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(ada(Method::GET, &format!("/api/v2/end-users/{}", ids[2]), None).await.status(), StatusCode::OK);
}
