//! Verified callers, kept by each gateway replica for at most `gateway.caller_cache_ms`, so a
//! caller repeating its credential costs no `AuthenticateCaller` hop before the handler's own.
//!
//! Entries are keyed by a SHA-256 digest of the credential (never the credential itself) and of
//! the application the request names; only token-service's acceptances are kept, never its
//! refusals. A revoked or deleted credential is therefore refused by every replica at most
//! `caller_cache_ms` after token-service refuses it; a JWT's entry also ends at its `exp`.

use std::{sync::Arc, time::Duration};

use base64::Engine;
use platform::{AppId, Clock, SystemClock, timed_map::TimedMap};
use sha2::{Digest, Sha256};

/// Most callers one replica keeps; past it, expired entries go first, then all of them (which
/// only costs hops).
const CAPACITY: usize = 10_000;

/// What token-service answered about a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub app_id: AppId,
    pub scopes: Vec<i32>,
    pub rate_limit_per_second: u32,
}

#[derive(Clone)]
pub struct CallerCache {
    ttl: Duration,
    /// Each caller by its key's digest.
    entries: Arc<TimedMap<[u8; 32], Verified>>,
    clock: Arc<dyn Clock>,
}

impl CallerCache {
    /// `ttl` zero keeps nothing: every request asks token-service.
    pub fn new(ttl: Duration) -> Self {
        Self::with_clock(ttl, Arc::new(SystemClock))
    }

    fn with_clock(ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        Self { ttl, entries: Arc::new(TimedMap::new(CAPACITY, clock.clone())), clock }
    }

    /// The digest a credential (of `kind`, for the application `app_id` names, if any) is kept
    /// under.
    pub fn key(kind: &str, credential: &[&str], app_id: Option<&str>) -> [u8; 32] {
        let mut digest = Sha256::new();
        for part in std::iter::once(kind).chain(credential.iter().copied()).chain(app_id) {
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
        digest.finalize().into()
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<Verified> {
        if self.ttl.is_zero() {
            return None;
        }
        let hit = self.entries.get(key);
        metrics::counter!("roster_caller_cache_requests_total", "result" => if hit.is_some() { "hit" } else { "miss" })
            .increment(1);
        hit
    }

    /// Keeps `verified` for the TTL, or until `expires_at_secs` (a JWT's `exp`, Unix seconds)
    /// when that comes first.
    pub fn put(&self, key: [u8; 32], verified: Verified, expires_at_secs: Option<i64>) {
        let mut ttl = self.ttl;
        if let Some(exp) = expires_at_secs {
            let left = exp.saturating_mul(1000).saturating_sub(self.clock.now_millis());
            ttl = ttl.min(Duration::from_millis(u64::try_from(left).unwrap_or(0)));
        }
        self.entries.insert(key, verified, ttl);
    }

    /// Drops every caller of `app_id` this replica keeps: a credential of it was deleted here.
    pub fn forget_app(&self, app_id: &AppId) {
        self.entries.remove_where(|verified| verified.app_id == *app_id);
    }
}

/// A JWT's `exp` (Unix seconds), read without verifying: token-service verified the same bytes.
pub fn jwt_expiry(jwt: &str) -> Option<i64> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_i64()
}

#[cfg(test)]
mod tests {
    use platform::ManualClock;

    use super::*;

    fn verified() -> Verified {
        Verified { app_id: AppId::generate(), scopes: vec![1], rate_limit_per_second: 0 }
    }

    #[test]
    fn an_entry_lives_exactly_its_ttl() {
        let clock = ManualClock::at(1_000_000);
        let cache = CallerCache::with_clock(Duration::from_millis(1000), Arc::new(clock.clone()));
        let key = CallerCache::key("api_token", &["secret"], None);
        cache.put(key, verified(), None);
        clock.advance(Duration::from_millis(999));
        assert!(cache.get(&key).is_some());
        clock.advance(Duration::from_millis(1));
        assert!(cache.get(&key).is_none(), "refused from the bound on");
    }

    #[test]
    fn keys_tell_credentials_kinds_and_applications_apart() {
        let a = CallerCache::key("basic", &["key", "secret"], Some("app"));
        assert_ne!(a, CallerCache::key("basic", &["keys", "ecret"], Some("app")), "parts are delimited");
        assert_ne!(a, CallerCache::key("basic", &["key", "secret"], Some("other")));
        assert_ne!(a, CallerCache::key("jwt", &["key", "secret"], Some("app")));
        assert_ne!(a, CallerCache::key("basic", &["key", "secret"], None));
    }

    #[test]
    fn forgetting_an_application_drops_only_its_callers() {
        let cache = CallerCache::new(Duration::from_secs(60));
        let (mine, theirs) = (verified(), verified());
        let (a, b) = (CallerCache::key("api_token", &["a"], None), CallerCache::key("api_token", &["b"], None));
        cache.put(a, mine.clone(), None);
        cache.put(b, theirs, None);
        cache.forget_app(&mine.app_id);
        assert!(cache.get(&a).is_none());
        assert!(cache.get(&b).is_some());
    }

    #[test]
    fn zero_keeps_nothing_and_capacity_is_bounded() {
        let off = CallerCache::new(Duration::ZERO);
        let key = CallerCache::key("api_token", &["secret"], None);
        off.put(key, verified(), None);
        assert!(off.get(&key).is_none());

        let cache = CallerCache::new(Duration::from_secs(60));
        for i in 0..CAPACITY + 10 {
            cache.put(CallerCache::key("api_token", &[&i.to_string()], None), verified(), None);
        }
        assert!(cache.entries.len() <= CAPACITY);
    }

    #[test]
    fn a_jwt_entry_ends_at_its_exp() {
        let encode = |claims: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
        let jwt = format!("{}.{}.sig", encode(r#"{"alg":"HS256"}"#), encode(r#"{"exp":1700000000,"scope":"app"}"#));
        assert_eq!(jwt_expiry(&jwt), Some(1_700_000_000));
        assert_eq!(jwt_expiry("not-a-jwt"), None);
        let cache = CallerCache::new(Duration::from_secs(60));
        let key = CallerCache::key("jwt", &[&jwt], None);
        cache.put(key, verified(), jwt_expiry(&jwt));
        assert!(cache.get(&key).is_none(), "an expired JWT is never kept");
    }
}
