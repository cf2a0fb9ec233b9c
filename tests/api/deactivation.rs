//! A deactivated user keeps no access: its tokens are refused (`USER_DEACTIVATED`), none is
//! issued (Sendbird's 400300; a Sunshine JWT login is refused), and reactivation lets the tokens
//! issued before work again unless they were revoked meanwhile. A chat server asks
//! `AuthorizeConnection` on connect: a token of that user, or no token where the application
//! allows it and the user exists and is active.

use proto::token::v1::{self as pb, ConnectionRefusal, InvalidReason, token_service_client::TokenServiceClient};
use reqwest::{Method, StatusCode};
use serde_json::json;
use test_support::Backend;

use crate::helpers::{TestStack, assert_sendbird_error, spawn_stack};

async fn reason(stack: &TestStack, token: &str) -> InvalidReason {
    let answer = stack.validate(token).await;
    if answer.valid { InvalidReason::Unspecified } else { answer.reason() }
}

async fn set_active(stack: &TestStack, user: &str, active: bool) {
    let user = stack.ok(Method::PUT, &format!("/v3/users/{user}"), Some(json!({ "is_active": active }))).await;
    assert_eq!(user["is_active"], active);
}

#[tokio::test]
async fn a_deactivated_user_keeps_no_access_until_reactivated() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let stack = spawn_stack(backend, backend == Backend::Postgres).await;
        let created = stack
            .ok(
                Method::POST,
                "/v3/users",
                Some(json!({ "user_id": "nap", "nickname": "Nap", "profile_url": "", "issue_access_token": true })),
            )
            .await;
        let access = created["access_token"].as_str().unwrap().to_owned();
        let session = stack.ok(Method::POST, "/v3/users/nap/token", None).await["token"].as_str().unwrap().to_owned();
        let revoked_meanwhile =
            stack.ok(Method::POST, "/v3/users/nap/token", None).await["token"].as_str().unwrap().to_owned();
        assert_eq!(reason(&stack, &access).await, InvalidReason::Unspecified);

        set_active(&stack, "nap", false).await;
        for token in [&access, &session] {
            assert_eq!(reason(&stack, token).await, InvalidReason::UserDeactivated);
        }
        let refused = stack.call(Method::POST, "/v3/users/nap/token", &stack.token, None).await;
        assert_sendbird_error(refused, StatusCode::BAD_REQUEST, 400300).await;
        let refused =
            stack.call(Method::PUT, "/v3/users/nap", &stack.token, Some(json!({ "issue_access_token": true }))).await;
        assert_sendbird_error(refused, StatusCode::BAD_REQUEST, 400300).await;
        // Revoking during the deactivation stays: reactivation does not bring those back.
        assert_eq!(stack.ok(Method::DELETE, "/v3/users/nap/token", None).await, json!({}));

        set_active(&stack, "nap", true).await;
        assert_eq!(reason(&stack, &access).await, InvalidReason::Unspecified, "access tokens work again");
        assert_eq!(reason(&stack, &session).await, InvalidReason::Revoked);
        assert_eq!(reason(&stack, &revoked_meanwhile).await, InvalidReason::Revoked);
        let fresh = stack.ok(Method::POST, "/v3/users/nap/token", None).await["token"].as_str().unwrap().to_owned();
        assert_eq!(reason(&stack, &fresh).await, InvalidReason::Unspecified);
        // Deactivating again takes the fresh token too.
        set_active(&stack, "nap", false).await;
        assert_eq!(reason(&stack, &fresh).await, InvalidReason::UserDeactivated);
    }
}

