//! Log hygiene: drive the dialects with tokens, secrets, emails and sensitive values, capture
//! every log line (JSON, debug level for Roster's own crates), and find none of them there.

use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::json;
use test_support::Backend;
use tracing_subscriber::{EnvFilter, fmt::MakeWriter, layer::SubscriberExt};

use crate::helpers::{spawn_stack, with_subscriber};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// The subscriber is this test's runtime's alone (`with_subscriber`), whether tests share a
// process or not.
#[test]
fn no_token_secret_email_or_sensitive_value_reaches_a_log_line() {
    let captured = Captured::default();
    let filter =
        "info,roster=debug,platform=debug,gateway=debug,user_registry=debug,token_service=debug,context_service=debug";
    let subscriber = tracing_subscriber::registry().with(EnvFilter::new(filter)).with(
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(captured.clone()),
    );
    with_subscriber(subscriber, || logged_calls(captured));
}

async fn logged_calls(captured: Captured) {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let email = "maria.secret@example.com";
    let phone = "+15550199";
    let ssn = "123-45-6789";
    let sealed_value = "eyJ-sealed-sensitive-value";
    let created = stack
        .ok(
            Method::POST,
            "/v3/users",
            Some(json!({
                "user_id": "maria", "nickname": "Maria", "profile_url": "",
                "metadata": { "email": email }, "discovery_keys": [phone], "issue_access_token": true
            })),
        )
        .await;
    let access = created["access_token"].as_str().unwrap().to_owned();
    let session = stack.ok(Method::POST, "/v3/users/maria/token", None).await["token"].as_str().unwrap().to_owned();
    assert!(stack.validate(&access).await.valid && stack.validate(&session).await.valid);
    // Refused calls log at warn: their messages quote what was sent, so they must not be logged.
    let taken = stack
        .call(Method::POST, "/v3/users/maria/metadata", &stack.token, Some(json!({ "metadata": { "email": email } })))
        .await;
    assert_eq!(taken.status(), StatusCode::BAD_REQUEST);
    let missing = stack.call(Method::GET, &format!("/v3/users/maria/metadata/{email}"), &stack.token, None).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    stack
        .ok(Method::PUT, "/v3/users/maria/metadata", Some(json!({ "metadata": { "card": ssn }, "upsert": true })))
        .await;
    stack
        .ok(
            Method::POST,
            "/v3/bots",
            Some(json!({
                "bot_userid": "helper", "bot_nickname": "H", "bot_profile_url": "", "bot_type": "ai_agent",
                "bot_callback_url": "https://example.com/hook", "is_privacy_mode": false
            })),
        )
        .await;
    let body = json!({ "user_id": "maria", "context": { "ssn": ssn, "contact": email } });
    stack.ok(Method::POST, "/v3/ai_agent/ai_agents/helper/messenger", Some(body)).await;
    let wrong = stack.get("/v3/users/maria", Some("0123456789abcdef0123456789abcdef01234567")).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    // The Ada dialect: an email and an external id in a create, and a refused create quoting them.
    let ada = stack
        .http
        .post(format!("{}/api/v2/end-users/", stack.base))
        .bearer_auth(&stack.token)
        .json(&json!({ "external_id": phone, "profile": { "email": email, "metadata": { "card": ssn },
                       "sensitive_metadata": { "fields": { "auth_token": sealed_value } } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(ada.status(), StatusCode::CREATED);
    let end_user: serde_json::Value = ada.json().await.unwrap();
    // A merge of sensitive fields, and one refused for a non-string value that quotes it.
    for (fields, status) in [
        (json!({ "session": sealed_value }), StatusCode::OK),
        (json!({ "session": [sealed_value] }), StatusCode::BAD_REQUEST),
    ] {
        let patched = stack
            .http
            .patch(format!("{}/api/v2/end-users/{}", stack.base, end_user["end_user_id"].as_str().unwrap()))
            .bearer_auth(&stack.token)
            .json(&json!({ "profile": { "sensitive_metadata": { "fields": fields } } }))
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), status);
    }
    let refused = stack
        .http
        .post(format!("{}/api/v2/end-users/", stack.base))
        .bearer_auth(&stack.token)
        .json(&json!({ "profile": { "email": format!("not an email {ssn}") } }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    stack.ok(Method::DELETE, "/v3/users/maria/token", None).await;
    stack.ok(Method::DELETE, "/v3/users/maria", None).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("user created") && logs.contains("request refused"), "the logs were captured:\n{logs}");
    for (what, secret) in [
        ("the API token", stack.token.as_str()),
        ("the access token", access.as_str()),
        ("the session token", session.as_str()),
        ("the session token's signature", session.rsplit('.').next().unwrap()),
        ("an email", email),
        ("a discovery key", phone),
        ("a sensitive value", ssn),
        ("a sensitive metadata field", sealed_value),
        ("the wrong token", "0123456789abcdef0123456789abcdef01234567"),
    ] {
        assert!(!logs.contains(secret), "{what} reached a log line");
    }
}
