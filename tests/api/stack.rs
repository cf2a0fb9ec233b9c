//! The stack as a whole: start-up, first application, health, request ids, shutdown.

use reqwest::StatusCode;
use roster::Stack;
use serde_json::Value;
use test_support::Backend;

use crate::helpers::spawn_stack;

#[tokio::test]
async fn first_start_creates_one_application_and_a_restart_does_not() {
    let mut stack = spawn_stack(Backend::Sqlite, false).await;
    assert_eq!(stack.token.len(), 40);
    stack.stop().await;
    let restarted = Stack::start(test_support::settings(&stack.db, false)).await.expect("restart");
    assert!(restarted.first_application.is_none(), "the application already exists");
    restarted.stop().await.expect("clean shutdown");
}

#[tokio::test]
async fn health_and_readiness() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let alive = stack.get("/healthz", None).await;
    assert_eq!(alive.status(), StatusCode::OK);
    let ready = stack.get("/readyz", None).await;
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value = ready.json().await.unwrap();
    for service in ["registry", "token", "context", "events"] {
        assert_eq!(body["services"][service], "serving", "{body}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_the_callers() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let generated = stack.get("/healthz", None).await;
    let id = generated.headers().get("x-request-id").expect("generated id");
    assert!(!id.is_empty());
    let kept = stack
        .http
        .get(format!("{}/v3/users/nobody", stack.base))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers().get("x-request-id").unwrap(), "trace-me-42");
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let response = stack.get("/v9/nothing", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], true);
}

#[tokio::test]
async fn runs_on_postgresql_with_redis() {
    let mut stack = spawn_stack(Backend::Postgres, true).await;
    let created =
        stack.post("/v3/users", Some(&stack.token), r#"{"user_id":"pg","nickname":"P","profile_url":""}"#).await;
    assert_eq!(created.status(), StatusCode::OK);
    let fetched = stack.get("/v3/users/pg", Some(&stack.token)).await;
    assert_eq!(fetched.status(), StatusCode::OK);
    stack.stop().await;
}

#[tokio::test]
async fn metrics_count_routes_rpcs_validations_caches_and_pools() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let body = r#"{"user_id": "m", "nickname": "m", "profile_url": ""}"#;
    assert_eq!(stack.post("/v3/users", Some(&stack.token), body).await.status(), StatusCode::OK);
    assert_eq!(stack.get("/v3/users/m", Some("wrong")).await.status(), StatusCode::BAD_REQUEST);
    let session = stack
        .http
        .post(format!("{}/v3/users/m/token", stack.base))
        .header("api-token", &stack.token)
        .send()
        .await
        .unwrap();
    let token = session.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    assert!(stack.validate(&token).await.valid);

    let url = format!("http://{}/metrics", stack.stack().metrics.expect("metrics are on"));
    let text = stack.http.get(url).send().await.unwrap().text().await.unwrap();
    for needle in [
        r#"roster_http_requests_total{route="/v3/users",method="POST",status="200"} 1"#,
        r#"roster_http_requests_total{route="/v3/users/{user_id}",method="GET",status="400"} 1"#,
        r#"roster_grpc_requests_total{rpc="/roster.registry.v1.RegistryService/CreateUser",code="0"} 1"#,
        // The wrong API token: UNAUTHENTICATED (16) from token-service.
        r#"roster_grpc_requests_total{rpc="/roster.token.v1.TokenService/AuthenticateCaller",code="16"} 1"#,
        r#"roster_token_validations_total{kind="session",outcome="valid"} 1"#,
        // The API token's second use is answered by the gateway's caller cache, with no hop.
        r#"roster_caller_cache_requests_total{result="hit"}"#,
        r#"roster_cache_requests_total{cache="revocation",result="miss"} 1"#,
        "roster_grpc_request_duration_seconds_bucket",
        // SQLite: one connection, every statement queued for it (platform::db::connect).
        r#"roster_db_pool_max_connections{service="registry"} 1"#,
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    assert!(!text.contains(&stack.token), "no credential in metrics");
}

#[tokio::test]
async fn the_probe_command_checks_grpc_and_http_health() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    roster::probe(Some(&stack.stack().registry.to_string()), None).await.expect("registry serving");
    roster::probe(None, Some(&format!("{}/readyz", stack.base))).await.expect("gateway ready");
    assert!(roster::probe(None, Some(&format!("{}/nope", stack.base))).await.is_err(), "404 is not healthy");
    assert!(roster::probe(Some("127.0.0.1:1"), None).await.is_err(), "nothing listens there");
    assert!(roster::probe(None, None).await.is_err());
}

/// The `roster apps` admin CLI against the running token-service.
#[tokio::test]
async fn the_apps_cli_creates_updates_and_lists_applications() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let endpoint = format!("http://{}", stack.stack().token);
    // Async, so this test's runtime keeps serving the stack while the CLI waits on it.
    let roster = async |args: &[&str]| {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(args)
            .env("ROSTER_TOKEN__ENDPOINT", &endpoint)
            .env("ROSTER_TELEMETRY__FILTER", "warn")
            .output()
            .await
            .expect("roster runs");
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        (output.status.success(), text(&output.stdout), text(&output.stderr))
    };
    let (ok, out, err) = roster(&["apps", "create", "--name", "cli app", "--rate-limit", "5"]).await;
    assert!(ok, "{err}");
    let field =
        |name: &str| out.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).map(str::to_owned).expect(name);
    let (app_id, token) = (field("app id:"), field("API token:"));
    let unknown_user = stack.get("/v3/users/nobody", Some(&token)).await;
    assert_eq!(unknown_user.json::<Value>().await.unwrap()["code"], 400201, "the printed token works");

    let (ok, out, err) = roster(&["apps", "update", "--id", &app_id, "--access-token-limit", "3"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("rate_limit=5 access_token_limit=3 session_ttl_secs=604800"), "{out}");
    let (ok, out, _) = roster(&["apps", "list"]).await;
    assert!(
        ok && out
            .lines()
            .any(|l| l.starts_with(&app_id) && l.contains("cli app") && l.contains("access_token_limit=3")),
        "{out}"
    );

    let (ok, _, err) = roster(&["apps", "update", "--id", &platform::ids::new_id(), "--rate-limit", "1"]).await;
    assert!(!ok && err.contains("not found"), "{err}");
    let (ok, _, err) = roster(&["apps", "update", "--id", &app_id, "--access-token-limit", "100000"]).await;
    assert!(!ok && err.contains("out of range"), "{err}");
}
