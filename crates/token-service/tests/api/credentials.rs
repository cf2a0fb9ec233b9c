//! App keys and public keys over gRPC: secrets shown once and sealed at rest, Basic and
//! `scope: app` JWT callers, and every way a customer JWT is refused.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proto::token::v1::{self as pb, authenticate_caller_request::Credential};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tonic::Code;

use crate::helpers::{TestTokenService, spawn_token_service};

const RSA_PRIVATE: &str = include_str!("keys/rsa-private.pem");
const RSA_PUBLIC: &str = include_str!("keys/rsa-public.pem");
const EC_PRIVATE: &str = include_str!("keys/ec-private.pem");
const EC_PUBLIC: &str = include_str!("keys/ec-public.pem");

fn now() -> i64 {
    platform::now_millis() / 1000
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

fn hs(kid: &str, secret: &str, claims: Value) -> String {
    sign(Algorithm::HS256, Some(kid), claims, &EncodingKey::from_secret(secret.as_bytes()))
}

async fn create_key(service: &mut TestTokenService, app_id: &str) -> (String, String) {
    let created = service
        .client
        .create_app_key(pb::CreateAppKeyRequest { app_id: app_id.into(), display_name: "backend".into() })
        .await
        .unwrap()
        .into_inner();
    (created.key.unwrap().id, created.secret)
}

async fn authenticate(
    service: &mut TestTokenService,
    credential: Credential,
    app_id: Option<&str>,
) -> Result<pb::AuthenticateCallerResponse, tonic::Status> {
    let request = pb::AuthenticateCallerRequest { credential: Some(credential), app_id: app_id.map(str::to_owned) };
    service.client.authenticate_caller(request).await.map(|r| r.into_inner())
}

fn basic(key_id: &str, secret: &str) -> Credential {
    Credential::Basic(pb::BasicCredential { key_id: key_id.into(), secret: secret.into() })
}

#[tokio::test]
async fn app_keys_show_their_secret_once_and_keep_it_sealed() {
    let mut service = spawn_token_service(false).await;
    let app = service.create_app().await;
    let (key_id, secret) = create_key(&mut service, &app).await;
    assert!(key_id.starts_with("app_") && key_id.len() == 28, "{key_id}");
    assert_eq!(secret.len(), 64);

    let listed = service.client.list_app_keys(pb::ListAppKeysRequest { app_id: app.clone() }).await.unwrap();
    let listed = listed.into_inner().keys;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id.as_str(), listed[0].display_name.as_str()), (key_id.as_str(), "backend"));
    assert!(!format!("{listed:?}").contains(&secret));
    let got = service.client.get_app_key(pb::GetAppKeyRequest { app_id: app.clone(), key_id: key_id.clone() }).await;
    assert_eq!(got.unwrap().into_inner().key.unwrap().id, key_id);

    // At rest: the row holds a sealed secret, not the secret (nor its hex or bytes).
    let db = service.db.as_ref().unwrap();
    let conn = platform::db::connect(&db.url, 1).await.unwrap();
    let row = conn
        .query_one(Statement::from_string(conn.get_database_backend(), "SELECT seal_kid, sealed_secret FROM app_keys"))
        .await
        .unwrap()
        .unwrap();
    let sealed: Vec<u8> = row.try_get("", "sealed_secret").unwrap();
    assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_bytes()));
    assert_eq!(row.try_get::<String>("", "seal_kid").unwrap(), "generated-1");

    // Another application cannot see or delete it; an unknown application has no keys.
    let other = service.create_app().await;
    let foreign = service.client.get_app_key(pb::GetAppKeyRequest { app_id: other.clone(), key_id: key_id.clone() });
    assert_eq!(foreign.await.unwrap_err().code(), Code::NotFound);
    let foreign = service.client.delete_app_key(pb::DeleteAppKeyRequest { app_id: other, key_id: key_id.clone() });
    assert_eq!(foreign.await.unwrap_err().code(), Code::NotFound);
    let unknown = pb::CreateAppKeyRequest { app_id: platform::ids::new_id(), display_name: "x".into() };
    assert_eq!(service.client.create_app_key(unknown).await.unwrap_err().code(), Code::NotFound);
    let long = pb::CreateAppKeyRequest { app_id: app.clone(), display_name: "x".repeat(101) };
    assert_eq!(service.client.create_app_key(long).await.unwrap_err().code(), Code::InvalidArgument);

    service.client.delete_app_key(pb::DeleteAppKeyRequest { app_id: app.clone(), key_id }).await.unwrap();
    assert!(
        service
            .client
            .list_app_keys(pb::ListAppKeysRequest { app_id: app })
            .await
            .unwrap()
            .into_inner()
            .keys
            .is_empty()
    );
}

