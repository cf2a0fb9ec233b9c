//! The `UserStore` contract for updates, deletes, lists and metadata, on both backends.

use std::collections::BTreeMap;

use test_support::Backend;
use user_registry::{
    app::{Extras, StoreError},
    domain::{
        DiscoveryKey, ExternalId, Lookup, MetaValue, Metadata, MetadataWrite, Nickname, RosterId, SensitiveFields,
        UserFilter, UserId, UserPatch,
    },
};

use crate::helpers::{app, store, user};

test_support::contract!(
    profiles_round_trip_and_are_replaced_whole,
    concurrent_upserts_of_one_external_id_create_exactly_one_user,
    profile_images_are_stored_with_the_user_and_replaced_by_urls,
    update_changes_only_what_the_patch_names,
    discovery_keys_are_unique_per_application,
    delete_removes_the_user_with_its_metadata_and_keys,
    pages_visit_every_user_once_while_others_are_inserted_and_deleted,
    filters_narrow_the_list,
    metadata_modes_hold,
    concurrent_metadata_writes_of_different_keys_all_land,
    metadata_limits_hold_for_the_merged_map,
);

fn meta(entries: &[(&str, &str)]) -> Metadata {
    Metadata::parse(entries.iter().map(|(k, v)| (k.to_string(), MetaValue::String(v.to_string()))).collect()).unwrap()
}

fn uid(s: &str) -> Lookup {
    Lookup::UserId(UserId::parse(s.into()).unwrap())
}

fn keys(values: &[&str]) -> Vec<DiscoveryKey> {
    DiscoveryKey::parse_all(values.iter().map(|v| v.to_string()).collect()).unwrap()
}

async fn update_changes_only_what_the_patch_names(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    let mut alice = user(&app, "alice");
    alice.metadata = meta(&[("tier", "gold")]);
    store.create(&alice, &Extras::NONE).await.unwrap();

    let patch = UserPatch {
        nickname: Some(Nickname::parse("Alice B".into()).unwrap()),
        is_active: Some(false),
        preferred_languages: Some(vec!["ko-KR".into(), "en".into()]),
        discovery_keys: Some(keys(&["+15550100"])),
        last_seen_at: Some(1_700_000_000_000),
        external_id: Some(Some(ExternalId::parse("Crm-9".into()).unwrap())),
        ..UserPatch::default()
    };
    let updated = store.update(&app, &uid("alice"), &patch, alice.created_at + 5).await.unwrap();
    assert_eq!(updated.nickname.as_str(), "Alice B");
    assert!(!updated.is_active);
    assert_eq!(updated.preferred_languages, ["ko-KR", "en"]);
    assert_eq!(updated.discovery_keys, keys(&["+15550100"]));
    assert_eq!(updated.last_seen_at, Some(1_700_000_000_000));
    assert_eq!(updated.external_id.as_ref().map(ExternalId::as_str), Some("Crm-9"));
    assert_eq!(updated.updated_at, alice.created_at + 5);
    // Untouched fields survive.
    assert_eq!(updated.profile_url, alice.profile_url);
    assert_eq!(updated.metadata, alice.metadata);
    assert_eq!(store.find(&app, &uid("alice")).await.unwrap(), Some(updated));

    let cleared = UserPatch { external_id: Some(None), discovery_keys: Some(vec![]), ..UserPatch::default() };
    let updated = store.update(&app, &uid("alice"), &cleared, 1).await.unwrap();
    assert_eq!(updated.external_id, None);
    assert!(updated.discovery_keys.is_empty());

    let missing = store.update(&app, &uid("nobody"), &UserPatch::default(), 1).await.unwrap_err();
    assert!(matches!(missing, StoreError::UserNotFound), "{missing:?}");
}

async fn discovery_keys_are_unique_per_application(backend: Backend) {
    let (store, _db) = store(backend).await;
    let (a, b) = (app(), app());
    let mut first = user(&a, "first");
    first.discovery_keys = keys(&["k1", "k2"]);
    store.create(&first, &Extras::NONE).await.unwrap();
    let mut second = user(&a, "second");
    second.discovery_keys = keys(&["k2"]);
    let err = store.create(&second, &Extras::NONE).await.unwrap_err();
    assert!(matches!(err, StoreError::DiscoveryKeyTaken), "{err:?}");
    assert!(store.find(&a, &uid("second")).await.unwrap().is_none(), "nothing half-written");
    // Through an update too, and the failed update changes nothing.
    store.create(&user(&a, "third"), &Extras::NONE).await.unwrap();
    let patch = UserPatch {
        nickname: Some(Nickname::parse("changed".into()).unwrap()),
        discovery_keys: Some(keys(&["k1"])),
        ..UserPatch::default()
    };
    let err = store.update(&a, &uid("third"), &patch, 1).await.unwrap_err();
    assert!(matches!(err, StoreError::DiscoveryKeyTaken), "{err:?}");
    assert_eq!(store.find(&a, &uid("third")).await.unwrap().unwrap().nickname.as_str(), "Nick");
    // Another application may use the same key.
    let mut other = user(&b, "first");
    other.discovery_keys = keys(&["k1"]);
    store.create(&other, &Extras::NONE).await.unwrap();
}

