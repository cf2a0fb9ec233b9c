//! Event-service's tables through sea-orm, on PostgreSQL or SQLite.
//!
//! Leasing (delivering.rs) is one `UPDATE ... WHERE seq IN (SELECT ... FOR UPDATE SKIP LOCKED)`
//! on PostgreSQL, so replicas lease disjoint deliveries without waiting on each other; SQLite has
//! one writer at a time, which gives the same guarantee without the clause.
//!
//! Each file holds one concern (publishing events, subscriptions, deliveries); this one only
//! delegates.

mod delivering;
mod entity;
mod publishing;
mod subscribing;

use async_trait::async_trait;
use platform::{db::unexpected, seal::Sealer};
use sea_orm::{DatabaseConnection, DbErr};

use crate::{
    app::{
        Delivery, DeliveryFilter, EventError, EventStore, Leased, NewEvent, Next, Outcome, StoredEvent, Subscription,
        SubscriptionPatch,
    },
    domain::Format,
};

pub struct SeaEventStore {
    db: DatabaseConnection,
    sealer: Sealer,
    /// Whether activation emails are sent (`smtp.url` is set): each application then has an email
    /// subscription, made with its first `member.activation_requested`.
    mail: bool,
}

impl SeaEventStore {
    pub fn new(db: DatabaseConnection, sealer: Sealer) -> Self {
        Self { db, sealer, mail: false }
    }

    /// Activation emails on: `member.activation_requested` events get an email delivery.
    pub fn with_mail(self) -> Self {
        Self { mail: true, ..self }
    }
}

/// The configured sealing keys, or else event-service's own generated key.
pub async fn sealer_from_settings(db: &DatabaseConnection, settings: &platform::Settings) -> anyhow::Result<Sealer> {
    platform::db::sealer(db, settings, "event_keys").await
}

fn db_err(err: DbErr) -> EventError {
    EventError::Unexpected(unexpected(err))
}

#[async_trait]
impl EventStore for SeaEventStore {
    async fn publish(&self, new: &[NewEvent], now: i64) -> Result<usize, EventError> {
        publishing::publish(self, new, now).await
    }

    async fn event_seq(&self, app_id: &str, event_id: &str) -> Result<Option<i64>, EventError> {
        publishing::event_seq(self, app_id, event_id).await
    }

    async fn latest_seq(&self, app_id: &str) -> Result<i64, EventError> {
        publishing::latest_seq(self, app_id).await
    }

    async fn events_after(
        &self,
        app_id: &str,
        after_seq: i64,
        types: &[String],
        limit: u64,
    ) -> Result<Vec<StoredEvent>, EventError> {
        publishing::events_after(self, app_id, after_seq, types, limit).await
    }

    async fn create_subscription(&self, s: &Subscription, secret: &str) -> Result<(), EventError> {
        subscribing::create_subscription(self, s, secret).await
    }

    async fn find_subscription(&self, app_id: &str, id: &str) -> Result<Option<Subscription>, EventError> {
        subscribing::find_subscription(self, app_id, id).await
    }

    async fn list_subscriptions(
        &self,
        app_id: &str,
        format: Option<Format>,
        group_id: Option<&str>,
    ) -> Result<Vec<Subscription>, EventError> {
        subscribing::list_subscriptions(self, app_id, format, group_id).await
    }

    async fn update_subscription(
        &self,
        app_id: &str,
        id: &str,
        patch: &SubscriptionPatch,
        now: i64,
    ) -> Result<Subscription, EventError> {
        subscribing::update_subscription(self, app_id, id, patch, now).await
    }

    async fn delete_subscription(&self, app_id: &str, id: &str, keep_group_nonempty: bool) -> Result<bool, EventError> {
        subscribing::delete_subscription(self, app_id, id, keep_group_nonempty).await
    }

    async fn set_secret(&self, app_id: &str, id: &str, secret: &str, now: i64) -> Result<bool, EventError> {
        subscribing::set_secret(self, app_id, id, secret, now).await
    }

    async fn secret(&self, app_id: &str, id: &str) -> Result<Option<String>, EventError> {
        subscribing::secret(self, app_id, id).await
    }

    async fn lease(&self, lease_id: &str, now: i64, lease_until: i64, max: u64) -> Result<Vec<Leased>, EventError> {
        delivering::lease(self, lease_id, now, lease_until, max).await
    }

    async fn leased_attempt(&self, delivery_id: &str, lease_id: &str) -> Result<Option<(u32, i64)>, EventError> {
        delivering::leased_attempt(self, delivery_id, lease_id).await
    }

    async fn finish_attempt(&self, outcome: &Outcome, next: Next, now: i64) -> Result<(), EventError> {
        delivering::finish_attempt(self, outcome, next, now).await
    }

    async fn list_deliveries(&self, app_id: &str, filter: &DeliveryFilter) -> Result<Vec<Delivery>, EventError> {
        delivering::list_deliveries(self, app_id, filter).await
    }

    async fn redeliver(
        &self,
        app_id: &str,
        ids: &[String],
        subscription_id: Option<&str>,
        now: i64,
    ) -> Result<u64, EventError> {
        delivering::redeliver(self, app_id, ids, subscription_id, now).await
    }
}