#[tokio::test]
async fn a_deactivated_user_cannot_log_in_with_a_jwt() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let key = crate::sunshine::app_key(&stack, &stack.app_id).await;
    let login = |external_id: &str| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(key.id.clone());
        let claims = json!({ "scope": "user", "external_id": external_id });
        let jwt =
            jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(key.secret.as_bytes()))
                .unwrap();
        stack.http.post(format!("{}/v2/apps/{}/login", stack.base, stack.app_id)).json(&json!({ "jwt": jwt })).send()
    };
    let first = login("crm-7").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let id = first.json::<serde_json::Value>().await.unwrap()["user"]["id"].as_str().unwrap().to_owned();
    // Through Sendbird, the user's `user_id` is its Roster id.
    set_active(&stack, &id, false).await;
    let refused = login("crm-7").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "forbidden", "{body}");
    set_active(&stack, &id, true).await;
    assert_eq!(login("crm-7").await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn connections_are_authorized_by_token_or_by_the_application_setting() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let mut tokens = TokenServiceClient::new(test_support::channel(stack.stack().token).await);
    let created = stack
        .ok(
            Method::POST,
            "/v3/users",
            Some(json!({ "user_id": "ann", "nickname": "Ann", "profile_url": "", "issue_access_token": true })),
        )
        .await;
    let access = created["access_token"].as_str().unwrap().to_owned();
    stack.ok(Method::POST, "/v3/users", Some(json!({ "user_id": "bob", "nickname": "Bob", "profile_url": "" }))).await;
    let session = stack.ok(Method::POST, "/v3/users/bob/token", None).await["token"].as_str().unwrap().to_owned();
    let client = tokens.clone();
    let connect = async |user: &str, token: Option<&str>| {
        let request = pb::AuthorizeConnectionRequest {
            app_id: stack.app_id.clone(),
            user_id: user.to_owned(),
            token: token.map(str::to_owned),
        };
        client.clone().authorize_connection(request).await.expect("answered").into_inner()
    };

    // With a token: the user it belongs to (by `user_id` or Roster id), never another.
    let ann = connect("ann", Some(&access)).await;
    assert!(ann.allowed && ann.kind() == pb::TokenKind::Access && ann.user_id.len() == 24, "{ann:?}");
    assert!(connect(&ann.user_id, Some(&access)).await.allowed, "by Roster id");
    assert!(connect("bob", Some(&session)).await.allowed);
    let other = connect("bob", Some(&access)).await;
    assert_eq!((other.allowed, other.refusal()), (false, ConnectionRefusal::TokenOfAnotherUser));
    let bad = connect("ann", Some("not-a-token")).await;
    assert_eq!((bad.refusal(), bad.invalid_reason()), (ConnectionRefusal::TokenInvalid, InvalidReason::Malformed));

    // Without a token: refused unless the application allows it.
    assert_eq!(connect("ann", None).await.refusal(), ConnectionRefusal::TokenRequired);
    let app = tokens.get_application(pb::GetApplicationRequest { app_id: stack.app_id.clone() }).await.unwrap();
    let settings = pb::ApplicationSettings {
        allow_tokenless_users: true,
        ..app.into_inner().application.unwrap().settings.unwrap()
    };
    let update = pb::UpdateApplicationRequest { app_id: stack.app_id.clone(), name: None, settings: Some(settings) };
    tokens.update_application(update).await.unwrap();
    let tokenless = connect("ann", None).await;
    assert!(tokenless.allowed && tokenless.kind() == pb::TokenKind::Unspecified, "{tokenless:?}");
    assert_eq!(connect("nobody", None).await.refusal(), ConnectionRefusal::UserNotFound);

    // A deactivated user connects neither way.
    set_active(&stack, "ann", false).await;
    assert_eq!(connect("ann", None).await.refusal(), ConnectionRefusal::UserDeactivated);
    let deactivated = connect("ann", Some(&access)).await;
    assert_eq!(
        (deactivated.refusal(), deactivated.invalid_reason()),
        (ConnectionRefusal::UserDeactivated, InvalidReason::UserDeactivated)
    );

    // Another application's token is no token of this one.
    let unknown_app = tokens
        .authorize_connection(pb::AuthorizeConnectionRequest {
            app_id: platform::ids::new_id(),
            user_id: "bob".into(),
            token: None,
        })
        .await
        .unwrap_err();
    assert_eq!(unknown_app.code(), tonic::Code::NotFound);
}

/// The internal APIs check what they are given against the service that knows (issue 16,
/// point 6), in the real stack: token-service issues no token for a user the registry does not
/// have, and the registry creates no user in an application token-service does not have.
#[tokio::test]
async fn internal_apis_refuse_users_and_applications_that_do_not_exist() {
    use proto::registry::v1::{self as rpb, registry_service_client::RegistryServiceClient};
    use tonic::Code;

    let stack = spawn_stack(Backend::Sqlite, false).await;
    let mut tokens = TokenServiceClient::new(test_support::channel(stack.stack().token).await);
    let access = pb::IssueAccessTokenRequest { app_id: stack.app_id.clone(), user_id: "nonexistent-user".into() };
    assert_eq!(tokens.issue_access_token(access).await.unwrap_err().code(), Code::InvalidArgument);
    let nobody = "000000000000000000000000";
    let access = pb::IssueAccessTokenRequest { app_id: stack.app_id.clone(), user_id: nobody.into() };
    assert_eq!(tokens.issue_access_token(access).await.unwrap_err().code(), Code::NotFound);
    let session =
        pb::IssueSessionTokenRequest { app_id: stack.app_id.clone(), user_id: nobody.into(), expires_at: None };
    assert_eq!(tokens.issue_session_token(session).await.unwrap_err().code(), Code::NotFound);

    // A real user gets both, by its Roster id.
    let created = stack
        .ok(Method::POST, "/v3/users", Some(json!({ "user_id": "ann", "nickname": "Ann", "profile_url": "" })))
        .await;
    let mut registry = RegistryServiceClient::new(test_support::channel(stack.stack().registry).await);
    let lookup = rpb::UserLookup { key: Some(rpb::user_lookup::Key::UserId("ann".into())) };
    let ann = registry.get_user(rpb::GetUserRequest { app_id: stack.app_id.clone(), lookup: Some(lookup) }).await;
    let ann = ann.unwrap().into_inner().user.unwrap().id;
    assert_eq!(created["user_id"], "ann");
    let session = pb::IssueSessionTokenRequest { app_id: stack.app_id.clone(), user_id: ann.clone(), expires_at: None };
    let token = tokens.issue_session_token(session).await.expect("issued").into_inner().token;
    assert!(stack.validate(&token).await.valid);

    let unknown_app = platform::AppId::generate().as_str().to_owned();
    let request = rpb::CreateUserRequest {
        app_id: unknown_app.clone(),
        user: Some(rpb::NewUser { user_id: Some("ghost".into()), nickname: "Ghost".into(), ..Default::default() }),
    };
    let status = registry.create_user(request).await.unwrap_err();
    assert_eq!(platform::ApiError::from_status(&status).code, platform::ErrorCode::ApplicationNotFound);
    let lookup = rpb::UserLookup { key: Some(rpb::user_lookup::Key::UserId("ghost".into())) };
    let read = registry.get_user(rpb::GetUserRequest { app_id: unknown_app, lookup: Some(lookup) }).await;
    assert_eq!(read.unwrap_err().code(), Code::NotFound, "nothing created");
}