async fn delete_removes_the_user_with_its_metadata_and_keys(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    let mut gone = user(&app, "gone");
    gone.metadata = meta(&[("k", "v")]);
    gone.discovery_keys = keys(&["dk"]);
    store.create(&gone, &Extras::NONE).await.unwrap();
    assert!(store.delete(&app, &gone.id).await.unwrap());
    assert!(!store.delete(&app, &gone.id).await.unwrap(), "already gone");
    assert!(store.find(&app, &Lookup::Id(gone.id.clone())).await.unwrap().is_none());
    // Its key is free again, and the same user_id can be created afresh without old metadata.
    let mut again = user(&app, "gone");
    again.discovery_keys = keys(&["dk"]);
    store.create(&again, &Extras::NONE).await.unwrap();
    assert!(store.find(&app, &uid("gone")).await.unwrap().unwrap().metadata.entries().is_empty());
}

async fn pages_visit_every_user_once_while_others_are_inserted_and_deleted(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    let mut ids: Vec<RosterId> = Vec::new();
    for i in 0..25 {
        let u = user(&app, &format!("u{i:02}"));
        ids.push(u.id.clone());
        store.create(&u, &Extras::NONE).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<RosterId> = None;
    let mut round = 0;
    loop {
        let page = store.list(&app, after.as_ref(), 7, &UserFilter::default()).await.unwrap();
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().map(|u| u.id.clone()));
        after = page.last().map(|u| u.id.clone());
        // Between pages: delete a user not yet seen and insert one.
        round += 1;
        let victim = ids.iter().rev().find(|id| !seen.contains(id)).cloned();
        if let Some(victim) = victim {
            store.delete(&app, &victim).await.unwrap();
            ids.retain(|id| *id != victim);
        }
        let newcomer = user(&app, &format!("new{round}"));
        ids.push(newcomer.id.clone());
        store.create(&newcomer, &Extras::NONE).await.unwrap();
    }
    let mut unique = seen.clone();
    unique.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no user twice");
    // Every user that existed throughout was visited.
    for id in ids.iter().take(10) {
        assert!(seen.contains(id), "{id:?} missed");
    }
}

async fn filters_narrow_the_list(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    for (id, nickname, active, tier) in
        [("a", "Alice", true, "gold"), ("b", "alison", true, "silver"), ("c", "Bob", false, "gold")]
    {
        let mut u = user(&app, id);
        u.nickname = Nickname::parse(nickname.into()).unwrap();
        u.is_active = active;
        u.metadata = meta(&[("tier", tier)]);
        u.profile.email = Some(format!("{}@Example.com", nickname.to_uppercase()));
        store.create(&u, &Extras::NONE).await.unwrap();
    }
    let names = |users: Vec<user_registry::domain::User>| -> Vec<String> {
        let mut v: Vec<String> = users.into_iter().map(|u| u.user_id.as_str().to_owned()).collect();
        v.sort();
        v
    };
    let list = |filter: UserFilter| {
        let store = store.clone();
        let app = app.clone();
        async move { names(store.list(&app, None, 100, &filter).await.unwrap()) }
    };
    assert_eq!(list(UserFilter { is_active: Some(false), ..Default::default() }).await, ["c"]);
    let ids = vec![UserId::parse("a".into()).unwrap(), UserId::parse("c".into()).unwrap()];
    assert_eq!(list(UserFilter { user_ids: ids, ..Default::default() }).await, ["a", "c"]);
    assert_eq!(list(UserFilter { nickname: Some("Bob".into()), ..Default::default() }).await, ["c"]);
    // Prefixes are case-sensitive on both backends.
    assert_eq!(list(UserFilter { nickname_prefix: Some("Ali".into()), ..Default::default() }).await, ["a"]);
    let gold = UserFilter { metadata: Some(("tier".into(), vec!["gold".into()])), ..Default::default() };
    assert_eq!(list(gold).await, ["a", "c"]);
    let none = UserFilter { metadata: Some(("tier".into(), vec!["bronze".into()])), ..Default::default() };
    assert!(list(none).await.is_empty());
    let api = UserFilter { origin: Some(user_registry::domain::Origin::Api), ..Default::default() };
    assert_eq!(list(api).await, ["a", "b", "c"]);
    let bulk = UserFilter { origin: Some(user_registry::domain::Origin::Bulk), ..Default::default() };
    assert!(list(bulk).await.is_empty(), "by origin");
    let by_email = UserFilter { email: Some("bob@example.com".into()), ..Default::default() };
    assert_eq!(list(by_email).await, ["c"], "profile email, ASCII case ignored");
    // Another application's filter sees nothing.
    assert!(store.list(&crate::helpers::app(), None, 100, &UserFilter::default()).await.unwrap().is_empty());
}

