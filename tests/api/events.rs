//! Events leave the services: what a user's changes write to the registry's outbox reaches
//! event-service through the relay, in order, and a watcher of the application sees it.

use std::time::Duration;

use proto::events::v1::{self as pb, event_service_client::EventServiceClient};
use reqwest::Method;
use serde_json::json;
use test_support::Backend;
use tokio_stream::StreamExt;

use crate::helpers::spawn_stack;

async fn a_users_life_is_watched_in_order(backend: Backend) {
    let mut t = spawn_stack(backend, false).await;
    let mut events = EventServiceClient::new(test_support::channel(t.stack().events).await);
    let mut stream = events
        .watch_events(pb::WatchEventsRequest { app_id: t.app_id.clone(), from_start: true, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    t.ok(Method::POST, "/v3/users", Some(json!({"user_id": "ev-1", "nickname": "Eve", "profile_url": ""}))).await;
    t.ok(Method::PUT, "/v3/users/ev-1", Some(json!({"is_active": false}))).await;
    t.ok(Method::DELETE, "/v3/users/ev-1", None).await;

    let mut seen = Vec::new();
    while seen.len() < 4 {
        // Bounded so a lost event fails the test instead of hanging it; not a timing assertion.
        let next = tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("an event");
        seen.push(next.unwrap().unwrap());
    }
    let kinds: Vec<&str> = seen.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(kinds, ["user.created", "user.deactivated", "user.updated", "user.deleted"]);
    assert!(seen.iter().all(|e| e.app_id == t.app_id && e.subject_id == seen[0].subject_id));
    assert!(seen.windows(2).all(|w| w[0].sequence < w[1].sequence && w[0].occurred_at <= w[1].occurred_at));
    let created = seen[0].user.as_ref().unwrap();
    assert_eq!((created.user_id.as_str(), created.nickname.as_str(), created.is_active), ("ev-1", "Eve", true));
    assert!(!seen[1].user.as_ref().unwrap().is_active, "the user after the change");
    assert_eq!(seen[3].detail, "api");
    assert_eq!(seen[3].user.as_ref().unwrap().user_id, "ev-1");
    t.stop().await;
}

test_support::contract!(a_users_life_is_watched_in_order);

/// Two registry replicas on one PostgreSQL relay the same outbox at once: every event is stored
/// once and delivered once.
#[tokio::test]
async fn two_registry_replicas_publish_each_event_once() {
    let t = spawn_stack(Backend::Postgres, false).await;
    let mut settings = test_support::settings(&t.db, false);
    settings.token.endpoint = format!("http://{}", t.stack().token);
    settings.context.endpoint = format!("http://{}", t.stack().context);
    settings.events.endpoint = format!("http://{}", t.stack().events);
    let second = user_registry::Application::build(&settings).await.unwrap();
    let shutdown = platform::Shutdown::new();
    let replica = tokio::spawn(second.run(shutdown.clone()));

    let mut receiver = crate::receiver::Receiver::start(0).await;
    let body = json!({"enabled": true, "url": receiver.url(), "enabled_events": ["user:create"]});
    t.ok(Method::PUT, "/v3/applications/settings/webhook", Some(body)).await;
    for i in 0..30 {
        let user = json!({"user_id": format!("twin-{i}"), "nickname": "", "profile_url": ""});
        t.ok(Method::POST, "/v3/users", Some(user)).await;
    }
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 30 {
        let received = receiver.next_delivered().await;
        assert!(seen.insert(received.json()["event_id"].as_str().unwrap().to_owned()), "delivered twice");
    }
    let mut events = EventServiceClient::new(test_support::channel(t.stack().events).await);
    let all = events
        .list_deliveries(pb::ListDeliveriesRequest { app_id: t.app_id.clone(), page_size: 200, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .deliveries;
    assert_eq!(all.len(), 30, "one delivery per event: each event stored once");
    let mut stream = events
        .watch_events(pb::WatchEventsRequest { app_id: t.app_id.clone(), from_start: true, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let mut created = std::collections::HashSet::new();
    while created.len() < 30 {
        let event =
            tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("an event").unwrap().unwrap();
        assert_eq!(event.r#type, "user.created");
        assert!(created.insert(event.id), "stored once");
    }
    shutdown.trigger();
    let _ = replica.await;
}
