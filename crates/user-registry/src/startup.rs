//! Builds the registry from settings: database (migrated when configured), listener (bound
//! first, so port 0 works); then serves until shutdown.

use std::{net::SocketAddr, sync::Arc};

use platform::{Settings, Shutdown, SystemClock};
use tokio::net::TcpListener;
use tonic::{server::NamedService, service::Routes};

use crate::{
    app::Registry,
    grpc::{GrpcLifecycle, RegistryGrpc, RegistryServiceServer},
    migration::Migrator,
    store::SeaUserStore,
};

pub const SERVICE: &str = "registry";

/// Largest gRPC message the registry takes or gives: an image of 5 MB and its envelope.
pub const MAX_MESSAGE: usize = 8 * 1024 * 1024;

pub struct Application {
    listener: TcpListener,
    registry: Registry,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = platform::db::open::<Migrator>(settings, SERVICE).await?;
        let listener = platform::grpc::bind(SERVICE, settings.registry.listen).await?;
        let lifecycle = Arc::new(GrpcLifecycle::new(settings)?);
        let registry = Registry::new(Arc::new(SeaUserStore::new(db)), lifecycle, Arc::new(SystemClock));
        Ok(Self { listener, registry })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        // Room for a 5 MB profile image and the rest of the request.
        let server =
            RegistryServiceServer::new(RegistryGrpc::new(self.registry)).max_decoding_message_size(MAX_MESSAGE);
        let name = <RegistryServiceServer<RegistryGrpc> as NamedService>::NAME;
        platform::grpc::serve(self.listener, name, Routes::new(server), shutdown).await
    }
}

/// Applies every pending registry migration.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    platform::db::migrate::<Migrator>(settings, SERVICE).await
}
