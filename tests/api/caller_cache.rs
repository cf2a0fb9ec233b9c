//! The gateway's caller cache (issue 19): a repeated credential is answered from the replica's
//! memory, with no `AuthenticateCaller` hop, for at most `gateway.caller_cache_ms`; a revoked
//! credential is refused by every replica once that bound has passed since its revocation.

use std::time::Duration;

use proto::token::v1::{self as pb, token_service_client::TokenServiceClient};
use reqwest::StatusCode;
use test_support::Backend;

use crate::helpers::{TestStack, spawn_stack_with};

/// Another gateway replica in front of the same services, keeping callers `caller_cache_ms`.
async fn replica(t: &TestStack, caller_cache_ms: u64) -> (String, platform::Shutdown) {
    let mut settings = test_support::settings(&t.db, false);
    settings.registry.endpoint = format!("http://{}", t.stack().registry);
    settings.token.endpoint = format!("http://{}", t.stack().token);
    settings.context.endpoint = format!("http://{}", t.stack().context);
    settings.events.endpoint = format!("http://{}", t.stack().events);
    settings.webhooks.dispatch = false;
    settings.gateway.caller_cache_ms = caller_cache_ms;
    let gateway = gateway::Application::build(&settings).await.expect("builds");
    let base = format!("http://{}", gateway.local_addr());
    let shutdown = platform::Shutdown::new();
    tokio::spawn(gateway.run(shutdown.clone()));
    (base, shutdown)
}

/// Sendbird's answer to a wrong API token: 400 with its code 400401.
const REFUSED: StatusCode = StatusCode::BAD_REQUEST;

async fn status(t: &TestStack, base: &str, token: &str) -> StatusCode {
    t.http.get(format!("{base}/v3/users?limit=1")).header("Api-Token", token).send().await.unwrap().status()
}

#[tokio::test]
async fn a_revoked_token_is_refused_by_every_replica_within_the_bound() {
    const BOUND_MS: u64 = 300;
    let t = spawn_stack_with(Backend::Sqlite, false, |s| s.gateway.caller_cache_ms = BOUND_MS).await;
    let mut tokens = TokenServiceClient::new(test_support::channel(t.stack().token).await);
    let request = pb::CreateApiTokenRequest { app_id: t.app_id.clone(), name: "ci".into(), scopes: vec![] };
    let created = tokens.create_api_token(request).await.unwrap().into_inner();
    let (token, token_id) = (created.api_token, created.info.unwrap().id);

    let (second, _second) = replica(&t, BOUND_MS).await;
    // A replica whose bound is an hour shows the cache answering with no hop at all.
    let (remembering, _remembering) = replica(&t, 3_600_000).await;
    let (asking, _asking) = replica(&t, 0).await;
    for base in [&t.base, &second, &remembering, &asking] {
        assert_eq!(status(&t, base, &token).await, StatusCode::OK, "{base}");
    }

    let revoke = pb::RevokeApiTokenRequest { app_id: t.app_id.clone(), api_token_id: token_id };
    tokens.revoke_api_token(revoke).await.unwrap();
    assert_eq!(status(&t, &asking, &token).await, REFUSED, "no cache: refused at once");
    assert_eq!(status(&t, &remembering, &token).await, StatusCode::OK, "answered from memory, no hop");
    tokio::time::sleep(Duration::from_millis(BOUND_MS)).await;
    for base in [&t.base, &second] {
        assert_eq!(status(&t, base, &token).await, REFUSED, "{base}: the bound has passed");
    }
    // A wrong token is never remembered as right, nor a refusal as final.
    assert_eq!(status(&t, &t.base, "not-a-token").await, REFUSED);
    assert_eq!(status(&t, &t.base, &t.token).await, StatusCode::OK);
}
