//! The `UserStore` contract for Sunshine's user facts, on both backends: sign-up instant,
//! retention flag, authentication by JWT login, channel identities and their upsert, and
//! "delete personal information".

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use test_support::Backend;
use user_registry::{
    app::{Extras, StoreError, UserStore},
    domain::{
        AppId, DiscoveryKey, ExternalId, Identity, Lookup, MetaValue, Metadata, NewUser, Nickname, Origin, Profile,
        ProfileImage, ProfileUrl, SensitiveFields, User, UserFilter, UserPatch,
    },
};

use crate::helpers::{app, new_user, store, store_and_connection, test_sealer, user};

test_support::contract!(
    sunshine_fields_round_trip_and_patches_set_and_clear_them,
    identities_are_unique_per_application_and_free_again_after_a_delete,
    mark_authenticated_holds_on_create_and_on_an_existing_user,
    concurrent_logins_of_one_new_external_id_create_one_authenticated_user,
    deleting_personal_information_clears_exactly_what_it_should,
    concurrent_channel_upserts_of_one_identity_create_exactly_one_user,
    a_channel_upsert_finds_the_holder_and_leaves_it_unchanged,
);

fn identity(channel_type: &str, value: &str) -> Identity {
    Identity::parse(channel_type.into(), value.into()).unwrap()
}

fn by_id(user: &User) -> Lookup {
    Lookup::Id(user.id.clone())
}

/// A user created with an external id, not by a login.
fn external(app: &AppId, external_id: &str, now: i64) -> User {
    let new = NewUser {
        user_id: None,
        external_id: Some(ExternalId::parse(external_id.into()).unwrap()),
        ..new_user("ignored")
    };
    User::new(app.clone(), new, now).0
}

/// A candidate as `UpsertUserFromChannel` builds it.
fn from_channel(app: &AppId, held: &Identity, given_name: &str, now: i64) -> User {
    let profile = Profile::parse(Some(given_name.into()), None, None, None).unwrap();
    let new = NewUser {
        user_id: None,
        nickname: Nickname::default(),
        profile,
        origin: Origin::Channel,
        identities: vec![held.clone()],
        ..new_user("ignored")
    };
    User::new(app.clone(), new, now).0
}

