//! The client-streaming ImportUsers: 10,000 users counted in the database afterwards, then the
//! same stream again creating nothing; failures numbered across the whole stream; one
//! application per stream. On PostgreSQL when the suite has it, else SQLite.

use platform::ApiError;
use proto::registry::v1 as pb;
use tonic::Code;

use crate::{
    helpers::{TestRegistry, preferred_backend, spawn_registry_on},
    members::{count, kore},
};

async fn import(registry: &mut TestRegistry, messages: Vec<pb::ImportUsersRequest>) -> pb::ImportUsersResponse {
    registry.client.import_users(tokio_stream::iter(messages)).await.expect("import answers").into_inner()
}

/// `users` in messages of `per_message`, each naming `app_id`.
fn messages(app_id: &str, users: Vec<pb::NewUser>, per_message: usize) -> Vec<pb::ImportUsersRequest> {
    users
        .chunks(per_message)
        .map(|chunk| pb::ImportUsersRequest { app_id: app_id.to_owned(), users: chunk.to_vec() })
        .collect()
}

fn failure(result: &pb::BatchItemResult) -> (u32, &str, &str) {
    match result.result.as_ref().expect("a result") {
        pb::batch_item_result::Result::Error(e) => (result.index, e.code.as_str(), e.field.as_str()),
        pb::batch_item_result::Result::User(_) => panic!("a failure carries an error"),
    }
}

#[tokio::test]
async fn ten_thousand_users_stream_in_and_a_second_run_skips_them_all() {
    let mut registry = spawn_registry_on(preferred_backend()).await;
    let app_id = registry.app().await;
    let users: Vec<pb::NewUser> = (0..10_000)
        .map(|i| {
            let mut user = kore(&format!("member{i}@example.com"));
            let member = user.member.as_mut().unwrap();
            member.org_user_id = Some(format!("org-{i}"));
            member.groups = vec![format!("group-{}", i % 7)];
            user
        })
        .collect();

    let first = import(&mut registry, messages(&app_id, users.clone(), 250)).await;
    assert_eq!((first.received, first.created, first.skipped_existing), (10_000, 10_000, 0));
    assert!(first.failures.is_empty(), "{:?}", first.failures.first());
    let conn = registry.connection().await;
    let in_app = |table: &str, extra: &str| format!("SELECT COUNT(*) FROM {table} WHERE app_id = '{app_id}'{extra}");
    assert_eq!(count(&conn, &in_app("users", " AND member_email_norm IS NOT NULL")).await, 10_000);
    assert_eq!(count(&conn, &in_app("outbox", " AND kind = 'user.created'")).await, 10_000);
    assert_eq!(count(&conn, &in_app("member_groups", "")).await, 7);

    // The same file again (an interrupted import re-run): nothing new, nothing failed.
    let second = import(&mut registry, messages(&app_id, users, 1000)).await;
    assert_eq!((second.received, second.created, second.skipped_existing), (10_000, 0, 10_000));
    assert!(second.failures.is_empty());
    assert_eq!(count(&conn, &in_app("users", "")).await, 10_000);
    assert_eq!(count(&conn, &in_app("outbox", "")).await, 10_000);
}

#[tokio::test]
async fn failures_are_numbered_across_the_stream_and_the_application_is_fixed() {
    let mut registry = spawn_registry_on(preferred_backend()).await;
    let app_id = registry.app().await;
    let stored = pb::CreateUserRequest { app_id: app_id.clone(), user: Some(kore("stored@example.com")) };
    registry.client.create_user(stored).await.expect("stored member");

    let mut no_email = kore("x@example.com");
    no_email.member.as_mut().unwrap().email_id = None;
    let response = import(
        &mut registry,
        vec![
            pb::ImportUsersRequest {
                app_id: app_id.clone(),
                users: vec![kore("a@example.com"), kore("bad"), kore("STORED@example.com")],
            },
            pb::ImportUsersRequest { app_id: app_id.clone(), users: vec![] },
            pb::ImportUsersRequest {
                app_id: app_id.clone(),
                users: vec![kore("b@example.com"), kore("A@example.com"), no_email],
            },
        ],
    )
    .await;
    assert_eq!((response.received, response.created, response.skipped_existing), (6, 2, 1));
    let failures: Vec<_> = response.failures.iter().map(failure).collect();
    assert_eq!(
        failures,
        [(1, "invalid_argument", "email_id"), (4, "already_exists", "email_id"), (5, "missing_field", "email_id")]
    );

    // Every message names the same application.
    let other = registry.app().await;
    let mixed = vec![
        pb::ImportUsersRequest { app_id: app_id.clone(), users: vec![kore("c@example.com")] },
        pb::ImportUsersRequest { app_id: other, users: vec![kore("d@example.com")] },
    ];
    let status = registry.client.import_users(tokio_stream::iter(mixed)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(ApiError::from_status(&status).field.as_deref(), Some("app_id"));
    let bad_app = vec![pb::ImportUsersRequest { app_id: "nope".into(), users: vec![kore("e@example.com")] }];
    assert_eq!(
        registry.client.import_users(tokio_stream::iter(bad_app)).await.unwrap_err().code(),
        Code::InvalidArgument
    );

    // An empty stream imports nothing.
    let empty = import(&mut registry, Vec::new()).await;
    assert_eq!((empty.received, empty.created, empty.skipped_existing), (0, 0, 0));
}

#[tokio::test]
async fn an_interrupted_import_runs_again_without_duplicates() {
    let mut registry = spawn_registry_on(preferred_backend()).await;
    let app_id = registry.app().await;
    let users: Vec<pb::NewUser> = (0..2500).map(|i| kore(&format!("m{i}@example.com"))).collect();
    // The first run stopped after 1,500 users; the second sends the whole file.
    let first = import(&mut registry, messages(&app_id, users[..1500].to_vec(), 500)).await;
    assert_eq!((first.created, first.skipped_existing), (1500, 0));
    let again = import(&mut registry, messages(&app_id, users, 500)).await;
    assert_eq!((again.received, again.created, again.skipped_existing), (2500, 1000, 1500));
    assert!(again.failures.is_empty());
    let conn = registry.connection().await;
    assert_eq!(count(&conn, &format!("SELECT COUNT(*) FROM users WHERE app_id = '{app_id}'")).await, 2500);
    let events = format!("SELECT COUNT(*) FROM outbox WHERE app_id = '{app_id}' AND kind = 'user.created'");
    assert_eq!(count(&conn, &events).await, 2500, "one event per user, none for the skipped");
}
