//! ExportUsers over gRPC, on both backends: every live user once, in id order, in batches; a
//! resumed export; sensitive metadata only for a caller holding the scope.

use std::collections::BTreeSet;

use proto::{registry::v1 as pb, token::v1 as token_pb};
use test_support::Backend;
use tonic::{Code, Request};

use crate::helpers::{TestRegistry, spawn_registry_on};

test_support::contract!(exports_every_live_user_once_in_id_order, sensitive_metadata_is_exported_only_with_the_scope);

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
