//! Time, read in one place. Services are given a `Clock` so tests can move it; durations
//! (metrics, rate-limit refills) use the monotonic `Stopwatch` and `monotonic_now`. Nothing else
//! in the workspace reads the system's clocks (clippy's `disallowed-methods` holds the line).
#![allow(clippy::disallowed_methods)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// Milliseconds since the Unix epoch, the one time unit stored by every service.
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// The monotonic clock's reading, for intervals that must not jump with the wall clock.
pub fn monotonic_now() -> Instant {
    Instant::now()
}

/// The time source of every service, injected so tests can move it.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_millis(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        now_millis()
    }
}

/// A clock that stands still until moved: for tests of expiry, TTLs and lifetimes.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(millis: i64) -> Self {
        Self(Arc::new(AtomicI64::new(millis)))
    }

    pub fn set(&self, millis: i64) {
        self.0.store(millis, Ordering::SeqCst);
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Time elapsed since it started, on the monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    pub fn start() -> Self {
        Self(Instant::now())
    }

    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::at(1_000);
        let seen_by_a_service: Arc<dyn Clock> = Arc::new(clock.clone());
        assert_eq!(seen_by_a_service.now_millis(), 1_000);
        clock.advance(Duration::from_secs(2));
        assert_eq!(seen_by_a_service.now_millis(), 3_000);
        clock.set(5);
        assert_eq!(seen_by_a_service.now_millis(), 5);
    }
}
