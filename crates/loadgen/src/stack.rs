//! The stack under load: started in this process (`roster::Stack`, SQLite files in a temporary
//! directory or a throwaway PostgreSQL database, Redis when given) or one already running
//! elsewhere, reached by its addresses. Then the fixtures every scenario reads: users with an
//! access token and a session token each, and a context object per user.

use std::{net::SocketAddr, time::Duration};

use hyper::{Method, StatusCode};
use proto::{context::v1 as cpb, context::v1::context_service_client::ContextServiceClient};
use rand::RngCore;
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use serde_json::Value;

use crate::http::HttpConn;

/// Where the stack answers, and the first application's API token.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub gateway: SocketAddr,
    pub token: String,
    pub context: String,
    pub api_token: String,
    /// The registry's gRPC URL, for `--prefill`.
    pub registry: Option<String>,
}

/// A throwaway database: a directory of SQLite files, or a PostgreSQL database dropped at the
/// end.
pub struct Scratch {
    pub settings: platform::Settings,
    dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl Scratch {
    /// `admin_url` (PostgreSQL, allowed to CREATE DATABASE) or SQLite when `None`.
    pub async fn new(admin_url: Option<&str>, label: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut settings = platform::Settings { data_dir: dir.path().to_path_buf(), ..Default::default() };
        let mut postgres = None;
        if let Some(admin_url) = admin_url {
            let name = format!("roster_bench_{label}_{}", random_hex(6));
            let admin = Database::connect(admin_url).await?;
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
            admin.close().await?;
            let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
            settings.database.url = Some(SecretString::from(format!("{base}/{name}")));
            postgres = Some((admin_url.to_owned(), name));
        }
        Ok(Self { settings, dir, postgres })
    }

    pub fn backend(&self) -> &'static str {
        if self.postgres.is_some() { "postgres" } else { "sqlite" }
    }

