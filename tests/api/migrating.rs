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

test_support::contract!(
    an_export_imports_into_another_roster_unchanged,
    a_sendbird_pull_moves_ten_thousand_users_resuming_after_an_outage,
    ada_and_sunshine_pulls_keep_their_vendor_ids,
);

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

    // A line saying an active user is inactive, skipped: the user keeps its tokens. Replacing it
    // deactivates it; a line without image or URL keeps the uploaded image.
    let edited = dir.path().join("edited.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(&exported)
        .unwrap()
        .lines()
        .map(|l| {
            let mut line: Value = serde_json::from_str(l).unwrap();
            if line["user_id"] == "rich-0" {
                line["is_active"] = false.into();
            }
            if line["user_id"] == "pic" {
                let object = line.as_object_mut().unwrap();
                object.remove("profile_image");
                object.insert("profile_url".into(), "".into());
                object.insert("nickname".into(), "Pic renamed".into());
                if let Some(profile) = object.get_mut("profile").and_then(Value::as_object_mut) {
                    profile.remove("avatar_url");
                    profile.remove("display_name");
                }
            }
            line.to_string()
        })
        .collect();
    std::fs::write(&edited, lines.join("\n")).unwrap();
    let edited = edited.to_str().unwrap();
    let session = |user_id: &'static str| {
        let target = &target;
        async move {
            let path = format!("/v3/users/{user_id}/token");
            target.call(Method::POST, &path, &target.token, Some(json!({}))).await.status()
        }
    };
    assert_eq!(session("rich-0").await, StatusCode::OK);
    let (ok, out, err) = roster_users(&target, &["import", edited, "--app", &target.app_id]).await;
    assert!(ok, "{err}");
    assert_eq!(summary(&out, "skipped existing"), 5, "{out}");
    assert_eq!(session("rich-0").await, StatusCode::OK, "a skipped line changes nothing");
    let update = ["import", edited, "--app", &target.app_id, "--on-conflict", "update"];
    let (ok, out, err) = roster_users(&target, &update).await;
    assert!(ok, "{err}");
    assert_eq!(summary(&out, "updated"), 5, "{out}");
    assert_ne!(session("rich-0").await, StatusCode::OK, "replaced by an inactive line: deactivated");
    let pic = target.ok(Method::GET, "/v3/users/pic", None).await;
    assert_eq!(pic["nickname"], "Pic renamed");
    let url = pic["profile_url"].as_str().unwrap();
    assert!(url.contains("/profile_images/"), "the uploaded image stays: {url}");
    let image = target.http.get(url).send().await.unwrap();
    assert_eq!(image.status(), StatusCode::OK);
}

/// What the test's proxy in front of the source does to the requests it forwards.
#[derive(Default)]
struct Faults {
    /// Requests seen, in order: path and query.
    seen: Vec<String>,
    /// Answer 429 with `Retry-After: 1` to this request (by position), once.
    too_many_at: Option<usize>,
    /// After this many pages forwarded, answer 502 to everything.
    fail_after: Option<usize>,
    forwarded: usize,
}

