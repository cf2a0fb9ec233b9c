//! The Kore.ai Create User API: an admin client's JWT in the `auth` header, bulk creation with
//! per-user failures, and the members seen through the registry and the other dialects.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proto::{
    registry::v1::{self as registry_pb, registry_service_client::RegistryServiceClient},
    token::v1::{self as token_pb, token_service_client::TokenServiceClient},
};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::helpers::{TestStack, spawn_stack, spawn_stack_with};

pub struct Admin {
    pub id: String,
    pub secret: String,
}

pub async fn admin_client(stack: &TestStack, scopes: Vec<token_pb::Scope>) -> Admin {
    let mut tokens = TokenServiceClient::new(test_support::channel(stack.stack().token).await);
    let request = token_pb::CreateAdminClientRequest {
        app_id: stack.app_id.clone(),
        name: "kore".into(),
        scopes: scopes.into_iter().map(|s| s as i32).collect(),
    };
    let created = tokens.create_admin_client(request).await.unwrap().into_inner();
    Admin { id: created.client.unwrap().id, secret: created.secret }
}

pub fn jwt(admin: &Admin, secret: &str) -> String {
    let exp = platform::now_millis() / 1000 + 300;
    let claims = json!({ "appId": admin.id, "sub": "ops@example.com", "exp": exp });
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

async fn post(stack: &TestStack, auth: Option<&str>, body: &Value) -> Response {
    let mut request = stack.http.post(format!("{}/api/public/users", stack.base)).json(body);
    if let Some(auth) = auth {
        request = request.header("auth", auth);
    }
    request.send().await.unwrap()
}

pub async fn kore_error(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], status.as_u16(), "{body}");
    body["errors"][0]["msg"].as_str().unwrap().to_owned()
}

pub async fn members(stack: &TestStack) -> Vec<registry_pb::User> {
    let mut registry = RegistryServiceClient::new(test_support::channel(stack.stack().registry).await);
    let request = registry_pb::ListUsersRequest { app_id: stack.app_id.clone(), page_size: 100, ..Default::default() };
    registry.list_users(request).await.unwrap().into_inner().users.into_iter().filter(|u| u.member.is_some()).collect()
}

fn user(email: &str) -> Value {
    json!({ "userInfo": { "emailId": email, "firstName": "F" } })
}

