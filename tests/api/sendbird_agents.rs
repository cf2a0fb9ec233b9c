//! Bots (AI agents), their messenger channels and the context object, through the gateway.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::helpers::{TestStack, assert_sendbird_error, spawn_stack};

fn bot(id: &str) -> Value {
    json!({
        "bot_userid": id, "bot_nickname": "Helper", "bot_profile_url": "https://example.com/b.png",
        "bot_type": "ai_agent", "bot_callback_url": "https://example.com/hook", "is_privacy_mode": false
    })
}

async fn with_bot(stack: &TestStack, id: &str) {
    stack.ok(Method::POST, "/v3/bots", Some(bot(id))).await;
}

#[tokio::test]
async fn bots_are_created_listed_updated_and_deleted() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let created = stack.ok(Method::POST, "/v3/bots", Some(bot("helper"))).await;
    assert_eq!(created["bot"]["bot_userid"], "helper");
    assert_eq!(created["bot"]["bot_nickname"], "Helper");
    assert_eq!(created["is_privacy_mode"], false);
    let duplicate = stack.call(Method::POST, "/v3/bots", &stack.token, Some(bot("helper"))).await;
    assert_sendbird_error(duplicate, StatusCode::BAD_REQUEST, 400202).await;
    let mut missing = bot("x");
    missing.as_object_mut().unwrap().remove("bot_type");
    let refused = stack.call(Method::POST, "/v3/bots", &stack.token, Some(missing)).await;
    assert_sendbird_error(refused, StatusCode::BAD_REQUEST, 400105).await;

    with_bot(&stack, "second").await;
    let page = stack.ok(Method::GET, "/v3/bots?limit=1", None).await;
    assert_eq!(page["bots"].as_array().unwrap().len(), 1);
    let next = page["next"].as_str().unwrap();
    let rest = stack.ok(Method::GET, &format!("/v3/bots?limit=1&token={next}"), None).await;
    assert_eq!(rest["bots"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next"], "");

    let updated = stack.ok(Method::PUT, "/v3/bots/helper", Some(json!({ "bot_nickname": "Helpful" }))).await;
    assert_eq!(updated["bot"]["bot_nickname"], "Helpful");
    assert_eq!(updated["bot_callback_url"], "https://example.com/hook", "unsent fields stay");
    assert_eq!(stack.ok(Method::GET, "/v3/bots/helper", None).await["bot"]["bot_nickname"], "Helpful");
    assert_eq!(stack.ok(Method::DELETE, "/v3/bots/helper", None).await, json!({}));
    let gone = stack.call(Method::GET, "/v3/bots/helper", &stack.token, None).await;
    assert_sendbird_error(gone, StatusCode::BAD_REQUEST, 400201).await;
}

#[tokio::test]
async fn a_messenger_channel_carries_the_context_the_agent_reads() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    with_bot(&stack, "helper").await;
    stack.ok(Method::POST, "/v3/users", Some(json!({ "user_id": "maria", "nickname": "M", "profile_url": "" }))).await;
    let body = json!({
        "user_id": "maria", "language": "pt-BR", "country": "BR",
        "context": { "customerTier": "premium", "login": "true" }
    });
    let opened = stack.ok(Method::POST, "/v3/ai_agent/ai_agents/helper/messenger", Some(body)).await;
    assert_eq!(opened["user"]["is_active"], true);
    assert!(opened.get("auto_created_user").is_none());
    assert_eq!(opened["bot"]["bot_userid"], "helper");
    assert_eq!((opened["language"].clone(), opened["country"].clone()), (json!("pt-BR"), json!("BR")));
    assert_eq!(opened["context"], json!({ "customerTier": "premium", "login": "true" }));
    let channel = opened["active_channel"]["channel_url"].as_str().unwrap().to_owned();

    // The same user again: the same channel, its context updated.
    let again = stack
        .ok(
            Method::POST,
            "/v3/ai_agent/ai_agents/helper/messenger",
            Some(json!({ "user_id": "maria", "context": { "orderId": "42" } })),
        )
        .await;
    assert_eq!(again["active_channel"]["channel_url"], channel.as_str());
    assert_eq!(again["context"], json!({ "customerTier": "premium", "login": "true", "orderId": "42" }));

    let path = format!("/v3/ai_agent/ai_agents/helper/channels/{channel}/ai_agent_context");
    let read = stack.ok(Method::GET, &path, None).await;
    assert_eq!(read["language"], "pt-BR");
    assert_eq!(read["context"]["orderId"], "42");
    let replaced = stack.ok(Method::PUT, &path, Some(json!({ "country": "PT", "context": { "only": "this" } }))).await;
    assert_eq!(replaced, json!({ "country": "PT", "context": { "only": "this" } }), "answers what it updated");
    let read = stack.ok(Method::GET, &path, None).await;
    assert_eq!(read, json!({ "language": "pt-BR", "country": "PT", "context": { "only": "this" } }));

    // The agent runtime reads the same object over gRPC.
    use proto::context::v1::{self as cpb, context_service_client::ContextServiceClient};
    let mut client = ContextServiceClient::new(test_support::channel(stack.stack().context).await);
    let registry_id = {
        use proto::registry::v1::{self as rpb, registry_service_client::RegistryServiceClient};
        let mut registry = RegistryServiceClient::new(test_support::channel(stack.stack().registry).await);
        let lookup = Some(rpb::UserLookup { key: Some(rpb::user_lookup::Key::UserId("maria".into())) });
        registry
            .get_user(rpb::GetUserRequest { app_id: stack.app_id.clone(), lookup })
            .await
            .unwrap()
            .into_inner()
            .user
            .unwrap()
            .id
    };
    let key = Some(cpb::ContextKey { app_id: stack.app_id.clone(), user_id: registry_id, agent_id: "helper".into() });
    let context = client.get_context(cpb::GetContextRequest { key }).await.unwrap().into_inner().context.unwrap();
    assert_eq!(context.country.as_deref(), Some("PT"));
}

