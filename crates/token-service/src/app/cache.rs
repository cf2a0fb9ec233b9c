//! What token-service caches, under which key, for how long and in which shape: API token and
//! access token lookups, and each user's "revoked before" instant. `KvCache` is what holds the
//! entries (Redis shared by every replica, or an in-process map for one process); `TokenCache`
//! puts a short in-process layer in front of it for revocation state, which every validation
//! of a session token reads.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;

use crate::domain::{AccessToken, AppId, Caller, Scope, UserState};

/// A string cache with expiry. Keys are relative; `redis_key_prefix` places them in Redis.
#[async_trait]
pub trait KvCache: Send + Sync {
    async fn get(&self, key: &str) -> anyhow::Result<Option<String>>;
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()>;
    async fn delete(&self, keys: &[String]) -> anyhow::Result<()>;
}

/// How long a looked-up credential or token is trusted without reading the database again.
/// Revocation removes the entry at once; this bounds staleness should that removal fail.
pub const CREDENTIAL_TTL: Duration = Duration::from_secs(300);

/// How long a cached "revoked before" instant lives; a Redis flush or restart only costs a
/// database read, since the database holds the durable copy.
pub const REVOCATION_TTL: Duration = Duration::from_secs(3600);

/// How many entries an in-process cache holds; past that it starts over, which only costs reads.
pub const LOCAL_CAPACITY: usize = 100_000;

/// Where this service's keys live in a Redis that deployments and services share:
/// `<prefix>:token:<entity>:<id>`.
pub fn redis_key_prefix(deployment_prefix: &str) -> String {
    format!("{deployment_prefix}:token:")
}

fn api_token_key(token_hash: &str) -> String {
    format!("api_token:{token_hash}")
}

fn access_token_key(token_hash: &str) -> String {
    format!("access_token:{token_hash}")
}

fn known_user_key(app_id: &AppId, user_id: &str) -> String {
    format!("known_user:{}:{user_id}", app_id.as_str())
}

/// How long this replica trusts that a user exists without asking the registry again. Safe to be
/// long: a deletion is recorded in the user's state, which every issue reads first.
pub const KNOWN_USER_TTL: Duration = Duration::from_secs(3600);

fn revocation_key(app_id: &AppId, user_id: &str) -> String {
    format!("revoked_before:{}:{user_id}", app_id.as_str())
}

/// The caches `Tokens` uses, by what they hold. Reads answer `None` for a value that does not
/// decode, so it is read again from the database.
#[derive(Clone)]
pub struct TokenCache {
    shared: Arc<dyn KvCache>,
    /// In front of `shared`, for revocation state only.
    local: Arc<dyn KvCache>,
    /// How long this replica trusts revocation state it read.
    local_ttl: Duration,
}

impl TokenCache {
    pub fn new(shared: Arc<dyn KvCache>, local: Arc<dyn KvCache>, local_ttl: Duration) -> Self {
        Self { shared, local, local_ttl }
    }

    /// How long this replica trusts what it read (`session.revocation_cache_ms`).
    pub(super) fn local_ttl(&self) -> Duration {
        self.local_ttl
    }

    /// Who an API token (by its hash) stands for.
    pub(super) async fn caller(&self, token_hash: &str) -> anyhow::Result<Option<Caller>> {
        let found = self.shared.get(&api_token_key(token_hash)).await.map(|v| v.and_then(|v| decode_caller(&v)));
        record("api_token", &found);
        found
    }

    pub(super) async fn put_caller(&self, token_hash: &str, caller: &Caller) -> anyhow::Result<()> {
        self.shared.set(&api_token_key(token_hash), &encode_caller(caller), CREDENTIAL_TTL).await
    }

    pub(super) async fn forget_api_token(&self, token_hash: &str) -> anyhow::Result<()> {
        self.shared.delete(&[api_token_key(token_hash)]).await
    }

