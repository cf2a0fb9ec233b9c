//! Webhook deliveries per second from the whole stack to a receiver on loopback: `roster::Stack`
//! (SQLite, or PostgreSQL with `DATABASE_URL`), one Sendbird-format webhook, events published
//! straight to event-service (so the figure is the delivery path alone: lease, render, sign, POST,
//! complete), and a receiver that answers 200 to each. Prints the deliveries/s over `--events`.
//!
//! `cargo run --release --example webhook_throughput -- [EVENTS] [BATCH]`
//! (default 5000 events, `webhooks.batch_size` 32).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{http::StatusCode, routing::post};
use proto::events::v1::{self as pb, event_service_client::EventServiceClient};
use secrecy::SecretString;
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let events: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5000);
    let batch: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(32);

    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir()?;
    let mut settings = platform::Settings { data_dir: dir.path().to_owned(), ..Default::default() };
    if let Ok(url) = std::env::var("DATABASE_URL") {
        settings.database.url = Some(SecretString::from(url));
    }
    for service in [&mut settings.registry, &mut settings.token, &mut settings.context, &mut settings.events] {
        service.listen = "127.0.0.1:0".parse()?;
    }
    settings.gateway.listen = "127.0.0.1:0".parse()?;
    settings.metrics.enabled = false;
    settings.webhooks.allow_private_targets = true;
    settings.webhooks.batch_size = batch;
    settings.webhooks.idle_poll_ms = 5;
    let stack = roster::Stack::start(settings).await?;
    // An application of this run's own (a PostgreSQL database may hold earlier runs').
    let mut token =
        proto::token::v1::token_service_client::TokenServiceClient::connect(format!("http://{}", stack.token)).await?;
    let created = token
        .create_application(proto::token::v1::CreateApplicationRequest {
            name: "webhook-throughput".into(),
            settings: None,
            with_api_token: true,
        })
        .await?
        .into_inner();
    let first = roster::FirstApplication {
        app_id: created.application.map(|a| a.id).unwrap_or_default(),
        api_token: created.api_token,
    };

    let http = reqwest::Client::new();
    let body = json!({"enabled": true, "url": format!("http://{receiver}/hook"), "enabled_events": ["*"]});
    let saved = http
        .put(format!("http://{}/v3/applications/settings/webhook", stack.gateway))
        .header("Api-Token", &first.api_token)
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(saved.status().is_success(), "webhook not saved: {}", saved.status());

    let channel = tonic::transport::Channel::from_shared(format!("http://{}", stack.events))?.connect().await?;
    let mut client = EventServiceClient::new(channel);
    let started = platform::clock::Stopwatch::start();
    for chunk in (0..events).collect::<Vec<_>>().chunks(500) {
        let events = chunk
            .iter()
            .map(|i| {
                let user = platform::ids::new_id();
                pb::Event {
                    id: platform::ids::new_id(),
                    app_id: first.app_id.clone(),
                    r#type: "user.created".into(),
                    subject_id: user.clone(),
                    occurred_at: platform::now_millis(),
                    user: Some(proto::registry::v1::User {
                        id: user,
                        app_id: first.app_id.clone(),
                        user_id: format!("bench-{i}"),
                        nickname: "Bench".into(),
                        is_active: true,
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            })
            .collect();
        client.publish_events(pb::PublishEventsRequest { events }).await?;
    }
    let published = started.elapsed();
    while received.load(Ordering::Relaxed) < events {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "{events} deliveries in {:.2} s: {:.0} deliveries/s (publishing took {:.2} s; batch {batch})",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        published.as_secs_f64()
    );
    stack.stop().await
}
