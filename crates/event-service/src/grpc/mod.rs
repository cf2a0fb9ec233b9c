//! Event-service gRPC server.

mod convert;

use std::{pin::Pin, sync::Arc, time::Duration};

use platform::{ApiError, ErrorCode};
use proto::events::v1::{self as pb, event_service_server::EventService};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::app::{DeliveryFilter, EventError, Events, NewSubscription, SubscriptionPatch};

pub use pb::event_service_server::EventServiceServer;

impl From<EventError> for Status {
    fn from(err: EventError) -> Self {
        let message = err.to_string();
        let api = match err {
            EventError::Invalid(crate::domain::ValidationError::Missing(field)) => {
                ApiError::new(ErrorCode::MissingField, message).with_field(field)
            }
            EventError::Invalid(crate::domain::ValidationError::Invalid { field, .. }) => {
                ApiError::new(ErrorCode::InvalidArgument, message).with_field(field)
            }
            EventError::SubscriptionNotFound | EventError::EventNotFound => ApiError::new(ErrorCode::NotFound, message),
            EventError::LastInGroup => ApiError::new(ErrorCode::InvalidArgument, message).with_field("id"),
            EventError::InvalidPageToken => {
                ApiError::new(ErrorCode::InvalidPageToken, message).with_field("page_token")
            }
            EventError::Unexpected(cause) => ApiError::internal(&cause),
        };
        api.into()
    }
}

/// How often a watcher looks for events stored by other replicas.
const WATCH_POLL: Duration = Duration::from_millis(500);
const WATCH_BATCH: u64 = 200;

pub struct EventGrpc {
    events: Arc<Events>,
    /// Ends every watch when the server drains (a stream would otherwise hold the drain open).
    shutdown: platform::Shutdown,
}

