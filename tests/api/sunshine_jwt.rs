//! Sunshine JWTs through the gateway: `scope: app` JWTs on API calls, and Roster's REST login
//! with `scope: user` JWTs (HS256 by app keys, RS256/ES256 by registered public keys). Every
//! refusal is 401 in Sunshine's body, and names its reason.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proto::token::v1::{self as token_pb, token_service_client::TokenServiceClient};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::{
    helpers::{TestStack, spawn_stack},
    sunshine::{AppKey, Auth, all_users, app_key, assert_error, call, expect, hs256, other_application, path},
};

const RSA_PRIVATE: &str = include_str!("../../crates/token-service/tests/api/keys/rsa-private.pem");
const RSA_PUBLIC: &str = include_str!("../../crates/token-service/tests/api/keys/rsa-public.pem");
const EC_PRIVATE: &str = include_str!("../../crates/token-service/tests/api/keys/ec-private.pem");
const EC_PUBLIC: &str = include_str!("../../crates/token-service/tests/api/keys/ec-public.pem");

fn now() -> i64 {
    platform::now_millis() / 1000
}

fn app_claims() -> Value {
    json!({ "scope": "app", "iat": now() })
}

fn user_claims(external_id: &str) -> Value {
    json!({ "scope": "user", "external_id": external_id, "iat": now() })
}

/// base64url without padding.
fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `alg: none`, no signature (jsonwebtoken cannot even name that algorithm: refused as malformed
/// or as the wrong algorithm, never accepted).
fn unsigned(claims: &Value, kid: &str) -> String {
    let header = json!({ "alg": "none", "typ": "JWT", "kid": kid });
    format!("{}.{}.", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()))
}

fn signed(alg: Algorithm, key: &EncodingKey, claims: &Value, kid: &str) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).expect("signed")
}

async fn register_public_key(stack: &TestStack, algorithm: &str, pem: &str) -> String {
    let mut tokens = TokenServiceClient::new(test_support::channel(stack.stack().token).await);
    let request = token_pb::RegisterPublicKeyRequest {
        app_id: stack.app_id.clone(),
        algorithm: algorithm.into(),
        pem: pem.into(),
    };
    tokens.register_public_key(request).await.expect("registered").into_inner().key.expect("key").id
}

async fn login(stack: &TestStack, prefix: &str, jwt: &str) -> reqwest::Response {
    let login_path = format!("{prefix}{}", path(&stack.app_id, "/login"));
    call(stack, Method::POST, &login_path, Auth::None, Some(json!({ "jwt": jwt }))).await
}

async fn list_keys(stack: &TestStack, auth: Auth<'_>) -> reqwest::Response {
    call(stack, Method::GET, &path(&stack.app_id, "/keys"), auth, None).await
}

