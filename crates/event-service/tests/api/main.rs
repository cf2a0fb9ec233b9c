//! event-service integration tests: the gRPC server on a real port, over SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)] // a test's unwrap is its assertion

mod deliveries;
mod subscriptions;
mod watch;

use proto::events::v1::{self as pb, event_service_client::EventServiceClient};
use test_support::{Backend, TestDatabase};
use tonic::transport::Channel;

pub struct Server {
    pub client: EventServiceClient<Channel>,
    pub shutdown: platform::Shutdown,
    _task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// event-service on port 0 over `db`, with `tune` applied to its settings.
pub async fn serve(db: &TestDatabase, tune: impl FnOnce(&mut platform::Settings)) -> Server {
    test_support::init_logging();
    let mut settings = test_support::settings(db, false);
    tune(&mut settings);
    let app = event_service::Application::build(&settings).await.unwrap();
    let addr = app.local_addr();
    let shutdown = platform::Shutdown::new();
    let task = tokio::spawn(app.run(shutdown.clone()));
    Server { client: EventServiceClient::new(test_support::channel(addr).await), shutdown, _task: task }
}

pub async fn start(backend: Backend) -> (Server, TestDatabase) {
    let db = TestDatabase::new(backend).await;
    (serve(&db, |_| {}).await, db)
}

pub fn app() -> String {
    platform::ids::new_id()
}

/// A user event as the registry publishes it.
pub fn event(app_id: &str, kind: &str, subject: &str) -> pb::Event {
    pb::Event {
        id: platform::ids::new_id(),
        app_id: app_id.to_owned(),
        r#type: kind.to_owned(),
        subject_id: subject.to_owned(),
        occurred_at: 1_800_000_000_000,
        user: Some(proto::registry::v1::User {
            id: subject.to_owned(),
            app_id: app_id.to_owned(),
            user_id: format!("u-{subject}"),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub async fn publish(client: &mut EventServiceClient<Channel>, events: Vec<pb::Event>) -> i32 {
    client.publish_events(pb::PublishEventsRequest { events }).await.unwrap().into_inner().stored
}

pub async fn subscribe(
    client: &mut EventServiceClient<Channel>,
    app_id: &str,
    types: &[&str],
) -> (pb::Subscription, String) {
    let subscription = pb::Subscription {
        app_id: app_id.to_owned(),
        format: pb::Format::Sendbird as i32,
        target: "https://hooks.example.com/roster".into(),
        event_types: types.iter().map(|t| (*t).to_owned()).collect(),
        enabled: true,
        ..Default::default()
    };
    let created = client
        .create_subscription(pb::CreateSubscriptionRequest { subscription: Some(subscription) })
        .await
        .unwrap()
        .into_inner();
    (created.subscription.unwrap(), created.secret)
}

pub async fn lease(client: &mut EventServiceClient<Channel>, max: i32) -> Vec<pb::LeasedDelivery> {
    client
        .lease_deliveries(pb::LeaseDeliveriesRequest { worker: "test".into(), max, lease_ms: 60_000 })
        .await
        .unwrap()
        .into_inner()
        .deliveries
}

pub fn outcome(leased: &pb::LeasedDelivery, delivered: bool) -> pb::DeliveryOutcome {
    pb::DeliveryOutcome {
        delivery_id: leased.delivery.as_ref().unwrap().id.clone(),
        lease_id: leased.lease_id.clone(),
        delivered,
        status: if delivered { 200 } else { 503 },
        error: if delivered { String::new() } else { "receiver answered 503".into() },
        permanent: false,
    }
}

pub async fn complete(client: &mut EventServiceClient<Channel>, outcomes: Vec<pb::DeliveryOutcome>) {
    client.complete_deliveries(pb::CompleteDeliveriesRequest { outcomes }).await.unwrap();
}

pub async fn deliveries(
    client: &mut EventServiceClient<Channel>,
    app_id: &str,
    status: pb::DeliveryStatus,
) -> Vec<pb::Delivery> {
    client
        .list_deliveries(pb::ListDeliveriesRequest {
            app_id: app_id.to_owned(),
            status: status as i32,
            page_size: 200,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .deliveries
}

/// The subject of a leased delivery's event.
pub fn subject(leased: &pb::LeasedDelivery) -> String {
    leased.delivery.as_ref().unwrap().event.as_ref().unwrap().subject_id.clone()
}
