//! The relay from a service's transactional outbox to event-service.
//!
//! A service writes each event into its own outbox table in the transaction of the change; the
//! relay reads what is not yet published, in the order written, publishes it with
//! `EventService/PublishEvents`, and only then marks it published. A crash between the two
//! publishes it again: event-service stores an event id once, so that is harmless, and it is what
//! makes delivery at-least-once. Replicas may all relay: the same rows published twice are stored
//! once, in order (on PostgreSQL the second insert of an id waits for the first to commit).

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use proto::events::v1::{self as pb, event_service_client::EventServiceClient};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, Order, QueryFilter,
    sea_query::{Expr, Query},
};

use crate::Shutdown;

/// One outbox row, ready to publish.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The row's position in its outbox: publishing follows it.
    pub seq: i64,
    pub event: pb::Event,
}

/// A service's outbox table.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Up to `limit` unpublished rows, in the order written.
    async fn pending(&self, limit: u64) -> anyhow::Result<Vec<Pending>>;
    /// Marks rows published at `now`.
    async fn mark_published(&self, seqs: &[i64], now: i64) -> anyhow::Result<()>;
    /// Deletes up to `limit` rows published before `before` (milliseconds), oldest first;
    /// answers how many. Unpublished rows are never touched.
    async fn purge_published(&self, before: i64, limit: u64) -> anyhow::Result<u64>;
}

/// Rows deleted by one purge statement: short enough not to hold locks for long.
pub const PURGE_BATCH: u64 = 5_000;

/// How the relay paces itself.
#[derive(Debug, Clone, Copy)]
pub struct RelayPace {
    /// Rows per `PublishEvents` call.
    pub batch: u64,
    /// The pause when the outbox is empty.
    pub idle: Duration,
    /// The first pause after event-service failed; doubled on each failure up to 30 s.
    pub retry: Duration,
    /// How long a published row is kept (event-service holds the event itself); older ones are
    /// deleted, so the outbox does not grow with every change ever made.
    pub keep_published: Duration,
    /// How often the relay deletes what it no longer keeps.
    pub purge_every: Duration,
}

impl Default for RelayPace {
    fn default() -> Self {
        Self {
            batch: 200,
            idle: Duration::from_millis(200),
            retry: Duration::from_millis(500),
            keep_published: Duration::from_secs(3600),
            purge_every: Duration::from_secs(60),
        }
    }
}

/// A service's outbox table as its `Outbox` implementation writes it: `seq` orders the rows,
/// `delivered_at` (milliseconds, null until published) marks them published. One place for the
/// statements every outbox shares.
pub struct OutboxTable<E: EntityTrait> {
    pub seq: E::Column,
    pub delivered_at: E::Column,
}

impl<E: EntityTrait> OutboxTable<E> {
    /// Marks rows published at `now`.
    pub async fn mark_published(&self, db: &DatabaseConnection, seqs: &[i64], now: i64) -> anyhow::Result<()> {
        E::update_many()
            .col_expr(self.delivered_at, Expr::value(now))
            .filter(self.seq.is_in(seqs.iter().copied()))
            .exec(db)
            .await?;
        Ok(())
    }

    /// Deletes up to `limit` rows published before `before`, oldest first; answers how many.
    pub async fn purge_published(&self, db: &DatabaseConnection, before: i64, limit: u64) -> anyhow::Result<u64> {
        let oldest = Query::select()
            .column(self.seq)
            .from(E::default())
            .and_where(Expr::col(self.delivered_at).lt(before))
            .order_by(self.seq, Order::Asc)
            .limit(limit)
            .to_owned();
        Ok(E::delete_many().filter(self.seq.in_subquery(oldest)).exec(db).await?.rows_affected)
    }
}

/// Deletes the rows published more than `keep` before `now`, a batch at a time; answers how
/// many.
pub async fn purge(outbox: &dyn Outbox, now: i64, keep: Duration) -> anyhow::Result<u64> {
    let before = now.saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX));
    let mut purged = 0;
    loop {
        let n = outbox.purge_published(before, PURGE_BATCH).await?;
        purged += n;
        if n < PURGE_BATCH {
            return Ok(purged);
        }
    }
}

/// Relays `outbox` to event-service at `endpoint` until shutdown.
pub async fn relay(
    outbox: Arc<dyn Outbox>,
    endpoint: String,
    pace: RelayPace,
    shutdown: Shutdown,
    service: &'static str,
) {
    let channel = match crate::grpc::channel(&endpoint, Duration::from_secs(10)) {
        Ok(channel) => channel,
        Err(err) => {
            tracing::error!(service, error = %err, "events.endpoint is not usable: outbox events stay unpublished");
            return;
        }
    };
    let mut client = EventServiceClient::new(channel);
    let stop = shutdown.requested();
    tokio::pin!(stop);
    let mut backoff = pace.retry;
    let mut last_purge = crate::clock::monotonic_now();
    loop {
        if last_purge.elapsed() >= pace.purge_every {
            last_purge = crate::clock::monotonic_now();
            match purge(outbox.as_ref(), crate::now_millis(), pace.keep_published).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(service, purged = n, "published outbox rows deleted"),
                Err(err) => tracing::warn!(service, error = %err, "outbox purge failed; trying again later"),
            }
        }
        let pause = match relay_once(outbox.as_ref(), &mut client, pace.batch).await {
            Ok(n) if n as u64 == pace.batch => {
                backoff = pace.retry;
                continue;
            }
            Ok(n) => {
                if n > 0 {
                    tracing::debug!(service, published = n, "outbox events published");
                }
                backoff = pace.retry;
                pace.idle
            }
            Err(err) => {
                tracing::warn!(service, error = %err, retry_in_ms = backoff.as_millis() as u64, "outbox relay failed; retrying");
                let pause = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                pause
            }
        };
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Publishes one batch; answers how many rows it published.
pub async fn relay_once(
    outbox: &dyn Outbox,
    client: &mut EventServiceClient<tonic::transport::Channel>,
    batch: u64,
) -> anyhow::Result<usize> {
    let pending = outbox.pending(batch).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let seqs: Vec<i64> = pending.iter().map(|p| p.seq).collect();
    let events = pending.into_iter().map(|p| p.event).collect();
    client
        .publish_events(pb::PublishEventsRequest { events })
        .await
        .map_err(|s| anyhow::anyhow!("PublishEvents: {}", s.message()))?;
    outbox.mark_published(&seqs, crate::now_millis()).await?;
    crate::metrics::outbox_published(seqs.len() as u64);
    Ok(seqs.len())
}
