//! An in-process map whose entries expire by an injected clock, bounded in size: at capacity,
//! expired entries go first, then everything (a cache of what can be read again costs only
//! reads). The one mechanism behind every replica-local cache: token-service's in-process
//! `KvCache` and its memos, the gateway's caller cache.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use crate::Clock;

pub struct TimedMap<K, V> {
    /// Each value with the instant (milliseconds, by `clock`) it expires at.
    entries: Mutex<HashMap<K, (V, i64)>>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

impl<K: Hash + Eq, V: Clone> TimedMap<K, V> {
    pub fn new(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity, clock }
    }

    /// The value, while it has not expired.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let now = self.clock.now_millis();
        self.lock().get(key).filter(|(_, expires)| *expires > now).map(|(value, _)| value.clone())
    }

    /// Keeps `value` for `ttl`; a zero `ttl` keeps nothing.
    pub fn insert(&self, key: K, value: V, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let now = self.clock.now_millis();
        let expires = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (value, expires));
    }

    pub fn remove<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lock().remove(key);
    }

    /// Drops every entry whose value `drop` picks.
    pub fn remove_where(&self, drop: impl Fn(&V) -> bool) {
        self.lock().retain(|_, (value, _)| !drop(value));
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, (V, i64)>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    #[test]
    fn an_entry_lives_exactly_its_ttl_and_zero_keeps_nothing() {
        let clock = ManualClock::at(1_000);
        let map = TimedMap::new(10, Arc::new(clock.clone()));
        map.insert("k".to_owned(), 1, Duration::from_millis(500));
        map.insert("none".to_owned(), 2, Duration::ZERO);
        clock.advance(Duration::from_millis(499));
        assert_eq!(map.get("k"), Some(1));
        assert_eq!(map.get("none"), None);
        clock.advance(Duration::from_millis(1));
        assert_eq!(map.get("k"), None);
    }

    #[test]
    fn at_capacity_expired_entries_go_first_then_everything() {
        let clock = ManualClock::at(1_000);
        let map = TimedMap::new(2, Arc::new(clock.clone()));
        map.insert("short", 1, Duration::from_secs(1));
        map.insert("long", 2, Duration::from_secs(60));
        clock.advance(Duration::from_secs(1));
        map.insert("new", 3, Duration::from_secs(60));
        assert_eq!((map.get("long"), map.get("new"), map.len()), (Some(2), Some(3), 2));
        map.insert("more", 4, Duration::from_secs(60));
        assert_eq!((map.len(), map.get("more")), (1, Some(4)), "nothing expired: everything went");
        map.remove_where(|v| *v == 4);
        assert!(map.is_empty());
    }
}
