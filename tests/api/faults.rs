//! The fault suite: Roster in its production shape (PostgreSQL, Redis, and the five services as
//! five `roster serve --service` processes, as Kubernetes runs them) under a bounded load of
//! creates, session-token issues, revocations and validations, while Redis is killed and
//! restarted and then flushed, PostgreSQL is stopped and started, the registry process is killed
//! and restarted, and each of the five processes is stopped with SIGTERM and started again.
//!
//! Counted, and asserted: acknowledged creates lost, users duplicated, revoked tokens valid again,
//! 5xx answers other than 503 (503s during an outage are expected and counted), and recovery
//! after each fault with nothing but the failed part restarted.
//!
//! `scripts/test` starts the PostgreSQL this suite stops (`TEST_FAULT_DATABASE_URL`,
//! `TEST_FAULT_PG_STOP`, `TEST_FAULT_PG_START`); Redis is the suite's own `redis-server`.

use std::{
    collections::{BTreeMap, BTreeSet},
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use proto::token::v1::{self as pb, token_service_client::TokenServiceClient};
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::{free_port, until_listening};
use tokio::process::{Child, Command};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the suite with scripts/test"))
}

async fn shell(command: &str) {
    let status = Command::new("sh").arg("-c").arg(command).stdout(Stdio::null()).status().await.unwrap();
    assert!(status.success(), "{command}");
}

/// The five processes' ports and the environment they share.
struct Shape {
    registry: u16,
    token: u16,
    context: u16,
    events: u16,
    gateway: u16,
    database_url: String,
    redis_url: String,
}

impl Shape {
    fn env(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("DATABASE_URL".into(), self.database_url.clone()),
            ("REDIS_URL".into(), self.redis_url.clone()),
            ("ROSTER_DATABASE__AUTO_MIGRATE".into(), "false".into()),
            ("ROSTER_METRICS__ENABLED".into(), "false".into()),
            ("ROSTER_TELEMETRY__FILTER".into(), "error".into()),
            ("ROSTER_SHUTDOWN__DRAIN_TIMEOUT_SECS".into(), "10".into()),
            // One signing key for every process that restarts, as a Kubernetes Secret gives it.
            ("ROSTER_SESSION__SIGNING_KEYS".into(), format!("faults:{}", "ab".repeat(32))),
            ("ROSTER_SECRETS__SEALING_KEYS".into(), format!("faults:{}", "cd".repeat(32))),
        ];
        for (name, port) in
            [("REGISTRY", self.registry), ("TOKEN", self.token), ("CONTEXT", self.context), ("EVENTS", self.events)]
        {
            vars.push((format!("ROSTER_{name}__LISTEN"), format!("127.0.0.1:{port}")));
            vars.push((format!("ROSTER_{name}__ENDPOINT"), format!("http://127.0.0.1:{port}")));
        }
        vars.push(("ROSTER_GATEWAY__LISTEN".into(), format!("127.0.0.1:{}", self.gateway)));
        vars
    }

    fn spawn(&self, service: &str) -> Child {
        Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["serve", "--service", service])
            .envs(self.env())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }
}

/// Until `child` listens on `port`; if it exits first, fails with what it logged (a port taken
/// meanwhile by another test, a start that failed) instead of waiting out the bound.
async fn serving(child: &mut Child, port: u16, log: &std::path::Path) {
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("roster exited before listening ({status}): {}", std::fs::read_to_string(log).unwrap_or_default());
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {port} after 30 s: {}", std::fs::read_to_string(log).unwrap_or_default());
}

fn sigterm(child: &Child) {
    let pid = child.id().expect("running");
    let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
}

/// What the load saw.
#[derive(Default)]
struct Tally {
    acknowledged: BTreeSet<String>,
    answered_503: u64,
    other_5xx: Vec<(StatusCode, String)>,
    /// No answer at all: the gateway process was down or restarting.
    unreachable: u64,
    /// Session tokens whose revocation was acknowledged.
    revoked: Vec<String>,
    /// Live tokens, to validate at the end.
    live: Vec<String>,
}