#[tokio::test]
async fn bulk_creation_keeps_the_valid_users_and_names_each_failure() {
    let stack = spawn_stack(Backend::Postgres, false).await;
    let admin = admin_client(&stack, vec![]).await;
    let auth = jwt(&admin, &admin.secret);
    let body = json!({ "users": [
        { "userInfo": { "emailId": "Ana@Example.com", "orgUserId": "emp-1", "firstName": "Ana", "lastName": "Lima" },
          "groups": ["support", "sales"], "roles": [ { "roleId": "r-admin", "botId": "st-1" }, { "roleId": "r-view" } ],
          "assignBotTasks": [ { "streamId": "st-1", "dialogs": ["dg-1", "dg-2"] }, { "streamId": "st-2" } ],
          "canCreateBot": false, "isDeveloper": true, "sendEmail": true },
        { "userInfo": { "emailId": "not-an-email", "firstName": "Bad" } },
        { "userInfo": { "emailId": "bo@example.com", "orgUserId": "emp-2" }, "sendEmail": false },
        { "userInfo": { "emailId": "ana@example.COM", "firstName": "Twin" } },
        { "userInfo": { "emailId": "cy@example.com" }, "roles": [ { "botId": "st-1" } ] },
        { "userInfo": { "emailId": "di@example.com", "orgUserId": "emp-2" } }
    ] });
    let response = post(&stack, Some(&auth), &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    let failed = answer["failedUserDetails"].as_array().unwrap();
    let summary: Vec<(&str, &str, u64)> = failed
        .iter()
        .map(|f| {
            let info = &f["userInfo"];
            assert_eq!(info["status"], "failure");
            assert_eq!(info["reason"]["errors"][0]["msg"], info["reason"]["message"]);
            (
                info["emailId"].as_str().unwrap(),
                info["reason"]["message"].as_str().unwrap(),
                info["reason"]["statusCode"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("not-an-email", "INVALID_EMAIL", 400),
            ("ana@example.COM", "DUPLICATE_USER", 409),
            ("cy@example.com", "INVALID_ROLES", 400),
            ("di@example.com", "DUPLICATE_USER", 409),
        ]
    );

    // User by user: exactly the two valid ones, with every attribute.
    let mut created = members(&stack).await;
    created.sort_by_key(|u| u.profile.clone().unwrap_or_default().email);
    assert_eq!(created.len(), 2, "{created:?}");
    let ana = created.iter().find(|u| u.member.as_ref().unwrap().org_user_id.as_deref() == Some("emp-1")).unwrap();
    let m = ana.member.as_ref().unwrap();
    assert_eq!(m.email_id.as_deref(), Some("Ana@Example.com"));
    assert_eq!(m.groups, ["support", "sales"]);
    assert_eq!(m.roles.len(), 2);
    assert_eq!(m.roles[0].bot_id.as_deref(), Some("st-1"));
    assert_eq!(m.bot_tasks[0].dialogs, ["dg-1", "dg-2"]);
    assert!(m.bot_tasks[1].dialogs.is_empty());
    assert!(!m.can_create_bot && m.is_developer);
    assert_eq!(m.activation, registry_pb::ActivationState::Pending as i32);
    assert_eq!(ana.origin, registry_pb::Origin::Bulk as i32);
    let bo = created.iter().find(|u| u.member.as_ref().unwrap().org_user_id.as_deref() == Some("emp-2")).unwrap();
    assert_eq!(bo.member.as_ref().unwrap().activation, registry_pb::ActivationState::Active as i32);
    // The same user through the Sendbird dialect.
    let seen = stack.ok(Method::GET, &format!("/v3/users/{}", ana.id), None).await;
    assert_eq!(seen["user_id"], ana.id);

    // Against stored members too; an all-valid request says so.
    let again = post(&stack, Some(&auth), &json!({ "users": [ user("ANA@example.com") ] })).await;
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["failedUserDetails"][0]["userInfo"]["reason"]["message"], "DUPLICATE_USER");
    let fine =
        post(&stack, Some(&auth), &json!({ "users": [ user("eve@example.com"), user("fay@example.com") ] })).await;
    assert_eq!(fine.status(), StatusCode::OK);
    assert_eq!(fine.json::<Value>().await.unwrap(), json!({ "msg": "Users are created Successfully" }));
    assert_eq!(members(&stack).await.len(), 4);
}

#[tokio::test]
async fn the_auth_header_and_the_request_size_are_checked_before_any_write() {
    const CALLER_CACHE_MS: u64 = 200;
    let stack = spawn_stack_with(Backend::Sqlite, false, |s| s.gateway.caller_cache_ms = CALLER_CACHE_MS).await;
    let admin = admin_client(&stack, vec![token_pb::Scope::UserManagement]).await;
    let narrow = admin_client(&stack, vec![token_pb::Scope::App]).await;
    let one = json!({ "users": [ user("a@example.com") ] });

    assert!(kore_error(post(&stack, None, &one).await, StatusCode::UNAUTHORIZED).await.contains("auth header"));
    let forged = jwt(&admin, "not-the-secret");
    assert!(kore_error(post(&stack, Some(&forged), &one).await, StatusCode::UNAUTHORIZED).await.contains("signature"));
    let scoped = jwt(&narrow, &narrow.secret);
    let refused = kore_error(post(&stack, Some(&scoped), &one).await, StatusCode::FORBIDDEN).await;
    assert!(refused.contains("user-management"), "{refused}");
    // HS256 pinned: the same claims under RS256 (any key) are refused.
    let rs = include_str!("../../crates/token-service/tests/api/keys/rsa-private.pem");
    let claims = json!({ "appId": admin.id });
    let rs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(rs.as_bytes()).unwrap(),
    )
    .unwrap();
    kore_error(post(&stack, Some(&rs256), &one).await, StatusCode::UNAUTHORIZED).await;

    let auth = jwt(&admin, &admin.secret);
    let many: Vec<Value> = (0..1001).map(|i| user(&format!("u{i}@example.com"))).collect();
    let too_many =
        kore_error(post(&stack, Some(&auth), &json!({ "users": many })).await, StatusCode::BAD_REQUEST).await;
    assert!(too_many.contains("1000"), "{too_many}");
    let malformed = stack
        .http
        .post(format!("{}/api/public/users", stack.base))
        .header("auth", &auth)
        .header("content-type", "application/json")
        .body("{ not json")
        .send()
        .await
        .unwrap();
    kore_error(malformed, StatusCode::BAD_REQUEST).await;
    assert!(members(&stack).await.is_empty(), "nothing was written");

    // A deleted client's JWT is refused once the gateway's caller cache lets go of it.
    let mut tokens = TokenServiceClient::new(test_support::channel(stack.stack().token).await);
    assert_eq!(post(&stack, Some(&auth), &one).await.status(), StatusCode::OK);
    let delete = token_pb::DeleteAdminClientRequest { app_id: stack.app_id.clone(), client_id: admin.id.clone() };
    tokens.delete_admin_client(delete).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(CALLER_CACHE_MS)).await;
    kore_error(
        post(&stack, Some(&auth), &json!({ "users": [ user("b@example.com") ] })).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(members(&stack).await.len(), 1);
}
