//! Session tokens signed and verified (`jwt::KeySet`: the compact form, and the HS256 JWTs of before), the access-token hash, and
//! `Tokens::validate` itself once its caches are warm, so no call leaves the process: the hot
//! path of `ValidateToken` without the gRPC hop. `cargo bench -p token-service --bench tokens`.
//!
//! `validate` is async and written against the cache and store traits, so there is no separate
//! pure function to time; its pure steps are `KeySet::verify` (session tokens) and the SHA-256 of
//! `hash_secret` (access tokens), benched on their own, and `validate` runs here against the
//! in-process cache with a revocation cache long enough that the database is read only once.
#![allow(clippy::unwrap_used)] // a benchmark fails loudly on a broken set-up
#![allow(clippy::disallowed_methods)] // it measures wall time

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use token_service::{
    app::{SessionKeys, Tokens},
    domain::{AppId, AppSettings, ISSUER, Name, SessionClaims},
    jwt::KeySet,
};

fn claims() -> SessionClaims {
    let now = platform::now_millis();
    SessionClaims {
        iss: ISSUER.into(),
        sub: platform::ids::new_id(),
        app: platform::ids::new_id(),
        iat: now / 1000,
        exp: now / 1000 + 7 * 24 * 3600,
        iat_ms: now,
        jti: platform::ids::new_id(),
    }
}

fn session_tokens(c: &mut Criterion) {
    let keys = KeySet::new(&[("k2".into(), vec![2; 32]), ("k1".into(), vec![1; 32])]).expect("keys");
    let claims = claims();
    let now = platform::now_millis();
    let token = keys.sign(&claims).expect("signs");
    let mut group = c.benchmark_group("session_token");
    group.bench_function("sign", |b| b.iter(|| keys.sign(black_box(&claims)).expect("signs")));
    group.bench_function("verify", |b| b.iter(|| keys.verify(black_box(&token), now).expect("valid")));
    let forged = KeySet::new(&[("k2".into(), vec![9; 32])]).expect("keys").sign(&claims).expect("signs");
    group.bench_function("verify_forged", |b| b.iter(|| keys.verify(black_box(&forged), now).is_err()));
    // The HS256 JWT Roster issued before the compact form, still verified until it expires.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("k2".into());
    let legacy = jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(&[2; 32])).unwrap();
    group.bench_function("verify_legacy_jwt", |b| b.iter(|| keys.verify(black_box(&legacy), now).expect("valid")));
    group.finish();
    println!("session token: {} characters (a legacy JWT: {})", token.len(), legacy.len());
    let access = platform::secret::new_secret(20);
    c.bench_function("access_token/hash", |b| b.iter(|| platform::secret::hash_secret(black_box(&access))));
}

/// The registry, as far as these benchmarks go: it has the one user they issue tokens for.
struct OneUser;

#[async_trait::async_trait]
impl token_service::app::UserDirectory for OneUser {
    async fn login(
        &self,
        _: &AppId,
        _: &str,
    ) -> Result<(token_service::app::DirectoryUser, bool), token_service::error::TokenError> {
        Err(anyhow::anyhow!("no login in these benchmarks").into())
    }

    async fn find(
        &self,
        _: &AppId,
        user: &str,
    ) -> Result<Option<token_service::app::DirectoryUser>, token_service::error::TokenError> {
        Ok((user == "0000000000000000000be4c8")
            .then(|| token_service::app::DirectoryUser { id: user.to_owned(), is_active: true }))
    }
}

/// token-service on a throwaway SQLite file with the in-process cache, an application, and a
/// session and an access token of one user.
async fn warm_tokens(dir: &std::path::Path) -> (Tokens, AppId, String, String) {
    let mut settings = platform::Settings { data_dir: dir.to_path_buf(), ..Default::default() };
    settings.token.listen = "127.0.0.1:0".parse().expect("addr");
    settings.session.revocation_cache_ms = 3_600_000;
    let bound = token_service::Application::bind(&settings).await.expect("binds");
    let app = bound.with_directory(std::sync::Arc::new(OneUser));
    let tokens = app.tokens().clone();
    let name = Name::parse("name", "bench".into()).expect("name");
    let created = tokens.create_application(name, AppSettings::default(), false).await.expect("app");
    let app_id = created.application.id;
    let session = tokens.issue_session_token(&app_id, "0000000000000000000be4c8", None).await.expect("session").token;
    let access = tokens
        .issue_access_token(&app_id, "0000000000000000000be4c8")
        .await
        .expect("access")
        .secret
        .expose()
        .to_owned();
    for token in [&session, &access] {
        assert!(tokens.validate(token, Some(&app_id)).await.expect("answers").is_ok());
    }
    (tokens, app_id, session, access)
}

fn validate(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (tokens, app_id, session, access) = runtime.block_on(warm_tokens(dir.path()));
    let mut group = c.benchmark_group("validate_warm");
    for (name, token) in [("session", &session), ("access", &access)] {
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(tokens.validate(black_box(token), Some(&app_id))).expect("answers"))
        });
    }
    group.finish();
}

criterion_group!(benches, session_tokens, validate);
criterion_main!(benches);
