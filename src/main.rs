//! `roster`: every Roster service in one binary.
//!
//! - `roster` / `roster serve`: all services in one process (SQLite in `./data`, in-process
//!   cache unless `REDIS_URL` is set), gateway on 127.0.0.1:8080.
//! - `roster serve --service <registry|token|context|events|gateway>`: one service, for Kubernetes.
//! - `roster migrate`: apply every service's migrations to `DATABASE_URL`.
//! - `roster apps create|list`: manage applications through token-service.
//! - `roster users export --app APP_ID [--output FILE]`: every user of an application as JSON Lines.
//! - `roster users import FILE --app APP_ID`: a Roster export (ids kept), or Kore.ai users.

mod cli;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use platform::{Settings, Shutdown};
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
        command: cli::apps::AppsCommand,
    },
    /// Deliveries (the dead letters), redelivery, and an application's events as they happen,
    /// through event-service.
    Events {
        #[command(subcommand)]
        command: cli::events::EventsCommand,
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
    /// Import a Roster export (keeping every id) through the registry's RestoreUsers, or Kore.ai
    /// users from a CSV or JSON Lines file through its ImportUsers (`registry.endpoint`). Exits 0
    /// when the import ran, rejected rows or not.
    Import(cli::import::ImportArgs),
    /// Export an application's users as JSON Lines, every field, through the registry's
    /// ExportUsers (`registry.endpoint`).
    Export(cli::export::ExportArgs),
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
        Command::Apps { command } => cli::apps::run(command, &settings).await,
        Command::Events { command } => cli::events::run(command, &settings).await,
        Command::Users { command: UsersCommand::Import(args) } => {
            cli::import::run(args, &settings.registry.endpoint).await
        }
        Command::Users { command: UsersCommand::Export(args) } => {
            cli::export::run(args, &settings.registry.endpoint).await
        }
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
