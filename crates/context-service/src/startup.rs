//! Builds context-service from settings: database (migrated when configured), listener (bound
//! first, so port 0 works); then serves until shutdown.

use std::{net::SocketAddr, sync::Arc};

use platform::{Settings, Shutdown, SystemClock};
use tokio::net::TcpListener;
use tonic::{server::NamedService, service::Routes};

use crate::{
    app::Contexts,
    grpc::{ContextGrpc, ContextServiceServer},
    migration::Migrator,
    store::SeaContextStore,
};

pub const SERVICE: &str = "context";

pub struct Application {
    listener: TcpListener,
    contexts: Contexts,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = platform::db::open::<Migrator>(settings, SERVICE).await?;
        let listener = platform::grpc::bind(SERVICE, settings.context.listen).await?;
        let contexts = Contexts::new(Arc::new(SeaContextStore::new(db)), Arc::new(SystemClock));
        Ok(Self { listener, contexts })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let server = ContextServiceServer::new(ContextGrpc::new(self.contexts));
        let name = <ContextServiceServer<ContextGrpc> as NamedService>::NAME;
        platform::grpc::serve(self.listener, name, Routes::new(server), shutdown).await
    }
}

/// Applies every pending context-service migration.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    platform::db::migrate::<Migrator>(settings, SERVICE).await
}
