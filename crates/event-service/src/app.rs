//! Event-service's use cases over its store: publishing (idempotent, fanned out to the
//! subscriptions that want each event in the same transaction), subscriptions with secrets
//! shown once, leasing and completing deliveries with the retry policy, the dead letter list,
//! and following an application's events from a cursor.

use std::sync::Arc;

use async_trait::async_trait;
use platform::Clock;
use tokio::sync::watch;

use crate::domain::{self, AfterFailure, Format, RetryPolicy, ValidationError};

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("subscription not found")]
    SubscriptionNotFound,
    #[error("event not found")]
    EventNotFound,
    #[error("the last subscription of its group cannot be deleted alone")]
    LastInGroup,
    #[error("the page token is not valid")]
    InvalidPageToken,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// An event as a service published it: the fields event-service indexes, and the whole event
/// as its publisher encoded it (opaque here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub id: String,
    pub app_id: String,
    pub kind: String,
    pub subject_id: String,
    pub occurred_at: i64,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: i64,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: String,
    pub app_id: String,
    pub format: Format,
    pub target: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub attributes: String,
    pub group_id: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A subscription as asked for, checked by `Events::create_subscription`.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub app_id: String,
    pub format: Format,
    pub target: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub attributes: String,
    pub group_id: String,
}

/// Changes to a subscription; `None` keeps the field.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionPatch {
    pub target: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub attributes: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Dead,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub seq: i64,
    pub subscription_id: String,
    pub event: StoredEvent,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: i64,
    pub last_status: u16,
    pub last_error: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// A delivery leased to one dispatcher, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct Leased {
    pub delivery: Delivery,
    pub subscription: Subscription,
    pub secret: String,
    pub lease_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub delivery_id: String,
    pub lease_id: String,
    pub delivered: bool,
    pub status: u16,
    pub error: String,
    pub permanent: bool,
}

/// What a failed attempt leads to, worked out by the service and applied by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Delivered,
    RetryAt(i64),
    Dead,
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub subscription_id: Option<String>,
    /// Deliveries older than this sequence (keyset paging, newest first).
    pub before_seq: Option<i64>,
    pub limit: u64,
}

#[async_trait]
pub trait EventStore: Send + Sync {
    /// Stores the events not stored yet, with a pending delivery for every enabled subscription
    /// of their application that wants their type, in one transaction. Answers how many were new.
    async fn publish(&self, events: &[NewEvent], now: i64) -> Result<usize, EventError>;
    async fn event_seq(&self, app_id: &str, event_id: &str) -> Result<Option<i64>, EventError>;
    async fn latest_seq(&self, app_id: &str) -> Result<i64, EventError>;
    /// The application's events after `after_seq`, in order, at most `limit`.
    async fn events_after(
        &self,
        app_id: &str,
        after_seq: i64,
        types: &[String],
        limit: u64,
    ) -> Result<Vec<StoredEvent>, EventError>;

    /// Stores `subscription` with `secret` (sealed by the store).
    async fn create_subscription(&self, subscription: &Subscription, secret: &str) -> Result<(), EventError>;
    async fn find_subscription(&self, app_id: &str, id: &str) -> Result<Option<Subscription>, EventError>;
    async fn list_subscriptions(
        &self,
        app_id: &str,
        format: Option<Format>,
        group_id: Option<&str>,
    ) -> Result<Vec<Subscription>, EventError>;
    async fn update_subscription(
        &self,
        app_id: &str,
        id: &str,
        patch: &SubscriptionPatch,
        now: i64,
    ) -> Result<Subscription, EventError>;
    /// Deletes it and its pending deliveries; false when there was none. With
    /// `keep_group_nonempty`, refuses (`LastInGroup`) to leave its group empty, under concurrency
    /// too.
    async fn delete_subscription(&self, app_id: &str, id: &str, keep_group_nonempty: bool) -> Result<bool, EventError>;
    async fn set_secret(&self, app_id: &str, id: &str, secret: &str, now: i64) -> Result<bool, EventError>;
    /// The subscription's secret, opened.
    async fn secret(&self, app_id: &str, id: &str) -> Result<Option<String>, EventError>;

