//! Ada's Webhooks API and Sunshine's conversation triggers, end to end: endpoints made through
//! `/api/v2/webhooks/`, deliveries signed Svix-style (checked here with an HMAC of our own), end
//! user and conversation events from two services, and Sunshine's `conversation:*` envelope.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use test_support::Backend;

use crate::{
    helpers::{TestStack, spawn_stack_with},
    receiver::{Received, Receiver},
};

fn quick(settings: &mut platform::Settings) {
    settings.webhooks.first_retry_ms = 20;
    settings.webhooks.idle_poll_ms = 20;
}

async fn ada(t: &TestStack, method: Method, path: &str, body: Option<Value>, status: StatusCode) -> Value {
    let mut request = t.http.request(method.clone(), format!("{}{path}", t.base)).bearer_auth(&t.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), status, "{method} {path}");
    if status == StatusCode::NO_CONTENT { Value::Null } else { response.json().await.unwrap() }
}

/// Svix's check, as a receiver writes it: base64 HMAC-SHA256 of `id.timestamp.body` under the
/// secret's key bytes.
fn verify_svix(secret: &str, received: &Received) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let (id, timestamp) = (received.header("svix-id"), received.header("svix-timestamp"));
    assert!(id.starts_with("msg_") && timestamp.parse::<i64>().is_ok(), "{id} {timestamp}");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&received.body);
    assert_eq!(received.header("svix-signature"), format!("v1,{}", b64.encode(mac.finalize().into_bytes())));
}

