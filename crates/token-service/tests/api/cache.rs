//! The `KvCache` contract, in-process and on the real Redis server.

use std::{sync::Arc, time::Duration};

use token_service::{
    app::KvCache,
    store::{MemoryKv, RedisKv},
};

async fn redis(prefix: &str) -> Arc<dyn KvCache> {
    Arc::new(RedisKv::connect(&test_support::redis_url(), prefix).await.expect("redis"))
}

async fn set_get_delete(cache: Arc<dyn KvCache>) {
    assert_eq!(cache.get("k1").await.unwrap(), None);
    cache.set("k1", "v1", Duration::from_secs(60)).await.unwrap();
    assert_eq!(cache.get("k1").await.unwrap().as_deref(), Some("v1"));
    cache.set("k1", "v2", Duration::from_secs(60)).await.unwrap();
    assert_eq!(cache.get("k1").await.unwrap().as_deref(), Some("v2"));
    cache.delete(&["k1".to_owned(), "absent".to_owned()]).await.unwrap();
    assert_eq!(cache.get("k1").await.unwrap(), None);
}

#[tokio::test]
async fn memory_kv_contract() {
    set_get_delete(Arc::new(MemoryKv::default())).await;
}

#[tokio::test]
async fn redis_kv_contract() {
    set_get_delete(redis(&test_support::redis_prefix()).await).await;
}

#[tokio::test]
async fn redis_prefixes_keep_deployments_apart() {
    let (a, b) = (redis(&test_support::redis_prefix()).await, redis(&test_support::redis_prefix()).await);
    a.set("same", "a", Duration::from_secs(60)).await.unwrap();
    assert_eq!(b.get("same").await.unwrap(), None);
}

#[tokio::test]
async fn memory_kv_stays_within_capacity() {
    let cache = MemoryKv::new(2);
    for key in ["a", "b", "c"] {
        cache.set(key, "v", Duration::from_secs(60)).await.unwrap();
    }
    assert!(cache.get("c").await.unwrap().is_some(), "the newest entry is kept");
    let kept = [cache.get("a").await.unwrap(), cache.get("b").await.unwrap()];
    assert!(kept.iter().filter(|c| c.is_some()).count() < 2);
}

#[tokio::test]
async fn memory_kv_entries_expire() {
    let cache = MemoryKv::default();
    cache.set("gone", "v", Duration::ZERO).await.unwrap();
    assert_eq!(cache.get("gone").await.unwrap(), None);
}