    /// Leases up to `max` due deliveries under `lease_id` until `lease_until`: the oldest pending
    /// one of each (subscription, subject) only, none leased by another.
    async fn lease(&self, lease_id: &str, now: i64, lease_until: i64, max: u64) -> Result<Vec<Leased>, EventError>;
    /// The attempts made and creation instant of a delivery still leased under `lease_id`.
    async fn leased_attempt(&self, delivery_id: &str, lease_id: &str) -> Result<Option<(u32, i64)>, EventError>;
    /// Applies `next` to a delivery still leased under `lease_id` (a lease lost meanwhile: nothing).
    async fn finish_attempt(&self, outcome: &Outcome, next: Next, now: i64) -> Result<(), EventError>;
    async fn list_deliveries(&self, app_id: &str, filter: &DeliveryFilter) -> Result<Vec<Delivery>, EventError>;
    /// Dead deliveries back to pending, due at `now`: the given ones, or every dead one of the
    /// subscription (or of the application).
    async fn redeliver(
        &self,
        app_id: &str,
        ids: &[String],
        subscription_id: Option<&str>,
        now: i64,
    ) -> Result<u64, EventError>;
}

pub struct Events {
    store: Arc<dyn EventStore>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    /// Bumped after every publish that stored something, so watchers in this process wake at once
    /// (watchers also poll, for events stored by other replicas).
    stored: watch::Sender<u64>,
}

impl Events {
    pub fn new(store: Arc<dyn EventStore>, clock: Arc<dyn Clock>, policy: RetryPolicy) -> Self {
        Self { store, clock, policy, stored: watch::Sender::new(0) }
    }

    pub async fn publish(&self, events: Vec<NewEvent>) -> Result<usize, EventError> {
        for event in &events {
            if !platform::ids::is_id(&event.id) || !platform::ids::is_id(&event.app_id) {
                return Err(
                    ValidationError::Invalid { field: "events", reason: "ids must be Roster ids".into() }.into()
                );
            }
            if !domain::EVENT_TYPES.contains(&event.kind.as_str()) {
                let reason = format!("unknown event type {:?}", event.kind);
                return Err(ValidationError::Invalid { field: "events", reason }.into());
            }
        }
        let stored = self.store.publish(&events, self.clock.now_millis()).await?;
        metrics::counter!("roster_events_stored_total").increment(stored as u64);
        if stored > 0 {
            self.stored.send_modify(|n| *n += 1);
        }
        Ok(stored)
    }

    /// Wakes when this process stores events.
    pub fn stored_signal(&self) -> watch::Receiver<u64> {
        self.stored.subscribe()
    }

    /// The sequence to follow from: after `after_event_id`, from the start, or after the newest.
    pub async fn cursor(&self, app_id: &str, after_event_id: &str, from_start: bool) -> Result<i64, EventError> {
        if from_start {
            return Ok(0);
        }
        if after_event_id.is_empty() {
            return self.store.latest_seq(app_id).await;
        }
        self.store.event_seq(app_id, after_event_id).await?.ok_or(EventError::EventNotFound)
    }

    pub async fn events_after(
        &self,
        app_id: &str,
        after_seq: i64,
        types: &[String],
        limit: u64,
    ) -> Result<Vec<StoredEvent>, EventError> {
        self.store.events_after(app_id, after_seq, types, limit).await
    }

    /// A new subscription and its secret (shown once).
    pub async fn create_subscription(&self, new: NewSubscription) -> Result<(Subscription, String), EventError> {
        if new.format == Format::Email {
            let reason = "email subscriptions are event-service's own (smtp.url)".to_owned();
            return Err(ValidationError::Invalid { field: "format", reason }.into());
        }
        let now = self.clock.now_millis();
        let subscription = Subscription {
            id: platform::ids::new_id(),
            app_id: new.app_id,
            format: new.format,
            target: domain::target(&new.target)?,
            event_types: domain::event_types(&new.event_types)?,
            enabled: new.enabled,
            attributes: domain::attributes(&new.attributes)?,
            group_id: domain::group_id(&new.group_id)?,
            created_at: now,
            updated_at: now,
        };
        let secret = new_secret(new.format);
        self.store.create_subscription(&subscription, &secret).await?;
        Ok((subscription, secret))
    }

    pub async fn subscription(&self, app_id: &str, id: &str) -> Result<Subscription, EventError> {
        self.store.find_subscription(app_id, id).await?.ok_or(EventError::SubscriptionNotFound)
    }