/// A proxy to `upstream` that records every request and injects `faults`: stands in for a
/// vendor's rate limit and outage.
async fn proxy(upstream: String, faults: std::sync::Arc<std::sync::Mutex<Faults>>) -> String {
    use axum::{
        body::Body,
        http::{Request, Response as HttpResponse},
    };
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |request: Request<Body>| {
        let (client, upstream, faults) = (client.clone(), upstream.clone(), faults.clone());
        async move {
            let target = request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
            let verdict = {
                let mut f = faults.lock().unwrap();
                f.seen.push(target.clone());
                let at = f.seen.len() - 1;
                if f.too_many_at == Some(at) {
                    f.too_many_at = None;
                    Some(429)
                } else if f.fail_after.is_some_and(|n| f.forwarded >= n) {
                    Some(502)
                } else {
                    f.forwarded += 1;
                    None
                }
            };
            if let Some(status) = verdict {
                return HttpResponse::builder()
                    .status(status)
                    .header("retry-after", "1")
                    .body(Body::from(r#"{"error":true,"code":500901,"message":"injected"}"#))
                    .unwrap();
            }
            let mut forward = client.get(format!("{upstream}{target}"));
            for (name, value) in request.headers() {
                if matches!(name.as_str(), "api-token" | "authorization") {
                    forward = forward.header(name, value);
                }
            }
            let answer = forward.send().await.unwrap();
            let status = answer.status().as_u16();
            HttpResponse::builder().status(status).body(Body::from(answer.bytes().await.unwrap())).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Every user of the stack's first application: user id -> (Roster id, metadata as JSON).
async fn everyone(stack: &TestStack) -> std::collections::BTreeMap<String, (String, Value)> {
    let mut registry = RegistryServiceClient::new(test_support::channel(stack.stack().registry).await);
    let request = pb::ExportUsersRequest { app_id: stack.app_id.clone(), batch_size: 1000, ..Default::default() };
    let mut stream = registry.export_users(request).await.expect("export").into_inner();
    let mut out = std::collections::BTreeMap::new();
    while let Some(message) = stream.message().await.expect("message") {
        for user in message.users.into_iter().filter_map(|u| u.user) {
            let metadata = metadata_json(&user.metadata);
            out.insert(user.user_id, (user.id, metadata));
        }
    }
    out
}

fn metadata_json(metadata: &std::collections::HashMap<String, pb::MetadataValue>) -> Value {
    let mut sorted: Vec<_> = metadata.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    Value::Array(sorted.into_iter().map(|(k, v)| json!([k, format!("{:?}", v.kind)])).collect())
}

/// Runs a pull (`roster users import --from ...`) with the checkpoint in `dir`.
async fn pull(target: &TestStack, dir: &Path, args: &[&str]) -> (bool, String, String) {
    let checkpoint = dir.join("pull.checkpoint");
    let rejected = dir.join("pull.rejected");
    let mut all = vec!["import", "--app", &target.app_id, "--rate", "0", "--retries", "0"];
    all.extend(["--checkpoint", checkpoint.to_str().unwrap(), "--rejected", rejected.to_str().unwrap()]);
    all.extend(args);
    roster_users(target, &all).await
}

async fn a_sendbird_pull_moves_ten_thousand_users_resuming_after_an_outage(backend: Backend) {
    let source = spawn_stack(backend, false).await;
    let mut registry = RegistryServiceClient::new(test_support::channel(source.stack().registry).await);
    for batch in 0..10 {
        let users = (0..1000)
            .map(|n| pb::NewUser {
                user_id: Some(format!("sb-{batch}-{n:04}")),
                nickname: format!("User {batch}/{n}"),
                metadata: [
                    (
                        "plan".to_owned(),
                        pb::MetadataValue { kind: Some(pb::metadata_value::Kind::StringValue(format!("p{n}"))) },
                    ),
                    (
                        "team".to_owned(),
                        pb::MetadataValue { kind: Some(pb::metadata_value::Kind::StringValue("core".into())) },
                    ),
                ]
                .into(),
                ..Default::default()
            })
            .collect();
        let request = pb::BatchCreateUsersRequest { app_id: source.app_id.clone(), users };
        let created = registry.batch_create_users(request).await.expect("batch").into_inner();
        assert!(created.results.iter().all(|r| matches!(r.result, Some(pb::batch_item_result::Result::User(_)))));
    }
    let faults = std::sync::Arc::new(std::sync::Mutex::new(Faults {
        too_many_at: Some(3),
        fail_after: Some(50),
        ..Default::default()
    }));
    let vendor = proxy(source.base.clone(), faults.clone()).await;
    let target = spawn_stack(backend, false).await;
    let dir = tempfile::tempdir().unwrap();
    let from = ["--from", "sendbird", "--source-url", &vendor, "--source-token", &source.token];

    // A dry run reads every page and writes nothing.
    faults.lock().unwrap().fail_after = None;
    let (ok, out, err) = pull(&target, dir.path(), &[&from[..], &["--dry-run"]].concat()).await;
    assert!(ok, "{err}");
    assert_eq!(summary(&out, "received"), 10_000, "{out}");
    assert!(everyone(&target).await.is_empty(), "a dry run writes nothing");
    assert!(out.contains("waited out:       1"), "the 429 was waited out: {out}");

    // An outage after 50 pages stops the pull with its place kept.
    {
        let mut f = faults.lock().unwrap();
        *f = Faults { fail_after: Some(50), ..Default::default() };
    }
    let (ok, _, err) = pull(&target, dir.path(), &from).await;
    assert!(!ok && err.contains("run the same command again to resume"), "{err}");
    let halfway = everyone(&target).await.len();
    assert_eq!(halfway, 5000, "the 50 pages before the outage are written");

    // Healed: the pull goes on from page 51, not from the start, and finishes.
    let resumed_at = {
        let mut f = faults.lock().unwrap();
        f.fail_after = None;
        f.seen.len()
    };
    let (ok, out, err) = pull(&target, dir.path(), &from).await;
    assert!(ok, "{err}");
    let first_after = faults.lock().unwrap().seen[resumed_at].clone();
    assert!(first_after.contains("token="), "resumed with the checkpoint's cursor: {first_after}");
    // The summary covers the whole pull, the pages before the outage included, each once.
    assert_eq!(
        ["pages", "received", "created", "skipped existing"].map(|l| summary(&out, l)),
        [100, 10_000, 10_000, 0],
        "{out}"
    );
    assert_eq!(summary(&out, "failed"), 0, "{out}");
    assert!(!dir.path().join("pull.checkpoint").exists(), "a finished pull leaves no checkpoint");

    // Everything moved, metadata intact, each user's vendor id its user_id.
    let (before, after) = (everyone(&source).await, everyone(&target).await);
    assert_eq!(after.len(), 10_000);
    for (user_id, (_, metadata)) in &before {
        assert_eq!(&after[user_id].1, metadata, "{user_id}");
    }
    // Again: nothing created twice.
    let (ok, out, err) = pull(&target, dir.path(), &from).await;
    assert!(ok, "{err}");
    assert_eq!([summary(&out, "created"), summary(&out, "skipped existing")], [0, 10_000]);
}

async fn ada_and_sunshine_pulls_keep_their_vendor_ids(backend: Backend) {
    let source = spawn_stack(backend, false).await;
    let mut ids = Vec::new();
    for n in 0..150 {
        let body = json!({ "external_id": format!("crm-{n}"), "profile": { "first_name": "Ana", "metadata": { "n": n, "vip": n % 2 == 0 } } });
        let response = source
            .http
            .post(format!("{}/api/v2/end-users/", source.base))
            .bearer_auth(&source.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        ids.push(response.json::<Value>().await.unwrap()["end_user_id"].as_str().unwrap().to_owned());
    }
    let dir = tempfile::tempdir().unwrap();

    let ada_target = spawn_stack(backend, false).await;
    let from = ["--from", "ada", "--source-url", &source.base, "--source-token", &source.token];
    let (ok, out, err) = pull(&ada_target, dir.path(), &from).await;
    assert!(ok, "{err}");
    assert_eq!([summary(&out, "pages"), summary(&out, "created")], [2, 150], "{out}");
    let (before, after) = (everyone(&source).await, everyone(&ada_target).await);
    assert_eq!(before, after, "the same Roster ids (Ada's end_user_id) and metadata, typed");

    // Sunshine lists no users: its ids come from a file (one unknown among them).
    let key = crate::sunshine::app_key(&source, &source.app_id).await;
    let list = dir.path().join("sunshine-ids.txt");
    std::fs::write(&list, format!("{}\n\nffffffffffffffffffffffff\n", ids.join("\n"))).unwrap();
    let sunshine_target = spawn_stack(backend, false).await;
    let credential = format!("{}:{}", key.id, key.secret);
    let from = [
        list.to_str().unwrap(),
        "--from",
        "sunshine",
        "--source-url",
        &source.base,
        "--source-token",
        &credential,
        "--source-app",
        &source.app_id,
    ];
    let (ok, out, err) = pull(&sunshine_target, dir.path(), &from).await;
    assert!(ok, "{err}");
    assert_eq!([summary(&out, "received"), summary(&out, "created"), summary(&out, "failed")], [151, 150, 1], "{out}");
    let rejected = std::fs::read_to_string(dir.path().join("pull.rejected")).unwrap();
    assert!(rejected.contains("not found at the source"), "{rejected}");
    assert_eq!(everyone(&sunshine_target).await, before, "Sunshine's id kept as the Roster id");
}