async fn ada_endpoints_receive_end_user_and_conversation_events(backend: Backend) {
    let t = spawn_stack_with(backend, false, quick).await;
    let mut receiver = Receiver::start(1).await;
    let endpoint =
        ada(&t, Method::POST, "/api/v2/webhooks/", Some(json!({"url": receiver.url()})), StatusCode::CREATED).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    assert_eq!((&endpoint["enabled"], &endpoint["event_filters"]), (&json!(true), &json!([])));
    let secret = ada(&t, Method::GET, &format!("/api/v2/webhooks/{id}/secret/"), None, StatusCode::OK).await;
    let secret = secret["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));

    let end_user = ada(
        &t,
        Method::POST,
        "/api/v2/end-users",
        Some(json!({"profile": {"first_name": "Grace"}})),
        StatusCode::CREATED,
    )
    .await;
    let end_user_id = end_user["end_user_id"].as_str().unwrap().to_owned();
    let patch = json!({"profile": {"last_name": "Hopper"}});
    ada(&t, Method::PATCH, &format!("/api/v2/end-users/{end_user_id}"), Some(patch), StatusCode::OK).await;
    let channel = json!({"name": "web", "description": "web chat", "modality": "messaging"});
    let channel = ada(&t, Method::POST, "/api/v2/channels/", Some(channel), StatusCode::CREATED).await;
    let body = json!({"channel_id": channel["id"], "end_user_id": end_user_id, "metadata": {"locale": "en"}});
    let conversation = ada(&t, Method::POST, "/api/v2/conversations/", Some(body), StatusCode::CREATED).await;
    let conversation_id = conversation["id"].as_str().unwrap().to_owned();
    ada(&t, Method::POST, &format!("/api/v2/conversations/{conversation_id}/end"), None, StatusCode::OK).await;

    // The first attempt fails on purpose; the same message (same svix-id) comes again.
    let failed = receiver.next().await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    let mut got = Vec::new();
    while got.len() < 4 {
        let received = receiver.next_delivered().await;
        verify_svix(&secret, &received);
        got.push(received);
    }
    assert_eq!(got.iter().filter(|r| r.header("svix-id") == failed.header("svix-id")).count(), 1);
    let by_type =
        |name: &str| got.iter().map(Received::json).find(|b| b["type"] == name).unwrap_or_else(|| panic!("{name}"));
    let created = by_type("v1.end_user.created");
    assert_eq!(created["data"]["end_user_id"], end_user_id);
    assert_eq!(created["data"]["profile"]["first_name"], "Grace");
    assert_eq!(created["tags"], json!([end_user_id]));
    assert_eq!(by_type("v1.end_user.updated")["data"]["profile"]["last_name"], "Hopper");
    let started = by_type("v1.conversation.created");
    assert_eq!(
        (&started["data"]["conversation_id"], &started["data"]["end_user_id"]),
        (&json!(conversation_id), &json!(end_user_id))
    );
    assert_eq!(started["data"]["channel_id"], channel["id"]);
    assert_eq!(started["data"]["metadata"]["locale"], "en");
    let ended = by_type("v1.conversation.ended");
    assert_eq!(ended["data"]["conversation_id"], conversation_id);
    assert!(ended["timestamp"].as_str().unwrap().contains('T'));

    // The API around it.
    let listed = ada(&t, Method::GET, "/api/v2/webhooks", None, StatusCode::OK).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert!(listed["meta"]["next_page_url"].is_null());
    let filters = json!({"event_filters": ["v1.end_user.created"], "description": "CRM"});
    let changed = ada(&t, Method::PATCH, &format!("/api/v2/webhooks/{id}"), Some(filters), StatusCode::OK).await;
    assert_eq!((&changed["event_filters"], &changed["description"]), (&json!(["v1.end_user.created"]), &json!("CRM")));
    ada(&t, Method::POST, &format!("/api/v2/webhooks/{id}/secret/rotate/"), Some(json!({})), StatusCode::OK).await;
    let rotated = ada(&t, Method::GET, &format!("/api/v2/webhooks/{id}/secret"), None, StatusCode::OK).await;
    assert_ne!(rotated["key"], secret);
    let types = ada(&t, Method::GET, "/api/v2/webhooks/event-types/", None, StatusCode::OK).await;
    assert_eq!(types["data"].as_array().unwrap().len(), 4);
    for (body, parameter) in [
        (json!({"description": "no url"}), "url"),
        (json!({"url": "ftp://x.example.com"}), "url"),
        (json!({"url": "https://x.example.com", "event_filters": ["v1.nope"]}), "event_filters"),
        (json!({"url": "https://x.example.com", "enabled": "yes"}), "enabled"),
        (json!({"url": format!("https://x.example.com/{}", "a".repeat(2100))}), "url"),
    ] {
        let refused = ada(&t, Method::POST, "/api/v2/webhooks/", Some(body), StatusCode::BAD_REQUEST).await;
        assert_eq!(refused["errors"][0]["type"], "validation_error", "{refused}");
        assert_eq!(refused["errors"][0]["details"][0]["parameter"], parameter, "{refused}");
    }
    ada(&t, Method::DELETE, &format!("/api/v2/webhooks/{id}/"), None, StatusCode::NO_CONTENT).await;
    let gone = ada(&t, Method::GET, &format!("/api/v2/webhooks/{id}"), None, StatusCode::NOT_FOUND).await;
    assert_eq!(gone["errors"][0]["type"], "not_found");
    assert!(
        ada(&t, Method::GET, "/api/v2/webhooks", None, StatusCode::OK).await["data"].as_array().unwrap().is_empty()
    );
}

async fn sunshine_webhooks_hear_conversations_created_joined_and_left(backend: Backend) {
    let t = spawn_stack_with(backend, false, quick).await;
    let mut receiver = Receiver::start(0).await;
    let key = crate::sunshine::app_key(&t, &t.app_id).await;
    let sunshine = |method: Method, path: String, body: Option<Value>| {
        let mut request = t
            .http
            .request(method, format!("{}/v2/apps/{}{path}", t.base, t.app_id))
            .basic_auth(&key.id, Some(&key.secret));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let triggers = ["conversation:create", "conversation:join", "conversation:leave"];
    let body = json!({"type": "custom", "webhooks": [{"target": receiver.url(), "triggers": triggers}]});
    let created = sunshine(Method::POST, "/integrations".into(), Some(body)).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let secret =
        created.json::<Value>().await.unwrap()["integration"]["webhooks"][0]["secret"].as_str().unwrap().to_owned();
    let conversation = json!({"type": "sdkGroup", "participants": [{"userExternalId": "alice"}]});
    let conversation = sunshine(Method::POST, "/conversations".into(), Some(conversation)).await.unwrap();
    let conversation: Value = conversation.json().await.unwrap();
    let id = conversation["conversation"]["id"].as_str().unwrap().to_owned();
    let join = sunshine(Method::POST, format!("/conversations/{id}/join"), Some(json!({"userExternalId": "bob"})))
        .await
        .unwrap();
    assert_eq!(join.status(), StatusCode::CREATED);
    let leave = sunshine(Method::POST, format!("/conversations/{id}/leave"), Some(json!({"userExternalId": "bob"})))
        .await
        .unwrap();
    assert_eq!(leave.status(), StatusCode::OK);

    let mut kinds = Vec::new();
    for _ in 0..3 {
        let received = receiver.next_delivered().await;
        assert_eq!(received.header("x-api-key"), secret);
        let body = received.json();
        let event = &body["events"][0];
        assert_eq!(
            (&event["payload"]["conversation"]["id"], &event["payload"]["conversation"]["type"]),
            (&json!(id), &json!("sdkGroup"))
        );
        assert_eq!(event["payload"]["user"]["id"].as_str().unwrap().len(), 24, "{event}");
        kinds.push(event["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds, triggers, "one conversation's events in order");
}

test_support::contract!(
    ada_endpoints_receive_end_user_and_conversation_events,
    sunshine_webhooks_hear_conversations_created_joined_and_left,
);