impl EventGrpc {
    pub fn new(events: Arc<Events>, shutdown: platform::Shutdown) -> Self {
        Self { events, shutdown }
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::Event, Status>> + Send>>;

#[tonic::async_trait]
impl EventService for EventGrpc {
    type WatchEventsStream = EventStream;

    #[tracing::instrument(skip_all)]
    async fn publish_events(
        &self,
        request: Request<pb::PublishEventsRequest>,
    ) -> Result<Response<pb::PublishEventsResponse>, Status> {
        let events = request.into_inner().events.into_iter().map(convert::new_event).collect::<Result<Vec<_>, _>>()?;
        let stored = self.events.publish(events).await?;
        Ok(Response::new(pb::PublishEventsResponse { stored: i32::try_from(stored).unwrap_or(i32::MAX) }))
    }

    #[tracing::instrument(skip_all)]
    async fn watch_events(
        &self,
        request: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        let pb::WatchEventsRequest { app_id, after_event_id, from_start, types } = request.into_inner();
        let app_id = convert::app_id(app_id)?;
        let mut cursor = self.events.cursor(&app_id, &after_event_id, from_start).await?;
        let events = self.events.clone();
        let mut stored = events.stored_signal();
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::Event, Status>>(WATCH_BATCH as usize);
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            loop {
                let batch = match events.events_after(&app_id, cursor, &types, WATCH_BATCH).await {
                    Ok(batch) => batch,
                    Err(err) => {
                        let _ = tx.send(Err(err.into())).await;
                        return;
                    }
                };
                let full = batch.len() as u64 == WATCH_BATCH;
                for event in batch {
                    cursor = event.seq;
                    if tx.send(convert::stored_event(&event)).await.is_err() {
                        return; // the watcher went away
                    }
                }
                if full {
                    continue;
                }
                tokio::select! {
                    _ = tx.closed() => return,
                    _ = shutdown.requested() => {
                        let _ = tx.send(Err(Status::unavailable("event-service is shutting down: watch again"))).await;
                        return;
                    }
                    _ = stored.changed() => {}
                    _ = tokio::time::sleep(WATCH_POLL) => {}
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }

    #[tracing::instrument(skip_all)]
    async fn create_subscription(
        &self,
        request: Request<pb::CreateSubscriptionRequest>,
    ) -> Result<Response<pb::CreateSubscriptionResponse>, Status> {
        let s = request.into_inner().subscription.ok_or_else(|| missing("subscription"))?;
        let app_id = convert::app_id(s.app_id)?;
        let format = convert::format(s.format)?.ok_or_else(|| missing("format"))?;
        let new = NewSubscription {
            app_id,
            format,
            target: s.target,
            event_types: s.event_types,
            enabled: s.enabled,
            attributes: s.attributes_json,
            group_id: s.group_id,
        };
        let (subscription, secret) = self.events.create_subscription(new).await?;
        Ok(Response::new(pb::CreateSubscriptionResponse { subscription: Some(subscription.into()), secret }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_subscription(
        &self,
        request: Request<pb::GetSubscriptionRequest>,
    ) -> Result<Response<pb::GetSubscriptionResponse>, Status> {
        let pb::GetSubscriptionRequest { app_id, id } = request.into_inner();
        let subscription = self.events.subscription(&convert::app_id(app_id)?, &id).await?;
        Ok(Response::new(pb::GetSubscriptionResponse { subscription: Some(subscription.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        let pb::ListSubscriptionsRequest { app_id, format, group_id } = request.into_inner();
        let group = (!group_id.is_empty()).then_some(group_id.as_str());
        let found = self.events.subscriptions(&convert::app_id(app_id)?, convert::format(format)?, group).await?;
        Ok(Response::new(pb::ListSubscriptionsResponse { subscriptions: found.into_iter().map(Into::into).collect() }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_subscription(
        &self,
        request: Request<pb::UpdateSubscriptionRequest>,
    ) -> Result<Response<pb::UpdateSubscriptionResponse>, Status> {
        let r = request.into_inner();
        let patch = SubscriptionPatch {
            target: r.target,
            event_types: r.set_event_types.then_some(r.event_types),
            enabled: r.enabled,
            attributes: r.attributes_json,
        };
        let subscription = self.events.update_subscription(&convert::app_id(r.app_id)?, &r.id, patch).await?;
        Ok(Response::new(pb::UpdateSubscriptionResponse { subscription: Some(subscription.into()) }))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_subscription(
        &self,
        request: Request<pb::DeleteSubscriptionRequest>,
    ) -> Result<Response<pb::DeleteSubscriptionResponse>, Status> {
        let pb::DeleteSubscriptionRequest { app_id, id, keep_group_nonempty } = request.into_inner();
        self.events.delete_subscription(&convert::app_id(app_id)?, &id, keep_group_nonempty).await?;
        Ok(Response::new(pb::DeleteSubscriptionResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn rotate_subscription_secret(
        &self,
        request: Request<pb::RotateSubscriptionSecretRequest>,
    ) -> Result<Response<pb::RotateSubscriptionSecretResponse>, Status> {
        let pb::RotateSubscriptionSecretRequest { app_id, id } = request.into_inner();
        let secret = self.events.rotate_secret(&convert::app_id(app_id)?, &id).await?;
        Ok(Response::new(pb::RotateSubscriptionSecretResponse { secret }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_subscription_secret(
        &self,
        request: Request<pb::GetSubscriptionSecretRequest>,
    ) -> Result<Response<pb::GetSubscriptionSecretResponse>, Status> {
        let pb::GetSubscriptionSecretRequest { app_id, id } = request.into_inner();
        let secret = self.events.secret(&convert::app_id(app_id)?, &id).await?;
        Ok(Response::new(pb::GetSubscriptionSecretResponse { secret }))
    }

    #[tracing::instrument(skip_all)]
    async fn lease_deliveries(
        &self,
        request: Request<pb::LeaseDeliveriesRequest>,
    ) -> Result<Response<pb::LeaseDeliveriesResponse>, Status> {
        let pb::LeaseDeliveriesRequest { worker: _, max, lease_ms } = request.into_inner();
        let leased = self.events.lease(u32::try_from(max).unwrap_or(1), u64::try_from(lease_ms).unwrap_or(0)).await?;
        let deliveries = leased.into_iter().map(convert::leased).collect::<Result<Vec<_>, _>>()?;
        Ok(Response::new(pb::LeaseDeliveriesResponse { deliveries }))
    }

    #[tracing::instrument(skip_all)]
    async fn complete_deliveries(
        &self,
        request: Request<pb::CompleteDeliveriesRequest>,
    ) -> Result<Response<pb::CompleteDeliveriesResponse>, Status> {
        let outcomes: Vec<_> = request.into_inner().outcomes.into_iter().map(convert::outcome).collect();
        self.events.complete(&outcomes).await?;
        Ok(Response::new(pb::CompleteDeliveriesResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        let r = request.into_inner();
        let limit = if r.page_size <= 0 { 50 } else { r.page_size.min(200) } as u64;
        let filter = DeliveryFilter {
            status: convert::status(r.status),
            subscription_id: (!r.subscription_id.is_empty()).then_some(r.subscription_id),
            before_seq: convert::page_token(&r.page_token)?,
            limit,
        };
        let found = self.events.deliveries(&convert::app_id(r.app_id)?, &filter).await?;
        let next_page_token = if found.len() as u64 == limit {
            found.last().map(|d| d.seq.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        let deliveries = found.into_iter().map(convert::delivery).collect::<Result<Vec<_>, _>>()?;
        Ok(Response::new(pb::ListDeliveriesResponse { deliveries, next_page_token }))
    }

    #[tracing::instrument(skip_all)]
    async fn redeliver_deliveries(
        &self,
        request: Request<pb::RedeliverDeliveriesRequest>,
    ) -> Result<Response<pb::RedeliverDeliveriesResponse>, Status> {
        let r = request.into_inner();
        let subscription = (!r.subscription_id.is_empty()).then_some(r.subscription_id.as_str());
        let n = self.events.redeliver(&convert::app_id(r.app_id)?, &r.delivery_ids, subscription).await?;
        Ok(Response::new(pb::RedeliverDeliveriesResponse { redelivered: i32::try_from(n).unwrap_or(i32::MAX) }))
    }
}

fn missing(field: &'static str) -> Status {
    EventError::Invalid(crate::domain::ValidationError::Missing(field)).into()
}
