//! The `roster` binary's library half: starts every service in one process (the embedded
//! default) or one service by name (the Kubernetes shape). In one process the gateway still
//! reaches the others over real gRPC on loopback, the same path as in production.

use std::{net::SocketAddr, time::Duration};

use platform::{Settings, Shutdown, shutdown::Stages};
use proto::token::v1::{self as pb, token_service_client::TokenServiceClient};

/// One of the five services, as `roster serve --service` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServiceName {
    Registry,
    Token,
    Context,
    Events,
    Gateway,
}

/// The first application, created on the first start with an empty database. Its API token is
/// shown here once; only a hash is stored.
#[derive(Debug, Clone)]
pub struct FirstApplication {
    pub app_id: String,
    pub api_token: String,
}

/// Every service running in this process.
pub struct Stack {
    pub gateway: SocketAddr,
    pub registry: SocketAddr,
    pub token: SocketAddr,
    pub context: SocketAddr,
    pub events: SocketAddr,
    /// Where `GET /metrics` is served, when enabled.
    pub metrics: Option<SocketAddr>,
    pub first_application: Option<FirstApplication>,
    shutdown: Shutdown,
    stages: Stages,
    drain_timeout: Duration,
}

/// The order the services stop in: each caller before what it calls, so a request in flight when
/// shutdown begins finds every service it needs until it is answered.
mod stage {
    pub const GATEWAY: usize = 0;
    /// Called by the gateway; calls token-, context- and event-service.
    pub const REGISTRY: usize = 1;
    pub const TOKEN_AND_CONTEXT: usize = 2;
    /// Every outbox relay publishes to it.
    pub const EVENTS: usize = 3;
    pub const METRICS: usize = 4;
    pub const COUNT: usize = 5;
}

impl Stack {
    /// Binds every listener (port 0 works), points the gateway at the bound addresses, starts
    /// serving, and creates the first application when there is none.
    pub async fn start(mut settings: Settings) -> anyhow::Result<Self> {
        if settings.metrics.enabled {
            // Before the services start recording.
            platform::metrics::install();
        }
        // Each service is built after the ones it calls, so it is given their bound addresses.
        // The registry calls token-service and context-service, which call it back (JWT login,
        // conversations): they bind first and are told the registry's address once it is built.
        // event-service calls nobody: it binds first and every publisher is told where it is.
        let events = event_service::Application::build(&settings).await?;
        let events_addr = events.local_addr();
        settings.events.endpoint = format!("http://{events_addr}");
        let token = token_service::Application::bind(&settings).await?;
        let context = context_service::Application::bind(&settings).await?;
        let (token_addr, context_addr) = (token.local_addr(), context.local_addr());
        settings.token.endpoint = format!("http://{token_addr}");
        settings.context.endpoint = format!("http://{context_addr}");
        let registry = user_registry::Application::build(&settings).await?;
        let registry_addr = registry.local_addr();
        settings.registry.endpoint = format!("http://{registry_addr}");
        let token = token.with_registry(&settings.registry.endpoint)?;
        let context = context.with_registry(&settings.registry.endpoint)?;
        let gateway = gateway::Application::build(&settings).await?;
        let gateway_addr = gateway.local_addr();

        let shutdown = Shutdown::new();
        let mut stages = Stages::new(stage::COUNT);
        let metrics = spawn_metrics(&settings, &mut stages, stage::METRICS).await?;
        stages.spawn(stage::EVENTS, |stop| events.run(stop));
        stages.spawn(stage::REGISTRY, |stop| registry.run(stop));
        stages.spawn(stage::TOKEN_AND_CONTEXT, |stop| token.run(stop));
        stages.spawn(stage::TOKEN_AND_CONTEXT, |stop| context.run(stop));
        stages.spawn(stage::GATEWAY, |stop| gateway.run(stop));

        let mut stack = Self {
            gateway: gateway_addr,
            registry: registry_addr,
            token: token_addr,
            context: context_addr,
            events: events_addr,
            metrics,
            first_application: None,
            shutdown,
            stages,
            drain_timeout: Duration::from_secs(settings.shutdown.drain_timeout_secs),
        };
        match bootstrap(&settings.token.endpoint).await {
            Ok(first) => stack.first_application = first,
            Err(err) => {
                stack.shutdown.trigger();
                let _ = stack.stages.drain(&stack.shutdown, stack.drain_timeout).await;
                return Err(err);
            }
        }
        Ok(stack)
    }

    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Runs until shutdown is requested (or a service fails), then drains within the timeout:
    /// the gateway stops accepting and answers what it has, then the services behind it stop.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.stages.drain(&self.shutdown, self.drain_timeout).await
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        self.wait().await
    }
}

