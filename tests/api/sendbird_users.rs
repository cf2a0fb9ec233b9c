//! The rest of `/v3/users`: list, update, delete, metadata; and isolation on every route.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::helpers::{TestStack, assert_sendbird_error, spawn_stack};

async fn create(stack: &TestStack, user_id: &str, nickname: &str, metadata: Value) {
    let body = json!({ "user_id": user_id, "nickname": nickname, "profile_url": "", "metadata": metadata });
    stack.ok(Method::POST, "/v3/users", Some(body)).await;
}

fn user_ids(page: &Value) -> Vec<String> {
    page["users"].as_array().unwrap().iter().map(|u| u["user_id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn lists_page_by_token_until_next_is_empty() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    for i in 0..7 {
        create(&stack, &format!("user{i}"), "n", json!({})).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = stack.ok(Method::GET, &format!("/v3/users?limit=3&token={token}"), None).await;
        assert!(page["next"].is_string(), "next is a string, never null: {page}");
        let ids = user_ids(&page);
        assert!(ids.len() <= 3);
        seen.extend(ids);
        token = page["next"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, (0..7).map(|i| format!("user{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn list_filters_and_their_errors() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    create(&stack, "alice", "Alice", json!({ "tier": "gold" })).await;
    create(&stack, "alison", "Alison", json!({ "tier": "silver" })).await;
    create(&stack, "bob", "Bob", json!({ "tier": "gold" })).await;
    stack.ok(Method::PUT, "/v3/users/bob", Some(json!({ "is_active": false }))).await;

    let ids = |query: &'static str| {
        let stack = &stack;
        async move {
            let mut ids = user_ids(&stack.ok(Method::GET, &format!("/v3/users?{query}"), None).await);
            ids.sort();
            ids
        }
    };
    assert_eq!(ids("").await, ["alice", "alison"], "activated by default");
    assert_eq!(ids("active_mode=all").await, ["alice", "alison", "bob"]);
    assert_eq!(ids("active_mode=deactivated").await, ["bob"]);
    assert_eq!(ids("active_mode=all&user_ids=alice%2Cbob").await, ["alice", "bob"]);
    assert_eq!(ids("nickname=Alison").await, ["alison"]);
    assert_eq!(ids("nickname_startswith=Ali&show_bot=True").await, ["alice", "alison"]);
    assert_eq!(ids("active_mode=all&metadatakey=tier&metadatavalues_in=gold").await, ["alice", "bob"]);

    for (query, code) in [
        ("limit=0", 400111),
        ("limit=101", 400111),
        ("limit=ten", 400111),
        ("active_mode=sleeping", 400111),
        ("show_bot=maybe", 400111),
        ("token=not-a-token", 400111),
        ("metadatakey=tier", 400105),
    ] {
        let response = stack.get(&format!("/v3/users?{query}"), Some(&stack.token)).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, code).await;
    }
}

#[tokio::test]
async fn update_changes_what_is_sent_and_keeps_the_rest() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    create(&stack, "u", "Before", json!({ "k": "v" })).await;
    let updated = stack
        .ok(
            Method::PUT,
            "/v3/users/u",
            Some(json!({
                "nickname": "After",
                "preferred_languages": ["ko-KR", "en"],
                "discovery_keys": ["+15550100"],
                "last_seen_at": 1_700_000_000_000i64,
                "leave_all_when_deactivated": true
            })),
        )
        .await;
    assert_eq!(updated["nickname"], "After");
    assert_eq!(updated["preferred_languages"], json!(["ko-KR", "en"]));
    assert_eq!(updated["locale"], "ko-KR");
    assert_eq!(updated["discovery_keys"], json!(["+15550100"]));
    assert_eq!(updated["last_seen_at"], 1_700_000_000_000i64);
    assert_eq!(updated["has_ever_logged_in"], true);
    assert_eq!(updated["metadata"], json!({ "k": "v" }));
    assert!(updated.get("is_created").is_none());

    for (body, code) in [
        (json!({ "nickname": "n".repeat(81) }), 400110),
        (json!({ "nickname": 5 }), 400100),
        (json!({ "is_active": "yes" }), 400104),
        (json!({ "preferred_languages": ["not a language"] }), 400111),
        (json!({ "last_seen_at": -1 }), 400111),
    ] {
        let response = stack.call(Method::PUT, "/v3/users/u", &stack.token, Some(body)).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, code).await;
    }
    let unknown = stack.call(Method::PUT, "/v3/users/nobody", &stack.token, Some(json!({}))).await;
    assert_sendbird_error(unknown, StatusCode::BAD_REQUEST, 400201).await;
    let kept = stack.ok(Method::GET, "/v3/users/u", None).await;
    assert_eq!(kept["nickname"], "After", "refused updates change nothing");
}

#[tokio::test]
async fn discovery_keys_belong_to_one_user() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let body = json!({ "user_id": "a", "nickname": "a", "profile_url": "", "discovery_keys": ["k"] });
    stack.ok(Method::POST, "/v3/users", Some(body)).await;
    let body = json!({ "user_id": "b", "nickname": "b", "profile_url": "", "discovery_keys": ["k"] });
    let taken = stack.call(Method::POST, "/v3/users", &stack.token, Some(body)).await;
    assert_sendbird_error(taken, StatusCode::BAD_REQUEST, 400202).await;
}

