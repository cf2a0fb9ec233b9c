//! Moving users between Rosters with the real binary: `roster users export` of one stack,
//! `roster users import` into another, on both backends. The second stack's export equals the
//! first's line for line (every id, instant, metadata type, identity, member field, sensitive
//! field and image); a second import creates nothing; a deactivated user stays refused.

use std::path::Path;

use proto::{
    registry::v1::{self as pb, registry_service_client::RegistryServiceClient},
    token::v1::{self as token_pb, token_service_client::TokenServiceClient},
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::{
    helpers::{TestStack, spawn_stack},
    sendbird_images::{PNG, send_form},
};

test_support::contract!(an_export_imports_into_another_roster_unchanged);

/// Runs `roster users ARGS` against the stack's registry: success, stdout, stderr.
async fn roster_users(stack: &TestStack, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("users")
        .args(args)
        .env("ROSTER_REGISTRY__ENDPOINT", format!("http://{}", stack.stack().registry))
        .env("ROSTER_TELEMETRY__FILTER", "warn")
        .env_remove("ROSTER_API_TOKEN")
        .output()
        .await
        .expect("roster runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// The summary's count for `label` ("created", "skipped existing"...).
fn summary(out: &str, label: &str) -> u64 {
    let line = out.lines().find_map(|l| l.strip_prefix(&format!("{label}:"))).unwrap_or_else(|| panic!("{out}"));
    line.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{out}"))
}

async fn sensitive_reader(stack: &TestStack) -> String {
    let mut tokens = TokenServiceClient::new(test_support::channel(stack.stack().token).await);
    let request = token_pb::CreateApiTokenRequest {
        app_id: stack.app_id.clone(),
        name: "migration".into(),
        scopes: vec![token_pb::Scope::SensitiveMetadata as i32],
    };
    tokens.create_api_token(request).await.expect("token").into_inner().api_token
}

/// The export's lines as JSON, the application's id in image URLs made neutral.
fn lines(path: &Path, app_id: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("export").replace(app_id, "APP");
    text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

async fn an_export_imports_into_another_roster_unchanged(backend: Backend) {
    let source = spawn_stack(backend, false).await;
    // Through the dialects: a Sendbird user with an uploaded image, one deactivated after.
    let made =
        send_form(&source, Method::POST, "/v3/users", &[("user_id", "pic"), ("nickname", "Pic")], Some(PNG)).await;
    assert_eq!(made.status(), StatusCode::OK);
    let body =
        json!({ "user_id": "gone-quiet", "nickname": "Quiet", "profile_url": "", "metadata": { "tier": "gold" } });
    source.ok(Method::POST, "/v3/users", Some(body)).await;
    source.ok(Method::PUT, "/v3/users/gone-quiet", Some(json!({ "is_active": false }))).await;
    // Through gRPC: every kind of field at once.
    let mut registry = RegistryServiceClient::new(test_support::channel(source.stack().registry).await);
    let value = |kind| pb::MetadataValue { kind: Some(kind) };
    for n in 0..3i64 {
        let user = pb::NewUser {
            user_id: Some(format!("rich-{n}")),
            external_id: Some(format!("crm-{n}")),
            nickname: format!("Rich {n}"),
            profile: Some(pb::Profile {
                given_name: Some("Ana".into()),
                email: Some(format!("rich{n}@example.com")),
                ..Default::default()
            }),
            metadata: [
                ("plan".to_owned(), value(pb::metadata_value::Kind::StringValue("pro".into()))),
                ("seats".to_owned(), value(pb::metadata_value::Kind::IntValue(n))),
                ("score".to_owned(), value(pb::metadata_value::Kind::DoubleValue(1.0))),
                ("vip".to_owned(), value(pb::metadata_value::Kind::BoolValue(n == 1))),
            ]
            .into(),
            discovery_keys: vec![format!("dk-{n}")],
            sensitive_metadata: [("national_id".to_owned(), format!("secret-{n}"))].into(),
            identities: vec![pb::Identity { channel_type: "whatsapp".into(), value: format!("+5511{n:08}") }],
            member: (n == 2).then(|| pb::Member {
                email_id: Some("member@example.com".into()),
                groups: vec!["sales".into()],
                can_create_bot: true,
                activation: pb::ActivationState::Active as i32,
                ..Default::default()
            }),
            expires_unassociated: n == 0,
            ..Default::default()
        };
        let request = pb::CreateUserRequest { app_id: source.app_id.clone(), user: Some(user) };
        registry.create_user(request).await.expect("created");
    }

    let dir = tempfile::tempdir().unwrap();
    let exported = dir.path().join("users.jsonl");
    let file = exported.to_str().unwrap();
    // Sensitive metadata needs a token holding the scope: refused without one, nothing written.
    let (ok, _, err) = roster_users(
        &source,
        &["export", "--app", &source.app_id, "-o", file, "--include-sensitive", "--api-token", &source.token],
    )
    .await;
    assert!(!ok && err.contains("sensitive"), "{err}");
    let reader = sensitive_reader(&source).await;
    let (ok, _, err) = roster_users(
        &source,
        &["export", "--app", &source.app_id, "-o", file, "--include-sensitive", "--api-token", &reader],
    )
    .await;
    assert!(ok, "{err}");
    assert!(err.contains("exported 5 users") && err.contains("saved 1 profile images"), "{err}");
    let first = lines(&exported, &source.app_id);
    assert_eq!(first.len(), 5);
    assert!(
        first
            .iter()
            .all(|l| l["sensitive_metadata"].is_object() || !l["user_id"].as_str().unwrap().starts_with("rich"))
    );
    let pic = first.iter().find(|l| l["user_id"] == "pic").expect("pic");
    let image = dir.path().join(pic["profile_image"].as_str().expect("the image beside the export"));
    assert_eq!(&std::fs::read(&image).unwrap()[..8], b"\x89PNG\r\n\x1a\n");

    let target = spawn_stack(backend, false).await;
    let (ok, out, err) = roster_users(&target, &["import", file, "--app", &target.app_id]).await;
    assert!(ok, "{err}");
    assert_eq!(
        ["received", "created", "updated", "skipped existing", "rejected"].map(|l| summary(&out, l)),
        [5, 5, 0, 0, 0]
    );

    let again = dir.path().join("again.jsonl");
    let reader = sensitive_reader(&target).await;
    let args = [
        "export",
        "--app",
        &target.app_id,
        "-o",
        again.to_str().unwrap(),
        "--include-sensitive",
        "--api-token",
        &reader,
    ];
    let (ok, _, err) = roster_users(&target, &args).await;
    assert!(ok, "{err}");
    let second = lines(&again, &target.app_id);
    for (a, b) in first.iter().zip(&second) {
        let (mut a, mut b) = (a.clone(), b.clone());
        // The image file is named after the export; its bytes are compared below.
        for line in [&mut a, &mut b] {
            line.as_object_mut().unwrap().remove("profile_image");
        }
        assert_eq!(a, b, "field by field");
    }
    assert_eq!(first.len(), second.len());
    let image_again =
        dir.path().join(second.iter().find(|l| l["user_id"] == "pic").unwrap()["profile_image"].as_str().unwrap());
    assert_eq!(std::fs::read(&image).unwrap(), std::fs::read(&image_again).unwrap(), "the same image");

    // The same Sendbird user_id answers on the new Roster; the deactivated one stays refused.
    let quiet = target.ok(Method::GET, "/v3/users/gone-quiet", None).await;
    assert_eq!(quiet["is_active"], false);
    let refused = target.call(Method::POST, "/v3/users/gone-quiet/token", &target.token, Some(json!({}))).await;
    assert_ne!(refused.status(), StatusCode::OK, "no session token for a deactivated user");

    // Again: nothing created twice; each line reported as already there.
    let (ok, out, err) = roster_users(&target, &["import", file, "--app", &target.app_id]).await;
    assert!(ok, "{err}");
    assert_eq!(["created", "updated", "skipped existing"].map(|l| summary(&out, l)), [0, 0, 5]);
    // With --on-conflict update: every user replaced by its line, still equal.
    let (ok, out, err) =
        roster_users(&target, &["import", file, "--app", &target.app_id, "--on-conflict", "update"]).await;
    assert!(ok, "{err}");
    assert_eq!(["created", "updated", "skipped existing"].map(|l| summary(&out, l)), [0, 5, 0]);
}