/// One worker: create a user, issue it a session token, revoke every third user's tokens.
async fn work(worker: usize, base: String, api_token: String, tally: Arc<Mutex<Tally>>, stop: Arc<AtomicBool>) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().unwrap();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let user_id = format!("w{worker}-{i}");
        let call = |request: reqwest::RequestBuilder| {
            let tally = tally.clone();
            async move {
                match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        let body: Value = response.json().await.unwrap_or(Value::Null);
                        let mut t = tally.lock().unwrap();
                        if status == StatusCode::SERVICE_UNAVAILABLE {
                            t.answered_503 += 1;
                        } else if status.is_server_error() {
                            t.other_5xx.push((status, body.to_string()));
                        }
                        Some((status, body))
                    }
                    Err(_) => {
                        tally.lock().unwrap().unreachable += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        None
                    }
                }
            }
        };
        let create = http
            .post(format!("{base}/v3/users"))
            .header("Api-Token", &api_token)
            .json(&json!({"user_id": user_id, "nickname": "", "profile_url": ""}));
        let Some((StatusCode::OK, _)) = call(create).await else { continue };
        tally.lock().unwrap().acknowledged.insert(user_id.clone());
        let issue =
            http.post(format!("{base}/v3/users/{user_id}/token")).header("Api-Token", &api_token).json(&json!({}));
        let Some((StatusCode::OK, body)) = call(issue).await else { continue };
        let token = body["token"].as_str().unwrap_or_default().to_owned();
        if i % 3 == 0 {
            let revoke = http.delete(format!("{base}/v3/users/{user_id}/token")).header("Api-Token", &api_token);
            if let Some((StatusCode::OK, _)) = call(revoke).await {
                tally.lock().unwrap().revoked.push(token);
            }
        } else {
            tally.lock().unwrap().live.push(token);
        }
    }
}

/// Every user id of the application, page by page.
async fn all_user_ids(base: &str, api_token: &str) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut found = Vec::new();
    let mut next = String::new();
    loop {
        let page: Value = http
            .get(format!("{base}/v3/users?limit=100&token={next}"))
            .header("Api-Token", api_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        found.extend(page["users"].as_array().unwrap().iter().map(|u| u["user_id"].as_str().unwrap().to_owned()));
        next = page["next"].as_str().unwrap_or_default().to_owned();
        if next.is_empty() {
            return found;
        }
    }
}

async fn validate(client: &mut TokenServiceClient<tonic::transport::Channel>, token: &str) -> Option<bool> {
    let request = pb::ValidateTokenRequest { token: token.to_owned(), app_id: None };
    client.validate_token(request).await.ok().map(|r| r.into_inner().valid)
}