#[tokio::test]
async fn delete_removes_the_user_its_metadata_and_its_agent_context() {
    use proto::{
        context::v1::{self as cpb, context_service_client::ContextServiceClient},
        registry::v1::{self as rpb, registry_service_client::RegistryServiceClient},
    };
    let stack = spawn_stack(Backend::Sqlite, false).await;
    create(&stack, "gone", "g", json!({ "k": "v" })).await;
    let mut registry = RegistryServiceClient::new(test_support::channel(stack.stack().registry).await);
    let user = registry
        .get_user(rpb::GetUserRequest {
            app_id: stack.app_id.clone(),
            lookup: Some(rpb::UserLookup { key: Some(rpb::user_lookup::Key::UserId("gone".into())) }),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    let mut context = ContextServiceClient::new(test_support::channel(stack.stack().context).await);
    let key = Some(cpb::ContextKey { app_id: stack.app_id.clone(), user_id: user.id.clone(), agent_id: "bot".into() });
    let set = cpb::SetContextRequest { key: key.clone(), language: Some("en".into()), ..Default::default() };
    context.set_context(set).await.expect("context set");

    assert_eq!(stack.ok(Method::DELETE, "/v3/users/gone", None).await, json!({}));
    let after = context.get_context(cpb::GetContextRequest { key }).await.expect_err("context deleted with the user");
    assert_eq!(after.code(), tonic::Code::NotFound);
    let response = stack.get("/v3/users/gone", Some(&stack.token)).await;
    assert_sendbird_error(response, StatusCode::BAD_REQUEST, 400201).await;
    let again = stack.call(Method::DELETE, "/v3/users/gone", &stack.token, None).await;
    assert_sendbird_error(again, StatusCode::BAD_REQUEST, 400201).await;
    create(&stack, "gone", "g", json!({})).await;
    assert_eq!(stack.ok(Method::GET, "/v3/users/gone/metadata", None).await, json!({}));
}

#[tokio::test]
async fn metadata_calls_follow_sendbirds_rules() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    create(&stack, "m", "m", json!({ "a": "1" })).await;
    let base = "/v3/users/m/metadata";

    let created = stack.ok(Method::POST, base, Some(json!({ "metadata": { "b": "2" } }))).await;
    assert_eq!(created, json!({ "b": "2" }));
    let exists = stack.call(Method::POST, base, &stack.token, Some(json!({ "metadata": { "a": "x" } }))).await;
    assert_sendbird_error(exists, StatusCode::BAD_REQUEST, 400202).await;

    let missing = stack.call(Method::PUT, base, &stack.token, Some(json!({ "metadata": { "z": "x" } }))).await;
    assert_sendbird_error(missing, StatusCode::BAD_REQUEST, 400201).await;
    let upserted =
        stack.ok(Method::PUT, base, Some(json!({ "metadata": { "z": "26", "a": "one" }, "upsert": true }))).await;
    assert_eq!(upserted, json!({ "z": "26", "a": "one" }));
    assert_eq!(stack.ok(Method::GET, base, None).await, json!({ "a": "one", "b": "2", "z": "26" }));

    assert_eq!(stack.ok(Method::GET, &format!("{base}/b"), None).await, json!({ "b": "2" }));
    let no_key = stack.call(Method::GET, &format!("{base}/nope"), &stack.token, None).await;
    assert_sendbird_error(no_key, StatusCode::BAD_REQUEST, 400201).await;
    assert_eq!(
        stack.ok(Method::PUT, &format!("{base}/b"), Some(json!({ "value": "two" }))).await,
        json!({ "b": "two" })
    );
    let new_key = stack.call(Method::PUT, &format!("{base}/c"), &stack.token, Some(json!({ "value": "3" }))).await;
    assert_sendbird_error(new_key, StatusCode::BAD_REQUEST, 400201).await;
    let upsert_key = json!({ "value": "3", "upsert": true });
    assert_eq!(stack.ok(Method::PUT, &format!("{base}/c"), Some(upsert_key)).await, json!({ "c": "3" }));

    assert_eq!(stack.ok(Method::DELETE, &format!("{base}/c"), None).await, json!({}));
    let gone = stack.call(Method::DELETE, &format!("{base}/c"), &stack.token, None).await;
    assert_sendbird_error(gone, StatusCode::BAD_REQUEST, 400201).await;
    assert_eq!(stack.ok(Method::DELETE, base, None).await, json!({}));
    assert_eq!(stack.ok(Method::GET, base, None).await, json!({}));

    for (body, code) in
        [(json!({}), 400105), (json!({ "metadata": "x" }), 400103), (json!({ "metadata": { "k": 1 } }), 400100)]
    {
        let response = stack.call(Method::POST, base, &stack.token, Some(body)).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, code).await;
    }
}