/// Binds and serves `/metrics` when enabled; answers the bound address.
async fn spawn_metrics(settings: &Settings, stages: &mut Stages, stage: usize) -> anyhow::Result<Option<SocketAddr>> {
    if !settings.metrics.enabled {
        return Ok(None);
    }
    platform::metrics::install();
    let listener = platform::grpc::bind("metrics", settings.metrics.listen).await?;
    let addr = listener.local_addr()?;
    stages.spawn(stage, |stop| platform::metrics::serve(listener, stop));
    Ok(Some(addr))
}

/// Creates the first application when token-service has none.
async fn bootstrap(token_endpoint: &str) -> anyhow::Result<Option<FirstApplication>> {
    let channel = platform::grpc::channel(token_endpoint, Duration::from_secs(10))?;
    let mut client = TokenServiceClient::new(channel);
    let existing = client
        .list_applications(pb::ListApplicationsRequest { page_token: String::new(), page_size: 1 })
        .await?
        .into_inner();
    if !existing.applications.is_empty() {
        return Ok(None);
    }
    let created = client
        .create_application(pb::CreateApplicationRequest {
            name: "default".into(),
            settings: None,
            with_api_token: true,
        })
        .await?
        .into_inner();
    let app_id = created.application.map(|a| a.id).unwrap_or_default();
    Ok(Some(FirstApplication { app_id, api_token: created.api_token }))
}

/// Runs one service until shutdown, as a Kubernetes Deployment does.
pub async fn serve_one(service: ServiceName, settings: &Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    // The service first, then its metrics, so the drain is still observable.
    let mut stages = Stages::new(2);
    spawn_metrics(settings, &mut stages, 1).await?;
    // (spawn_metrics installed the recorder before any service records.)
    match service {
        ServiceName::Registry => {
            let app = user_registry::Application::build(settings).await?;
            stages.spawn(0, |stop| app.run(stop));
        }
        ServiceName::Token => {
            let app = token_service::Application::build(settings).await?;
            stages.spawn(0, |stop| app.run(stop));
        }
        ServiceName::Context => {
            let app = context_service::Application::build(settings).await?;
            stages.spawn(0, |stop| app.run(stop));
        }
        ServiceName::Events => {
            let app = event_service::Application::build(settings).await?;
            stages.spawn(0, |stop| app.run(stop));
        }
        ServiceName::Gateway => {
            let app = gateway::Application::build(settings).await?;
            stages.spawn(0, |stop| app.run(stop));
        }
    }
    stages.drain(&shutdown, Duration::from_secs(settings.shutdown.drain_timeout_secs)).await
}

/// Applies every service's migrations to the configured database.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    user_registry::startup::migrate(settings).await?;
    token_service::startup::migrate(settings).await?;
    context_service::startup::migrate(settings).await?;
    event_service::startup::migrate(settings).await?;
    Ok(())
}

/// Checks one service's health: `grpc` (grpc.health.v1 overall status SERVING) or `http` (2xx).
pub async fn probe(grpc: Option<&str>, http: Option<&str>) -> anyhow::Result<()> {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    match (grpc, http) {
        (Some(addr), None) => {
            let channel = platform::grpc::channel(&format!("http://{addr}"), Duration::from_secs(3))?;
            let status = HealthClient::new(channel)
                .check(HealthCheckRequest { service: String::new() })
                .await
                .map_err(|s| anyhow::anyhow!("{addr}: {}", s.message()))?
                .into_inner()
                .status;
            anyhow::ensure!(status == ServingStatus::Serving as i32, "{addr} is not serving");
            Ok(())
        }
        (None, Some(url)) => probe_http(url).await,
        _ => anyhow::bail!("give --grpc ADDR or --http URL"),
    }
}

/// A bare HTTP/1.1 GET over TCP, so the image needs no HTTP client.
async fn probe_http(url: &str) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").ok_or_else(|| anyhow::anyhow!("only http:// URLs"))?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let mut stream = tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(authority)).await??;
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    let mut head = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut head)).await??;
    let status_line = String::from_utf8_lossy(&head[..n]);
    let ok = status_line.split_whitespace().nth(1).is_some_and(|code| code.starts_with('2'));
    anyhow::ensure!(ok, "{url} answered {}", status_line.lines().next().unwrap_or(""));
    Ok(())
}
