//! ExportUsers and RestoreUsers over gRPC, on both backends: every live user once, in id order,
//! in batches; a resumed export; sensitive metadata only for a caller holding the scope; an
//! export restored into another registry unchanged, a second run creating nothing, updates
//! replacing whole, conflicts reported per record and never half-written.

use std::collections::BTreeSet;

use proto::{registry::v1 as pb, token::v1 as token_pb};
use test_support::Backend;
use tonic::{Code, Request};

use crate::helpers::{TestRegistry, spawn_registry_on};

test_support::contract!(
    exports_every_live_user_once_in_id_order,
    sensitive_metadata_is_exported_only_with_the_scope,
    an_export_restores_into_another_registry_unchanged,
    restoring_again_skips_or_replaces_and_reports_conflicts,
);

async fn create(registry: &TestRegistry, app: &str, user_id: &str, secret: Option<&str>) -> String {
    let user = pb::NewUser {
        user_id: Some(user_id.to_owned()),
        nickname: format!("{user_id} nick"),
        metadata: [("plan".to_owned(), pb::MetadataValue { kind: Some(pb::metadata_value::Kind::IntValue(3)) })].into(),
        sensitive_metadata: secret.map(|s| [("session".to_owned(), s.to_owned())].into()).unwrap_or_default(),
        ..Default::default()
    };
    let request = pb::CreateUserRequest { app_id: app.to_owned(), user: Some(user) };
    registry.client.clone().create_user(request).await.expect("created").into_inner().user.expect("user").id
}

fn export(
    app: &str,
    after: &str,
    batch_size: u32,
    include_sensitive: bool,
    token: Option<&str>,
) -> Request<pb::ExportUsersRequest> {
    let mut request = Request::new(pb::ExportUsersRequest {
        app_id: app.to_owned(),
        include_sensitive,
        after: after.to_owned(),
        batch_size,
    });
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("ascii"));
    }
    request
}

/// Every message of the export, in order.
async fn messages(registry: &TestRegistry, request: Request<pb::ExportUsersRequest>) -> Vec<pb::ExportUsersResponse> {
    let mut stream = registry.client.clone().export_users(request).await.expect("export").into_inner();
    let mut out = Vec::new();
    while let Some(message) = stream.message().await.expect("message") {
        out.push(message);
    }
    out
}

async fn exports_every_live_user_once_in_id_order(backend: Backend) {
    let registry = spawn_registry_on(backend).await;
    let (app, other) = (registry.app().await, registry.app().await);
    let mut ids = BTreeSet::new();
    for n in 0..7 {
        ids.insert(create(&registry, &app, &format!("u{n}"), None).await);
    }
    create(&registry, &other, "elsewhere", None).await;
    let gone = ids.pop_first().expect("seven");
    // Being deleted (DeleteUser reaches services this test does not run): no longer live.
    let conn = registry.connection().await;
    let sql = format!("UPDATE users SET deleting_since = 1 WHERE id = '{gone}'");
    sea_orm::ConnectionTrait::execute_unprepared(&conn, &sql).await.expect("marked");

    let all = messages(&registry, export(&app, "", 3, false, None)).await;
    assert_eq!(all.iter().map(|m| m.users.len()).collect::<Vec<_>>(), [3, 3], "six live users in batches of 3");
    assert_eq!(all.iter().map(|m| m.total).collect::<Vec<_>>(), [Some(6), None], "the total comes first");
    let exported: Vec<pb::User> = all.into_iter().flat_map(|m| m.users).map(|u| u.user.expect("user")).collect();
    let exported_ids: Vec<String> = exported.iter().map(|u| u.id.clone()).collect();
    assert_eq!(exported_ids, ids.iter().cloned().collect::<Vec<_>>(), "every live user once, in id order");
    for user in &exported {
        assert_eq!(user.app_id, app);
        assert_eq!(user.nickname, format!("{} nick", user.user_id));
        assert_eq!(user.metadata["plan"].kind, Some(pb::metadata_value::Kind::IntValue(3)));
    }

    // Resumed after the third: the other three.
    let rest = messages(&registry, export(&app, &exported_ids[2], 0, false, None)).await;
    let rest: Vec<String> = rest.into_iter().flat_map(|m| m.users).map(|u| u.user.expect("user").id).collect();
    assert_eq!(rest, exported_ids[3..]);

    // An application with no users: one message, its total zero.
    let empty = registry.app().await;
    let nothing = messages(&registry, export(&empty, "", 0, false, None)).await;
    assert_eq!(nothing.len(), 1);
    assert_eq!((nothing[0].total, nothing[0].users.len()), (Some(0), 0));

    let refused = registry.client.clone().export_users(export(&app, "not-an-id", 0, false, None)).await;
    assert_eq!(refused.expect_err("a bad cursor").code(), Code::InvalidArgument);
}

