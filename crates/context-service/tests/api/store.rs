//! The `ContextStore` contract.

use std::collections::BTreeMap;

use context_service::domain::{AppId, Context, ContextKey, ContextValues, Country, Language};
use test_support::Backend;

use crate::store;

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(test_support::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(test_support::Backend::Postgres).await })*
        }
    };
}

contract!(put_replaces_the_whole_object, keys_are_scoped_by_app_user_and_agent, delete_reports_what_it_did);

fn key(app: &AppId, user: &str, agent: &str) -> ContextKey {
    ContextKey::parse(app.as_str().into(), user.into(), agent.into()).unwrap()
}

fn context(key: ContextKey, values: &[(&str, &str)], language: Option<&str>) -> Context {
    let values: BTreeMap<String, String> = values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Context {
        key,
        language: language.map(|l| Language::parse(l.into()).unwrap()),
        country: Some(Country::parse("US".into()).unwrap()),
        values: ContextValues::parse(values).unwrap(),
        updated_at: platform::now_millis(),
    }
}

async fn put_replaces_the_whole_object(backend: Backend) {
    let (store, _db) = store(backend).await;
    let k = key(&AppId::generate(), "u1", "bot");
    store.put(&context(k.clone(), &[("tier", "premium"), ("login", "true")], Some("en-US"))).await.unwrap();
    let replacement = context(k.clone(), &[("tier", "basic")], None);
    store.put(&replacement).await.unwrap();
    assert_eq!(store.find(&k).await.unwrap(), Some(replacement));
}

async fn keys_are_scoped_by_app_user_and_agent(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = AppId::generate();
    let stored = context(key(&app, "u1", "bot"), &[("a", "1")], Some("en"));
    store.put(&stored).await.unwrap();
    for other in [key(&AppId::generate(), "u1", "bot"), key(&app, "u2", "bot"), key(&app, "u1", "other")] {
        assert_eq!(store.find(&other).await.unwrap(), None, "{other:?}");
    }
}

async fn delete_reports_what_it_did(backend: Backend) {
    let (store, _db) = store(backend).await;
    let k = key(&AppId::generate(), "u1", "bot");
    assert!(!store.delete(&k).await.unwrap());
    store.put(&context(k.clone(), &[], None)).await.unwrap();
    assert!(store.delete(&k).await.unwrap());
    assert_eq!(store.find(&k).await.unwrap(), None);
}

#[tokio::test]
async fn deleting_a_users_data_keeps_everyone_elses() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let (store, _db) = store(backend).await;
        let app = AppId::generate();
        store.put(&context(key(&app, "gone", "a"), &[], None)).await.unwrap();
        store.put(&context(key(&app, "gone", "b"), &[], None)).await.unwrap();
        let kept = context(key(&app, "kept", "a"), &[], None);
        store.put(&kept).await.unwrap();
        store.delete_user(&app, "gone").await.unwrap();
        assert_eq!(store.find(&key(&app, "gone", "a")).await.unwrap(), None);
        assert_eq!(store.find(&key(&app, "gone", "b")).await.unwrap(), None);
        assert_eq!(store.find(&kept.key).await.unwrap(), Some(kept));
    }
}
