//! Credential caches: Redis (single node or cluster) for many replicas, a bounded in-process
//! map for the embedded single process. Keys: `<prefix>:token:api_token:<sha256>`.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use async_trait::async_trait;
use redis::{aio::ConnectionManager, cluster_async::ClusterConnection};

use crate::{
    app::CredentialCache,
    domain::{AppId, Caller, Scope},
};

/// How long a looked-up credential is trusted without reading the database again. Revocation
/// removes the entry at once; this bounds staleness if that removal ever fails.
pub const CREDENTIAL_TTL: Duration = Duration::from_secs(300);

#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

#[derive(Clone)]
pub struct RedisCache {
    connection: Connection,
    prefix: String,
}

impl RedisCache {
    /// `redis://...` for one node (reconnects by itself); `redis+cluster://h1:p1,h2:p2` for a cluster.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let connection = if let Some((scheme, nodes)) = split_cluster_url(url) {
            let nodes: Vec<String> = nodes.split(',').map(|node| format!("{scheme}://{node}")).collect();
            let client = redis::cluster::ClusterClient::new(nodes).context("invalid Redis cluster URL")?;
            Connection::Cluster(client.get_async_connection().await.context("cannot reach the Redis cluster")?)
        } else {
            let client = redis::Client::open(url).context("invalid Redis URL")?;
            Connection::Single(client.get_connection_manager().await.context("cannot reach Redis")?)
        };
        Ok(Self { connection, prefix: prefix.to_owned() })
    }

    fn key(&self, token_hash: &str) -> String {
        format!("{}:token:api_token:{token_hash}", self.prefix)
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        match &self.connection {
            Connection::Single(conn) => cmd.query_async(&mut conn.clone()).await,
            Connection::Cluster(conn) => cmd.query_async(&mut conn.clone()).await,
        }
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
impl CredentialCache for RedisCache {
    async fn get(&self, token_hash: &str) -> anyhow::Result<Option<Caller>> {
        let value: Option<String> = self.query(redis::cmd("GET").arg(self.key(token_hash))).await?;
        value.map(|v| decode(&v)).transpose()
    }

    async fn put(&self, token_hash: &str, caller: &Caller) -> anyhow::Result<()> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(token_hash)).arg(encode(caller)).arg("EX").arg(CREDENTIAL_TTL.as_secs());
        self.query::<()>(&cmd).await?;
        Ok(())
    }

    async fn remove(&self, token_hash: &str) -> anyhow::Result<()> {
        self.query::<()>(redis::cmd("DEL").arg(self.key(token_hash))).await?;
        Ok(())
    }
}

/// `app_id|scope,scope|credential_id`
fn encode(caller: &Caller) -> String {
    let scopes: Vec<&str> = caller.scopes.iter().map(|s| s.as_str()).collect();
    format!("{}|{}|{}", caller.app_id.as_str(), scopes.join(","), caller.credential_id)
}

fn decode(value: &str) -> anyhow::Result<Caller> {
    let mut parts = value.splitn(3, '|');
    let (Some(app_id), Some(scopes), Some(credential_id)) = (parts.next(), parts.next(), parts.next()) else {
        anyhow::bail!("malformed cached credential");
    };
    let scopes = scopes
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Scope::parse(s).context("unknown cached scope"))
        .collect::<anyhow::Result<_>>()?;
    Ok(Caller { app_id: AppId::parse(app_id.to_owned())?, scopes, credential_id: credential_id.to_owned() })
}

/// The in-process cache: entries expire after `CREDENTIAL_TTL`; at capacity, expired entries
/// are dropped first and then everything, which only costs database reads.
pub struct MemoryCache {
    entries: Mutex<HashMap<String, (Caller, Instant)>>,
    capacity: usize,
}

impl MemoryCache {
    pub fn new(capacity: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Caller, Instant)>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::new(10_000)
    }
}

#[async_trait]
impl CredentialCache for MemoryCache {
    async fn get(&self, token_hash: &str) -> anyhow::Result<Option<Caller>> {
        let mut entries = self.lock();
        match entries.get(token_hash) {
            Some((caller, expires)) if *expires > Instant::now() => Ok(Some(caller.clone())),
            Some(_) => {
                entries.remove(token_hash);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn put(&self, token_hash: &str, caller: &Caller) -> anyhow::Result<()> {
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            let now = Instant::now();
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(token_hash.to_owned(), (caller.clone(), Instant::now() + CREDENTIAL_TTL));
        Ok(())
    }

    async fn remove(&self, token_hash: &str) -> anyhow::Result<()> {
        self.lock().remove(token_hash);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_callers_round_trip() {
        let caller = Caller {
            app_id: AppId::generate(),
            scopes: vec![Scope::App, Scope::UserManagement],
            credential_id: "c1".into(),
        };
        assert_eq!(decode(&encode(&caller)).expect("decodes"), caller);
        assert!(decode("nonsense").is_err());
    }

    #[test]
    fn cluster_urls_are_recognised() {
        assert_eq!(split_cluster_url("redis+cluster://a:1,b:2"), Some(("redis", "a:1,b:2")));
        assert_eq!(split_cluster_url("redis://a:1"), None);
    }
}
