//! Sendbird's application webhook, end to end: set through `/v3/applications/settings/webhook`,
//! delivered to a real receiver that fails on purpose and recovers, signed in
//! `x-sendbird-signature`, retried with the same event id, dead-lettered and redelivered, and
//! refused when it points at a private address.

use std::time::Duration;

use hmac::{Hmac, Mac};
use proto::events::v1::{self as pb, event_service_client::EventServiceClient};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use test_support::Backend;

use crate::{
    helpers::{TestStack, assert_sendbird_error, spawn_stack_with},
    receiver::{Received, Receiver},
};

pub fn quick(settings: &mut platform::Settings) {
    settings.webhooks.first_retry_ms = 20;
    settings.webhooks.idle_poll_ms = 20;
}

fn verify(secret: &str, received: &Received) {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&received.body);
    assert_eq!(received.header("x-sendbird-signature"), hex::encode(mac.finalize().into_bytes()));
}

/// `roster events ARGS` against the stack's event-service: success and stdout (stderr on failure).
async fn roster_events(t: &TestStack, args: &[&str]) -> (bool, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("events")
        .args(args)
        .env("ROSTER_EVENTS__ENDPOINT", format!("http://{}", t.stack().events))
        .env("ROSTER_TELEMETRY__FILTER", "warn")
        .output()
        .await
        .expect("roster runs");
    let text = if output.status.success() { &output.stdout } else { &output.stderr };
    (output.status.success(), String::from_utf8_lossy(text).into_owned())
}

async fn set_webhook(t: &TestStack, body: Value) -> Value {
    t.ok(Method::PUT, "/v3/applications/settings/webhook", Some(body)).await
}

async fn deliveries(t: &TestStack, status: pb::DeliveryStatus) -> Vec<pb::Delivery> {
    let mut events = EventServiceClient::new(test_support::channel(t.stack().events).await);
    let request = pb::ListDeliveriesRequest {
        app_id: t.app_id.clone(),
        status: status as i32,
        page_size: 100,
        ..Default::default()
    };
    events.list_deliveries(request).await.unwrap().into_inner().deliveries
}

