//! The `KvCache` contract, in-process and on the real Redis server.

use std::{sync::Arc, time::Duration};

use platform::ManualClock;
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

/// A real TTL, on an injected clock: alive until it is up, gone once it is.
#[tokio::test]
async fn memory_kv_entries_expire() {
    let clock = ManualClock::at(1_000_000);
    let cache = MemoryKv::with_clock(100, Arc::new(clock.clone()));
    cache.set("gone", "v", Duration::from_secs(60)).await.unwrap();
    clock.advance(Duration::from_millis(59_999));
    assert_eq!(cache.get("gone").await.unwrap().as_deref(), Some("v"), "alive until its TTL is up");
    clock.advance(Duration::from_millis(1));
    assert_eq!(cache.get("gone").await.unwrap(), None);
    cache.set("none", "v", Duration::ZERO).await.unwrap();
    assert_eq!(cache.get("none").await.unwrap(), None, "a zero TTL keeps nothing");
}

/// Three masters in cluster mode, of this test's own, on free ports.
#[tokio::test]
async fn redis_cluster_urls_work_like_single_node_ones() {
    use crate::helpers::{OwnRedis, free_port};
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let port = free_port();
        let config = dir.path().join(format!("nodes-{port}.conf"));
        let node = OwnRedis::start_with(
            port,
            &[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                config.to_str().unwrap(),
                "--dir",
                dir.path().to_str().unwrap(),
            ],
        );
        node.ready().await;
        nodes.push(node);
    }
    let addrs: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
    let created = std::process::Command::new("redis-cli")
        .arg("--cluster")
        .arg("create")
        .args(&addrs)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .expect("redis-cli is installed with redis-server");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stdout));
    // The nodes agree on the slots shortly after creation: wait until every node says so.
    for _ in 0..100 {
        let all_ok = nodes.iter().all(|node| {
            let info = std::process::Command::new("redis-cli")
                .args(["-p", &node.port.to_string(), "cluster", "info"])
                .output();
            info.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
        });
        if all_ok {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = format!("redis+cluster://{}", addrs.join(","));
    let cache: Arc<dyn KvCache> =
        Arc::new(RedisKv::connect(&url, &test_support::redis_prefix()).await.expect("cluster"));
    set_get_delete(cache.clone()).await;
    // Keys spread over slots on different nodes.
    for i in 0..20 {
        cache.set(&format!("spread{i}"), "v", Duration::from_secs(60)).await.unwrap();
    }
    let keys: Vec<String> = (0..20).map(|i| format!("spread{i}")).collect();
    cache.delete(&keys).await.unwrap();
    for key in &keys {
        assert_eq!(cache.get(key).await.unwrap(), None);
    }
}
