//! The official Sunshine Conversations client (Python, `sunshine-conversations-client` 17.0.1)
//! against the whole stack, changing only its host: with an app key's Basic credential, with an
//! app-scope JWT, and under Zendesk's `/sc` prefix. `scripts/test` makes the virtual environment
//! and sets `SDK_COMPAT_PYTHON`; what the client made and removed is then checked over gRPC.

use proto::{
    context::v1::{self as context_pb, context_service_client::ContextServiceClient},
    registry::v1 as registry_pb,
    token::v1::{self as token_pb, token_service_client::TokenServiceClient},
};
use serde_json::Value;
use test_support::Backend;

use crate::{
    helpers::{TestStack, spawn_stack},
    receiver::Receiver,
    sunshine::{app_key, registry},
};

async fn run_client(stack: &TestStack, python: &str, host: &str, auth: &str, run: &str, target: &str) -> Value {
    let key = app_key(stack, &stack.app_id).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/compat/sunshine_client.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .env("ROSTER_HOST", host)
        .env("ROSTER_APP_ID", &stack.app_id)
        .env("ROSTER_KEY_ID", &key.id)
        .env("ROSTER_KEY_SECRET", &key.secret)
        .env("ROSTER_AUTH", auth)
        .env("ROSTER_RUN", run)
        .env("ROSTER_WEBHOOK_TARGET", target)
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "client suite ({auth}, {host}) failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().expect("a report")).expect("JSON report")
}

fn by(key: registry_pb::user_lookup::Key) -> Option<registry_pb::UserLookup> {
    Some(registry_pb::UserLookup { key: Some(key) })
}

/// What one run reports, checked over gRPC against the services' own state.
async fn check_report(stack: &TestStack, report: &Value) {
    let text = |name: &str| report[name].as_str().unwrap_or_else(|| panic!("{name} in {report}")).to_owned();
    let app_id = stack.app_id.clone();
    let mut tokens = TokenServiceClient::new(test_support::channel(stack.stack().token).await);
    let keys = tokens.list_app_keys(token_pb::ListAppKeysRequest { app_id: app_id.clone() }).await.unwrap();
    assert!(!keys.into_inner().keys.iter().any(|k| k.id == text("deleted_key")), "the deleted app key is gone");

    let mut registry = registry(stack).await;
    let get = |lookup| registry_pb::GetUserRequest { app_id: app_id.clone(), lookup };
    use registry_pb::user_lookup::Key;
    let deleted = registry.get_user(get(by(Key::Id(text("deleted_user"))))).await;
    assert_eq!(deleted.unwrap_err().code(), tonic::Code::NotFound);
    let kept = registry.get_user(get(by(Key::Id(text("kept_user"))))).await.unwrap().into_inner().user.unwrap();
    assert!(kept.external_id.is_some(), "delete personal information keeps the externalId");
    assert_eq!((kept.profile.unwrap_or_default(), kept.metadata.len()), (registry_pb::Profile::default(), 0));
    for participant in report["participants"].as_array().unwrap() {
        let external_id = participant.as_str().unwrap().to_owned();
        let user = registry.get_user(get(by(Key::ExternalId(external_id.clone())))).await;
        let user = user.unwrap_or_else(|e| panic!("{external_id} was created: {e}")).into_inner().user.unwrap();
        assert!(user.associated_at.is_some(), "{external_id} is associated with the conversation");
    }
    let mut context = ContextServiceClient::new(test_support::channel(stack.stack().context).await);
    let request = context_pb::ListParticipantsRequest {
        app_id,
        conversation_id: text("conversation"),
        page_token: String::new(),
        page_size: 10,
    };
    assert_eq!(context.list_participants(request).await.unwrap().into_inner().participants.len(), 3);
}

#[tokio::test]
async fn sunshine_client() {
    let python = crate::helpers::sdk_python();
    let stack = spawn_stack(Backend::Postgres, true).await;
    let mut receiver = Receiver::start(0).await;
    let sc_host = format!("{}/sc", stack.base);
    let mut reports = Vec::new();
    for (host, auth, run) in [(&stack.base, "basic", "basic"), (&stack.base, "jwt", "jwt"), (&sc_host, "basic", "sc")] {
        let report = run_client(&stack, &python, host, auth, run, &receiver.url()).await;
        check_report(&stack, &report).await;
        reports.push(report);
    }
    check_webhooks(&mut receiver, &reports).await;
}

/// Each run's integration received the user changes the run made after creating it, in Sunshine's
/// envelope, with its own secret in `X-API-Key`: the updated user whole (`includeFullUser`), the
/// removed one truncated.
async fn check_webhooks(receiver: &mut Receiver, reports: &[Value]) {
    let mut wanted: Vec<(String, &'static str, String)> = Vec::new();
    for report in reports {
        let secret = report["webhook_secret"].as_str().unwrap().to_owned();
        wanted.push((secret.clone(), "user:update", report["kept_user"].as_str().unwrap().to_owned()));
        wanted.push((secret, "user:remove", report["deleted_user"].as_str().unwrap().to_owned()));
    }
    while !wanted.is_empty() {
        let received = receiver.next_delivered().await;
        let body = received.json();
        let key = received.header("x-api-key");
        assert_eq!(body["webhook"]["version"], "v2", "{body}");
        assert_eq!(body["events"].as_array().unwrap().len(), 1);
        let event = &body["events"][0];
        assert_eq!(event["id"].as_str().unwrap().len(), 24);
        assert!(event["createdAt"].as_str().unwrap().ends_with('Z'), "{event}");
        let (kind, user) = (event["type"].as_str().unwrap(), &event["payload"]["user"]);
        if kind == "user:update" {
            assert!(user.get("profile").is_some() && user.get("metadata").is_some(), "a full user: {user}");
        }
        if kind == "user:remove" {
            assert!(user.get("profile").is_none(), "a truncated user: {user}");
        }
        wanted.retain(|(secret, k, id)| !(secret == &key && *k == kind && user["id"] == *id));
    }
}