/// Until `status` has `n` deliveries (bounded; not a timing assertion).
pub async fn wait_for(t: &TestStack, status: pb::DeliveryStatus, n: usize) -> Vec<pb::Delivery> {
    for _ in 0..600 {
        let found = deliveries(t, status).await;
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {n} deliveries in {status:?}");
}

async fn deliveries_are_signed_ordered_and_retried_with_the_same_event_id(backend: Backend) {
    let t = spawn_stack_with(backend, false, quick).await;
    let mut receiver = Receiver::start(2).await;
    let saved = set_webhook(
        &t,
        json!({"enabled": true, "url": receiver.url(), "enabled_events": ["*"], "include_members": true}),
    )
    .await;
    let secret = saved["webhook"]["signing_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64);
    assert_eq!(
        saved["webhook"]["enabled_events"],
        json!(["user:create", "user:update", "user:deactivate", "user:reactivate", "user:delete"])
    );
    let read = t.ok(Method::GET, "/v3/applications/settings/webhook", None).await;
    assert_eq!(read["webhook"]["url"], receiver.url());
    assert_eq!(read["webhook"]["include_members"], true);
    assert!(read["webhook"].get("signing_secret").is_none(), "the secret is shown once: {read}");
    let all = t.ok(Method::GET, "/v3/applications/settings/webhook?display_all_webhook_categories=true", None).await;
    assert_eq!(all["webhook"]["all_webhook_categories"].as_array().unwrap().len(), 5);

    t.ok(Method::POST, "/v3/users", Some(json!({"user_id": "hook-1", "nickname": "Hook", "profile_url": ""}))).await;
    t.ok(Method::PUT, "/v3/users/hook-1", Some(json!({"is_active": false}))).await;
    t.ok(Method::DELETE, "/v3/users/hook-1", None).await;

    // The receiver fails twice: the same event comes back, same id, until it is taken.
    let first = receiver.next().await;
    let second = receiver.next().await;
    assert_eq!((first.status, second.status), (StatusCode::SERVICE_UNAVAILABLE, StatusCode::SERVICE_UNAVAILABLE));
    let mut delivered = vec![receiver.next_delivered().await];
    assert_eq!(first.json()["event_id"], delivered[0].json()["event_id"]);
    assert_eq!(second.json()["event_id"], delivered[0].json()["event_id"]);
    for _ in 0..3 {
        delivered.push(receiver.next_delivered().await);
    }
    let categories: Vec<String> = delivered.iter().map(|r| r.json()["category"].as_str().unwrap().to_owned()).collect();
    assert_eq!(
        categories,
        ["user:create", "user:deactivate", "user:update", "user:delete"],
        "one user's events in order"
    );
    for received in &delivered {
        verify(&secret, received);
        let body = received.json();
        assert_eq!(body["user"]["user_id"], "hook-1");
        assert_eq!(body["app_id"], t.app_id);
        assert_eq!(received.header("content-type"), "application/json");
    }
    assert_eq!(delivered[0].json()["user"]["nickname"], "Hook");
    assert_eq!(delivered[1].json()["user"]["is_active"], false);
    let done = wait_for(&t, pb::DeliveryStatus::Delivered, 4).await;
    assert_eq!(done.iter().map(|d| d.attempts).max(), Some(3));

    // Rotating the secret signs what follows with the new one.
    let rotated = set_webhook(&t, json!({"rotate_secret": true})).await;
    let new_secret = rotated["webhook"]["signing_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    t.ok(Method::POST, "/v3/users", Some(json!({"user_id": "hook-2", "nickname": "", "profile_url": ""}))).await;
    verify(&new_secret, &receiver.next_delivered().await);

    // Disabled: nothing more is sent.
    let off = set_webhook(&t, json!({"enabled": false})).await;
    assert_eq!(off["webhook"]["enabled"], false);
    assert_eq!(off["webhook"]["url"], receiver.url());
}

async fn a_receiver_down_past_the_age_limit_ends_in_the_dead_letters_and_is_redelivered(backend: Backend) {
    let t = spawn_stack_with(backend, false, |s| {
        quick(s);
        s.webhooks.max_age_secs = 0; // every failure is past the limit
    })
    .await;
    let mut receiver = Receiver::start(1).await;
    let secret = set_webhook(&t, json!({"enabled": true, "url": receiver.url(), "enabled_events": ["user:create"]}))
        .await["webhook"]["signing_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    t.ok(Method::POST, "/v3/users", Some(json!({"user_id": "dead-1", "nickname": "", "profile_url": ""}))).await;
    let refused = receiver.next().await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    let dead = wait_for(&t, pb::DeliveryStatus::Dead, 1).await;
    assert_eq!((dead[0].attempts, dead[0].last_status), (1, 503));

    // The operator's view: `roster events deliveries --status dead`, then `roster events redeliver`.
    let (ok, listed) = roster_events(&t, &["deliveries", "--app", &t.app_id, "--status", "dead"]).await;
    assert!(ok, "{listed}");
    let line: Value = serde_json::from_str(listed.lines().next().expect("a dead letter")).unwrap();
    assert_eq!(
        (&line["id"], &line["status"], &line["event_type"]),
        (&json!(dead[0].id), &json!("dead"), &json!("user.created"))
    );
    assert_eq!(line["last_status"], 503);
    let (ok, out) = roster_events(&t, &["redeliver", "--app", &t.app_id, &dead[0].id]).await;
    assert!(ok && out.starts_with("1 deliveries"), "{out}");
    let (ok, out) = roster_events(&t, &["redeliver", "--app", &t.app_id]).await;
    assert!(!ok, "nothing named is refused: {out}");
    let again = receiver.next_delivered().await;
    assert_eq!(again.json()["event_id"], refused.json()["event_id"], "the same event, redelivered");
    verify(&secret, &again);
    assert!(deliveries(&t, pb::DeliveryStatus::Dead).await.is_empty());
}

test_support::contract!(
    deliveries_are_signed_ordered_and_retried_with_the_same_event_id,
    a_receiver_down_past_the_age_limit_ends_in_the_dead_letters_and_is_redelivered,
);

#[tokio::test]
async fn private_targets_are_refused_on_save_and_on_connect() {
    let t = spawn_stack_with(Backend::Sqlite, false, |s| {
        quick(s);
        s.webhooks.allow_private_targets = false;
    })
    .await;
    for url in
        ["http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data", "http://127.0.0.1:9/x", "http://[::1]/x"]
    {
        let body = json!({"enabled": true, "url": url, "enabled_events": ["*"]});
        let response = t.call(Method::PUT, "/v3/applications/settings/webhook", &t.token, Some(body)).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, 400111).await;
    }
    // A name is checked where it matters, at connect time: `localhost` resolves to loopback.
    let mut receiver = Receiver::start(0).await;
    let by_name = format!("http://localhost:{}/hook", receiver.addr.port());
    set_webhook(&t, json!({"enabled": true, "url": by_name, "enabled_events": ["*"]})).await;
    t.ok(Method::POST, "/v3/users", Some(json!({"user_id": "ssrf-1", "nickname": "", "profile_url": ""}))).await;
    let dead = wait_for(&t, pb::DeliveryStatus::Dead, 1).await;
    assert!(dead[0].last_error.contains("refused"), "{}", dead[0].last_error);
    assert_eq!(dead[0].attempts, 1, "refused for good, not retried");
    assert!(tokio::time::timeout(Duration::from_millis(200), receiver.next()).await.is_err(), "nothing reached it");
}

#[tokio::test]
async fn bad_webhook_settings_are_refused_and_change_nothing() {
    let t = spawn_stack_with(Backend::Sqlite, false, quick).await;
    let cases = [
        (json!({"enabled": true, "url": "https://hooks.example.com/x", "enabled_events": ["user:explode"]}), 400111),
        (json!({"enabled": true, "url": "ftp://hooks.example.com/x"}), 400111),
        (json!({"enabled": true}), 400105),
        (json!({"enabled": "yes", "url": "https://hooks.example.com/x"}), 400104),
        (json!({"enabled": true, "url": "https://hooks.example.com/x", "enabled_events": "user:create"}), 400102),
    ];
    for (body, code) in cases {
        let response = t.call(Method::PUT, "/v3/applications/settings/webhook", &t.token, Some(body.clone())).await;
        assert_sendbird_error(response, StatusCode::BAD_REQUEST, code).await;
    }
    let read = t.ok(Method::GET, "/v3/applications/settings/webhook", None).await;
    assert_eq!(
        read["webhook"],
        json!({"enabled": false, "url": "", "include_members": false, "enabled_events": [], "include_unread_count": false})
    );
    let unauthenticated = t.call(Method::GET, "/v3/applications/settings/webhook", "wrong", None).await;
    assert_sendbird_error(unauthenticated, StatusCode::BAD_REQUEST, 400401).await;
}

#[tokio::test]
async fn https_targets_are_delivered_when_their_certificate_is_trusted_and_only_then() {
    let mut receiver = Receiver::start_tls(0).await;
    assert!(receiver.url().starts_with("https://localhost:"));

    // A certificate from a CA the gateway was not told of: the handshake fails, nothing is sent,
    // and the delivery log says why.
    let untrusting = spawn_stack_with(Backend::Sqlite, false, quick).await;
    set_webhook(&untrusting, json!({"enabled": true, "url": receiver.url(), "enabled_events": ["*"]})).await;
    let user = json!({"user_id": "tls-1", "nickname": "", "profile_url": ""});
    untrusting.ok(Method::POST, "/v3/users", Some(user.clone())).await;
    let failed = 'wait: {
        for _ in 0..600 {
            let pending = deliveries(&untrusting, pb::DeliveryStatus::Pending).await;
            // An attempt counts from its lease; wait for one that has ended and been recorded.
            if let Some(d) = pending.into_iter().find(|d| d.attempts > 0 && !d.last_error.is_empty()) {
                break 'wait d;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no failed attempt");
    };
    assert!(failed.last_error.contains("certificate"), "{}", failed.last_error);
    assert!(tokio::time::timeout(Duration::from_millis(200), receiver.next()).await.is_err(), "nothing reached it");
    drop(untrusting);

    // The same receiver with its CA in webhooks.ca_file: delivered over TLS, signed.
    let trusting = spawn_stack_with(Backend::Sqlite, false, |s| {
        quick(s);
        s.webhooks.ca_file = Some(crate::receiver::test_ca());
    })
    .await;
    let saved = set_webhook(&trusting, json!({"enabled": true, "url": receiver.url(), "enabled_events": ["*"]})).await;
    let secret = saved["webhook"]["signing_secret"].as_str().unwrap().to_owned();
    trusting.ok(Method::POST, "/v3/users", Some(user)).await;
    let delivered = receiver.next_delivered().await;
    verify(&secret, &delivered);
    assert_eq!(delivered.json()["user"]["user_id"], "tls-1");
    assert_eq!(delivered.json()["app_id"], trusting.app_id);
}

/// A `webhooks.ca_file` that cannot be read, or holds no certificate, stops the gateway at start
/// with the setting's name, rather than delivering later without the trust the operator asked for.
#[tokio::test]
async fn an_unusable_ca_file_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    for (path, expected) in [(dir.path().join("missing.pem"), "webhooks.ca_file"), (empty, "holds no certificate")] {
        let mut settings = platform::Settings::default();
        settings.gateway.listen = "127.0.0.1:0".parse().unwrap();
        settings.webhooks.ca_file = Some(path);
        let error = gateway::Application::build(&settings).await.err().expect("refused");
        assert!(format!("{error:#}").contains(expected), "{error:#}");
    }
}