#[tokio::test]
async fn another_applications_token_finds_nothing_on_any_route() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    create(&stack, "mine", "m", json!({ "k": "v" })).await;
    let other = stack.second_application().await;
    let routes: [(Method, &str, Option<Value>); 10] = [
        (Method::GET, "/v3/users/mine", None),
        (Method::PUT, "/v3/users/mine", Some(json!({ "nickname": "stolen" }))),
        (Method::DELETE, "/v3/users/mine", None),
        (Method::GET, "/v3/users/mine/metadata", None),
        (Method::POST, "/v3/users/mine/metadata", Some(json!({ "metadata": { "x": "y" } }))),
        (Method::PUT, "/v3/users/mine/metadata", Some(json!({ "metadata": { "k": "y" }, "upsert": true }))),
        (Method::DELETE, "/v3/users/mine/metadata", None),
        (Method::GET, "/v3/users/mine/metadata/k", None),
        (Method::PUT, "/v3/users/mine/metadata/k", Some(json!({ "value": "y", "upsert": true }))),
        (Method::DELETE, "/v3/users/mine/metadata/k", None),
    ];
    for (method, path, body) in routes {
        let response = stack.call(method.clone(), path, &other, body).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, 400201).await;
    }
    let listed = stack.call(Method::GET, "/v3/users?active_mode=all", &other, None).await;
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed["users"], json!([]));
    let mine = stack.ok(Method::GET, "/v3/users/mine", None).await;
    assert_eq!((mine["nickname"].clone(), mine["metadata"].clone()), (json!("m"), json!({ "k": "v" })));
}

#[tokio::test]
async fn require_auth_for_profile_image_true_is_refused_not_ignored() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let body = json!({"user_id": "img-1", "nickname": "", "profile_url": "", "require_auth_for_profile_image": true});
    let refused = stack.call(Method::POST, "/v3/users", &stack.token, Some(body)).await;
    assert_sendbird_error(refused, StatusCode::BAD_REQUEST, 400111).await;
    let body = json!({"user_id": "img-1", "nickname": "", "profile_url": "", "require_auth_for_profile_image": false});
    let created = stack.ok(Method::POST, "/v3/users", Some(body)).await;
    assert_eq!(created["require_auth_for_profile_image"], false);
    let update = json!({"require_auth_for_profile_image": true, "nickname": "changed"});
    let refused = stack.call(Method::PUT, "/v3/users/img-1", &stack.token, Some(update)).await;
    assert_sendbird_error(refused, StatusCode::BAD_REQUEST, 400111).await;
    let read = stack.ok(Method::GET, "/v3/users/img-1", None).await;
    assert_eq!(read["nickname"], "", "a refused update changes nothing");
}