    /// Drops the PostgreSQL database (connections still open are ended); SQLite files go with
    /// the directory.
    pub async fn remove(self) -> anyhow::Result<()> {
        if let Some((admin_url, name)) = &self.postgres {
            let admin = Database::connect(admin_url.as_str()).await?;
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
            admin.close().await?;
        }
        drop(self.dir);
        Ok(())
    }
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Settings for a whole stack on loopback port 0, as the embedded default otherwise.
pub fn stack_settings(scratch: &Scratch, redis_url: Option<&str>, prefix: &str) -> platform::Settings {
    let mut settings = scratch.settings.clone();
    if let Some(url) = redis_url {
        settings.redis.url = Some(SecretString::from(url.to_owned()));
        settings.redis.key_prefix = prefix.to_owned();
    }
    let any_port: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    for service in [&mut settings.registry, &mut settings.token, &mut settings.context, &mut settings.events] {
        service.listen = any_port;
    }
    settings.gateway.listen = any_port;
    settings.metrics.listen = any_port;
    settings.reaper.enabled = false;
    settings.shutdown.drain_timeout_secs = 5;
    settings
}

/// One user of the fixtures: its Sendbird `user_id`, the registry's id for it, its tokens.
#[derive(Debug, Clone)]
pub struct FixtureUser {
    pub user_id: String,
    pub registry_id: String,
    pub access_token: String,
    pub session_token: String,
}

#[derive(Debug, Clone)]
pub struct Fixtures {
    pub app_id: String,
    pub users: Vec<FixtureUser>,
    pub agent_id: String,
}

impl Fixtures {
    pub fn context_key(&self, user: &FixtureUser) -> cpb::ContextKey {
        cpb::ContextKey {
            app_id: self.app_id.clone(),
            user_id: user.registry_id.clone(),
            agent_id: self.agent_id.clone(),
        }
    }
}

/// Creates `count` users through the gateway (each with an access token and a session token),
/// learns the application and the registry's ids from token-service, and sets a context object
/// for each user and one agent.
pub async fn fixtures(endpoints: &Endpoints, count: usize, run_id: &str) -> anyhow::Result<Fixtures> {
    use proto::token::v1::{ValidateTokenRequest, token_service_client::TokenServiceClient};
    let mut conn = HttpConn::connect(endpoints.gateway).await?;
    let auth = [("api-token", endpoints.api_token.as_str())];
    let mut token = TokenServiceClient::new(connect(&endpoints.token).await?);
    let mut users = Vec::with_capacity(count);
    let mut app_id = String::new();
    for i in 0..count.max(1) {
        let user_id = format!("fx-{run_id}-{i}");
        let body = serde_json::json!({
            "user_id": user_id, "nickname": format!("Fixture {i}"), "profile_url": "", "issue_access_token": true,
        });
        let created = call_json(&mut conn, Method::POST, "/v3/users", &auth, Some(body)).await?;
        let access_token = created["access_token"].as_str().unwrap_or_default().to_owned();
        let path = format!("/v3/users/{user_id}/token");
        let session = call_json(&mut conn, Method::POST, &path, &auth, Some(serde_json::json!({}))).await?;
        let session_token = session["token"].as_str().unwrap_or_default().to_owned();
        let answer = token
            .validate_token(ValidateTokenRequest { token: session_token.clone(), app_id: None })
            .await?
            .into_inner();
        anyhow::ensure!(answer.valid, "a fresh session token does not validate (reason {})", answer.reason);
        app_id = answer.app_id;
        users.push(FixtureUser { user_id, registry_id: answer.user_id, access_token, session_token });
    }
    let fixtures = Fixtures { app_id, users, agent_id: "bench-agent".to_owned() };
    let mut context = ContextServiceClient::new(connect(&endpoints.context).await?);
    for user in &fixtures.users {
        let request = cpb::SetContextRequest {
            key: Some(fixtures.context_key(user)),
            language: Some("en".into()),
            country: Some("US".into()),
            values: [("plan".to_owned(), "pro".to_owned()), ("tier".to_owned(), "gold".to_owned())].into(),
        };
        context.set_context(request).await?;
    }
    Ok(fixtures)
}

async fn call_json(
    conn: &mut HttpConn,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let body = body.map(|b| bytes::Bytes::from(b.to_string()));
    let (status, answer) = conn.send(method.clone(), path, headers, body).await.map_err(anyhow::Error::msg)?;
    let text = String::from_utf8_lossy(&answer);
    anyhow::ensure!(status == StatusCode::OK, "{method} {path}: {status} {text}");
    Ok(serde_json::from_str(&text)?)
}

/// Creates `count` users in `app_id` through the registry's `BatchCreateUsers` (1,000 a call),
/// so the figures after it are taken on a registry that is no longer empty.
pub async fn prefill(endpoints: &Endpoints, app_id: &str, count: usize, run_id: &str) -> anyhow::Result<()> {
    use proto::registry::v1::{BatchCreateUsersRequest, NewUser, registry_service_client::RegistryServiceClient};
    let url = endpoints.registry.as_deref().ok_or_else(|| anyhow::anyhow!("--prefill needs --target-registry"))?;
    let mut registry = RegistryServiceClient::new(connect(url).await?);
    let mut created = 0;
    while created < count {
        let batch = (created..count.min(created + 1000))
            .map(|i| NewUser {
                user_id: Some(format!("pf-{run_id}-{i}")),
                nickname: format!("Prefilled {i}"),
                ..Default::default()
            })
            .collect::<Vec<_>>();
        let n = batch.len();
        let answer = registry
            .batch_create_users(BatchCreateUsersRequest { app_id: app_id.to_owned(), users: batch })
            .await?
            .into_inner();
        use proto::registry::v1::batch_item_result::Result as Item;
        let failed = answer.results.iter().filter(|r| !matches!(r.result, Some(Item::User(_)))).count();
        anyhow::ensure!(failed == 0, "prefill: {failed} of {n} users were refused");
        created += n;
    }
    Ok(())
}

/// Waits until the gateway's `/readyz` answers 200, polling every 5 ms.
pub async fn wait_ready(gateway: SocketAddr, limit: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Ok(mut conn) = HttpConn::connect(gateway).await
            && let Ok((StatusCode::OK, _)) = conn.send(Method::GET, "/readyz", &[], None).await
        {
            return Ok(());
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "{gateway} not ready within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// An eagerly connected channel, as the services' clients are configured.
pub async fn connect(url: &str) -> anyhow::Result<tonic::transport::Channel> {
    Ok(tonic::transport::Endpoint::from_shared(url.to_owned())?.tcp_nodelay(true).connect().await?)
}