#[tokio::test]
async fn a_visitor_without_a_user_gets_one_with_a_session_token() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    with_bot(&stack, "helper").await;
    let opened =
        stack.ok(Method::POST, "/v3/ai_agent/ai_agents/helper/messenger", Some(json!({ "language": "en" }))).await;
    let auto = &opened["auto_created_user"];
    let user_id = auto["user_id"].as_str().unwrap();
    assert_eq!(user_id.len(), 24);
    assert!(auto["expired_at"].as_i64().unwrap() > platform::now_millis());
    assert!(stack.validate(auto["session_token"].as_str().unwrap()).await.valid);
    stack.ok(Method::GET, &format!("/v3/users/{user_id}"), None).await;
}

#[tokio::test]
async fn messenger_mistakes_are_refused_and_leave_nothing_behind() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    with_bot(&stack, "helper").await;
    let count_users = || async {
        let page = stack.ok(Method::GET, "/v3/users?active_mode=all&limit=100", None).await;
        page["users"].as_array().unwrap().len()
    };
    let before = count_users().await;
    for (path, body, code) in [
        ("/v3/ai_agent/ai_agents/ghost/messenger", json!({}), 400201),
        ("/v3/ai_agent/ai_agents/helper/messenger", json!({ "user_id": "nobody" }), 400201),
        ("/v3/ai_agent/ai_agents/helper/messenger", json!({ "language": "english please" }), 400111),
        ("/v3/ai_agent/ai_agents/helper/messenger", json!({ "country": "XX" }), 400111),
        ("/v3/ai_agent/ai_agents/helper/messenger", json!({ "context": { "login": true } }), 400100),
    ] {
        let response = stack.call(Method::POST, path, &stack.token, Some(body)).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, code).await;
    }
    assert_eq!(count_users().await, before, "no user auto-created by a refused call");
    let unknown = stack
        .call(Method::GET, "/v3/ai_agent/ai_agents/helper/channels/nope/ai_agent_context", &stack.token, None)
        .await;
    assert_sendbird_error(unknown, StatusCode::BAD_REQUEST, 400201).await;
}

#[tokio::test]
async fn another_application_sees_neither_bots_nor_channels() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    with_bot(&stack, "helper").await;
    let opened = stack.ok(Method::POST, "/v3/ai_agent/ai_agents/helper/messenger", Some(json!({}))).await;
    let channel = opened["active_channel"]["channel_url"].as_str().unwrap().to_owned();
    let other = stack.second_application().await;
    let context_path = format!("/v3/ai_agent/ai_agents/helper/channels/{channel}/ai_agent_context");
    for (method, path, body) in [
        (Method::GET, "/v3/bots/helper".to_owned(), None),
        (Method::PUT, "/v3/bots/helper".to_owned(), Some(json!({ "bot_nickname": "x" }))),
        (Method::DELETE, "/v3/bots/helper".to_owned(), None),
        (Method::POST, "/v3/ai_agent/ai_agents/helper/messenger".to_owned(), Some(json!({}))),
        (Method::GET, context_path.clone(), None),
        (Method::PUT, context_path.clone(), Some(json!({ "language": "en" }))),
    ] {
        let response = stack.call(method, &path, &other, body).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, 400201).await;
    }
    let listed = stack.call(Method::GET, "/v3/bots", &other, None).await.json::<Value>().await.unwrap();
    assert_eq!(listed["bots"], json!([]));
}
