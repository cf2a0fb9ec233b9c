//! `roster apps ...`: applications (tenants) and their credentials, through token-service.

use std::time::Duration;

use clap::Subcommand;
use platform::Settings;
use proto::token::v1::{self as pb, token_service_client::TokenServiceClient};

#[derive(Subcommand)]
pub enum AppsCommand {
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
pub struct AppSettingsArgs {
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
    /// Let users connect without a token (`AuthorizeConnection`), for testing: `true` or `false`
    /// (default false).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    allow_tokenless: Option<bool>,
}

impl AppSettingsArgs {
    /// `current` with the given flags applied.
    fn apply(&self, current: pb::ApplicationSettings) -> pb::ApplicationSettings {
        pb::ApplicationSettings {
            rate_limit_per_second: self.rate_limit.unwrap_or(current.rate_limit_per_second),
            access_token_limit: self.access_token_limit.unwrap_or(current.access_token_limit),
            session_token_ttl_seconds: self.session_ttl_secs.unwrap_or(current.session_token_ttl_seconds),
            unassociated_user_ttl_seconds: self.unassociated_ttl_secs.unwrap_or(current.unassociated_user_ttl_seconds),
            allow_tokenless_users: self.allow_tokenless.unwrap_or(current.allow_tokenless_users),
        }
    }
}

fn describe(app: &pb::Application) -> String {
    let s = app.settings.unwrap_or_default();
    format!(
        "{}\t{}\trate_limit={} access_token_limit={} session_ttl_secs={} unassociated_ttl_secs={} allow_tokenless={}",
        app.id,
        app.name,
        s.rate_limit_per_second,
        s.access_token_limit,
        s.session_token_ttl_seconds,
        s.unassociated_user_ttl_seconds,
        s.allow_tokenless_users
    )
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

pub async fn run(command: AppsCommand, settings: &Settings) -> anyhow::Result<()> {
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
                .map_err(refused)?
                .into_inner();
            let app = created.application.unwrap_or_default();
            println!("app id:    {}", app.id);
            println!("API token: {}", created.api_token);
        }
        AppsCommand::Update { id, name, settings } => {
            let current = client
                .get_application(pb::GetApplicationRequest { app_id: id.clone() })
                .await
                .map_err(refused)?
                .into_inner()
                .application
                .unwrap_or_default();
            let settings = settings.apply(current.settings.unwrap_or_default());
            let updated = client
                .update_application(pb::UpdateApplicationRequest { app_id: id, name, settings: Some(settings) })
                .await
                .map_err(refused)?
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
                .map_err(refused)?
                .into_inner();
            println!("API token: {}", created.api_token);
        }
        AppsCommand::AdminClient { id, name, scopes } => {
            let created = client
                .create_admin_client(pb::CreateAdminClientRequest { app_id: id, name, scopes: scope_values(&scopes) })
                .await
                .map_err(refused)?
                .into_inner();
            println!("client id: {}", created.client.unwrap_or_default().id);
            println!("secret:    {}", created.secret);
        }
        AppsCommand::AdminClients { id } => {
            let clients = client
                .list_admin_clients(pb::ListAdminClientsRequest { app_id: id })
                .await
                .map_err(refused)?
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
                .map_err(refused)?
                .into_inner();
            println!("key id: {}", created.key.unwrap_or_default().id);
            println!("secret: {}", created.secret);
        }
        AppsCommand::PublicKey { id, alg, pem } => {
            let pem = std::fs::read_to_string(&pem).map_err(|e| anyhow::anyhow!("{}: {e}", pem.display()))?;
            let key = client
                .register_public_key(pb::RegisterPublicKeyRequest { app_id: id, algorithm: alg, pem })
                .await
                .map_err(refused)?
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
                    .map_err(refused)?
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

/// token-service's refusal, in its own words (the CLI's user is the operator).
fn refused(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}", status.message())
}
