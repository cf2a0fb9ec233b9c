//! The `ContextStore` contract.

use std::collections::BTreeMap;

use context_service::{
    app::StoreError,
    domain::{AgentSpec, AppId, Context, ContextKey, ContextPatch, ContextValues, Country, Language, ValuesPatch},
};
use test_support::Backend;

use crate::store;

test_support::contract!(
    put_replaces_the_whole_object,
    keys_are_scoped_by_app_user_and_agent,
    delete_reports_what_it_did,
    patches_merge_replace_and_clear,
    agents_live_and_die_with_their_channels_and_contexts,
    concurrent_opens_of_one_channel_converge,
);

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
        store.delete_user(&app, "gone", 1).await.unwrap();
        assert_eq!(store.find(&key(&app, "gone", "a")).await.unwrap(), None);
        assert_eq!(store.find(&key(&app, "gone", "b")).await.unwrap(), None);
        assert_eq!(store.find(&kept.key).await.unwrap(), Some(kept));
    }
}

fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn patches_merge_replace_and_clear(backend: Backend) {
    let (store, _db) = store(backend).await;
    let k = key(&AppId::generate(), "u1", "bot");
    let first = ContextPatch {
        language: Some(Some(Language::parse("en-US".into()).unwrap())),
        values: ValuesPatch::Merge { set: map(&[("a", "1"), ("b", "2")]), remove: vec![] },
        ..ContextPatch::default()
    };
    let created = store.patch(&k, &first, 1).await.unwrap();
    assert_eq!(created.values.entries(), &map(&[("a", "1"), ("b", "2")]));
    let merge = ContextPatch {
        country: Some(Some(Country::parse("KR".into()).unwrap())),
        values: ValuesPatch::Merge { set: map(&[("c", "3")]), remove: vec!["a".into()] },
        ..ContextPatch::default()
    };
    let merged = store.patch(&k, &merge, 2).await.unwrap();
    assert_eq!(merged.values.entries(), &map(&[("b", "2"), ("c", "3")]));
    assert_eq!(merged.language.as_ref().map(Language::as_str), Some("en-US"), "untouched fields survive");
    let replace = ContextPatch {
        language: Some(None),
        values: ValuesPatch::Replace(map(&[("z", "26")])),
        ..ContextPatch::default()
    };
    let replaced = store.patch(&k, &replace, 3).await.unwrap();
    assert_eq!(replaced.values.entries(), &map(&[("z", "26")]));
    assert_eq!(replaced.language, None);
    assert_eq!(store.find(&k).await.unwrap(), Some(replaced.clone()));
    // Limits hold for the merged result; a refused patch changes nothing.
    let huge = ContextPatch {
        values: ValuesPatch::Merge { set: map(&[("big", &"x".repeat(9000))]), remove: vec![] },
        ..ContextPatch::default()
    };
    assert!(matches!(store.patch(&k, &huge, 4).await, Err(StoreError::Invalid(_))));
    assert_eq!(store.find(&k).await.unwrap(), Some(replaced));
}

async fn agents_live_and_die_with_their_channels_and_contexts(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = AppId::generate();
    let agent = context_service::domain::Agent {
        app_id: app.clone(),
        agent_id: "helper".into(),
        spec: AgentSpec { nickname: "Helper".into(), ..AgentSpec::default() },
        created_at: 1,
    };
    store.create_agent(&agent).await.unwrap();
    assert!(matches!(store.create_agent(&agent).await, Err(StoreError::AgentExists)));
    assert_eq!(store.find_agent(&app, "helper").await.unwrap(), Some(agent.clone()));
    assert_eq!(store.find_agent(&AppId::generate(), "helper").await.unwrap(), None);

    let mut renamed = agent.clone();
    renamed.spec.nickname = "Helpful".into();
    assert!(store.update_agent(&renamed).await.unwrap());
    assert_eq!(store.find_agent(&app, "helper").await.unwrap().unwrap().spec.nickname, "Helpful");

    let merge = |k: &str, v: &str| ContextPatch {
        values: ValuesPatch::Merge { set: map(&[(k, v)]), remove: vec![] },
        ..ContextPatch::default()
    };
    let (channel, created, opened) = store.open_channel(&key(&app, "u1", "helper"), &merge("a", "1"), 2).await.unwrap();
    assert!(created);
    assert_eq!(opened.values.entries(), &map(&[("a", "1")]));
    let (again, created, reopened) = store.open_channel(&key(&app, "u1", "helper"), &merge("b", "2"), 3).await.unwrap();
    assert!(!created);
    assert_eq!(again, channel);
    assert_eq!(reopened.values.entries(), &map(&[("a", "1"), ("b", "2")]));
    assert_eq!(store.find_messenger_channel(&app, &channel.channel_url).await.unwrap(), Some(channel.clone()));
    let ghost = store.open_channel(&key(&app, "u1", "ghost"), &ContextPatch::default(), 4).await;
    assert!(matches!(ghost, Err(StoreError::AgentNotFound)));
    assert_eq!(store.find(&key(&app, "u1", "ghost")).await.unwrap(), None, "nothing written for an unknown agent");
    store.put(&context(key(&app, "u1", "helper"), &[("k", "v")], None)).await.unwrap();

    assert!(store.delete_agent(&app, "helper").await.unwrap());
    assert!(!store.delete_agent(&app, "helper").await.unwrap());
    assert_eq!(store.find_messenger_channel(&app, &channel.channel_url).await.unwrap(), None);
    assert_eq!(store.find(&key(&app, "u1", "helper")).await.unwrap(), None);
    let listed = store.list_agents(&app, None, 10).await.unwrap();
    assert!(listed.is_empty());
}

async fn concurrent_opens_of_one_channel_converge(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = AppId::generate();
    let agent = context_service::domain::Agent {
        app_id: app.clone(),
        agent_id: "bot".into(),
        spec: AgentSpec::default(),
        created_at: 1,
    };
    store.create_agent(&agent).await.unwrap();
    let opens = (0..10).map(|i| {
        let (store, app) = (store.clone(), app.clone());
        tokio::spawn(async move { store.open_channel(&key(&app, "u1", "bot"), &ContextPatch::default(), i).await })
    });
    let mut urls = Vec::new();
    let mut created = 0;
    for open in opens {
        let (channel, was_created, _) = open.await.unwrap().expect("opened");
        urls.push(channel.channel_url);
        created += usize::from(was_created);
    }
    urls.dedup();
    assert_eq!((urls.len(), created), (1, 1));
}