async fn sensitive_metadata_is_exported_only_with_the_scope(backend: Backend) {
    let registry = spawn_registry_on(backend).await;
    let app = registry.app().await;
    let with = create(&registry, &app, "with", Some("sess_secret")).await;
    let without = create(&registry, &app, "without", None).await;
    let scoped =
        |app_id: String, scopes: Vec<i32>| token_pb::CreateApiTokenRequest { app_id, name: "export".into(), scopes };
    let mut tokens = registry.token.clone();
    let reader = tokens
        .create_api_token(scoped(app.clone(), vec![token_pb::Scope::SensitiveMetadata as i32]))
        .await
        .expect("token")
        .into_inner()
        .api_token;
    let plain = tokens.create_api_token(scoped(app.clone(), vec![])).await.expect("token").into_inner().api_token;

    for (who, token) in
        [("no token", None), ("a token without the scope", Some(plain.as_str())), ("garbage", Some("x"))]
    {
        let refused = registry.client.clone().export_users(export(&app, "", 0, true, token)).await;
        assert_eq!(refused.expect_err(who).code(), Code::PermissionDenied, "{who}");
    }
    let users: Vec<pb::ExportedUser> =
        messages(&registry, export(&app, "", 0, true, Some(&reader))).await.into_iter().flat_map(|m| m.users).collect();
    let by_id = |id: &str| users.iter().find(|u| u.user.as_ref().is_some_and(|u| u.id == id)).expect("exported");
    assert_eq!(by_id(&with).sensitive_metadata["session"], "sess_secret");
    assert!(by_id(&without).sensitive_metadata.is_empty());
    // Without asking, nothing sensitive travels, whoever asks.
    let users: Vec<pb::ExportedUser> = messages(&registry, export(&app, "", 0, false, Some(&reader)))
        .await
        .into_iter()
        .flat_map(|m| m.users)
        .collect();
    assert_eq!(users.len(), 2);
    assert!(users.iter().all(|u| u.sensitive_metadata.is_empty()));
}

fn rich_user(user_id: &str, n: i64) -> pb::NewUser {
    let value = |kind| pb::MetadataValue { kind: Some(kind) };
    pb::NewUser {
        user_id: Some(user_id.to_owned()),
        external_id: Some(format!("ext-{user_id}")),
        nickname: format!("{user_id} nick"),
        profile_url: format!("https://cdn.example/{user_id}.png"),
        profile: Some(pb::Profile {
            given_name: Some("Ana".into()),
            surname: Some("Lima".into()),
            email: Some(format!("{user_id}@example.com")),
            language: Some("pt-BR".into()),
            ..Default::default()
        }),
        metadata: [
            ("plan".to_owned(), value(pb::metadata_value::Kind::StringValue("gold".into()))),
            ("seats".to_owned(), value(pb::metadata_value::Kind::IntValue(n))),
            ("ratio".to_owned(), value(pb::metadata_value::Kind::DoubleValue(0.5))),
            ("beta".to_owned(), value(pb::metadata_value::Kind::BoolValue(true))),
        ]
        .into(),
        discovery_keys: vec![format!("key-{user_id}")],
        preferred_languages: vec!["pt".into(), "en".into()],
        origin: pb::Origin::Api as i32,
        sensitive_metadata: [("session".to_owned(), format!("sess-{user_id}"))].into(),
        identities: vec![pb::Identity { channel_type: "whatsapp".into(), value: format!("+5511{n:08}") }],
        signed_up_at: Some(proto::timestamp_from_millis(1_600_000_000_000 + n)),
        to_be_retained: n % 2 == 0,
        expires_unassociated: n == 3,
        ..Default::default()
    }
}