    /// The application and user an access token (by its hash) belongs to.
    pub(super) async fn access_owner(&self, token_hash: &str) -> anyhow::Result<Option<(AppId, String)>> {
        let found = self.shared.get(&access_token_key(token_hash)).await.map(|v| v.and_then(|v| decode_access(&v)));
        record("access_token", &found);
        found
    }

    pub(super) async fn put_access_owner(&self, token: &AccessToken) -> anyhow::Result<()> {
        self.shared.set(&access_token_key(&token.token_hash), &encode_access(token), CREDENTIAL_TTL).await
    }

    pub(super) async fn forget_access_tokens(&self, tokens: &[AccessToken]) -> anyhow::Result<()> {
        if tokens.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = tokens.iter().map(|t| access_token_key(&t.token_hash)).collect();
        self.shared.delete(&keys).await
    }

    /// Whether the registry told this replica, lately, that the user exists.
    pub(super) async fn is_known_user(&self, app_id: &AppId, user_id: &str) -> bool {
        let found = self.local.get(&known_user_key(app_id, user_id)).await;
        record("known_user", &found);
        matches!(found, Ok(Some(_)))
    }

    pub(super) async fn put_known_user(&self, app_id: &AppId, user_id: &str) -> anyhow::Result<()> {
        self.local.set(&known_user_key(app_id, user_id), "1", KNOWN_USER_TTL).await
    }

    /// The user's state (revocation instant, deactivation), as this replica last read it.
    pub(super) async fn local_user_state(&self, app_id: &AppId, user_id: &str) -> anyhow::Result<Option<UserState>> {
        let found = self.local.get(&revocation_key(app_id, user_id)).await?.and_then(|v| decode_state(&v));
        if found.is_some() {
            metrics::counter!("roster_cache_requests_total", "cache" => "revocation", "result" => "hit_local")
                .increment(1);
        }
        Ok(found)
    }

    pub(super) async fn put_local_user_state(
        &self,
        app_id: &AppId,
        user_id: &str,
        state: UserState,
    ) -> anyhow::Result<()> {
        self.local.set(&revocation_key(app_id, user_id), &encode_state(state), self.local_ttl).await
    }

    /// The user's state as the replicas share it; a value that does not decode is read again
    /// from the database.
    pub(super) async fn user_state(&self, app_id: &AppId, user_id: &str) -> anyhow::Result<Option<UserState>> {
        let found = self.shared.get(&revocation_key(app_id, user_id)).await.map(|v| v.and_then(|v| decode_state(&v)));
        record("revocation", &found);
        found
    }

    pub(super) async fn put_user_state(&self, app_id: &AppId, user_id: &str, state: UserState) -> anyhow::Result<()> {
        self.shared.set(&revocation_key(app_id, user_id), &encode_state(state), REVOCATION_TTL).await
    }

    /// A user's new state for every replica, and this one's stale copy dropped. Callers write
    /// the durable copy first; an error here fails their call, so it is retried instead of a
    /// stale cache being trusted.
    pub(super) async fn publish_user_state(
        &self,
        app_id: &AppId,
        user_id: &str,
        state: UserState,
    ) -> anyhow::Result<()> {
        let key = revocation_key(app_id, user_id);
        self.shared.set(&key, &encode_state(state), REVOCATION_TTL).await?;
        self.local.delete(std::slice::from_ref(&key)).await
    }
}

/// `<revoked before>` for an active user, `<revoked before>|deactivated` for a deactivated one,
/// `<revoked before>|deleted` for a deleted one (values written before these existed read as
/// active users).
fn encode_state(state: UserState) -> String {
    match (state.deleted, state.deactivated) {
        (true, _) => format!("{}|deleted", state.revoked_before),
        (false, true) => format!("{}|deactivated", state.revoked_before),
        (false, false) => state.revoked_before.to_string(),
    }
}

fn decode_state(value: &str) -> Option<UserState> {
    let (before, deactivated, deleted) = match value.split_once('|') {
        Some((before, "deactivated")) => (before, true, false),
        Some((before, "deleted")) => (before, false, true),
        Some(_) => return None,
        None => (value, false, false),
    };
    Some(UserState { revoked_before: before.parse().ok()?, deactivated, deleted })
}