async fn metadata_modes_hold(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    store.create(&user(&app, "m"), &Extras::NONE).await.unwrap();
    let who = uid("m");
    let all = store.write_metadata(&app, &who, &meta(&[("a", "1")]), MetadataWrite::Create, 1).await.unwrap();
    assert_eq!(all, meta(&[("a", "1")]));
    let err = store.write_metadata(&app, &who, &meta(&[("a", "2"), ("b", "2")]), MetadataWrite::Create, 2).await;
    assert!(matches!(err, Err(StoreError::MetadataKeyExists(k)) if k == "a"));
    let err = store.write_metadata(&app, &who, &meta(&[("z", "1")]), MetadataWrite::Update, 3).await;
    assert!(matches!(err, Err(StoreError::MetadataKeyNotFound(k)) if k == "z"));
    let all = store.write_metadata(&app, &who, &meta(&[("a", "3")]), MetadataWrite::Update, 4).await.unwrap();
    assert_eq!(all, meta(&[("a", "3")]));
    let all = store.write_metadata(&app, &who, &meta(&[("b", "4")]), MetadataWrite::Upsert, 5).await.unwrap();
    assert_eq!(all, meta(&[("a", "3"), ("b", "4")]));
    let all = store.write_metadata(&app, &who, &meta(&[("c", "5")]), MetadataWrite::Replace, 6).await.unwrap();
    assert_eq!(all, meta(&[("c", "5")]));
    assert_eq!(store.find(&app, &who).await.unwrap().unwrap().metadata, all);

    let err = store.delete_metadata(&app, &who, Some(&["nope".to_owned()]), 7).await;
    assert!(matches!(err, Err(StoreError::MetadataKeyNotFound(_))));
    store.delete_metadata(&app, &who, Some(&["c".to_owned()]), 8).await.unwrap();
    store.write_metadata(&app, &who, &meta(&[("x", "1"), ("y", "2")]), MetadataWrite::Upsert, 9).await.unwrap();
    store.delete_metadata(&app, &who, None, 10).await.unwrap();
    assert!(store.find(&app, &who).await.unwrap().unwrap().metadata.entries().is_empty());
    let err = store.write_metadata(&app, &uid("ghost"), &meta(&[("a", "1")]), MetadataWrite::Upsert, 11).await;
    assert!(matches!(err, Err(StoreError::UserNotFound)));
}

async fn concurrent_metadata_writes_of_different_keys_all_land(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    store.create(&user(&app, "busy"), &Extras::NONE).await.unwrap();
    let writes = (0..16).map(|i| {
        let (store, app) = (store.clone(), app.clone());
        tokio::spawn(async move {
            let entry = meta(&[(&format!("k{i}"), "v")]);
            store.write_metadata(&app, &uid("busy"), &entry, MetadataWrite::Upsert, i).await
        })
    });
    for write in writes {
        write.await.unwrap().expect("write lands");
    }
    let stored = store.find(&app, &uid("busy")).await.unwrap().unwrap().metadata;
    assert_eq!(stored.entries().len(), 16);
}

async fn metadata_limits_hold_for_the_merged_map(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    store.create(&user(&app, "full"), &Extras::NONE).await.unwrap();
    let half: BTreeMap<String, MetaValue> = (0..60).map(|i| (format!("k{i}"), MetaValue::String("v".into()))).collect();
    let first = Metadata::parse(half).unwrap();
    store.write_metadata(&app, &uid("full"), &first, MetadataWrite::Upsert, 1).await.unwrap();
    let more: BTreeMap<String, MetaValue> =
        (60..120).map(|i| (format!("k{i}"), MetaValue::String("v".into()))).collect();
    let second = Metadata::parse(more).unwrap();
    let err = store.write_metadata(&app, &uid("full"), &second, MetadataWrite::Upsert, 2).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(store.find(&app, &uid("full")).await.unwrap().unwrap().metadata, first, "nothing written");
}

