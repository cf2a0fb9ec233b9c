//! gateway: the REST front door. Each dialect (`http/<dialect>/`) authenticates the caller,
//! validates the body in that platform's terms, calls the services over gRPC, and renders the
//! answer (or the error) exactly as that platform would. Nothing persistent lives here.

pub mod auth;
mod caller_cache;
pub mod clients;
pub mod dashboard;
pub mod http;
pub mod ratelimit;
mod serve;
pub mod webhooks;

use std::net::SocketAddr;

use platform::{Settings, Shutdown};
use tokio::net::TcpListener;

pub use clients::Clients;

pub const SERVICE: &str = "gateway";

pub struct Application {
    listener: TcpListener,
    service: http::Service,
    settings: platform::config::GatewaySettings,
    /// Sends webhook deliveries, when `webhooks.dispatch` is on.
    dispatcher: Option<webhooks::Dispatcher>,
}

impl Application {
    /// Binds the listener and prepares lazily connecting clients for the three services.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let clients = Clients::new(settings)?;
        let listener = platform::grpc::bind(SERVICE, settings.gateway.listen).await?;
        let service = http::service(clients, &settings.gateway);
        let dispatcher = settings.webhooks.dispatch.then(|| webhooks::Dispatcher::new(settings)).transpose()?;
        Ok(Self { listener, service, settings: settings.gateway.clone(), dispatcher })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr(), "gateway listening");
        let dispatching = self.dispatcher.map(|d| tokio::spawn(d.run(shutdown.clone())));
        serve::serve(self.listener, self.service, &self.settings, shutdown).await?;
        if let Some(dispatching) = dispatching {
            // Its round in progress reports its outcomes before the process goes.
            let _ = dispatching.await;
        }
        tracing::info!("gateway stopped");
        Ok(())
    }
}