/// `roster_cache_requests_total{cache, result}`: the hit ratio of each cache.
fn record<T>(cache: &'static str, found: &anyhow::Result<Option<T>>) {
    let result = match found {
        Ok(Some(_)) => "hit",
        Ok(None) => "miss",
        Err(_) => "error",
    };
    metrics::counter!("roster_cache_requests_total", "cache" => cache, "result" => result).increment(1);
}

/// `app_id|scope,scope|rate_limit|credential_id`
fn encode_caller(caller: &Caller) -> String {
    let scopes: Vec<&str> = caller.scopes.iter().map(|s| s.as_str()).collect();
    format!("{}|{}|{}|{}", caller.app_id.as_str(), scopes.join(","), caller.rate_limit_per_second, caller.credential_id)
}

fn decode_caller(value: &str) -> Option<Caller> {
    let mut parts = value.splitn(4, '|');
    let (app_id, scopes, rate, credential_id) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let scopes = scopes.split(',').filter(|s| !s.is_empty()).map(Scope::parse).collect::<Option<_>>()?;
    Some(Caller {
        app_id: AppId::parse(app_id.to_owned()).ok()?,
        scopes,
        credential_id: credential_id.to_owned(),
        rate_limit_per_second: rate.parse().ok()?,
    })
}

/// `app_id|user_id|token_id`
fn encode_access(token: &AccessToken) -> String {
    format!("{}|{}|{}", token.app_id.as_str(), token.user_id, token.id)
}

fn decode_access(value: &str) -> Option<(AppId, String)> {
    let mut parts = value.splitn(3, '|');
    let (app_id, user_id) = (parts.next()?, parts.next()?);
    Some((AppId::parse(app_id.to_owned()).ok()?, user_id.to_owned()))
}

/// Values this replica read lately, each trusted for `ttl` after it was read (by the injected
/// clock), and forgotten at once when this replica changes it. Bounded by `LOCAL_CAPACITY`.
pub(super) struct Memo<V> {
    entries: platform::timed_map::TimedMap<String, V>,
    ttl: Duration,
}

impl<V: Clone> Memo<V> {
    pub(super) fn new(ttl: Duration, clock: Arc<dyn platform::Clock>) -> Self {
        Self { entries: platform::timed_map::TimedMap::new(LOCAL_CAPACITY, clock), ttl }
    }

    pub(super) fn get(&self, key: &str) -> Option<V> {
        self.entries.get(key)
    }

    pub(super) fn put(&self, key: &str, value: V) {
        self.entries.insert(key.to_owned(), value, self.ttl);
    }

    pub(super) fn forget(&self, key: &str) {
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_values_round_trip_and_garbage_is_ignored() {
        let caller = Caller {
            app_id: AppId::generate(),
            scopes: vec![Scope::App, Scope::UserManagement],
            credential_id: "c".into(),
            rate_limit_per_second: 5,
        };
        assert_eq!(decode_caller(&encode_caller(&caller)), Some(caller));
        assert_eq!(decode_caller("nonsense"), None);
        let token = AccessToken {
            id: "t".into(),
            app_id: AppId::generate(),
            user_id: "u".into(),
            token_hash: "h".into(),
            created_at: 1,
        };
        assert_eq!(decode_access(&encode_access(&token)), Some((token.app_id.clone(), "u".into())));
        for state in [
            UserState { revoked_before: 0, deactivated: false, deleted: false },
            UserState { revoked_before: 1_800_000_000_000, deactivated: true, deleted: false },
            UserState { revoked_before: 1_800_000_000_000, deactivated: false, deleted: true },
        ] {
            assert_eq!(decode_state(&encode_state(state)), Some(state));
        }
        assert_eq!(
            decode_state("42"),
            Some(UserState { revoked_before: 42, ..UserState::default() }),
            "written before"
        );
        assert_eq!(decode_state("42|else"), None);
        assert_eq!(decode_state("x"), None);
    }
}