#[tokio::test]
async fn app_jwts_authenticate_api_calls_and_every_refusal_is_401() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let key = app_key(&stack, &stack.app_id).await;
    let good = hs256(&app_claims(), &key.id, key.secret.as_bytes());
    expect(list_keys(&stack, Auth::Bearer(&good)).await, StatusCode::OK).await;
    let sc_keys = format!("/sc{}", path(&stack.app_id, "/keys"));
    expect(call(&stack, Method::GET, &sc_keys, Auth::Bearer(&good), None).await, StatusCode::OK).await;

    let other_key = app_key(&stack, &other_application(&stack).await).await;
    let rsa_kid = register_public_key(&stack, "RS256", RSA_PUBLIC).await;
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
    let no_kid = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &app_claims(),
        &EncodingKey::from_secret(key.secret.as_bytes()),
    )
    .unwrap();
    let refusals = [
        ("expired", hs256(&json!({ "scope": "app", "exp": now() - 120 }), &key.id, key.secret.as_bytes()), "expired"),
        (
            "not valid yet",
            hs256(&json!({ "scope": "app", "nbf": now() + 120 }), &key.id, key.secret.as_bytes()),
            "not valid yet",
        ),
        ("bad signature", hs256(&app_claims(), &key.id, b"not the secret"), "signature"),
        ("alg none", unsigned(&app_claims(), &key.id), "algorithm|malformed"),
        ("user scope", hs256(&user_claims("u"), &key.id, key.secret.as_bytes()), "scope"),
        ("unknown kid", hs256(&app_claims(), "app_000000000000000000000000", key.secret.as_bytes()), "kid"),
        ("another app's key", hs256(&app_claims(), &other_key.id, other_key.secret.as_bytes()), "kid"),
        ("no kid", no_kid, "kid"),
        // Public keys sign logins only: no app key has this kid.
        ("a public key's JWT", signed(Algorithm::RS256, &rsa, &app_claims(), &rsa_kid), "kid"),
        ("garbage", "not.a.jwt".to_owned(), "malformed"),
    ];
    for (case, jwt, reason) in refusals {
        let title =
            assert_error(list_keys(&stack, Auth::Bearer(&jwt)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        assert!(reason.split('|').any(|r| title.contains(r)), "{case}: {title}");
    }

    // Bearer wins over Basic when both are sent.
    let both = |jwt: &str, key: &AppKey| {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", key.id, key.secret));
        stack
            .http
            .get(format!("{}{}", stack.base, path(&stack.app_id, "/keys")))
            .header("authorization", format!("Basic {basic}"))
            .header("authorization", format!("Bearer {jwt}"))
            .send()
    };
    assert_error(both("nope", &key).await.unwrap(), StatusCode::UNAUTHORIZED, "unauthorized").await;
    let wrong = AppKey { id: key.id.clone(), secret: "wrong".into() };
    expect(both(&good, &wrong).await.unwrap(), StatusCode::OK).await;
}

#[tokio::test]
async fn login_creates_the_user_once_marks_it_authenticated_and_issues_a_session_token() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    let key = app_key(&stack, &stack.app_id).await;
    let jwt = hs256(&user_claims("Shopper-1"), &key.id, key.secret.as_bytes());
    let first = expect(login(&stack, "", &jwt).await, StatusCode::CREATED).await;
    let user = &first["user"];
    assert_eq!(
        (user["externalId"].as_str(), user["authenticated"].as_bool()),
        (Some("Shopper-1"), Some(true)),
        "{first}"
    );
    assert!(first["expiresAt"].as_str().unwrap().ends_with('Z'));
    let validated = stack.validate(first["sessionToken"].as_str().unwrap()).await;
    assert!(validated.valid);
    assert_eq!(validated.user_id, user["id"].as_str().unwrap());

    // Again, by the Bearer header and under /sc: the same user, 200.
    let again = stack
        .http
        .post(format!("{}/sc{}", stack.base, path(&stack.app_id, "/login")))
        .bearer_auth(hs256(&user_claims("SHOPPER-1"), &key.id, key.secret.as_bytes()))
        .send()
        .await
        .unwrap();
    let again = expect(again, StatusCode::OK).await;
    assert_eq!(again["user"]["id"], user["id"]);
    assert_ne!(again["sessionToken"], first["sessionToken"]);

    // A user created by API call logs in: found, and now authenticated.
    let created = call(
        &stack,
        Method::POST,
        &path(&stack.app_id, "/users"),
        Auth::Basic(&key),
        Some(json!({ "externalId": "api-1" })),
    )
    .await;
    let created = expect(created, StatusCode::CREATED).await;
    assert_eq!(created["user"]["authenticated"], false);
    let logged_in =
        expect(login(&stack, "", &hs256(&user_claims("api-1"), &key.id, key.secret.as_bytes())).await, StatusCode::OK)
            .await;
    assert_eq!(logged_in["user"]["id"], created["user"]["id"]);
    assert_eq!(logged_in["user"]["authenticated"], true);
    assert_eq!(all_users(&stack, &stack.app_id).await.len(), 2);
}

