//! WatchEvents: a replay from a cursor, then live events as they are stored, one application's
//! only, filtered by type.

use std::time::Duration;

use proto::events::v1::{self as pb};
use test_support::Backend;
use tokio_stream::StreamExt;

use super::*;

async fn next(stream: &mut tonic::Streaming<pb::Event>) -> pb::Event {
    // Bounded so a missing event fails the test instead of hanging it; not a timing assertion.
    tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("an event").unwrap().unwrap()
}

async fn watch_replays_from_a_cursor_then_follows(backend: Backend) {
    let (mut server, _db) = start(backend).await;
    let c = &mut server.client;
    let app_id = app();
    let user = platform::ids::new_id();
    let first: Vec<pb::Event> =
        ["user.created", "user.updated", "user.deactivated"].iter().map(|kind| event(&app_id, kind, &user)).collect();
    publish(c, first.clone()).await;
    publish(c, vec![event(&app(), "user.created", &user)]).await; // another application's

    let watch = |after: &str, from_start: bool, types: &[&str]| pb::WatchEventsRequest {
        app_id: app_id.clone(),
        after_event_id: after.into(),
        from_start,
        types: types.iter().map(|t| (*t).to_owned()).collect(),
    };
    let mut all = c.watch_events(watch("", true, &[])).await.unwrap().into_inner();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(next(&mut all).await);
    }
    assert_eq!(
        seen.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        first.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
    );
    assert!(seen.windows(2).all(|w| w[0].sequence < w[1].sequence));

    let mut after_second = c.watch_events(watch(&first[1].id, false, &[])).await.unwrap().into_inner();
    let mut live_only = c.watch_events(watch("", false, &["user.reactivated"])).await.unwrap().into_inner();
    assert_eq!(next(&mut after_second).await.id, first[2].id);

    let later = vec![event(&app_id, "user.updated", &user), event(&app_id, "user.reactivated", &user)];
    publish(c, later.clone()).await;
    assert_eq!(next(&mut all).await.id, later[0].id, "followed live");
    assert_eq!(next(&mut all).await.id, later[1].id);
    assert_eq!(next(&mut after_second).await.id, later[0].id);
    assert_eq!(next(&mut live_only).await.id, later[1].id, "only the type asked for, only after the watch began");

    let unknown = c.watch_events(watch(&platform::ids::new_id(), false, &[])).await.unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

test_support::contract!(watch_replays_from_a_cursor_then_follows);

/// `grpc.max_concurrent_streams` holds per connection: with one stream allowed, a call behind an
/// open watch waits for it to end, then is answered.
#[tokio::test]
async fn a_connection_carries_at_most_max_concurrent_streams_calls() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let server = serve(&db, |s| s.grpc.max_concurrent_streams = 1).await;
    let app_id = app();
    let mut watcher = server.client.clone();
    let request = pb::WatchEventsRequest { app_id: app_id.clone(), from_start: true, ..Default::default() };
    let watching = watcher.watch_events(request).await.unwrap().into_inner();

    let mut caller = server.client.clone();
    let events = vec![event(&app_id, "user.created", &platform::ids::new_id())];
    let call = tokio::spawn(async move { caller.publish_events(pb::PublishEventsRequest { events }).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!call.is_finished(), "the one stream is the watch's");
    drop(watching);
    let stored = tokio::time::timeout(Duration::from_secs(30), call).await.expect("answered once the watch ended");
    assert_eq!(stored.unwrap().unwrap().into_inner().stored, 1);
}