async fn scoped_reader(registry: &TestRegistry, app: &str) -> String {
    let request = token_pb::CreateApiTokenRequest {
        app_id: app.to_owned(),
        name: "export".into(),
        scopes: vec![token_pb::Scope::SensitiveMetadata as i32],
    };
    registry.token.clone().create_api_token(request).await.expect("token").into_inner().api_token
}

/// The whole export of `app`, sensitive metadata included.
async fn export_all(registry: &TestRegistry, app: &str) -> Vec<pb::ExportedUser> {
    let reader = scoped_reader(registry, app).await;
    messages(registry, export(app, "", 2, true, Some(&reader))).await.into_iter().flat_map(|m| m.users).collect()
}

fn restore_request(app: &str, records: Vec<pb::RestoreRecord>, on_conflict: pb::OnConflict) -> pb::RestoreUsersRequest {
    pb::RestoreUsersRequest { app_id: app.to_owned(), records, on_conflict: on_conflict as i32 }
}

/// Every answer of a RestoreUsers call sending `batches`.
async fn restore(registry: &TestRegistry, batches: Vec<pb::RestoreUsersRequest>) -> Vec<pb::RestoreUsersResponse> {
    let mut answers =
        registry.client.clone().restore_users(tokio_stream::iter(batches)).await.expect("restore").into_inner();
    let mut out = Vec::new();
    while let Some(answer) = answers.message().await.expect("answer") {
        out.push(answer);
    }
    out
}

/// The user as the other registry must have it: everything but the application.
fn comparable(mut exported: pb::ExportedUser) -> pb::ExportedUser {
    if let Some(user) = exported.user.as_mut() {
        user.app_id.clear();
    }
    exported
}

async fn an_export_restores_into_another_registry_unchanged(backend: Backend) {
    let source = spawn_registry_on(backend).await;
    let app = source.app().await;
    for n in 0..5 {
        let request = pb::CreateUserRequest { app_id: app.clone(), user: Some(rich_user(&format!("r{n}"), n)) };
        source.client.clone().create_user(request).await.expect("created");
    }
    // One deactivated, one associated, one seen: states that only a restore can carry over.
    let lookup = |user_id: &str| Some(pb::UserLookup { key: Some(pb::user_lookup::Key::UserId(user_id.into())) });
    let conn = source.connection().await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &conn,
        "UPDATE users SET is_active = false, last_seen_at = 1700000000123 WHERE user_id = 'r1'",
    )
    .await
    .expect("deactivated");
    let mark = pb::MarkAssociatedRequest { app_id: app.clone(), lookup: lookup("r2") };
    source.client.clone().mark_associated(mark).await.expect("associated");
    let exported = export_all(&source, &app).await;
    assert_eq!(exported.len(), 5);

    let target = spawn_registry_on(backend).await;
    let into = target.app().await;
    let records: Vec<pb::RestoreRecord> = exported.iter().cloned().map(Into::into).collect();
    let (first, second) = records.split_at(3);
    let answers = restore(
        &target,
        vec![
            restore_request(&into, first.to_vec(), pb::OnConflict::Skip),
            restore_request(&into, second.to_vec(), pb::OnConflict::Skip),
        ],
    )
    .await;
    let summary: Vec<(u64, u32, u32, usize)> =
        answers.iter().map(|a| (a.first_index, a.created, a.updated, a.left_out.len())).collect();
    assert_eq!(summary, [(0, 3, 0, 0), (3, 2, 0, 0)], "one answer per message, in order");

    let restored = export_all(&target, &into).await;
    let left: Vec<_> = exported.into_iter().map(comparable).collect();
    let right: Vec<_> = restored.into_iter().map(comparable).collect();
    for (a, b) in left.iter().zip(&right) {
        assert_eq!(a, b, "field by field");
    }
    assert_eq!(left.len(), right.len());
    let r1 = right.iter().flat_map(|u| &u.user).find(|u| u.user_id == "r1").expect("r1");
    assert!(!r1.is_active);
    assert_eq!(r1.last_seen_at, Some(proto::timestamp_from_millis(1_700_000_000_123)));
}

