//! Kore.ai members and BatchCreateUsers over the registry's gRPC API, on SQLite and PostgreSQL:
//! every member attribute stored and shown, validation naming the field, duplicates inside a
//! request and against stored members, the 1,000-user cap, concurrent batches, outbox events.

use platform::{ApiError, ErrorCode};
use proto::registry::v1 as pb;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use test_support::Backend;
use tonic::Code;

use crate::helpers::{TestRegistry, spawn_registry_on};

test_support::contract!(
    a_batch_creates_the_valid_users_and_refuses_the_invalid_ones,
    duplicates_in_a_request_and_against_stored_users_fail_by_field,
    more_than_1000_users_are_refused_whole,
    concurrent_batches_naming_one_email_create_one_member,
);

/// A Kore member as the gateway sends it: names and email in the profile, the rest in `member`.
pub fn kore(email: &str) -> pb::NewUser {
    pb::NewUser {
        origin: pb::Origin::Bulk.into(),
        profile: Some(pb::Profile {
            given_name: Some("Given".into()),
            surname: Some("Surname".into()),
            email: Some(email.into()),
            ..Default::default()
        }),
        member: Some(pb::Member {
            email_id: Some(email.into()),
            can_create_bot: true,
            is_developer: true,
            activation: pb::ActivationState::Active.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn with_member(mut user: pb::NewUser, edit: impl FnOnce(&mut pb::Member)) -> pb::NewUser {
    edit(user.member.as_mut().expect("a member"));
    user
}

async fn batch(registry: &mut TestRegistry, app_id: &str, users: Vec<pb::NewUser>) -> Vec<pb::BatchItemResult> {
    let request = pb::BatchCreateUsersRequest { app_id: app_id.to_owned(), users };
    registry.client.batch_create_users(request).await.expect("batch answers").into_inner().results
}

/// The user created, or the error's code and field.
fn outcome(result: &pb::BatchItemResult) -> Result<&pb::User, (String, String)> {
    match result.result.as_ref().expect("a result") {
        pb::batch_item_result::Result::User(user) => Ok(user),
        pb::batch_item_result::Result::Error(e) => Err((e.code.clone(), e.field.clone())),
    }
}

fn refused(code: &str, field: &str) -> Result<&'static pb::User, (String, String)> {
    Err((code.to_owned(), field.to_owned()))
}

async fn list(registry: &mut TestRegistry, app_id: &str) -> Vec<pb::User> {
    let mut users = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListUsersRequest { app_id: app_id.into(), page_token, page_size: 100, filter: None };
        let page = registry.client.list_users(request).await.expect("list").into_inner();
        users.extend(page.users);
        if page.next_page_token.is_empty() {
            return users;
        }
        page_token = page.next_page_token;
    }
}

pub async fn count(conn: &DatabaseConnection, sql: &str) -> i64 {
    let row = conn.query_one(Statement::from_string(conn.get_database_backend(), sql.to_owned())).await.unwrap();
    row.expect("a row").try_get_by_index::<i64>(0).expect("a count")
}

async fn a_batch_creates_the_valid_users_and_refuses_the_invalid_ones(backend: Backend) {
    let mut registry = spawn_registry_on(backend).await;
    let app_id = registry.app().await;
    let maria = with_member(kore("Maria@Example.com"), |m| {
        m.org_user_id = Some("org-1".into());
        m.groups = vec!["sales".into(), "emea".into(), "sales".into()];
        m.roles = vec![
            pb::RoleBinding { role_id: "admin".into(), bot_id: Some("st-bot-1".into()) },
            pb::RoleBinding { role_id: "viewer".into(), bot_id: None },
        ];
        m.bot_tasks = vec![
            pb::BotTaskAssignment { stream_id: "st-bot-1".into(), dialogs: vec!["dg-1".into(), "dg-2".into()] },
            pb::BotTaskAssignment { stream_id: "st-bot-2".into(), dialogs: vec![] },
        ];
        m.can_create_bot = false;
        m.activation = pb::ActivationState::Pending.into();
    });
    let users = vec![
        maria.clone(),
        kore("not-an-email"),
        with_member(kore("x@example.com"), |m| m.email_id = None),
        with_member(kore("b@example.com"), |m| m.groups = (0..101).map(|i| i.to_string()).collect()),
        with_member(kore("c@example.com"), |m| m.roles = vec![pb::RoleBinding::default()]),
        with_member(kore("d@example.com"), |m| m.org_user_id = Some("o".repeat(257))),
        kore("plain@example.com"),
        with_member(kore("f@example.com"), |m| {
            let dialogs = (0..1001).map(|i| i.to_string()).collect();
            m.bot_tasks = vec![pb::BotTaskAssignment { stream_id: "st".into(), dialogs }];
        }),
        with_member(kore("g@example.com"), |m| m.groups = vec!["g".repeat(129)]),
        with_member(kore("h@example.com"), |m| m.activation = 9),
    ];
    let results = batch(&mut registry, &app_id, users).await;
    let indexes: Vec<u32> = results.iter().map(|r| r.index).collect();
    assert_eq!(indexes, (0..10).collect::<Vec<_>>(), "one result per user, in order");
    let expected = [
        None,
        Some(("invalid_argument", "email_id")),
        Some(("missing_field", "email_id")),
        Some(("invalid_argument", "groups")),
        Some(("missing_field", "roles.role_id")),
        Some(("value_too_long", "org_user_id")),
        None,
        Some(("invalid_argument", "bot_tasks.dialogs")),
        Some(("value_too_long", "groups")),
        Some(("invalid_argument", "activation")),
    ];
    for (result, expected) in results.iter().zip(expected) {
        match expected {
            Some((code, field)) => assert_eq!(outcome(result), refused(code, field), "user {}", result.index),
            None => assert!(outcome(result).is_ok(), "user {}: {result:?}", result.index),
        }
    }

    // Each valid user is stored with every attribute, as created and as read back.
    let created = outcome(&results[0]).unwrap().clone();
    let expected_member = pb::Member { groups: vec!["sales".into(), "emea".into()], ..maria.member.clone().unwrap() };
    assert_eq!(created.member.as_ref(), Some(&expected_member));
    assert_eq!((created.origin(), created.user_id.as_str()), (pb::Origin::Bulk, created.id.as_str()));
    let profile = created.profile.clone().unwrap();
    assert_eq!(
        (profile.given_name.as_deref(), profile.surname.as_deref(), profile.email.as_deref()),
        (Some("Given"), Some("Surname"), Some("Maria@Example.com"))
    );
    let get = pb::GetUserRequest {
        app_id: app_id.clone(),
        lookup: Some(pb::UserLookup { key: Some(pb::user_lookup::Key::Id(created.id.clone())) }),
    };
    assert_eq!(registry.client.get_user(get).await.unwrap().into_inner().user, Some(created.clone()));
    let plain = outcome(&results[6]).unwrap().clone();
    let plain_member = plain.member.clone().unwrap();
    assert_eq!(plain_member.activation(), pb::ActivationState::Active);
    assert!(plain_member.org_user_id.is_none() && plain_member.groups.is_empty() && plain_member.roles.is_empty());

    // The invalid ones are absent: the application holds exactly the two.
    let mut listed: Vec<String> = list(&mut registry, &app_id).await.into_iter().map(|u| u.id).collect();
    listed.sort();
    let mut ids = vec![created.id.clone(), plain.id.clone()];
    ids.sort();
    assert_eq!(listed, ids);
    let listed = list(&mut registry, &app_id).await;
    assert!(listed.contains(&created), "ListUsers shows the member");

    // One "user.created" per user; the pending member's activation request, ids only.
    let conn = registry.connection().await;
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM outbox WHERE kind = 'user.created'").await, 2);
    let activation = format!(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'member.activation_requested' AND subject_id = '{}' \
         AND payload NOT LIKE '%@%'",
        created.id
    );
    assert_eq!(count(&conn, &activation).await, 1);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM outbox WHERE kind = 'member.activation_requested'").await, 1);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM member_groups").await, 2, "sales and emea, once each");
}