/// Until a create through the gateway succeeds again; how long that took.
async fn recovered(base: &str, api_token: &str, what: &str, bounds: &mut BTreeMap<String, Duration>) {
    let started = platform::Stopwatch::start();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    for i in 0..600 {
        let probe = http
            .post(format!("{base}/v3/users"))
            .header("Api-Token", api_token)
            .json(&json!({"user_id": format!("probe-{what}-{i}"), "nickname": "", "profile_url": ""}))
            .send()
            .await;
        if probe.is_ok_and(|r| r.status() == StatusCode::OK) {
            bounds.insert(what.to_owned(), started.elapsed());
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no recovery after {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_faults_lose_nothing_duplicate_nothing_and_heal_by_themselves() {
    // The suite's own Redis, so it can be killed and flushed.
    let redis_port = free_port();
    let start_redis = || {
        std::process::Command::new("redis-server")
            .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed by scripts/test")
    };
    let mut redis = start_redis();
    let database = test_support::TestDatabase::postgres_on(&env("TEST_FAULT_DATABASE_URL")).await;
    let shape = Shape {
        registry: free_port(),
        token: free_port(),
        context: free_port(),
        events: free_port(),
        gateway: free_port(),
        database_url: database.url.clone(),
        redis_url: format!("redis://127.0.0.1:{redis_port}"),
    };
    let migrated = Command::new(env!("CARGO_BIN_EXE_roster")).arg("migrate").envs(shape.env()).status().await.unwrap();
    assert!(migrated.success());
    let mut events = shape.spawn("events");
    let mut token = shape.spawn("token");
    let mut context = shape.spawn("context");
    let mut registry = shape.spawn("registry");
    let mut gateway = shape.spawn("gateway");
    for port in [shape.events, shape.token, shape.context, shape.registry, shape.gateway] {
        until_listening(port).await;
    }
    let token_endpoint = format!("http://127.0.0.1:{}", shape.token);
    let mut tokens = TokenServiceClient::new(platform::grpc::channel(&token_endpoint, Duration::from_secs(5)).unwrap());
    let created = tokens
        .create_application(pb::CreateApplicationRequest {
            name: "faults".into(),
            settings: None,
            with_api_token: true,
        })
        .await
        .unwrap()
        .into_inner();
    let api_token = created.api_token;
    let base = format!("http://127.0.0.1:{}", shape.gateway);
    let mut bounds = BTreeMap::new();
    recovered(&base, &api_token, "start", &mut bounds).await;

    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> =
        (0..4).map(|w| tokio::spawn(work(w, base.clone(), api_token.clone(), tally.clone(), stop.clone()))).collect();
    let pause = || tokio::time::sleep(Duration::from_millis(1500));
    pause().await;

    // Redis killed, then started again on the same port.
    redis.kill().unwrap();
    redis.wait().unwrap();
    pause().await;
    redis = start_redis();
    recovered(&base, &api_token, "redis restarted", &mut bounds).await;
    pause().await;
    // Redis emptied.
    shell(&format!("redis-cli -p {redis_port} FLUSHALL")).await;
    recovered(&base, &api_token, "redis flushed", &mut bounds).await;
    pause().await;
    // PostgreSQL stopped, then started.
    shell(&env("TEST_FAULT_PG_STOP")).await;
    pause().await;
    shell(&env("TEST_FAULT_PG_START")).await;
    recovered(&base, &api_token, "postgresql restarted", &mut bounds).await;
    pause().await;
    // The registry process killed (no drain), then started again.
    registry.kill().await.unwrap();
    pause().await;
    registry = shape.spawn("registry");
    recovered(&base, &api_token, "registry killed and restarted", &mut bounds).await;
    pause().await;
    // Every other process stopped as Kubernetes stops a pod (SIGTERM), then started again; the
    // gateway last.
    for (service, child) in
        [("registry", &mut registry), ("token", &mut token), ("context", &mut context), ("events", &mut events)]
    {
        sigterm(child);
        assert!(child.wait().await.unwrap().success(), "{service} drains and exits 0");
        *child = shape.spawn(service);
        recovered(&base, &api_token, &format!("{service} SIGTERM and restart"), &mut bounds).await;
        pause().await;
    }
    sigterm(&gateway);
    assert!(gateway.wait().await.unwrap().success(), "the gateway drains and exits 0");
    gateway = shape.spawn("gateway");
    recovered(&base, &api_token, "gateway SIGTERM and restart", &mut bounds).await;
    pause().await;

    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    let tally = std::mem::take(&mut *tally.lock().unwrap());

    // Every acknowledged create is there, once.
    let found = all_user_ids(&base, &api_token).await;
    let distinct: BTreeSet<&String> = found.iter().collect();
    let lost: Vec<&String> = tally.acknowledged.iter().filter(|id| !distinct.contains(id)).collect();
    let duplicates = found.len() - distinct.len();
    // Every revoked token stays revoked; every live one still validates.
    let mut revoked_valid = 0;
    for token in &tally.revoked {
        if validate(&mut tokens, token).await != Some(false) {
            revoked_valid += 1;
        }
    }
    let mut live_refused = 0;
    for token in &tally.live {
        if validate(&mut tokens, token).await != Some(true) {
            live_refused += 1;
        }
    }
    let report = format!(
        "acknowledged creates {}, lost {}, duplicates {duplicates}, tokens revoked {} (valid again {revoked_valid}), \
         live {} (refused {live_refused}), 503s {}, other 5xx {}, unanswered (gateway down) {}, recovery {bounds:?}",
        tally.acknowledged.len(),
        lost.len(),
        tally.revoked.len(),
        tally.live.len(),
        tally.answered_503,
        tally.other_5xx.len(),
        tally.unreachable,
    );
    println!("fault suite: {report}");
    assert!(tally.acknowledged.len() > 50, "the load ran: {report}");
    assert!(lost.is_empty(), "lost {lost:?}: {report}");
    assert_eq!(duplicates, 0, "{report}");
    assert_eq!(revoked_valid, 0, "{report}");
    assert_eq!(live_refused, 0, "{report}");
    assert!(tally.other_5xx.is_empty(), "{:?}: {report}", tally.other_5xx);
    for (what, took) in &bounds {
        assert!(*took < Duration::from_secs(30), "{what} took {took:?} to heal: {report}");
    }

    for child in [&mut events, &mut token, &mut context, &mut registry, &mut gateway] {
        sigterm(child);
        let _ = child.wait().await;
    }
    let _ = redis.kill();
    let _ = redis.wait();
}

/// `roster serve`, everything in one process on SQLite, stopped with SIGTERM under load: it exits
/// cleanly, no request is answered 5xx, and every acknowledged create is there after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_all_in_one_process_drains_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let (gateway_port, token_port) = (free_port(), free_port());
    let log = dir.path().join("roster.log");
    let serve = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
        command
            .arg("serve")
            .env("ROSTER_DATA_DIR", dir.path())
            .env("ROSTER_GATEWAY__LISTEN", format!("127.0.0.1:{gateway_port}"))
            .env("ROSTER_TOKEN__LISTEN", format!("127.0.0.1:{token_port}"))
            .env("ROSTER_METRICS__ENABLED", "false")
            .env("ROSTER_TELEMETRY__FILTER", "error")
            .stdout(Stdio::null())
            // Kept, so a start that fails says why.
            .stderr(std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap())
            .kill_on_drop(true);
        for name in ["REGISTRY", "CONTEXT", "EVENTS"] {
            command.env(format!("ROSTER_{name}__LISTEN"), format!("127.0.0.1:{}", free_port()));
        }
        command.spawn().unwrap()
    };
    let mut roster = serve();
    serving(&mut roster, gateway_port, &log).await;
    let channel = platform::grpc::channel(&format!("http://127.0.0.1:{token_port}"), Duration::from_secs(5)).unwrap();
    let request = pb::CreateApplicationRequest { name: "drain".into(), settings: None, with_api_token: true };
    let api_token = TokenServiceClient::new(channel).create_application(request).await.unwrap().into_inner().api_token;
    let base = format!("http://127.0.0.1:{gateway_port}");

    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> =
        (0..8).map(|w| tokio::spawn(work(w, base.clone(), api_token.clone(), tally.clone(), stop.clone()))).collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sigterm(&roster);
    assert!(roster.wait().await.unwrap().success(), "roster serve drains and exits 0");
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    let tally = std::mem::take(&mut *tally.lock().unwrap());

    let mut again = serve();
    serving(&mut again, gateway_port, &log).await;
    let found: BTreeSet<String> = all_user_ids(&base, &api_token).await.into_iter().collect();
    let lost: Vec<&String> = tally.acknowledged.iter().filter(|id| !found.contains(*id)).collect();
    let report = format!(
        "acknowledged {}, lost {}, 503s {}, other 5xx {}, unanswered after the stop {}",
        tally.acknowledged.len(),
        lost.len(),
        tally.answered_503,
        tally.other_5xx.len(),
        tally.unreachable
    );
    println!("all-in-one drain: {report}");
    assert!(tally.acknowledged.len() > 20, "the load ran: {report}");
    assert!(lost.is_empty(), "{lost:?}: {report}");
    assert!(tally.other_5xx.is_empty() && tally.answered_503 == 0, "{:?}: {report}", tally.other_5xx);
}