async fn restoring_again_skips_or_replaces_and_reports_conflicts(backend: Backend) {
    let registry = spawn_registry_on(backend).await;
    let app = registry.app().await;
    let record = |n: i64, id: &str| pb::RestoreRecord {
        user: Some(rich_user(&format!("c{n}"), n)),
        id: id.to_owned(),
        created_at: Some(proto::timestamp_from_millis(1_650_000_000_000)),
        updated_at: Some(proto::timestamp_from_millis(1_650_000_000_500)),
        is_active: true,
        ..Default::default()
    };
    let ids = ["aaaaaaaaaaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaaaaaaaaaa2", "aaaaaaaaaaaaaaaaaaaaaaa3"];
    let records: Vec<_> = ids.iter().enumerate().map(|(n, id)| record(n as i64, id)).collect();
    let first = restore(&registry, vec![restore_request(&app, records.clone(), pb::OnConflict::Skip)]).await;
    assert_eq!((first[0].created, first[0].left_out.len()), (3, 0));
    let before = export_all(&registry, &app).await;
    assert_eq!(before.iter().map(|u| u.user.as_ref().unwrap().id.as_str()).collect::<Vec<_>>(), ids);

    // Again: nothing created twice, each reported as already there.
    let again = restore(&registry, vec![restore_request(&app, records.clone(), pb::OnConflict::Skip)]).await;
    assert_eq!((again[0].created, again[0].updated, again[0].skipped), (0, 0, 3));
    let codes: Vec<(u32, String, String)> = again[0]
        .left_out
        .iter()
        .map(|r| match &r.result {
            Some(pb::batch_item_result::Result::Error(e)) => (r.index, e.code.clone(), e.field.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(codes, (0..3).map(|i| (i, "skipped_existing".to_owned(), "id".to_owned())).collect::<Vec<_>>());
    assert_eq!(export_all(&registry, &app).await, before, "nothing changed");

    // Updated: the record replaces the user whole; sensitive metadata the record lacks stays.
    let mut changed = record(0, ids[0]);
    let user = changed.user.as_mut().unwrap();
    user.nickname = "renamed".into();
    user.metadata.remove("plan");
    user.sensitive_metadata.clear();
    user.identities.clear();
    changed.updated_at = Some(proto::timestamp_from_millis(1_660_000_000_000));
    // A new record whose user_id another user holds, and one repeating an id of the message.
    let mut taken = record(7, "bbbbbbbbbbbbbbbbbbbbbbb7");
    taken.user.as_mut().unwrap().user_id = Some("c1".into());
    let repeated = record(8, ids[0]);
    let answers =
        restore(&registry, vec![restore_request(&app, vec![changed, taken, repeated], pb::OnConflict::Update)]).await;
    assert_eq!((answers[0].created, answers[0].updated), (0, 1));
    let refused: Vec<(u32, String)> = answers[0]
        .left_out
        .iter()
        .map(|r| match &r.result {
            Some(pb::batch_item_result::Result::Error(e)) => (r.index, e.code.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(refused, [(1, "user_id_taken".to_owned()), (2, "already_exists".to_owned())]);
    let after = export_all(&registry, &app).await;
    assert_eq!(after.len(), 3, "the refused record left nothing");
    let updated = &after[0];
    let user = updated.user.as_ref().unwrap();
    assert_eq!((user.id.as_str(), user.nickname.as_str()), (ids[0], "renamed"));
    assert!(!user.metadata.contains_key("plan") && user.metadata.contains_key("seats"));
    assert!(user.identities.is_empty(), "replaced whole");
    assert_eq!(user.updated_at, Some(proto::timestamp_from_millis(1_660_000_000_000)));
    assert_eq!(user.created_at, Some(proto::timestamp_from_millis(1_650_000_000_000)));
    assert_eq!(updated.sensitive_metadata["session"], "sess-c0", "kept");
    assert_eq!(after[1..], before[1..], "the others untouched");

    // The identity the update released is free again; the application must not change midway.
    let bad = restore_request(&registry.app().await, vec![], pb::OnConflict::Skip);
    let mut stream = registry
        .client
        .clone()
        .restore_users(tokio_stream::iter(vec![restore_request(&app, vec![], pb::OnConflict::Skip), bad]))
        .await
        .expect("restore")
        .into_inner();
    assert!(stream.message().await.expect("first answer").is_some());
    assert_eq!(stream.message().await.expect_err("a second application").code(), Code::InvalidArgument);
}
