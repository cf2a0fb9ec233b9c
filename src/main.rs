//! `roster`: every Roster service in one binary.
//!
//! - `roster` / `roster serve`: all services in one process (SQLite in `./data`, in-process
//!   cache unless `REDIS_URL` is set), gateway on 127.0.0.1:8080.
//! - `roster serve --service <registry|token|context|gateway>`: one service, for Kubernetes.
//! - `roster migrate`: apply every service's migrations to `DATABASE_URL`.
//! - `roster apps create|list`: manage applications through token-service.
//! - `roster users import FILE --app APP_ID`: import Kore.ai users through the registry.

mod import;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, Subcommand};
use platform::{Settings, Shutdown};
use proto::token::v1::{self as pb, token_service_client::TokenServiceClient};
use roster::{ServiceName, Stack};

#[derive(Parser)]
#[command(name = "roster", version, about = "Self-hosted identity backend for chat and AI-agent products")]
struct Cli {
    /// Optional TOML file; `ROSTER_*` environment variables override it.
    #[arg(long, global = true, env = "ROSTER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run every service in this process, or one of them.
    Serve {
        #[arg(long, value_enum)]
        service: Option<ServiceName>,
    },
    /// Apply every service's database migrations.
    Migrate,
    /// Manage applications (tenants) through token-service.
    Apps {
        #[command(subcommand)]
        command: AppsCommand,
    },
    /// Manage users through the registry.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Exit 0 when a service answers healthy: a gRPC server's grpc.health.v1 SERVING, or an
    /// HTTP URL's 2xx. For container health checks (the image has no curl).
    Probe {
        /// gRPC address, e.g. 127.0.0.1:50051.
        #[arg(long, conflicts_with = "http")]
        grpc: Option<String>,
        /// HTTP URL, e.g. http://127.0.0.1:8080/readyz.
        #[arg(long)]
        http: Option<String>,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Import Kore.ai users from a CSV or JSON Lines file through the registry's ImportUsers
    /// (`registry.endpoint`). Exits 0 when the import ran, rejected rows or not.
    Import(import::ImportArgs),
}

#[derive(Subcommand)]
enum AppsCommand {
    /// Create an application and print its first API token (shown once).
    Create {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        settings: AppSettingsArgs,
    },
    /// Change an application's name or settings; what is not given stays.
    Update {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        settings: AppSettingsArgs,
    },
    /// List applications with their settings.
    List,
    /// Issue another API token for an application (shown once), e.g. one that may only read
    /// sensitive metadata over gRPC: `--scope sensitive-metadata`.
    Token {
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// app (the dialect APIs, the default), sensitive-metadata, user-management; repeatable.
        #[arg(long = "scope", value_parser = ["app", "sensitive-metadata", "user-management"])]
        scopes: Vec<String>,
    },
    /// Create an app key (Sunshine dialect: Basic `id:secret`, and the secret that signs JWTs);
    /// the secret is printed once.
    Key {
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// Create an admin client (Kore.ai admin API app): prints its client id and secret (once).
    /// Its HS256 JWTs name the client in `appId`.
    AdminClient {
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "admin")]
        name: String,
        /// user-management (the default), app, sensitive-metadata; repeatable.
        #[arg(long = "scope", value_parser = ["app", "sensitive-metadata", "user-management"])]
        scopes: Vec<String>,
    },
    /// List an application's admin clients (never their secrets).
    AdminClients {
        #[arg(long)]
        id: String,
    },
    /// Register a public key (PEM file) that verifies RS256 or ES256 login JWTs; prints its
    /// key id, the `kid` those JWTs must carry.
    PublicKey {
        #[arg(long)]
        id: String,
        #[arg(long, value_parser = ["RS256", "ES256"])]
        alg: String,
        #[arg(long)]
        pem: std::path::PathBuf,
    },
}

