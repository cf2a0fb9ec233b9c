//! A user deleted while callers issue its tokens, join it to a conversation and an erasure of it
//! runs, all at once: nothing of the user is left in any service, whatever the order the calls
//! landed in (PostgreSQL, where they truly run in parallel).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::helpers::{TestStack, spawn_stack};

async fn sunshine(
    stack: &TestStack,
    key: &(String, String),
    method: Method,
    path: &str,
    body: Value,
) -> reqwest::Response {
    let url = format!("{}/v2/apps/{}{path}", stack.base, stack.app_id);
    stack.http.request(method, url).basic_auth(&key.0, Some(&key.1)).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn nothing_of_a_user_deleted_under_concurrent_calls_is_left() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    let key = crate::sunshine::app_key(&stack, &stack.app_id).await;
    let key = (key.id, key.secret);
    let host = sunshine(&stack, &key, Method::POST, "/users", json!({ "externalId": "host" })).await;
    let host: Value = host.json().await.unwrap();
    let conversation = json!({ "type": "sdkGroup", "participants": [{ "userId": host["user"]["id"] }] });
    let conversation: Value =
        sunshine(&stack, &key, Method::POST, "/conversations", conversation).await.json().await.unwrap();
    let conversation = conversation["conversation"]["id"].as_str().unwrap().to_owned();

    for round in 0..5 {
        let user_id = format!("racer-{round}");
        let created = stack
            .ok(
                Method::POST,
                "/v3/users",
                Some(json!({ "user_id": user_id, "nickname": "R", "profile_url": "", "issue_access_token": true })),
            )
            .await;
        let mut tokens = vec![created["access_token"].as_str().unwrap().to_owned()];
        // The Roster id, as Sunshine names the user.
        let seen: Value = stack.ok(Method::GET, &format!("/v3/users?user_ids={user_id}"), None).await;
        assert_eq!(seen["users"].as_array().unwrap().len(), 1);
        let id = seen["users"][0]["user_id"].as_str().unwrap().to_owned();
        let roster_id = {
            use proto::registry::v1::{self as pb, registry_service_client::RegistryServiceClient};
            let mut registry = RegistryServiceClient::new(test_support::channel(stack.stack().registry).await);
            let lookup = Some(pb::UserLookup { key: Some(pb::user_lookup::Key::UserId(id.clone())) });
            registry
                .get_user(pb::GetUserRequest { app_id: stack.app_id.clone(), lookup })
                .await
                .unwrap()
                .into_inner()
                .user
                .unwrap()
                .id
        };

        // Every call built first, then all sent at once.
        let sendbird = |method: Method, path: String, body: Option<Value>| {
            let mut request =
                stack.http.request(method, format!("{}{path}", stack.base)).header("api-token", &stack.token);
            if let Some(body) = body {
                request = request.json(&body);
            }
            tokio::spawn(request.send())
        };
        let sessions: Vec<_> =
            (0..6).map(|_| sendbird(Method::POST, format!("/v3/users/{user_id}/token"), None)).collect();
        let accesses: Vec<_> = (0..4)
            .map(|_| sendbird(Method::PUT, format!("/v3/users/{user_id}"), Some(json!({ "issue_access_token": true }))))
            .collect();
        let join = tokio::spawn(
            stack
                .http
                .post(format!("{}/v2/apps/{}/conversations/{conversation}/join", stack.base, stack.app_id))
                .basic_auth(&key.0, Some(&key.1))
                .json(&json!({ "userId": roster_id }))
                .send(),
        );
        let deleted = sendbird(Method::DELETE, format!("/v3/users/{user_id}"), None);
        let erase = sendbird(
            Method::POST,
            "/v3/privacy/gdpr".into(),
            Some(json!({ "action": "delete", "user_ids": [user_id] })),
        );
        let mut sessions_done = Vec::new();
        for handle in sessions {
            sessions_done.push(handle.await.unwrap().unwrap());
        }
        let mut accesses_done = Vec::new();
        for handle in accesses {
            accesses_done.push(handle.await.unwrap().unwrap());
        }
        let (sessions, accesses) = (sessions_done, accesses_done);
        let joined = join.await.unwrap().unwrap();
        let deleted = deleted.await.unwrap().unwrap();
        let erasure = erase.await.unwrap().unwrap();
        for response in sessions {
            if response.status() == StatusCode::OK {
                tokens.push(response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned());
            }
        }
        for response in accesses {
            if response.status() == StatusCode::OK {
                tokens.push(response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned());
            }
        }
        assert!(joined.status().is_success() || joined.status() == StatusCode::NOT_FOUND, "{}", joined.status());
        assert!(deleted.status().is_success() || deleted.status() == StatusCode::BAD_REQUEST, "{}", deleted.status());
        let erasure: Value = erasure.json().await.unwrap();
        // Once the erasure ended, the user is gone everywhere.
        let request = erasure["request_id"].as_str().unwrap();
        for _ in 0..400 {
            if stack.ok(Method::GET, &format!("/v3/privacy/gdpr/{request}"), None).await["status"] != "processing" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(
            stack.get(&format!("/v3/users/{user_id}"), Some(&stack.token)).await.status(),
            StatusCode::BAD_REQUEST
        );
        for token in &tokens {
            assert!(!stack.validate(token).await.valid, "round {round}: a token of the deleted user still works");
        }
        let participants = stack
            .http
            .get(format!("{}/v2/apps/{}/conversations/{conversation}/participants", stack.base, stack.app_id))
            .basic_auth(&key.0, Some(&key.1))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        let ids: Vec<&str> =
            participants["participants"].as_array().unwrap().iter().filter_map(|p| p["userId"].as_str()).collect();
        assert!(!ids.contains(&roster_id.as_str()), "round {round}: the deleted user is still a participant: {ids:?}");
    }
}