#[tokio::test]
async fn rs256_and_es256_logins_verify_against_registered_public_keys() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let rsa_kid = register_public_key(&stack, "RS256", RSA_PUBLIC).await;
    let ec_kid = register_public_key(&stack, "ES256", EC_PUBLIC).await;
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
    let ec = EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap();
    let by_rsa = signed(Algorithm::RS256, &rsa, &user_claims("rsa-user"), &rsa_kid);
    assert_eq!(expect(login(&stack, "", &by_rsa).await, StatusCode::CREATED).await["user"]["externalId"], "rsa-user");
    let by_ec = signed(Algorithm::ES256, &ec, &user_claims("ec-user"), &ec_kid);
    assert_eq!(expect(login(&stack, "", &by_ec).await, StatusCode::CREATED).await["user"]["externalId"], "ec-user");

    let refusals = [
        ("RS256 under the EC key's kid", signed(Algorithm::RS256, &rsa, &user_claims("x"), &ec_kid), "algorithm"),
        ("ES256 under the RSA key's kid", signed(Algorithm::ES256, &ec, &user_claims("x"), &rsa_kid), "algorithm"),
        // The public key's PEM used as an HMAC secret: the key pins RS256, so HS256 is refused
        // before any signature check.
        ("HS256 with the RSA PEM as secret", hs256(&user_claims("x"), &rsa_kid, RSA_PUBLIC.as_bytes()), "algorithm"),
        ("HS256 with the EC PEM as secret", hs256(&user_claims("x"), &ec_kid, EC_PUBLIC.as_bytes()), "algorithm"),
        ("alg none under a public key", unsigned(&user_claims("x"), &rsa_kid), "algorithm|malformed"),
        (
            "expired",
            signed(Algorithm::ES256, &ec, &json!({ "scope": "user", "external_id": "x", "exp": now() - 120 }), &ec_kid),
            "expired",
        ),
    ];
    for (case, jwt, reason) in refusals {
        let title = assert_error(login(&stack, "", &jwt).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        assert!(reason.split('|').any(|r| title.contains(r)), "{case}: {title}");
    }

    // A deleted public key verifies nothing more.
    let mut tokens = TokenServiceClient::new(test_support::channel(stack.stack().token).await);
    let request = token_pb::DeletePublicKeyRequest { app_id: stack.app_id.clone(), key_id: ec_kid.clone() };
    tokens.delete_public_key(request).await.unwrap();
    let title = assert_error(login(&stack, "", &by_ec).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(title.contains("kid"), "{title}");
    assert_eq!(all_users(&stack, &stack.app_id).await.len(), 2, "no refused login created a user");
}

#[tokio::test]
async fn login_refusals_are_401_and_create_nobody() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let key = app_key(&stack, &stack.app_id).await;
    let other_key = app_key(&stack, &other_application(&stack).await).await;
    let secret = key.secret.as_bytes();
    let refusals = [
        (
            "expired",
            hs256(&json!({ "scope": "user", "external_id": "x", "exp": now() - 120 }), &key.id, secret),
            "expired",
        ),
        (
            "not valid yet",
            hs256(&json!({ "scope": "user", "external_id": "x", "nbf": now() + 120 }), &key.id, secret),
            "not valid yet",
        ),
        ("bad signature", hs256(&user_claims("x"), &key.id, b"guess"), "signature"),
        ("alg none", unsigned(&user_claims("x"), &key.id), "algorithm|malformed"),
        ("app scope", hs256(&app_claims(), &key.id, secret), "scope"),
        ("no external_id", hs256(&json!({ "scope": "user" }), &key.id, secret), "external_id"),
        ("unknown kid", hs256(&user_claims("x"), "app_000000000000000000000000", secret), "kid"),
        ("another app's key", hs256(&user_claims("x"), &other_key.id, other_key.secret.as_bytes()), "kid"),
        ("garbage", "garbage".to_owned(), "malformed"),
    ];
    for (case, jwt, reason) in refusals {
        let title = assert_error(login(&stack, "", &jwt).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        assert!(reason.split('|').any(|r| title.contains(r)), "{case}: {title}");
    }
    let no_jwt = call(&stack, Method::POST, &path(&stack.app_id, "/login"), Auth::None, Some(json!({}))).await;
    assert_error(no_jwt, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let bad_app = call(
        &stack,
        Method::POST,
        &path("nope", "/login"),
        Auth::None,
        Some(json!({ "jwt": hs256(&user_claims("x"), &key.id, secret) })),
    )
    .await;
    assert_error(bad_app, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(all_users(&stack, &stack.app_id).await.is_empty());
}

/// Key rotation: once a key is deleted, its Basic credential, its app JWTs and its login JWTs
/// are all refused; the other key keeps working.
#[tokio::test]
async fn deleting_an_app_key_refuses_everything_it_signed() {
    let stack = spawn_stack(Backend::Sqlite, true).await;
    let old = app_key(&stack, &stack.app_id).await;
    let new = app_key(&stack, &stack.app_id).await;
    let old_app_jwt = hs256(&app_claims(), &old.id, old.secret.as_bytes());
    let old_login = hs256(&user_claims("rotating"), &old.id, old.secret.as_bytes());
    expect(list_keys(&stack, Auth::Bearer(&old_app_jwt)).await, StatusCode::OK).await;
    expect(login(&stack, "", &old_login).await, StatusCode::CREATED).await;

    let delete =
        call(&stack, Method::DELETE, &path(&stack.app_id, &format!("/keys/{}", old.id)), Auth::Basic(&new), None).await;
    expect(delete, StatusCode::OK).await;
    assert_error(list_keys(&stack, Auth::Bearer(&old_app_jwt)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_error(list_keys(&stack, Auth::Basic(&old)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let title = assert_error(login(&stack, "", &old_login).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(title.contains("kid"), "{title}");

    let listed = expect(
        list_keys(&stack, Auth::Bearer(&hs256(&app_claims(), &new.id, new.secret.as_bytes()))).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["keys"], json!([{ "id": new.id, "displayName": "tests" }]));
    let relogin = hs256(&user_claims("rotating"), &new.id, new.secret.as_bytes());
    expect(login(&stack, "", &relogin).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_hundred_concurrent_logins_of_one_new_external_id_create_one_user_on_postgres() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    let key = app_key(&stack, &stack.app_id).await;
    let url = format!("{}{}", stack.base, path(&stack.app_id, "/login"));
    let logins = (0..100).map(|i| {
        let external_id = if i % 2 == 0 { "Crowd-1" } else { "CROWD-1" };
        let body = json!({ "jwt": hs256(&user_claims(external_id), &key.id, key.secret.as_bytes()) });
        let (http, url) = (stack.http.clone(), url.clone());
        tokio::spawn(async move {
            let response = http.post(url).json(&body).send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            (status, body["user"]["id"].as_str().unwrap_or_default().to_owned())
        })
    });
    let (mut created, mut found, mut ids) = (0, 0, Vec::new());
    for login in logins.collect::<Vec<_>>() {
        let (status, id) = login.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => found += 1,
            other => panic!("unexpected {other}"),
        }
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!((created, found, ids.len()), (1, 99, 1));
    let users = all_users(&stack, &stack.app_id).await;
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!((users[0].id.as_str(), users[0].authenticated), (ids[0].as_str(), true));
}