async fn profile_images_are_stored_with_the_user_and_replaced_by_urls(backend: Backend) {
    use user_registry::domain::{NewUser, ProfileImage, ProfileUrl, User};
    let (store, _db) = store(backend).await;
    let app = app();
    let png = ProfileImage::parse(include_bytes!("../../../../tests/fixtures/images/face.png").to_vec()).unwrap();
    let new = NewUser { profile_image: Some(png.clone()), ..crate::helpers::new_user("pic") };
    let (user, image, _) = User::new(app.clone(), new, 1);
    store.create(&user, &Extras { image: image.as_ref(), sensitive: &SensitiveFields::EMPTY }).await.unwrap();
    let expected = format!("/profile_images/{}/{}/{}.png", app.as_str(), user.id.as_str(), png.digest);
    assert_eq!(user.profile_url.as_str(), expected);
    assert_eq!(store.find_profile_image(&app, &user.id).await.unwrap(), Some(png));
    assert_eq!(
        store.find_profile_image(&crate::helpers::app(), &user.id).await.unwrap(),
        None,
        "other apps see nothing"
    );

    let jpeg = ProfileImage::parse(include_bytes!("../../../../tests/fixtures/images/face.jpg").to_vec()).unwrap();
    let patch = UserPatch { profile_image: Some(jpeg.clone()), ..UserPatch::default() };
    let updated = store.update(&app, &uid("pic"), &patch, 2).await.unwrap();
    assert!(updated.profile_url.as_str().ends_with(&format!("{}.jpg", jpeg.digest)));
    assert_eq!(store.find_profile_image(&app, &user.id).await.unwrap(), Some(jpeg));

    let by_url =
        UserPatch { profile_url: Some(ProfileUrl::parse("https://cdn/x.png".into()).unwrap()), ..UserPatch::default() };
    store.update(&app, &uid("pic"), &by_url, 3).await.unwrap();
    assert_eq!(store.find_profile_image(&app, &user.id).await.unwrap(), None, "a URL replaces the upload");
}

async fn profiles_round_trip_and_are_replaced_whole(backend: Backend) {
    use user_registry::domain::Profile;
    let (store, _db) = store(backend).await;
    let app = app();
    let mut maria = user(&app, "maria");
    maria.profile = Profile::parse(
        Some("Maria".into()),
        Some("Santos".into()),
        Some("maria@example.com".into()),
        Some("pt-BR".into()),
    )
    .unwrap();
    store.create(&maria, &Extras::NONE).await.unwrap();
    assert_eq!(store.find(&app, &uid("maria")).await.unwrap().unwrap().profile, maria.profile);
    let replacement = Profile::parse(None, Some("S.".into()), None, None).unwrap();
    let patch = UserPatch { profile: Some(replacement.clone()), ..UserPatch::default() };
    assert_eq!(store.update(&app, &uid("maria"), &patch, 2).await.unwrap().profile, replacement);
}

async fn concurrent_upserts_of_one_external_id_create_exactly_one_user(backend: Backend) {
    use user_registry::domain::{NewUser, User};
    let (store, _db) = store(backend).await;
    let app = app();
    let upserts = (0..100).map(|i| {
        let (store, app) = (store.clone(), app.clone());
        // Mixed letter case: one identity.
        let external = if i % 2 == 0 { "Crm-7" } else { "CRM-7" };
        let new = NewUser {
            user_id: None,
            external_id: Some(ExternalId::parse(external.into()).unwrap()),
            ..crate::helpers::new_user("ignored")
        };
        tokio::spawn(async move {
            let (candidate, _, _) = User::new(app, new, i);
            store.upsert_by_external_id(&candidate, &Extras::NONE, false).await
        })
    });
    let mut ids = Vec::new();
    let mut created = 0;
    for upsert in upserts {
        let (user, was_created) = upsert.await.unwrap().expect("upserted");
        ids.push(user.id);
        created += usize::from(was_created);
    }
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    ids.dedup();
    assert_eq!((ids.len(), created), (1, 1), "one user, created once");
    let all = store.list(&app, None, 100, &UserFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1);
}
