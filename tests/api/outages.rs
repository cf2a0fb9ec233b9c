//! Dependencies that go away: every dialect answers 503 with `Retry-After` (never a 500), within
//! the gateway's deadline, `/readyz` says not ready while it lasts, and Roster recovers by itself.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use test_support::{Backend, FaultProxy, TestDatabase};

use crate::helpers::spawn_stack_with;

/// `host:port` of a database URL.
fn host_port(url: &str) -> &str {
    let after_user = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
    after_user.split('/').next().unwrap()
}

async fn readyz(base: &str) -> StatusCode {
    reqwest::get(format!("{base}/readyz")).await.unwrap().status()
}

/// Until `check` holds (bounded; the state is what is asserted, not how long it took).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never: {what}");
}

#[tokio::test]
async fn a_database_that_goes_away_is_a_503_until_it_returns() {
    let db = TestDatabase::postgres().await;
    let upstream = host_port(&db.url).to_owned();
    let proxy = FaultProxy::start(upstream.parse().unwrap()).await;
    let proxied = db.url.replace(&upstream, &proxy.addr().to_string());
    let t = spawn_stack_with(Backend::Postgres, false, |s| s.database.url = Some(SecretString::from(proxied))).await;
    let create = |id: &str| json!({"user_id": id, "nickname": "", "profile_url": ""});
    t.ok(Method::POST, "/v3/users", Some(create("before"))).await;
    assert_eq!(readyz(&t.base).await, StatusCode::OK);

    proxy.cut();
    let sendbird = t.call(Method::POST, "/v3/users", &t.token, Some(create("during"))).await;
    assert_eq!(sendbird.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(sendbird.headers()["retry-after"], "1");
    let body: Value = sendbird.json().await.unwrap();
    assert_eq!(body["error"], true, "Sendbird's shape: {body}");
    let ada = t
        .http
        .post(format!("{}/api/v2/end-users", t.base))
        .bearer_auth(&t.token)
        .json(&json!({"profile": {"first_name": "Ada"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(ada.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ada.headers().contains_key("retry-after"));
    let body: Value = ada.json().await.unwrap();
    assert_eq!(body["errors"][0]["type"], "service_unavailable", "Ada's shape: {body}");
    let base = t.base.clone();
    eventually("/readyz says not ready", || {
        let base = base.clone();
        async move { readyz(&base).await == StatusCode::SERVICE_UNAVAILABLE }
    })
    .await;

    // Back, with nothing restarted.
    proxy.restore().await;
    eventually("creates succeed again", || async {
        t.call(Method::POST, "/v3/users", &t.token, Some(create("after"))).await.status() == StatusCode::OK
    })
    .await;
    eventually("/readyz says ready", || {
        let base = base.clone();
        async move { readyz(&base).await == StatusCode::OK }
    })
    .await;
    let listed = t.ok(Method::GET, "/v3/users?limit=10", None).await;
    let ids: Vec<&str> = listed["users"].as_array().unwrap().iter().map(|u| u["user_id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"before") && ids.contains(&"after") && !ids.contains(&"during"), "{ids:?}");
}

#[tokio::test]
async fn a_gateway_whose_services_are_down_answers_503_in_every_dialect() {
    let db = TestDatabase::sqlite();
    let mut settings = test_support::settings(&db, false);
    // A port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    for service in [&mut settings.registry, &mut settings.token, &mut settings.context, &mut settings.events] {
        service.endpoint = format!("http://{dead}");
    }
    settings.webhooks.dispatch = false;
    let gateway = gateway::Application::build(&settings).await.unwrap();
    let base = format!("http://{}", gateway.local_addr());
    let shutdown = platform::Shutdown::new();
    tokio::spawn(gateway.run(shutdown.clone()));
    let http = reqwest::Client::new();
    let token = "0123456789abcdef0123456789abcdef01234567";
    let kore_jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"appId": "cs-00000000-0000-0000-0000-000000000000"}),
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    let calls = [
        ("sendbird", http.get(format!("{base}/v3/users")).header("Api-Token", token)),
        ("ada", http.get(format!("{base}/api/v2/end-users")).bearer_auth(token)),
        (
            "sunshine",
            http.get(format!("{base}/v2/apps/0123456789abcdef01234567/users/u"))
                .basic_auth("app_0123456789abcdef01234567", Some("secret")),
        ),
        ("kore", http.post(format!("{base}/api/public/users")).header("auth", &kore_jwt).json(&json!({"users": []}))),
    ];
    for (dialect, call) in calls {
        let answer = call.send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE, "{dialect}");
        assert_eq!(answer.headers()["retry-after"], "1", "{dialect}");
        let body: Value = answer.json().await.unwrap();
        assert!(body.is_object(), "{dialect}: {body}");
    }
    assert_eq!(readyz(&base).await, StatusCode::SERVICE_UNAVAILABLE);
    shutdown.trigger();
}