#[derive(clap::Args)]
struct AppSettingsArgs {
    /// Requests per second at the gateway (0: unlimited).
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Live access tokens per user (default 10).
    #[arg(long)]
    access_token_limit: Option<u32>,
    /// Default session-token lifetime in seconds (default 7 days).
    #[arg(long)]
    session_ttl_secs: Option<u64>,
    /// Lifetime of end users never associated with a conversation, in seconds (0: off).
    #[arg(long)]
    unassociated_ttl_secs: Option<u64>,
}

impl AppSettingsArgs {
    /// `current` with the given flags applied.
    fn apply(&self, current: pb::ApplicationSettings) -> pb::ApplicationSettings {
        pb::ApplicationSettings {
            rate_limit_per_second: self.rate_limit.unwrap_or(current.rate_limit_per_second),
            access_token_limit: self.access_token_limit.unwrap_or(current.access_token_limit),
            session_token_ttl_seconds: self.session_ttl_secs.unwrap_or(current.session_token_ttl_seconds),
            unassociated_user_ttl_seconds: self.unassociated_ttl_secs.unwrap_or(current.unassociated_user_ttl_seconds),
            allow_tokenless_users: current.allow_tokenless_users,
        }
    }
}

fn describe(app: &pb::Application) -> String {
    let s = app.settings.unwrap_or_default();
    format!(
        "{}\t{}\trate_limit={} access_token_limit={} session_ttl_secs={} unassociated_ttl_secs={}",
        app.id,
        app.name,
        s.rate_limit_per_second,
        s.access_token_limit,
        s.session_token_ttl_seconds,
        s.unassociated_user_ttl_seconds
    )
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("roster: {err}");
            return ExitCode::from(64);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("roster: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("roster: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Option<Command>, settings: Settings) -> anyhow::Result<()> {
    let command = command.unwrap_or(Command::Serve { service: None });
    let service_name = match &command {
        Command::Serve { service: Some(service) } => format!("roster-{service:?}").to_lowercase(),
        _ => "roster".to_owned(),
    };
    let _telemetry = platform::telemetry::init(&settings.telemetry, &service_name)?;
    match command {
        Command::Serve { service: None } => serve_all(settings).await,
        Command::Serve { service: Some(service) } => {
            let shutdown = Shutdown::new();
            shutdown.trigger_on_signals();
            roster::serve_one(service, &settings, shutdown).await
        }
        Command::Migrate => {
            roster::migrate(&settings).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Apps { command } => apps(command, &settings).await,
        Command::Users { command: UsersCommand::Import(args) } => import::run(args, &settings.registry.endpoint).await,
        Command::Probe { grpc, http } => roster::probe(grpc.as_deref(), http.as_deref()).await,
    }
}

async fn serve_all(settings: Settings) -> anyhow::Result<()> {
    if settings.database.url.is_none() {
        tracing::info!(data_dir = %settings.data_dir.display(), "embedded mode: SQLite files in the data directory");
    }
    let stack = Stack::start(settings).await?;
    stack.shutdown().trigger_on_signals();
    if let Some(first) = &stack.first_application {
        // Printed, not logged: the token must not end up in log pipelines.
        println!();
        println!("  Created the first application.");
        println!("    app id:    {}", first.app_id);
        println!("    API token: {}", first.api_token);
        println!("  The token is shown this once; only its hash is stored.");
        println!();
    }
    tracing::info!(gateway = %stack.gateway, "roster is ready");
    stack.wait().await
}

/// CLI scope names as proto values.
fn scope_values(names: &[String]) -> Vec<i32> {
    names
        .iter()
        .map(|s| match s.as_str() {
            "sensitive-metadata" => pb::Scope::SensitiveMetadata,
            "user-management" => pb::Scope::UserManagement,
            _ => pb::Scope::App,
        } as i32)
        .collect()
}

async fn apps(command: AppsCommand, settings: &Settings) -> anyhow::Result<()> {
    let channel = platform::grpc::channel(&settings.token.endpoint, Duration::from_secs(10))?;
    let mut client = TokenServiceClient::new(channel);
    match command {
        AppsCommand::Create { name, settings } => {
            // Zero fields take the service's defaults.
            let settings = settings
                .apply(pb::ApplicationSettings { unassociated_user_ttl_seconds: 24 * 3600, ..Default::default() });
            let created = client
                .create_application(pb::CreateApplicationRequest {
                    name,
                    settings: Some(settings),
                    with_api_token: true,
                })
                .await
                .map_err(|s| anyhow::anyhow!("{}", s.message()))?
                .into_inner();
            let app = created.application.unwrap_or_default();
            println!("app id:    {}", app.id);
            println!("API token: {}", created.api_token);
        }
        AppsCommand::Update { id, name, settings } => {
            let current = client
                .get_application(pb::GetApplicationRequest { app_id: id.clone() })
                .await
                .map_err(|s| anyhow::anyhow!("{}", s.message()))?
                .into_inner()
                .application
                .unwrap_or_default();
            let settings = settings.apply(current.settings.unwrap_or_default());
            let updated = client
                .update_application(pb::UpdateApplicationRequest { app_id: id, name, settings: Some(settings) })
                .await
                .map_err(|s| anyhow::anyhow!("{}", s.message()))?
                .into_inner()
                .application
                .unwrap_or_default();
            println!("{}", describe(&updated));
        }
        AppsCommand::Token { id, name, scopes } => {
            let scopes = scope_values(&scopes);
            let created = client
                .create_api_token(pb::CreateApiTokenRequest { app_id: id, name, scopes })
                .await
                .map_err(|s| anyhow::anyhow!("{}", s.message()))?
                .into_inner();
            println!("API token: {}", created.api_token);
        }
        AppsCommand::AdminClient { id, name, scopes } => {
            let created = client
                .create_admin_client(pb::CreateAdminClientRequest { app_id: id, name, scopes: scope_values(&scopes) })
                .await
                .map_err(|s| anyhow::anyhow!("{}", s.message()))?
                .into_inner();
            println!("client id: {}", created.client.unwrap_or_default().id);
            println!("secret:    {}", created.secret);
        }
        AppsCommand::AdminClients { id } => {
            let clients = client
                .list_admin_clients(pb::ListAdminClientsRequest { app_id: id })
                .await
                .map_err(|s| anyhow::anyhow!("{}", s.message()))?
                .into_inner()
                .clients;
            for c in clients {
                let scopes: Vec<&str> =
                    c.scopes.iter().map(|s| pb::Scope::try_from(*s).map_or("unknown", |s| s.as_str_name())).collect();
                println!("{}\t{}\t{}", c.id, c.name, scopes.join(","));
            }
        }
        AppsCommand::Key { id, name } => {
            let created = client
                .create_app_key(pb::CreateAppKeyRequest { app_id: id, display_name: name })
                .await
                .map_err(|s| anyhow::anyhow!("{}", s.message()))?
                .into_inner();
            println!("key id: {}", created.key.unwrap_or_default().id);
            println!("secret: {}", created.secret);
        }
        AppsCommand::PublicKey { id, alg, pem } => {
            let pem = std::fs::read_to_string(&pem).map_err(|e| anyhow::anyhow!("{}: {e}", pem.display()))?;
            let key = client
                .register_public_key(pb::RegisterPublicKeyRequest { app_id: id, algorithm: alg, pem })
                .await
                .map_err(|s| anyhow::anyhow!("{}", s.message()))?
                .into_inner()
                .key
                .unwrap_or_default();
            println!("key id: {}", key.id);
        }
        AppsCommand::List => {
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_applications(pb::ListApplicationsRequest { page_token, page_size: 100 })
                    .await
                    .map_err(|s| anyhow::anyhow!("{}", s.message()))?
                    .into_inner();
                for app in page.applications {
                    println!("{}", describe(&app));
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
    }
    Ok(())
}
