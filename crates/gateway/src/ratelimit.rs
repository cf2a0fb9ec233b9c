//! Per-application request rate limits, a token bucket per application in each gateway replica
//! (so the effective limit scales with the replica count; the operations guide says so).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use platform::AppId;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Debug, Clone, Default)]
pub struct RateLimiter {
    buckets: Arc<Mutex<HashMap<AppId, Bucket>>>,
}

impl RateLimiter {
    /// Takes one request from the application's bucket (`per_second` tokens, as many of burst).
    /// `Err` carries how long until a request would be allowed. 0 means unlimited.
    pub fn check(&self, app_id: &AppId, per_second: u32) -> Result<(), Duration> {
        self.check_at(app_id, per_second, platform::clock::monotonic_now())
    }

    fn check_at(&self, app_id: &AppId, per_second: u32, now: Instant) -> Result<(), Duration> {
        if per_second == 0 {
            return Ok(());
        }
        let rate = f64::from(per_second);
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(app_id.clone()).or_insert(Bucket { tokens: rate, updated: now });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_with_time() {
        let limiter = RateLimiter::default();
        let app = AppId::generate();
        let start = platform::clock::monotonic_now();
        assert!(limiter.check_at(&app, 2, start).is_ok());
        assert!(limiter.check_at(&app, 2, start).is_ok());
        let wait = limiter.check_at(&app, 2, start).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(500), "{wait:?}");
        assert!(limiter.check_at(&app, 2, start + Duration::from_millis(500)).is_ok(), "refilled");
        assert!(limiter.check_at(&AppId::generate(), 2, start).is_ok(), "buckets are per application");
        for _ in 0..1000 {
            assert!(limiter.check_at(&app, 0, start).is_ok(), "0 is unlimited");
        }
    }
}