#[tokio::test]
async fn basic_and_app_jwt_callers_and_every_refusal() {
    let mut service = spawn_token_service(false).await;
    let app = service.create_app().await;
    let other = service.create_app().await;
    let (key_id, secret) = create_key(&mut service, &app).await;
    let (other_key, other_secret) = create_key(&mut service, &other).await;

    let caller = authenticate(&mut service, basic(&key_id, &secret), Some(&app)).await.unwrap();
    assert_eq!((caller.app_id.as_str(), caller.credential_id.as_str()), (app.as_str(), key_id.as_str()));
    assert_eq!(caller.scopes, vec![pb::Scope::App as i32]);
    let jwt = hs(&key_id, &secret, json!({ "scope": "app" }));
    assert_eq!(authenticate(&mut service, Credential::Jwt(jwt.clone()), Some(&app)).await.unwrap().app_id, app);
    let expiring = hs(&key_id, &secret, json!({ "scope": "app", "exp": now() + 60 }));
    assert!(authenticate(&mut service, Credential::Jwt(expiring), Some(&app)).await.is_ok());

    let forged = &secret.replace(&secret[..1], if secret.starts_with('0') { "1" } else { "0" });
    let ec_key = EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap();
    let refusals: Vec<(&str, Credential, &str)> = vec![
        ("wrong secret", basic(&key_id, forged), "not valid"),
        ("unknown key", basic("app_000000000000000000000000", &secret), "not valid"),
        ("another app's key", basic(&other_key, &other_secret), "not valid"),
        ("user scope", Credential::Jwt(hs(&key_id, &secret, json!({ "scope": "user", "external_id": "u" }))), "scope"),
        ("no scope", Credential::Jwt(hs(&key_id, &secret, json!({}))), "scope"),
        ("expired", Credential::Jwt(hs(&key_id, &secret, json!({ "scope": "app", "exp": now() - 120 }))), "expired"),
        (
            "not yet valid",
            Credential::Jwt(hs(&key_id, &secret, json!({ "scope": "app", "nbf": now() + 120 }))),
            "not valid yet",
        ),
        ("bad signature", Credential::Jwt(hs(&key_id, forged, json!({ "scope": "app" }))), "signature"),
        ("unknown kid", Credential::Jwt(hs("app_nope", &secret, json!({ "scope": "app" }))), "kid names no key"),
        (
            "another app's kid",
            Credential::Jwt(hs(&other_key, &other_secret, json!({ "scope": "app" }))),
            "kid names no key",
        ),
        (
            "no kid",
            Credential::Jwt(sign(
                Algorithm::HS256,
                None,
                json!({ "scope": "app" }),
                &EncodingKey::from_secret(secret.as_bytes()),
            )),
            "names no key",
        ),
        (
            "ES256 under an app key's kid",
            Credential::Jwt(sign(Algorithm::ES256, Some(&key_id), json!({ "scope": "app" }), &ec_key)),
            "algorithm",
        ),
        (
            // {"alg":"none","kid":<key>} with the good token's payload and no signature.
            "alg none",
            Credential::Jwt(format!(
                "{}.{}.",
                hex_free_base64(&format!(r#"{{"alg":"none","kid":"{key_id}"}}"#)),
                jwt.split('.').nth(1).unwrap()
            )),
            "malformed",
        ),
        ("garbage", Credential::Jwt("a.b.c".into()), "malformed"),
    ];
    for (what, credential, message) in refusals {
        let refused = authenticate(&mut service, credential, Some(&app)).await.expect_err(what);
        assert_eq!(refused.code(), Code::Unauthenticated, "{what}");
        assert!(refused.message().contains(message), "{what}: {}", refused.message());
    }

    // Rotation: a deleted key's Basic credential and JWTs are refused from then on.
    let (new_key, new_secret) = create_key(&mut service, &app).await;
    service
        .client
        .delete_app_key(pb::DeleteAppKeyRequest { app_id: app.clone(), key_id: key_id.clone() })
        .await
        .unwrap();
    assert_eq!(
        authenticate(&mut service, Credential::Jwt(jwt), Some(&app)).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert!(authenticate(&mut service, basic(&key_id, &secret), Some(&app)).await.is_err());
    assert!(authenticate(&mut service, basic(&new_key, &new_secret), Some(&app)).await.is_ok());
}

/// Base64url without padding, enough for a JWT header in a test.
fn hex_free_base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn public_keys_are_pinned_to_their_algorithm() {
    let mut service = spawn_token_service(false).await;
    let app = service.create_app().await;
    let register = |algorithm: &str, pem: &str| pb::RegisterPublicKeyRequest {
        app_id: app.clone(),
        algorithm: algorithm.into(),
        pem: pem.into(),
    };
    let rsa =
        service.client.register_public_key(register("RS256", RSA_PUBLIC)).await.unwrap().into_inner().key.unwrap();
    let ec = service.client.register_public_key(register("ES256", EC_PUBLIC)).await.unwrap().into_inner().key.unwrap();
    assert!(rsa.id.starts_with("pk_") && ec.algorithm == "ES256");
    for (algorithm, pem) in
        [("ES256", RSA_PUBLIC), ("RS256", EC_PUBLIC), ("HS256", "secret"), ("none", EC_PUBLIC), ("RS256", "x")]
    {
        let refused = service.client.register_public_key(register(algorithm, pem)).await.expect_err(algorithm);
        assert_eq!(refused.code(), Code::InvalidArgument, "{algorithm}");
    }
    // A private key is never registered, so never listed: it is refused, and its material is
    // not echoed in the refusal.
    for (algorithm, pem) in [("RS256", RSA_PRIVATE), ("ES256", EC_PRIVATE)] {
        let refused = service.client.register_public_key(register(algorithm, pem)).await.expect_err(algorithm);
        assert_eq!(refused.code(), Code::InvalidArgument, "{algorithm}");
        assert!(refused.message().contains("private key"), "{}", refused.message());
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(!refused.message().contains(&body[..16]), "key material echoed");
    }
    let listed = service.client.list_public_keys(pb::ListPublicKeysRequest { app_id: app.clone() }).await.unwrap();
    let listed = listed.into_inner().keys;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|k| !k.pem.contains("PRIVATE")));

    // Public keys sign logins, never `scope: app` callers.
    let rsa_signed = sign(
        Algorithm::RS256,
        Some(&rsa.id),
        json!({ "scope": "app" }),
        &EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap(),
    );
    let refused = authenticate(&mut service, Credential::Jwt(rsa_signed), Some(&app)).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);

    service
        .client
        .delete_public_key(pb::DeletePublicKeyRequest { app_id: app.clone(), key_id: rsa.id.clone() })
        .await
        .unwrap();
    let again = service.client.delete_public_key(pb::DeletePublicKeyRequest { app_id: app.clone(), key_id: rsa.id });
    assert_eq!(again.await.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn admin_clients_sign_kore_jwts_with_pinned_hs256() {
    let mut service = spawn_token_service(false).await;
    let app = service.create_app().await;
    let other = service.create_app().await;
    let create = |app_id: &str, scopes: Vec<pb::Scope>| pb::CreateAdminClientRequest {
        app_id: app_id.into(),
        name: "kore-admin".into(),
        scopes: scopes.into_iter().map(|s| s as i32).collect(),
    };
    let created = service.client.create_admin_client(create(&app, vec![])).await.unwrap().into_inner();
    let (client, secret) = (created.client.unwrap(), created.secret);
    assert!(client.id.starts_with("cs-") && client.id.len() == 39, "{}", client.id);
    assert_eq!(client.scopes, vec![pb::Scope::UserManagement as i32], "user-management by default");
    let narrow = service.client.create_admin_client(create(&app, vec![pb::Scope::App])).await.unwrap().into_inner();
    let foreign = service.client.create_admin_client(create(&other, vec![])).await.unwrap().into_inner();
    let listed = service.client.list_admin_clients(pb::ListAdminClientsRequest { app_id: app.clone() }).await.unwrap();
    let listed = listed.into_inner().clients;
    assert_eq!(listed.len(), 2);
    assert!(!format!("{listed:?}").contains(&secret));

    let kore = |claims: Value, secret: &str| {
        sign(Algorithm::HS256, None, claims, &EncodingKey::from_secret(secret.as_bytes()))
    };
    let good = kore(json!({ "appId": client.id, "sub": "ops" }), &secret);
    let caller = authenticate(&mut service, Credential::Jwt(good.clone()), None).await.unwrap();
    assert_eq!((caller.app_id.as_str(), caller.credential_id.as_str()), (app.as_str(), client.id.as_str()));
    assert_eq!(caller.scopes, vec![pb::Scope::UserManagement as i32]);
    let within = kore(json!({ "appId": client.id, "exp": now() + 60 }), &secret);
    assert!(authenticate(&mut service, Credential::Jwt(within), None).await.is_ok());
    let narrow_jwt = kore(json!({ "appId": narrow.client.unwrap().id }), &narrow.secret);
    let narrow_caller = authenticate(&mut service, Credential::Jwt(narrow_jwt), None).await.unwrap();
    assert_eq!(narrow_caller.scopes, vec![pb::Scope::App as i32], "the gateway refuses it the user-management call");

    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
    let refusals = [
        ("bad signature", kore(json!({ "appId": client.id }), "not-the-secret"), "signature"),
        ("expired", kore(json!({ "appId": client.id, "exp": now() - 120 }), &secret), "expired"),
        ("unknown client", kore(json!({ "appId": "cs-nope" }), &secret), "admin client"),
        ("no appId", kore(json!({ "sub": "x" }), &secret), "names no key"),
        ("another app's client", kore(json!({ "appId": foreign.client.unwrap().id }), &foreign.secret), "admin client"),
        ("RS256", sign(Algorithm::RS256, None, json!({ "appId": client.id }), &rsa), "algorithm"),
        (
            "alg none",
            format!("{}.{}.", hex_free_base64(r#"{"alg":"none","typ":"JWT"}"#), good.split('.').nth(1).unwrap()),
            "malformed",
        ),
    ];
    for (what, token, message) in refusals {
        let expected = if what == "another app's client" { Some(app.as_str()) } else { None };
        let refused = authenticate(&mut service, Credential::Jwt(token), expected).await.expect_err(what);
        assert_eq!(refused.code(), Code::Unauthenticated, "{what}");
        assert!(refused.message().contains(message), "{what}: {}", refused.message());
    }

    // A deleted client's tokens are refused from then on.
    let delete = pb::DeleteAdminClientRequest { app_id: app.clone(), client_id: client.id.clone() };
    service.client.delete_admin_client(delete.clone()).await.unwrap();
    assert_eq!(
        authenticate(&mut service, Credential::Jwt(good), None).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert_eq!(service.client.delete_admin_client(delete).await.unwrap_err().code(), Code::NotFound);
}
