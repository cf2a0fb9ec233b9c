//! The `CredentialCache` contract, in-process and on the real Redis server.

use std::sync::Arc;

use token_service::{
    app::CredentialCache,
    domain::{AppId, Caller, Scope},
    store::{MemoryCache, RedisCache},
};

async fn redis(prefix: &str) -> Arc<dyn CredentialCache> {
    Arc::new(RedisCache::connect(&test_support::redis_url(), prefix).await.expect("redis"))
}

fn caller() -> Caller {
    Caller { app_id: AppId::generate(), scopes: vec![Scope::App], credential_id: platform::ids::new_id() }
}

async fn put_get_remove(cache: Arc<dyn CredentialCache>) {
    let caller = caller();
    assert_eq!(cache.get("h1").await.unwrap(), None);
    cache.put("h1", &caller).await.unwrap();
    assert_eq!(cache.get("h1").await.unwrap(), Some(caller));
    cache.remove("h1").await.unwrap();
    assert_eq!(cache.get("h1").await.unwrap(), None);
}

#[tokio::test]
async fn memory_cache_contract() {
    put_get_remove(Arc::new(MemoryCache::default())).await;
}

#[tokio::test]
async fn redis_cache_contract() {
    put_get_remove(redis(&test_support::redis_prefix()).await).await;
}

#[tokio::test]
async fn redis_prefixes_keep_deployments_apart() {
    let (a, b) = (redis(&test_support::redis_prefix()).await, redis(&test_support::redis_prefix()).await);
    a.put("same-hash", &caller()).await.unwrap();
    assert_eq!(b.get("same-hash").await.unwrap(), None);
}

#[tokio::test]
async fn memory_cache_stays_within_capacity() {
    let cache = MemoryCache::new(2);
    for key in ["a", "b", "c"] {
        cache.put(key, &caller()).await.unwrap();
    }
    assert!(cache.get("c").await.unwrap().is_some(), "the newest entry is kept");
    let kept = [cache.get("a").await.unwrap(), cache.get("b").await.unwrap()];
    assert!(kept.iter().filter(|c| c.is_some()).count() < 2);
}
