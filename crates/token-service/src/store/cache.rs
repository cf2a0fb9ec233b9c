//! The `KvCache` implementations: Redis (single node or cluster; the connection manager
//! reconnects by itself) and a bounded in-process map for one process, whose entries expire by
//! the injected clock.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;
use async_trait::async_trait;
use platform::{Clock, SystemClock, timed_map::TimedMap};
use redis::{aio::ConnectionManager, cluster_async::ClusterConnection};

use crate::app::KvCache;

/// A Redis round trip that takes longer than this counts as Redis being unavailable.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// After Redis fails, calls fail at once for this many milliseconds; then one call tries it
/// again (and the others keep failing at once until that one has its answer).
const REDIS_RETRY_MS: u64 = 1_000;

#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// Keys are `<prefix><key>`.
#[derive(Clone)]
pub struct RedisKv {
    connection: Connection,
    prefix: String,
    breaker: Arc<Breaker>,
}

/// A circuit breaker: while Redis is known to be away, callers pay nothing to learn it again,
/// only one probe per `REDIS_RETRY_MS` waits for Redis.
struct Breaker {
    started: Instant,
    /// Milliseconds since `started` until which calls fail at once; 0 while Redis answers.
    open_until: AtomicU64,
}

/// Why a call was not even tried.
#[derive(Debug, thiserror::Error)]
#[error("Redis failed moments ago; not tried until the next probe")]
struct CircuitOpen;

impl Breaker {
    fn new() -> Self {
        Self { started: platform::clock::monotonic_now(), open_until: AtomicU64::new(0) }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether this call may go to Redis: always while it answers; once it has failed, one call
    /// per interval (the probe).
    fn admit(&self) -> bool {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        let now = self.now();
        now >= until
            && self
                .open_until
                .compare_exchange(until, now + REDIS_RETRY_MS, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    fn answered(&self) {
        self.open_until.store(0, Ordering::Release);
    }

    fn failed(&self) {
        self.open_until.store(self.now() + REDIS_RETRY_MS, Ordering::Release);
    }
}

impl RedisKv {
    /// `redis://...` for one node; `redis+cluster://h1:p1,h2:p2` for a cluster. Every key is
    /// stored under `prefix` (`app::redis_key_prefix` says which).
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let connection = if let Some((scheme, nodes)) = split_cluster_url(url) {
            let nodes: Vec<String> = nodes.split(',').map(|node| format!("{scheme}://{node}")).collect();
            let client = redis::cluster::ClusterClient::new(nodes).context("invalid Redis cluster URL")?;
            Connection::Cluster(client.get_async_connection().await.context("cannot reach the Redis cluster")?)
        } else {
            let client = redis::Client::open(url).context("invalid Redis URL")?;
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(REDIS_TIMEOUT))
                .set_response_timeout(Some(REDIS_TIMEOUT));
            Connection::Single(client.get_connection_manager_with_config(config).await.context("cannot reach Redis")?)
        };
        Ok(Self { connection, prefix: prefix.to_owned(), breaker: Arc::new(Breaker::new()) })
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> anyhow::Result<T> {
        if !self.breaker.admit() {
            return Err(platform::error::Unavailable::new("Redis", CircuitOpen).into());
        }
        let run = async {
            match &self.connection {
                Connection::Single(conn) => cmd.query_async(&mut conn.clone()).await,
                Connection::Cluster(conn) => cmd.query_async(&mut conn.clone()).await,
            }
        };
        match tokio::time::timeout(REDIS_TIMEOUT, run).await {
            Ok(Ok(value)) => {
                self.breaker.answered();
                Ok(value)
            }
            Ok(Err(err))
                if err.is_io_error()
                    || err.is_connection_refusal()
                    || err.is_connection_dropped()
                    || err.is_timeout() =>
            {
                Err(self.outage(err))
            }
            // Redis answered, with an error of the command's: Redis itself is there.
            Ok(Err(err)) => {
                self.breaker.answered();
                Err(anyhow::Error::new(err).context("Redis refused a command"))
            }
            Err(elapsed) => Err(self.outage(elapsed)),
        }
    }

    /// Redis did not answer: the breaker opens, the failure is counted, callers see it away.
    fn outage(&self, cause: impl std::error::Error + Send + Sync + 'static) -> anyhow::Error {
        self.breaker.failed();
        metrics::counter!("roster_redis_failures_total").increment(1);
        platform::error::Unavailable::new("Redis", cause).into()
    }
}

fn split_cluster_url(url: &str) -> Option<(&'static str, &str)> {
    if let Some(rest) = url.strip_prefix("redis+cluster://") {
        Some(("redis", rest))
    } else {
        url.strip_prefix("rediss+cluster://").map(|rest| ("rediss", rest))
    }
}

#[async_trait]
impl KvCache for RedisKv {
    async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        self.query(redis::cmd("GET").arg(format!("{}{key}", self.prefix))).await
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{}{key}", self.prefix)).arg(value).arg("PX").arg(ttl.as_millis().max(1) as u64);
        self.query::<()>(&cmd).await
    }

    async fn delete(&self, keys: &[String]) -> anyhow::Result<()> {
        // One DEL per key: in a cluster, keys of one call may live on different slots.
        for key in keys {
            self.query::<()>(redis::cmd("DEL").arg(format!("{}{key}", self.prefix))).await?;
        }
        Ok(())
    }
}

/// Entries expire by `clock`; at capacity, expired entries go first, then everything, which
/// only costs database reads (`platform::timed_map`).
pub struct MemoryKv {
    entries: TimedMap<String, String>,
}

impl MemoryKv {
    /// On the system clock.
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, Arc::new(SystemClock))
    }

    pub fn with_clock(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self { entries: TimedMap::new(capacity, clock) }
    }
}

impl Default for MemoryKv {
    fn default() -> Self {
        Self::new(crate::app::LOCAL_CAPACITY)
    }
}

#[async_trait]
impl KvCache for MemoryKv {
    async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self.entries.get(key))
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        self.entries.insert(key.to_owned(), value.to_owned(), ttl);
        Ok(())
    }

    async fn delete(&self, keys: &[String]) -> anyhow::Result<()> {
        for key in keys {
            self.entries.remove(key.as_str());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_are_recognised() {
        assert_eq!(split_cluster_url("redis+cluster://a:1,b:2"), Some(("redis", "a:1,b:2")));
        assert_eq!(split_cluster_url("rediss+cluster://a:1"), Some(("rediss", "a:1")));
        assert_eq!(split_cluster_url("redis://a:1"), None);
    }

    #[tokio::test]
    async fn at_capacity_expired_entries_go_first() {
        let clock = platform::ManualClock::at(1_000);
        let cache = MemoryKv::with_clock(2, Arc::new(clock.clone()));
        cache.set("short", "v", Duration::from_secs(1)).await.unwrap();
        cache.set("long", "v", Duration::from_secs(60)).await.unwrap();
        clock.advance(Duration::from_secs(1));
        cache.set("new", "v", Duration::from_secs(60)).await.unwrap();
        assert_eq!(cache.get("long").await.unwrap().as_deref(), Some("v"), "the live entry stays");
        assert_eq!(cache.get("new").await.unwrap().as_deref(), Some("v"));
        assert_eq!(cache.get("short").await.unwrap(), None);
    }
}
