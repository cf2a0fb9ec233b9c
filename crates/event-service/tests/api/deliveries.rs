//! Publishing, fan-out, leasing in order, retries, the dead letter list and redelivery.

use std::collections::HashSet;

use proto::events::v1::{self as pb};
use test_support::Backend;

use super::*;

async fn publishing_is_idempotent_and_fans_out_by_type(backend: Backend) {
    let (mut server, _db) = start(backend).await;
    let c = &mut server.client;
    let app_id = app();
    let (created_only, _) = subscribe(c, &app_id, &["user.created"]).await;
    let (both, _) = subscribe(c, &app_id, &["user.created", "user.deleted"]).await;
    let (_other_app, _) = subscribe(c, &app(), &["user.created", "user.deleted"]).await;
    let user = platform::ids::new_id();
    let events = vec![event(&app_id, "user.created", &user), event(&app_id, "user.deleted", &user)];
    assert_eq!(publish(c, events.clone()).await, 2);
    // A relay publishing the same outbox rows again (a retry, or two relays at once) stores nothing.
    assert_eq!(publish(c, events.clone()).await, 0);
    let pending = deliveries(c, &app_id, pb::DeliveryStatus::Pending).await;
    let mut got: Vec<(String, String)> =
        pending.iter().map(|d| (d.subscription_id.clone(), d.event.as_ref().unwrap().r#type.clone())).collect();
    got.sort();
    let mut want = vec![
        (created_only.id.clone(), "user.created".to_owned()),
        (both.id.clone(), "user.created".to_owned()),
        (both.id.clone(), "user.deleted".to_owned()),
    ];
    want.sort();
    assert_eq!(got, want);
    // The event comes back whole, with the sequence event-service gave it.
    let stored = pending[0].event.as_ref().unwrap();
    assert!(stored.sequence > 0);
    assert_eq!(stored.user.as_ref().unwrap().user_id, format!("u-{user}"));

    // Refused: an unknown type, a malformed id; nothing stored.
    let mut bad = event(&app_id, "user.exploded", &user);
    let status = c.publish_events(pb::PublishEventsRequest { events: vec![bad.clone()] }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    bad.r#type = "user.created".into();
    bad.id = "not-an-id".into();
    let status = c.publish_events(pb::PublishEventsRequest { events: vec![bad] }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(deliveries(c, &app_id, pb::DeliveryStatus::Pending).await.len(), 3);
}

async fn deliveries_of_one_subject_are_leased_one_at_a_time_in_order(backend: Backend) {
    let (mut server, _db) = start(backend).await;
    let c = &mut server.client;
    let app_id = app();
    let (subscription, secret) = subscribe(c, &app_id, &["user.created", "user.updated"]).await;
    let (a, b) = (platform::ids::new_id(), platform::ids::new_id());
    let a_events = vec![
        event(&app_id, "user.created", &a),
        event(&app_id, "user.updated", &a),
        event(&app_id, "user.updated", &a),
    ];
    publish(c, a_events.clone()).await;
    publish(c, vec![event(&app_id, "user.created", &b)]).await;

    let first = lease(c, 10).await;
    let subjects: Vec<String> = first.iter().map(subject).collect();
    assert_eq!(subjects, [a.clone(), b.clone()], "one per subject: the oldest");
    assert_eq!(first[0].delivery.as_ref().unwrap().event.as_ref().unwrap().id, a_events[0].id);
    assert_eq!(first[0].secret, secret, "the dispatcher gets the secret to sign with");
    assert_eq!(first[0].subscription.as_ref().unwrap().id, subscription.id);
    assert_eq!(first[0].delivery.as_ref().unwrap().attempts, 1);
    // Leased: nobody else gets them, and the later ones of `a` wait.
    assert!(lease(c, 10).await.is_empty());

    // The first of `a` fails: it is retried later, and the second of `a` still waits behind it.
    complete(c, vec![outcome(&first[0], false), outcome(&first[1], true)]).await;
    assert!(lease(c, 10).await.is_empty());
    let pending = deliveries(c, &app_id, pb::DeliveryStatus::Pending).await;
    let failed = pending.iter().find(|d| d.event.as_ref().unwrap().id == a_events[0].id).unwrap();
    assert_eq!((failed.attempts, failed.last_status), (1, 503));
    assert!(failed.next_attempt_at > failed.created_at, "a retry is scheduled, not immediate");
    let delivered = deliveries(c, &app_id, pb::DeliveryStatus::Delivered).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].event.as_ref().unwrap().subject_id, b);

    // An outcome under a lease that is not (or no longer) the holder's changes nothing.
    let mut stale = outcome(&first[0], true);
    stale.lease_id = "someone-else".into();
    complete(c, vec![stale]).await;
    assert_eq!(deliveries(c, &app_id, pb::DeliveryStatus::Delivered).await.len(), 1);
}

async fn a_failure_past_the_age_limit_is_dead_and_redelivered_on_request(backend: Backend) {
    let db = test_support::TestDatabase::new(backend).await;
    // Every failure is past an age limit of zero.
    let mut server = serve(&db, |s| s.webhooks.max_age_secs = 0).await;
    let c = &mut server.client;
    let app_id = app();
    let (subscription, _) = subscribe(c, &app_id, &["user.created"]).await;
    let user = platform::ids::new_id();
    let published = event(&app_id, "user.created", &user);
    publish(c, vec![published.clone(), event(&app_id, "user.created", &platform::ids::new_id())]).await;
    let leased = lease(c, 10).await;
    assert_eq!(leased.len(), 2);
    complete(c, leased.iter().map(|l| outcome(l, false)).collect()).await;
    let dead = deliveries(c, &app_id, pb::DeliveryStatus::Dead).await;
    assert_eq!(dead.len(), 2);
    assert!(dead.iter().all(|d| d.finished_at > 0 && d.last_error == "receiver answered 503"));
    assert!(lease(c, 10).await.is_empty(), "dead deliveries are not retried");

    // Redeliver one by id: pending again, same event id, a fresh attempt.
    let one = dead.iter().find(|d| d.event.as_ref().unwrap().id == published.id).unwrap();
    let n = c
        .redeliver_deliveries(pb::RedeliverDeliveriesRequest {
            app_id: app_id.clone(),
            delivery_ids: vec![one.id.clone()],
            subscription_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .redelivered;
    assert_eq!(n, 1);
    let again = lease(c, 10).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].delivery.as_ref().unwrap().event.as_ref().unwrap().id, published.id);
    complete(c, vec![outcome(&again[0], true)]).await;
    // The rest of the subscription's dead letters, and another application's redelivery reaches none.
    let other = c
        .redeliver_deliveries(pb::RedeliverDeliveriesRequest { app_id: app(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(other.redelivered, 0);
    let rest = c
        .redeliver_deliveries(pb::RedeliverDeliveriesRequest {
            app_id: app_id.clone(),
            delivery_ids: vec![],
            subscription_id: subscription.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.redelivered, 1);
    assert_eq!(deliveries(c, &app_id, pb::DeliveryStatus::Delivered).await.len(), 1);

    // A deleted subscription's dead letters stay in the log and are not sent again.
    let (gone, _) = subscribe(c, &app_id, &["user.deleted"]).await;
    publish(c, vec![event(&app_id, "user.deleted", &platform::ids::new_id())]).await;
    let leased: Vec<_> =
        lease(c, 10).await.into_iter().filter(|l| l.subscription.as_ref().unwrap().id == gone.id).collect();
    complete(c, leased.iter().map(|l| outcome(l, false)).collect()).await;
    let delete =
        pb::DeleteSubscriptionRequest { app_id: app_id.clone(), id: gone.id.clone(), keep_group_nonempty: false };
    c.delete_subscription(delete).await.unwrap();
    let all = pb::RedeliverDeliveriesRequest { app_id: app_id.clone(), ..Default::default() };
    let none = c.redeliver_deliveries(all).await.unwrap().into_inner();
    assert_eq!(none.redelivered, 0);
    assert!(deliveries(c, &app_id, pb::DeliveryStatus::Dead).await.iter().any(|d| d.subscription_id == gone.id));
}

async fn a_permanent_failure_is_dead_at_once(backend: Backend) {
    let (mut server, _db) = start(backend).await;
    let c = &mut server.client;
    let app_id = app();
    subscribe(c, &app_id, &["user.created"]).await;
    publish(c, vec![event(&app_id, "user.created", &platform::ids::new_id())]).await;
    let leased = lease(c, 1).await;
    let mut refused = outcome(&leased[0], false);
    refused.permanent = true;
    refused.error = "target refused: resolves to a private address".into();
    complete(c, vec![refused]).await;
    let dead = deliveries(c, &app_id, pb::DeliveryStatus::Dead).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 1);
}

/// Two event-service replicas on one database, leasing at once: every delivery is leased exactly
/// once: none twice, none lost.
async fn two_replicas_never_lease_one_delivery_twice(backend: Backend) {
    let db = test_support::TestDatabase::new(backend).await;
    let mut one = serve(&db, |_| {}).await;
    let two = serve(&db, |_| {}).await;
    let app_id = app();
    subscribe(&mut one.client, &app_id, &["user.created"]).await;
    let events: Vec<pb::Event> = (0..200).map(|_| event(&app_id, "user.created", &platform::ids::new_id())).collect();
    publish(&mut one.client, events).await;
    let mut workers = Vec::new();
    for mut client in [one.client.clone(), two.client.clone(), one.client.clone(), two.client.clone()] {
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let leased = lease(&mut client, 7).await;
                if leased.is_empty() {
                    return mine;
                }
                mine.extend(leased.iter().map(|l| l.delivery.as_ref().unwrap().id.clone()));
                complete(&mut client, leased.iter().map(|l| outcome(l, true)).collect()).await;
            }
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 200, "each leased once");
    assert_eq!(unique.len(), 200);
    let mut c = one.client.clone();
    assert!(deliveries(&mut c, &app_id, pb::DeliveryStatus::Pending).await.is_empty());
}

test_support::contract!(
    publishing_is_idempotent_and_fans_out_by_type,
    deliveries_of_one_subject_are_leased_one_at_a_time_in_order,
    a_failure_past_the_age_limit_is_dead_and_redelivered_on_request,
    a_permanent_failure_is_dead_at_once,
    two_replicas_never_lease_one_delivery_twice,
    a_delivery_whose_worker_died_is_leased_again_when_its_lease_ends,
);

/// A dispatcher that dies mid-delivery never completes its lease: once the lease ends, the
/// delivery is leased again (same delivery, same event), so nothing is lost.
async fn a_delivery_whose_worker_died_is_leased_again_when_its_lease_ends(backend: Backend) {
    let (mut server, _db) = start(backend).await;
    let c = &mut server.client;
    let app_id = app();
    subscribe(c, &app_id, &["user.created"]).await;
    publish(c, vec![event(&app_id, "user.created", &platform::ids::new_id())]).await;
    let short = |worker: &str| pb::LeaseDeliveriesRequest { worker: worker.into(), max: 10, lease_ms: 1 };
    let first = c.lease_deliveries(short("dies")).await.unwrap().into_inner().deliveries;
    assert_eq!(first.len(), 1);
    // The worker is gone; its lease runs out (bounded wait for that state, not a timing check).
    let mut again = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        again = c.lease_deliveries(short("survivor")).await.unwrap().into_inner().deliveries;
        if !again.is_empty() {
            break;
        }
    }
    assert_eq!(again.len(), 1, "leased again after the first lease ended");
    let (before, after) = (first[0].delivery.as_ref().unwrap(), again[0].delivery.as_ref().unwrap());
    assert_eq!((&after.id, &after.event.as_ref().unwrap().id), (&before.id, &before.event.as_ref().unwrap().id));
    assert_ne!(again[0].lease_id, first[0].lease_id);
    // The dead worker's late report is refused; the survivor's counts.
    complete(c, vec![outcome(&first[0], true)]).await;
    assert!(deliveries(c, &app_id, pb::DeliveryStatus::Delivered).await.is_empty(), "a stale lease reports nothing");
    complete(c, vec![outcome(&again[0], true)]).await;
    assert_eq!(deliveries(c, &app_id, pb::DeliveryStatus::Delivered).await.len(), 1);
}

/// The metrics an operator watches: events stored, deliveries by outcome, dead letters, lag.
#[tokio::test]
async fn deliveries_are_counted_by_outcome_with_dead_letters_and_lag() {
    let metrics = platform::metrics::install();
    let (mut server, _db) = start(Backend::Sqlite).await;
    let c = &mut server.client;
    let app_id = app();
    subscribe(c, &app_id, &["user.created"]).await;
    let events = (0..2).map(|_| event(&app_id, "user.created", &platform::ids::new_id())).collect();
    publish(c, events).await;
    let leased = lease(c, 10).await;
    assert_eq!(leased.len(), 2);
    let mut refused = outcome(&leased[1], false);
    refused.permanent = true;
    complete(c, vec![outcome(&leased[0], true), refused]).await;

    let text = metrics.render();
    for needle in [
        "roster_events_stored_total 2",
        r#"roster_webhook_deliveries_total{outcome="delivered"} 1"#,
        r#"roster_webhook_deliveries_total{outcome="failed"} 1"#,
        "roster_webhook_dead_lettered_total 1",
        "roster_webhook_delivery_lag_seconds_count 1",
    ] {
        assert!(text.lines().any(|line| line.starts_with(needle)), "{needle} in:\n{text}");
    }
}