    pub async fn subscriptions(
        &self,
        app_id: &str,
        format: Option<Format>,
        group_id: Option<&str>,
    ) -> Result<Vec<Subscription>, EventError> {
        self.store.list_subscriptions(app_id, format, group_id).await
    }

    pub async fn update_subscription(
        &self,
        app_id: &str,
        id: &str,
        mut patch: SubscriptionPatch,
    ) -> Result<Subscription, EventError> {
        patch.target = patch.target.as_deref().map(domain::target).transpose()?;
        patch.event_types = patch.event_types.as_deref().map(domain::event_types).transpose()?;
        patch.attributes = patch.attributes.as_deref().map(domain::attributes).transpose()?;
        self.store.update_subscription(app_id, id, &patch, self.clock.now_millis()).await
    }

    pub async fn delete_subscription(
        &self,
        app_id: &str,
        id: &str,
        keep_group_nonempty: bool,
    ) -> Result<(), EventError> {
        match self.store.delete_subscription(app_id, id, keep_group_nonempty).await? {
            true => Ok(()),
            false => Err(EventError::SubscriptionNotFound),
        }
    }

    pub async fn rotate_secret(&self, app_id: &str, id: &str) -> Result<String, EventError> {
        let format = self.subscription(app_id, id).await?.format;
        let secret = new_secret(format);
        match self.store.set_secret(app_id, id, &secret, self.clock.now_millis()).await? {
            true => Ok(secret),
            false => Err(EventError::SubscriptionNotFound),
        }
    }

    pub async fn secret(&self, app_id: &str, id: &str) -> Result<String, EventError> {
        self.store.secret(app_id, id).await?.ok_or(EventError::SubscriptionNotFound)
    }

    pub async fn lease(&self, max: u32, lease_ms: u64) -> Result<Vec<Leased>, EventError> {
        let now = self.clock.now_millis();
        let lease_ms = lease_ms.clamp(1_000, 600_000) as i64;
        let lease_id = platform::secret::new_secret(16);
        self.store.lease(&lease_id, now, now + lease_ms, u64::from(max.clamp(1, 500))).await
    }

    /// Applies each outcome: delivered, or failed and retried per the policy (dead past the age
    /// limit, or at once when the failure is permanent). Outcomes of lost leases change nothing.
    pub async fn complete(&self, outcomes: &[Outcome]) -> Result<(), EventError> {
        for outcome in outcomes {
            let Some((attempts, created_at)) =
                self.store.leased_attempt(&outcome.delivery_id, &outcome.lease_id).await?
            else {
                continue;
            };
            let now = self.clock.now_millis();
            let outcome_name = if outcome.delivered { "delivered" } else { "failed" };
            metrics::counter!("roster_webhook_deliveries_total", "outcome" => outcome_name).increment(1);
            if outcome.delivered {
                // From the event reaching event-service to its subscriber taking it.
                let lag = (now - created_at).max(0) as f64 / 1000.0;
                metrics::histogram!("roster_webhook_delivery_lag_seconds").record(lag);
            }
            let next = if outcome.delivered {
                Next::Delivered
            } else if outcome.permanent {
                Next::Dead
            } else {
                match self.policy.after_failure(attempts, created_at, now, rand::random::<f64>()) {
                    AfterFailure::RetryAt(at) => Next::RetryAt(at),
                    AfterFailure::Dead => Next::Dead,
                }
            };
            if next == Next::Dead {
                metrics::counter!("roster_webhook_dead_lettered_total").increment(1);
            }
            self.store.finish_attempt(outcome, next, now).await?;
        }
        Ok(())
    }

    pub async fn deliveries(&self, app_id: &str, filter: &DeliveryFilter) -> Result<Vec<Delivery>, EventError> {
        self.store.list_deliveries(app_id, filter).await
    }

    pub async fn redeliver(
        &self,
        app_id: &str,
        ids: &[String],
        subscription_id: Option<&str>,
    ) -> Result<u64, EventError> {
        self.store.redeliver(app_id, ids, subscription_id, self.clock.now_millis()).await
    }
}

/// A signing secret in the format's own shape: Ada's (Svix) start with `whsec_` and carry
/// base64 key bytes; the others are 32 random bytes in hex.
fn new_secret(format: Format) -> String {
    match format {
        Format::Ada => {
            use base64::Engine as _;
            let bytes: [u8; 24] = rand::random();
            format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        Format::Sendbird | Format::Sunshine | Format::Email => platform::secret::new_secret(32),
    }
}