/// Rows of `table` belonging to the user.
async fn rows(conn: &DatabaseConnection, table: &str, user: &User) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE user_pk = '{}'", user.id.as_str());
    let row = conn.query_one(Statement::from_string(conn.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn sunshine_fields_round_trip_and_patches_set_and_clear_them(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    let mut maria = user(&app, "maria");
    maria.signed_up_at = Some(1_600_000_000_123);
    maria.to_be_retained = true;
    maria.identities =
        Identity::parse_all(vec![("whatsapp".into(), "+15550100".into()), ("line".into(), "U1".into())]).unwrap();
    store.create(&maria, &Extras::NONE).await.unwrap();
    let found = store.find(&app, &by_id(&maria)).await.unwrap().unwrap();
    assert_eq!(found, maria, "every field round-trips");
    assert!(!found.authenticated);
    assert_eq!(found.identities, [identity("line", "U1"), identity("whatsapp", "+15550100")]);

    // A patch naming neither leaves both alone.
    let nickname = UserPatch { nickname: Some(Nickname::parse("M".into()).unwrap()), ..UserPatch::default() };
    let updated = store.update(&app, &by_id(&maria), &nickname, 2).await.unwrap();
    assert_eq!((updated.signed_up_at, updated.to_be_retained), (Some(1_600_000_000_123), true));

    let set = UserPatch { signed_up_at: Some(Some(-86_400_000)), to_be_retained: Some(false), ..UserPatch::default() };
    let updated = store.update(&app, &by_id(&maria), &set, 3).await.unwrap();
    assert_eq!((updated.signed_up_at, updated.to_be_retained), (Some(-86_400_000), false));
    assert_eq!(updated.identities, maria.identities, "identities untouched by a patch");

    let clear = UserPatch { signed_up_at: Some(None), ..UserPatch::default() };
    let updated = store.update(&app, &by_id(&maria), &clear, 4).await.unwrap();
    assert_eq!((updated.signed_up_at, updated.to_be_retained), (None, false));
    assert_eq!(store.find(&app, &by_id(&maria)).await.unwrap(), Some(updated.clone()));
    let listed = store.list(&app, None, 10, &UserFilter::default()).await.unwrap();
    assert_eq!(listed, [updated], "lists carry the same fields");
}

async fn identities_are_unique_per_application_and_free_again_after_a_delete(backend: Backend) {
    let (store, conn, _db) = store_and_connection(backend, test_sealer()).await;
    let (a, b) = (app(), app());
    // 1024 characters of 4-byte UTF-8: longer than a PostgreSQL index entry may be.
    let long: String = (0..1024u32).map(|i| char::from_u32(0x1F300 + (i * 7919) % 0x2FF).unwrap()).collect();
    let mut first = user(&a, "first");
    first.identities =
        Identity::parse_all(vec![("sms".into(), "+15550100".into()), ("web".into(), long.clone())]).unwrap();
    store.create(&first, &Extras::NONE).await.unwrap();

    for taken in [identity("sms", "+15550100"), identity("web", &long)] {
        let mut second = user(&a, "second");
        second.identities = vec![identity("messenger", "psid-1"), taken.clone()];
        let err = store.create(&second, &Extras::NONE).await.unwrap_err();
        assert!(matches!(err, StoreError::IdentityTaken), "{taken:?}: {err:?}");
        assert!(store.find(&a, &by_id(&second)).await.unwrap().is_none(), "nothing half-written");
    }
    // The same value on another channel, or differing in case, is another identity.
    let mut second = user(&a, "second");
    second.identities = vec![identity("whatsapp", "+15550100"), identity("line", "abc")];
    store.create(&second, &Extras::NONE).await.unwrap();
    let mut third = user(&a, "third");
    third.identities = vec![identity("line", "ABC")];
    store.create(&third, &Extras::NONE).await.unwrap();
    // Another application may hold the same identities.
    let mut elsewhere = user(&b, "first");
    elsewhere.identities = first.identities.clone();
    store.create(&elsewhere, &Extras::NONE).await.unwrap();
    assert_eq!(store.find(&b, &by_id(&elsewhere)).await.unwrap().unwrap().identities, first.identities);
    assert!(store.find(&b, &by_id(&first)).await.unwrap().is_none());

    // Deleting the holder deletes its identities, which are free again.
    assert_eq!(rows(&conn, "user_identities", &first).await, 2);
    assert!(store.delete(&a, &first.id).await.unwrap());
    assert_eq!(rows(&conn, "user_identities", &first).await, 0);
    let mut heir = user(&a, "heir");
    heir.identities = first.identities.clone();
    store.create(&heir, &Extras::NONE).await.unwrap();
    assert_eq!(rows(&conn, "user_identities", &elsewhere).await, 2, "the other application's rows stay");
}

async fn mark_authenticated_holds_on_create_and_on_an_existing_user(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    let (created, was_new) =
        store.upsert_by_external_id(&external(&app, "Login-1", 10), &Extras::NONE, true).await.unwrap();
    assert!(was_new && created.authenticated);
    assert_eq!(store.find(&app, &by_id(&created)).await.unwrap().unwrap(), created);

    // Existing and not authenticated: an upsert without the mark leaves it so; with it, sets it.
    let plain = external(&app, "Crm-2", 20);
    store.create(&plain, &Extras::NONE).await.unwrap();
    let (found, was_new) =
        store.upsert_by_external_id(&external(&app, "CRM-2", 30), &Extras::NONE, false).await.unwrap();
    assert_eq!(
        (found.id.clone(), was_new, found.authenticated, found.updated_at),
        (plain.id.clone(), false, false, 20)
    );
    let (found, was_new) =
        store.upsert_by_external_id(&external(&app, "crm-2", 40), &Extras::NONE, true).await.unwrap();
    assert_eq!((found.id.clone(), was_new, found.authenticated, found.updated_at), (plain.id.clone(), false, true, 40));
    // Never cleared by a later upsert without the mark, and an unchanged user keeps its instant.
    let (found, _) = store.upsert_by_external_id(&external(&app, "Crm-2", 50), &Extras::NONE, false).await.unwrap();
    assert_eq!((found.authenticated, found.updated_at), (true, 40));
    let (found, _) = store.upsert_by_external_id(&external(&app, "Crm-2", 60), &Extras::NONE, true).await.unwrap();
    assert_eq!((found.authenticated, found.updated_at), (true, 40));
    // A patch leaves it too.
    let patch = UserPatch { to_be_retained: Some(true), ..UserPatch::default() };
    assert!(store.update(&app, &by_id(&plain), &patch, 70).await.unwrap().authenticated);
}

async fn concurrent_logins_of_one_new_external_id_create_one_authenticated_user(backend: Backend) {
    let (store, _db) = store(backend).await;
    let app = app();
    let logins = (0..100).map(|i| {
        let (store, candidate) = (store.clone(), external(&app, if i % 2 == 0 { "Jwt-7" } else { "JWT-7" }, i));
        tokio::spawn(async move { store.upsert_by_external_id(&candidate, &Extras::NONE, true).await })
    });
    let mut answers = Vec::new();
    for login in logins {
        answers.push(login.await.unwrap().expect("logged in"));
    }
    let created = answers.iter().filter(|(_, created)| *created).count();
    assert_eq!(created, 1);
    let first = &answers[0].0;
    for (user, _) in &answers {
        assert_eq!(user.id, first.id, "every login answers the same user");
        assert!(user.authenticated);
    }
    let all = store.list(&app, None, 100, &UserFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert!(all[0].authenticated);
}

async fn deleting_personal_information_clears_exactly_what_it_should(backend: Backend) {
    let (store, conn, _db) = store_and_connection(backend, test_sealer()).await;
    let app = app();
    let png = ProfileImage::parse(include_bytes!("../../../../tests/fixtures/images/face.png").to_vec()).unwrap();
    let new = NewUser {
        external_id: Some(ExternalId::parse("Crm-99".into()).unwrap()),
        nickname: Nickname::parse("M. Santos".into()).unwrap(),
        profile: Profile::parse(
            Some("Maria".into()),
            Some("Santos".into()),
            Some("maria@example.com".into()),
            Some("pt-BR".into()),
        )
        .unwrap(),
        metadata: Metadata::parse(BTreeMap::from([("tier".to_owned(), MetaValue::String("gold".into()))])).unwrap(),
        discovery_keys: DiscoveryKey::parse_all(vec!["+15550100".into()]).unwrap(),
        preferred_languages: vec!["pt-BR".into()],
        profile_image: Some(png),
        signed_up_at: Some(1_500_000_000_000),
        to_be_retained: true,
        identities: vec![identity("whatsapp", "+15550100")],
        ..new_user("maria")
    };
    let (maria, image, _) = User::new(app.clone(), new, 100);
    let secret = SensitiveFields::parse(BTreeMap::from([("token".to_owned(), "s3cr3t".to_owned())])).unwrap();
    store.create(&maria, &Extras { image: image.as_ref(), sensitive: &secret }).await.unwrap();
    // Authenticated by a login, associated and seen: facts about the record, not the person.
    store.upsert_by_external_id(&external(&app, "crm-99", 110), &Extras::NONE, true).await.unwrap();
    store.mark_associated(&app, &by_id(&maria), 120).await.unwrap();
    let seen = UserPatch { last_seen_at: Some(130), is_active: Some(false), ..UserPatch::default() };
    let before = store.update(&app, &by_id(&maria), &seen, 130).await.unwrap();
    assert!(before.profile_url.as_str().starts_with("/profile_images/"));
    // A bystander whose personal information stays.
    let mut bystander = user(&app, "bystander");
    bystander.metadata = Metadata::parse(BTreeMap::from([("k".to_owned(), MetaValue::Int(1))])).unwrap();
    bystander.identities = vec![identity("sms", "+15550199")];
    store.create(&bystander, &Extras { image: None, sensitive: &secret }).await.unwrap();

    let lookup = Lookup::ExternalId(ExternalId::parse("CRM-99".into()).unwrap());
    let after = store.delete_personal_information(&app, &lookup, 200).await.unwrap();
    let expected = User {
        nickname: Nickname::default(),
        profile_url: ProfileUrl::default(),
        profile: Profile::default(),
        metadata: Metadata::default(),
        discovery_keys: Vec::new(),
        identities: Vec::new(),
        signed_up_at: None,
        updated_at: 200,
        ..before.clone()
    };
    assert_eq!(after, expected, "cleared exactly: profile, nickname, URL, metadata, keys, identities, sign-up");
    assert_eq!(
        (after.id.clone(), after.user_id.as_str(), after.external_id.clone()),
        (maria.id.clone(), "maria", maria.external_id.clone())
    );
    assert!(after.authenticated && after.to_be_retained && !after.is_active);
    assert_eq!((after.last_seen_at, after.associated_at, after.origin), (Some(130), Some(120), Origin::Api));
    assert_eq!(after.preferred_languages, ["pt-BR"]);
    assert_eq!(store.find(&app, &by_id(&maria)).await.unwrap(), Some(after));

    assert!(store.find_sensitive(&app, &by_id(&maria)).await.unwrap().is_empty());
    assert_eq!(store.find_profile_image(&app, &maria.id).await.unwrap(), None);
    for table in
        ["user_metadata", "user_discovery_keys", "user_identities", "user_sensitive_metadata", "profile_images"]
    {
        assert_eq!(rows(&conn, table, &maria).await, 0, "{table}");
    }
    // The bystander keeps everything.
    assert_eq!(store.find(&app, &by_id(&bystander)).await.unwrap(), Some(bystander.clone()));
    assert_eq!(store.find_sensitive(&app, &by_id(&bystander)).await.unwrap(), secret);
    // What was cleared is free for others; unknown users and other applications find nothing.
    let mut heir = user(&app, "heir");
    heir.identities = vec![identity("whatsapp", "+15550100")];
    heir.discovery_keys = DiscoveryKey::parse_all(vec!["+15550100".into()]).unwrap();
    store.create(&heir, &Extras::NONE).await.unwrap();
    let err = store.delete_personal_information(&crate::helpers::app(), &by_id(&maria), 300).await.unwrap_err();
    assert!(matches!(err, StoreError::UserNotFound), "{err:?}");
}

async fn concurrent_channel_upserts_of_one_identity_create_exactly_one_user(backend: Backend) {
    let (store, conn, _db) = store_and_connection(backend, test_sealer()).await;
    let app = app();
    let held = identity("whatsapp", "+15550142");
    let upserts = (0..100).map(|i| {
        let (store, candidate, held) =
            (store.clone(), from_channel(&app, &held, &format!("Caller{i}"), i), held.clone());
        tokio::spawn(async move { (candidate.id.clone(), store.upsert_by_identity(&candidate, &held).await) })
    });
    let mut answers = Vec::new();
    for upsert in upserts {
        let (candidate, answer) = upsert.await.unwrap();
        answers.push((candidate, answer.expect("upserted")));
    }
    let winners: Vec<_> = answers.iter().filter(|(_, (_, created))| *created).collect();
    assert_eq!(winners.len(), 1, "created exactly once");
    let (winner_candidate, (winner, _)) = winners[0];
    assert_eq!(&winner.id, winner_candidate, "the creator answers its own candidate");
    for (_, (user, _)) in &answers {
        assert_eq!(user, winner, "every call answers the same user");
    }
    assert_eq!(winner.identities, std::slice::from_ref(&held));
    assert_eq!(winner.origin, Origin::Channel);
    assert!(winner.profile.given_name.as_deref().is_some_and(|n| n.starts_with("Caller")));
    // Losers' candidates were rolled back: one user, one identity row, one "user.created".
    assert_eq!(store.list(&app, None, 100, &UserFilter::default()).await.unwrap().len(), 1);
    let count = |sql: &str| {
        let conn = conn.clone();
        let sql = sql.to_owned();
        async move {
            let row = conn.query_one(Statement::from_string(conn.get_database_backend(), sql)).await.unwrap().unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM user_identities").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM outbox WHERE kind = 'user.created'").await, 1);
}

async fn a_channel_upsert_finds_the_holder_and_leaves_it_unchanged(backend: Backend) {
    let (store, _db) = store(backend).await;
    let (a, b) = (app(), app());
    let held = identity("messenger", "psid-42");
    let mut holder = user(&a, "holder");
    holder.identities = vec![identity("line", "U9"), held.clone()];
    store.create(&holder, &Extras::NONE).await.unwrap();

    let (found, created) = store.upsert_by_identity(&from_channel(&a, &held, "Other", 5), &held).await.unwrap();
    assert!(!created);
    assert_eq!(found, holder, "found as it was: the channel's profile is not applied");
    // Only an exact value matches.
    let upper = identity("messenger", "PSID-42");
    let (other, created) = store.upsert_by_identity(&from_channel(&a, &upper, "Upper", 6), &upper).await.unwrap();
    assert!(created && other.id != holder.id);
    // Another application gets its own user.
    let (theirs, created) = store.upsert_by_identity(&from_channel(&b, &held, "Theirs", 7), &held).await.unwrap();
    assert!(created && theirs.id != holder.id && theirs.app_id == b);
    assert_eq!(store.find(&b, &by_id(&theirs)).await.unwrap(), Some(theirs.clone()));
    assert_eq!(store.upsert_by_identity(&from_channel(&b, &held, "Again", 8), &held).await.unwrap(), (theirs, false));
}
