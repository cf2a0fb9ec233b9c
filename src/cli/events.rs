//! `roster events ...`: the deliveries event-service keeps (the dead letters above all), their
//! redelivery, and an application's events as they happen, through event-service
//! (`events.endpoint`).

use std::time::Duration;

use clap::Subcommand;
use platform::Settings;
use proto::events::v1::{self as pb, event_service_client::EventServiceClient};
use serde_json::json;
use tokio_stream::StreamExt;

#[derive(Subcommand)]
pub enum EventsCommand {
    /// List an application's deliveries, newest first, one JSON object per line.
    Deliveries {
        #[arg(long)]
        app: String,
        /// pending, delivered or dead (the dead letters); every status when left out.
        #[arg(long, value_parser = ["pending", "delivered", "dead"])]
        status: Option<String>,
        /// Only this subscription's.
        #[arg(long)]
        subscription: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send dead deliveries again: the ones named, or every dead one of `--subscription` (or of
    /// the application, with `--all`).
    Redeliver {
        #[arg(long)]
        app: String,
        #[arg(long)]
        subscription: Option<String>,
        #[arg(long, conflicts_with = "subscription")]
        all: bool,
        /// Delivery ids.
        ids: Vec<String>,
    },
    /// Print an application's events as JSON lines as they happen (after the newest, or from
    /// `--from-start`, or after `--after EVENT_ID`), until interrupted.
    Watch {
        #[arg(long)]
        app: String,
        #[arg(long)]
        from_start: bool,
        #[arg(long, conflicts_with = "from_start")]
        after: Option<String>,
        /// Only these types (repeatable), e.g. user.created.
        #[arg(long = "type")]
        types: Vec<String>,
    },
}

fn status_name(status: i32) -> &'static str {
    match pb::DeliveryStatus::try_from(status) {
        Ok(pb::DeliveryStatus::Pending) => "pending",
        Ok(pb::DeliveryStatus::Delivered) => "delivered",
        Ok(pb::DeliveryStatus::Dead) => "dead",
        _ => "unknown",
    }
}

pub async fn run(command: EventsCommand, settings: &Settings) -> anyhow::Result<()> {
    let channel = platform::grpc::channel(&settings.events.endpoint, Duration::from_secs(30))?;
    let mut client = EventServiceClient::new(channel);
    let refused = |status: tonic::Status| anyhow::anyhow!("event-service: {}", status.message());
    match command {
        EventsCommand::Deliveries { app, status, subscription, limit } => {
            let status = match status.as_deref() {
                Some("pending") => pb::DeliveryStatus::Pending,
                Some("delivered") => pb::DeliveryStatus::Delivered,
                Some("dead") => pb::DeliveryStatus::Dead,
                _ => pb::DeliveryStatus::Unspecified,
            };
            let request = pb::ListDeliveriesRequest {
                app_id: app,
                status: status.into(),
                subscription_id: subscription.unwrap_or_default(),
                page_token: String::new(),
                page_size: i32::try_from(limit.clamp(1, 200)).unwrap_or(50),
            };
            let page = client.list_deliveries(request).await.map_err(refused)?.into_inner();
            for d in page.deliveries {
                let event = d.event.unwrap_or_default();
                let line = json!({
                    "id": d.id,
                    "subscription_id": d.subscription_id,
                    "status": status_name(d.status),
                    "event_id": event.id,
                    "event_type": event.r#type,
                    "subject_id": event.subject_id,
                    "attempts": d.attempts,
                    "last_status": d.last_status,
                    "last_error": d.last_error,
                    "created_at": d.created_at,
                    "next_attempt_at": d.next_attempt_at,
                });
                println!("{line}");
            }
            Ok(())
        }
        EventsCommand::Redeliver { app, subscription, all, ids } => {
            anyhow::ensure!(
                all || subscription.is_some() || !ids.is_empty(),
                "name delivery ids, --subscription ID, or --all"
            );
            let request = pb::RedeliverDeliveriesRequest {
                app_id: app,
                delivery_ids: ids,
                subscription_id: subscription.unwrap_or_default(),
            };
            let n = client.redeliver_deliveries(request).await.map_err(refused)?.into_inner().redelivered;
            println!("{n} deliveries will be sent again");
            Ok(())
        }
        EventsCommand::Watch { app, from_start, after, types } => {
            let request =
                pb::WatchEventsRequest { app_id: app, after_event_id: after.unwrap_or_default(), from_start, types };
            // The watch outlives the channel's request deadline: a stream of its own, no timeout.
            let channel = tonic::transport::Endpoint::from_shared(settings.events.endpoint.clone())?.connect().await?;
            let mut stream =
                EventServiceClient::new(channel).watch_events(request).await.map_err(refused)?.into_inner();
            while let Some(event) = stream.next().await {
                let event = event.map_err(refused)?;
                let line = json!({
                    "id": event.id,
                    "sequence": event.sequence,
                    "type": event.r#type,
                    "subject_id": event.subject_id,
                    "occurred_at": event.occurred_at,
                    "user_id": event.user.as_ref().map(|u| u.user_id.clone()),
                    "conversation_id": event.conversation.as_ref().map(|c| c.id.clone()),
                    "detail": event.detail,
                });
                println!("{line}");
            }
            Ok(())
        }
    }
}
