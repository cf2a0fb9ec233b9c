//! Subscriptions: created with a secret shown once, read, listed, changed, rotated, deleted, each
//! application seeing only its own; bad input refused with the field named.

use proto::events::v1::{self as pb};
use test_support::Backend;

use super::*;

async fn subscriptions_are_managed_per_application(backend: Backend) {
    let (mut server, _db) = start(backend).await;
    let c = &mut server.client;
    let app_id = app();
    let (created, secret) = subscribe(c, &app_id, &["user.deleted", "user.created", "user.created"]).await;
    assert_eq!(secret.len(), 64);
    assert_eq!(created.event_types, ["user.created", "user.deleted"]);
    assert_eq!(created.attributes_json, "{}");

    let get = |app_id: String, id: String| pb::GetSubscriptionRequest { app_id, id };
    let read = c.get_subscription(get(app_id.clone(), created.id.clone())).await.unwrap().into_inner();
    assert_eq!(read.subscription.unwrap(), created);
    let other = c.get_subscription(get(app(), created.id.clone())).await.unwrap_err();
    assert_eq!(other.code(), tonic::Code::NotFound, "another application's subscription is not there");

    // Sunshine-style: two webhooks of one integration, listed by group.
    for target in ["https://a.example.com/hook", "https://b.example.com/hook"] {
        let s = pb::Subscription {
            app_id: app_id.clone(),
            format: pb::Format::Sunshine as i32,
            target: target.into(),
            event_types: vec!["user.updated".into()],
            enabled: true,
            attributes_json: r#"{"triggers":["user:update"],"includeFullUser":true}"#.into(),
            group_id: "integration-1".into(),
            ..Default::default()
        };
        c.create_subscription(pb::CreateSubscriptionRequest { subscription: Some(s) }).await.unwrap();
    }
    let list = |format: pb::Format, group: &str| pb::ListSubscriptionsRequest {
        app_id: app_id.clone(),
        format: format as i32,
        group_id: group.into(),
    };
    let all = c.list_subscriptions(list(pb::Format::Unspecified, "")).await.unwrap().into_inner().subscriptions;
    assert_eq!(all.len(), 3);
    let group = c.list_subscriptions(list(pb::Format::Sunshine, "integration-1")).await.unwrap().into_inner();
    assert_eq!(group.subscriptions.len(), 2);
    assert!(group.subscriptions[0].attributes_json.contains("includeFullUser"));

    let updated = c
        .update_subscription(pb::UpdateSubscriptionRequest {
            app_id: app_id.clone(),
            id: created.id.clone(),
            target: Some("https://new.example.com/hook".into()),
            enabled: Some(false),
            set_event_types: true,
            event_types: vec!["user.updated".into()],
            attributes_json: None,
        })
        .await
        .unwrap()
        .into_inner()
        .subscription
        .unwrap();
    assert_eq!(
        (updated.target.as_str(), updated.enabled, updated.event_types.as_slice()),
        ("https://new.example.com/hook", false, ["user.updated".to_owned()].as_slice())
    );

    // A disabled subscription gets no deliveries.
    publish(c, vec![event(&app_id, "user.updated", &platform::ids::new_id())]).await;
    let pending = deliveries(c, &app_id, pb::DeliveryStatus::Pending).await;
    assert!(pending.iter().all(|d| d.subscription_id != created.id));
    assert_eq!(pending.len(), 2, "the two enabled Sunshine webhooks");

    let rotate = pb::RotateSubscriptionSecretRequest { app_id: app_id.clone(), id: created.id.clone() };
    let rotated = c.rotate_subscription_secret(rotate).await.unwrap().into_inner().secret;
    assert_ne!(rotated, secret);
    c.update_subscription(pb::UpdateSubscriptionRequest {
        app_id: app_id.clone(),
        id: created.id.clone(),
        enabled: Some(true),
        ..Default::default()
    })
    .await
    .unwrap();
    publish(c, vec![event(&app_id, "user.updated", &platform::ids::new_id())]).await;
    let leased = lease(c, 10).await;
    let mine = leased.iter().find(|l| l.subscription.as_ref().unwrap().id == created.id).unwrap();
    assert_eq!(mine.secret, rotated, "deliveries are signed with the new secret");

    // Deleting it drops its pending deliveries; a second delete finds nothing.
    let delete =
        pb::DeleteSubscriptionRequest { app_id: app_id.clone(), id: created.id.clone(), keep_group_nonempty: false };
    c.delete_subscription(delete.clone()).await.unwrap();
    assert_eq!(c.delete_subscription(delete).await.unwrap_err().code(), tonic::Code::NotFound);
    let pending = deliveries(c, &app_id, pb::DeliveryStatus::Pending).await;
    assert!(pending.iter().all(|d| d.subscription_id != created.id));
}

async fn bad_subscriptions_are_refused_and_nothing_is_stored(backend: Backend) {
    let (mut server, _db) = start(backend).await;
    let c = &mut server.client;
    let app_id = app();
    let good = pb::Subscription {
        app_id: app_id.clone(),
        format: pb::Format::Ada as i32,
        target: "https://hooks.example.com/ada".into(),
        event_types: vec!["user.created".into()],
        enabled: true,
        ..Default::default()
    };
    let cases: Vec<(pb::Subscription, &str)> = vec![
        (pb::Subscription { target: "ftp://x.example.com".into(), ..good.clone() }, "target"),
        (pb::Subscription { target: "https://user:pw@x.example.com/".into(), ..good.clone() }, "target"),
        (pb::Subscription { target: String::new(), ..good.clone() }, "target"),
        (pb::Subscription { event_types: vec!["user.exploded".into()], ..good.clone() }, "event_types"),
        (pb::Subscription { attributes_json: "[1,2]".into(), ..good.clone() }, "attributes_json"),
        (pb::Subscription { group_id: "a/b".into(), ..good.clone() }, "group_id"),
        (pb::Subscription { format: 0, ..good.clone() }, "format"),
        (pb::Subscription { format: 99, ..good.clone() }, "format"),
        (pb::Subscription { app_id: "nope".into(), ..good.clone() }, "app_id"),
    ];
    for (subscription, field) in cases {
        let status = c
            .create_subscription(pb::CreateSubscriptionRequest { subscription: Some(subscription) })
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{field}: {}", status.message());
        assert!(status.message().contains(field), "{field}: {}", status.message());
    }
    let all = c
        .list_subscriptions(pb::ListSubscriptionsRequest { app_id: app_id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(all.subscriptions.is_empty());
    // Ada's secrets are Svix's shape.
    let created = c.create_subscription(pb::CreateSubscriptionRequest { subscription: Some(good) }).await.unwrap();
    assert!(created.into_inner().secret.starts_with("whsec_"));
}

test_support::contract!(subscriptions_are_managed_per_application, bad_subscriptions_are_refused_and_nothing_is_stored,);
