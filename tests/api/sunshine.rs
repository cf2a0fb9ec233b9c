//! The Sunshine Conversations v2 users and app keys, as code written for Sunshine calls them:
//! HTTP Basic with an app key, Sunshine's resources and error bodies. Also the helpers the other
//! `sunshine_*` modules share.

use proto::{
    registry::v1::{self as registry_pb, registry_service_client::RegistryServiceClient},
    token::v1::{self as token_pb, token_service_client::TokenServiceClient},
};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::helpers::{TestStack, spawn_stack};

/// An app key's credential, as `roster apps key` prints it.
#[derive(Debug, Clone)]
pub struct AppKey {
    pub id: String,
    pub secret: String,
}

pub enum Auth<'a> {
    None,
    Basic(&'a AppKey),
    Bearer(&'a str),
    Raw(&'a str),
}

/// A new app key of `app_id`, made over gRPC.
pub async fn app_key(stack: &TestStack, app_id: &str) -> AppKey {
    let mut tokens = TokenServiceClient::new(test_support::channel(stack.stack().token).await);
    let request = token_pb::CreateAppKeyRequest { app_id: app_id.to_owned(), display_name: "tests".into() };
    let created = tokens.create_app_key(request).await.expect("app key").into_inner();
    AppKey { id: created.key.expect("key").id, secret: created.secret }
}

/// Another application, made over gRPC: its id.
pub async fn other_application(stack: &TestStack) -> String {
    let mut tokens = TokenServiceClient::new(test_support::channel(stack.stack().token).await);
    let request = token_pb::CreateApplicationRequest { name: "other".into(), settings: None, with_api_token: false };
    tokens.create_application(request).await.expect("created").into_inner().application.expect("app").id
}

pub async fn registry(stack: &TestStack) -> RegistryServiceClient<tonic::transport::Channel> {
    RegistryServiceClient::new(test_support::channel(stack.stack().registry).await)
}

/// Every user of the application, over gRPC.
pub async fn all_users(stack: &TestStack, app_id: &str) -> Vec<registry_pb::User> {
    let request = registry_pb::ListUsersRequest { app_id: app_id.to_owned(), page_size: 100, ..Default::default() };
    registry(stack).await.list_users(request).await.expect("listed").into_inner().users
}

/// `base` + `/v2/apps/{app_id}` + `path`.
pub fn path(app_id: &str, path: &str) -> String {
    format!("/v2/apps/{app_id}{path}")
}

pub async fn call(stack: &TestStack, method: Method, path: &str, auth: Auth<'_>, body: Option<Value>) -> Response {
    let mut request = stack.http.request(method, format!("{}{path}", stack.base));
    request = match auth {
        Auth::None => request,
        Auth::Basic(key) => request.basic_auth(&key.id, Some(&key.secret)),
        Auth::Bearer(jwt) => request.bearer_auth(jwt),
        Auth::Raw(value) => request.header("authorization", value),
    };
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    request.send().await.expect("request")
}

/// The answer's JSON body, after checking its status and that it is JSON.
pub async fn expect(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "{text}");
    assert_eq!(content_type.as_deref(), Some("application/json"), "{text}");
    serde_json::from_str(&text).expect("JSON")
}

/// Sunshine's error body with `code`; answers its title.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> String {
    let body = expect(response, status).await;
    let errors = body["errors"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["code"], code, "{body}");
    let title = errors[0]["title"].as_str().expect("title").to_owned();
    assert!(!title.is_empty());
    title
}

/// Every byte but the unreserved ones percent-encoded, as the official client encodes path
/// parameters.
pub fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An HS256 JWT with header `kid`.
pub fn hs256(claims: &Value, kid: &str, secret: &[u8]) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_secret(secret)).expect("signed")
}

#[tokio::test]
async fn app_keys_are_created_listed_read_and_deleted() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let first = app_key(&stack, &stack.app_id).await;
    let keys = path(&stack.app_id, "/keys");
    let created = call(&stack, Method::POST, &keys, Auth::Basic(&first), Some(json!({ "displayName": "ci" }))).await;
    let created = expect(created, StatusCode::CREATED).await["key"].clone();
    assert_eq!(created["displayName"], "ci");
    let second = AppKey {
        id: created["id"].as_str().unwrap().to_owned(),
        secret: created["secret"].as_str().unwrap().to_owned(),
    };
    assert!(second.id.starts_with("app_") && !second.secret.is_empty(), "{created}");

    let listed = expect(call(&stack, Method::GET, &keys, Auth::Basic(&second), None).await, StatusCode::OK).await;
    let mut listed: Vec<Value> = listed["keys"].as_array().unwrap().clone();
    listed.sort_by_key(|k| k["displayName"].as_str().unwrap().to_owned());
    assert_eq!(
        listed,
        vec![json!({ "id": second.id, "displayName": "ci" }), json!({ "id": first.id, "displayName": "tests" })]
    );
    let one = call(&stack, Method::GET, &format!("{keys}/{}", second.id), Auth::Basic(&first), None).await;
    assert_eq!(expect(one, StatusCode::OK).await, json!({ "key": { "id": second.id, "displayName": "ci" } }));

    for body in [json!({}), json!({ "displayName": "" }), json!({ "displayName": "d".repeat(101) })] {
        assert_error(
            call(&stack, Method::POST, &keys, Auth::Basic(&first), Some(body)).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
    }
    let deleted = call(&stack, Method::DELETE, &format!("{keys}/{}", second.id), Auth::Basic(&first), None).await;
    assert_eq!(expect(deleted, StatusCode::OK).await, json!({}));
    assert_error(
        call(&stack, Method::GET, &keys, Auth::Basic(&second), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    for method in [Method::GET, Method::DELETE] {
        let response = call(&stack, method, &format!("{keys}/{}", second.id), Auth::Basic(&first), None).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    // Another application's key is not found here.
    let other_key = app_key(&stack, &other_application(&stack).await).await;
    let foreign = call(&stack, Method::GET, &format!("{keys}/{}", other_key.id), Auth::Basic(&first), None).await;
    assert_error(foreign, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn an_ada_end_user_is_the_same_user_on_the_sunshine_routes_and_under_sc() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let key = app_key(&stack, &stack.app_id).await;
    let ada = stack
        .http
        .post(format!("{}/api/v2/end-users/", stack.base))
        .bearer_auth(&stack.token)
        .json(&json!({ "external_id": "ada-7", "profile": { "first_name": "Grace", "metadata": { "plan": "pro" } } }))
        .send()
        .await
        .unwrap();
    let end_user = expect(ada, StatusCode::CREATED).await;
    let end_user_id = end_user["end_user_id"].as_str().unwrap();
    for prefix in ["", "/sc"] {
        for lookup in [end_user_id, "ADA-7"] {
            let user_path = format!("{prefix}{}", path(&stack.app_id, &format!("/users/{lookup}")));
            let found =
                expect(call(&stack, Method::GET, &user_path, Auth::Basic(&key), None).await, StatusCode::OK).await;
            assert_eq!(found["user"]["id"], end_user_id);
            assert_eq!(found["user"]["externalId"], "ada-7");
            assert_eq!(found["user"]["profile"], json!({ "givenName": "Grace" }));
            assert_eq!(found["user"]["metadata"], json!({ "plan": "pro" }));
        }
    }
    let sc_error =
        call(&stack, Method::GET, &format!("/sc{}", path(&stack.app_id, "/users/none")), Auth::Basic(&key), None).await;
    assert_error(sc_error, StatusCode::NOT_FOUND, "not_found").await;
}