async fn duplicates_in_a_request_and_against_stored_users_fail_by_field(backend: Backend) {
    let mut registry = spawn_registry_on(backend).await;
    let app_id = registry.app().await;
    let create = |user: pb::NewUser| pb::CreateUserRequest { app_id: app_id.clone(), user: Some(user) };
    let taken = with_member(kore("taken@example.com"), |m| m.org_user_id = Some("org-taken".into()));
    registry.client.create_user(create(taken)).await.expect("stored member");
    // A Sendbird user whose profile email a member then uses: not a member, so no conflict.
    let sendbird = pb::NewUser {
        user_id: Some("sb".into()),
        profile: Some(pb::Profile { email: Some("sendbird@example.com".into()), ..Default::default() }),
        discovery_keys: vec!["k1".into()],
        ..Default::default()
    };
    registry.client.create_user(create(sendbird)).await.expect("stored user");

    let results = batch(
        &mut registry,
        &app_id,
        vec![
            with_member(kore("New@Example.com"), |m| m.org_user_id = Some("org-a".into())),
            kore("new@example.COM"),
            with_member(kore("other@example.com"), |m| m.org_user_id = Some("org-a".into())),
            kore("TAKEN@example.com"),
            with_member(kore("fresh@example.com"), |m| m.org_user_id = Some("org-taken".into())),
            kore("sendbird@example.com"),
            pb::NewUser { user_id: Some("sb".into()), ..Default::default() },
            pb::NewUser { discovery_keys: vec!["k1".into()], ..Default::default() },
            pb::NewUser { discovery_keys: vec!["k2".into()], ..Default::default() },
            with_member(kore("org-b@example.com"), |m| m.org_user_id = Some("org-b".into())),
            pb::NewUser { discovery_keys: vec!["k2".into()], ..Default::default() },
        ],
    )
    .await;
    let outcomes: Vec<_> = results.iter().map(|r| outcome(r).map(|_| ())).collect();
    let err = |code: &str, field: &str| Err((code.to_owned(), field.to_owned()));
    assert_eq!(
        outcomes,
        [
            Ok(()),
            err("already_exists", "email_id"),
            err("already_exists", "org_user_id"),
            err("already_exists", "email_id"),
            err("already_exists", "org_user_id"),
            Ok(()),
            err("user_id_taken", "user_id"),
            err("already_exists", "discovery_keys"),
            Ok(()),
            Ok(()),
            err("already_exists", "discovery_keys"),
        ]
    );
    assert_eq!(list(&mut registry, &app_id).await.len(), 2 + 4, "the refused left nothing");
    let conn = registry.connection().await;
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM outbox WHERE kind = 'user.created'").await, 6);

    // CreateUser holds the same rules.
    for (user, field) in [
        (kore("NEW@example.com"), "email_id"),
        (with_member(kore("z@example.com"), |m| m.org_user_id = Some("org-b".into())), "org_user_id"),
    ] {
        let status = registry.client.create_user(create(user)).await.unwrap_err();
        assert_eq!(status.code(), Code::AlreadyExists);
        let error = ApiError::from_status(&status);
        assert_eq!((error.code, error.field.as_deref()), (ErrorCode::AlreadyExists, Some(field)));
    }
    // Another application may use the same email id.
    let other = registry.app().await;
    assert!(outcome(&batch(&mut registry, &other, vec![kore("taken@example.com")]).await[0]).is_ok());
}

async fn more_than_1000_users_are_refused_whole(backend: Backend) {
    let mut registry = spawn_registry_on(backend).await;
    let app_id = registry.app().await;
    let users = |n: usize| (0..n).map(|i| kore(&format!("user{i}@example.com"))).collect::<Vec<_>>();
    let request = pb::BatchCreateUsersRequest { app_id: app_id.clone(), users: users(1001) };
    let status = registry.client.batch_create_users(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(ApiError::from_status(&status).field.as_deref(), Some("users"));
    assert!(list(&mut registry, &app_id).await.is_empty(), "nothing written");

    let results = batch(&mut registry, &app_id, users(1000)).await;
    assert!(results.iter().all(|r| outcome(r).is_ok()), "1,000 is within the limit");
    assert_eq!(list(&mut registry, &app_id).await.len(), 1000);
}

async fn concurrent_batches_naming_one_email_create_one_member(backend: Backend) {
    let registry = spawn_registry_on(backend).await;
    let app_id = registry.app().await;
    let conn = registry.connection().await;
    for round in 0..5 {
        let shared = format!("Shared{round}@example.com");
        let batches = (0..2).map(|side| {
            let mut client = registry.client.clone();
            let mut users: Vec<pb::NewUser> =
                (0..20).map(|i| kore(&format!("r{round}-s{side}-{i}@example.com"))).collect();
            // Crossing orders: the shared email first on one side, last on the other.
            if side == 0 {
                users.insert(0, kore(&shared.to_lowercase()));
            } else {
                users.push(kore(&shared));
            }
            let request = pb::BatchCreateUsersRequest { app_id: app_id.clone(), users };
            tokio::spawn(async move { client.batch_create_users(request).await.map(|r| r.into_inner().results) })
        });
        let mut shared_created = 0;
        for batch in batches {
            let results = batch.await.expect("task").expect("batch answers");
            assert_eq!(results.len(), 21);
            for result in &results {
                let user = outcome(result);
                let email = user.as_ref().ok().and_then(|u| u.member.as_ref()).and_then(|m| m.email_id.clone());
                match (user, email) {
                    (Ok(_), Some(email)) if email.eq_ignore_ascii_case(&shared) => shared_created += 1,
                    (Ok(_), _) => {}
                    (Err(refusal), _) => assert_eq!(refusal, ("already_exists".into(), "email_id".into())),
                }
            }
        }
        assert_eq!(shared_created, 1, "round {round}");
        let sql = format!("SELECT COUNT(*) FROM users WHERE member_email_norm = '{}'", shared.to_lowercase());
        assert_eq!(count(&conn, &sql).await, 1, "round {round}");
    }
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM users").await, 5 * 41);
}
