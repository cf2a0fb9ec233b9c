//! Builds context-service from settings: database (migrated when configured), listener (bound
//! first, so port 0 works), registry client; then serves until shutdown.
//!
//! The registry calls this service (user deletion) and this service calls the registry
//! (conversation participants), so in one process one of them must learn the other's address
//! after it is built: `Application::bind` opens everything but the registry client, and
//! `Bound::with_registry` adds it once the registry's port is known.

use std::{net::SocketAddr, sync::Arc};

use platform::{Settings, Shutdown, SystemClock};
use tonic::{server::NamedService, service::Routes};

use crate::{
    app::{Contexts, Conversations},
    grpc::{ContextGrpc, ContextServiceServer, GrpcRegistry},
    migration::Migrator,
    store::{SeaContextStore, SeaOutbox},
};

pub const SERVICE: &str = "context";

pub struct Application {
    listener: platform::grpc::Listener,
    contexts: Contexts,
    conversations: Conversations,
    outbox: Arc<SeaOutbox>,
    events_endpoint: String,
}

/// context-service with its database open and its listener bound, not yet told where the
/// registry is.
pub struct Bound {
    listener: platform::grpc::Listener,
    store: Arc<SeaContextStore>,
    outbox: Arc<SeaOutbox>,
    events_endpoint: String,
}

impl Application {
    /// Everything from settings, the registry at `settings.registry.endpoint`.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        Self::bind(settings).await?.with_registry(&settings.registry.endpoint)
    }

    pub async fn bind(settings: &Settings) -> anyhow::Result<Bound> {
        let db = platform::db::open::<Migrator>(settings, SERVICE).await?;
        let reads = platform::db::open_reader(settings, SERVICE, &db).await?;
        let listener =
            platform::grpc::listen(SERVICE, settings.context.listen, &settings.grpc).await?.watching(db.clone());
        Ok(Bound {
            listener,
            outbox: Arc::new(SeaOutbox::new(db.clone())),
            store: Arc::new(SeaContextStore::new(db).with_reader(reads)),
            events_endpoint: settings.events.endpoint.clone(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        // Every conversation event, from the outbox to event-service.
        tokio::spawn(platform::outbox::relay(
            self.outbox,
            self.events_endpoint,
            platform::outbox::RelayPace::default(),
            shutdown.clone(),
            SERVICE,
        ));
        let server = ContextServiceServer::new(ContextGrpc::new(self.contexts, self.conversations));
        let name = <ContextServiceServer<ContextGrpc> as NamedService>::NAME;
        platform::grpc::serve(self.listener, name, Routes::new(server), shutdown).await
    }
}

impl Bound {
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    /// The service, calling the registry at `endpoint` (connected lazily, on first use).
    pub fn with_registry(self, endpoint: &str) -> anyhow::Result<Application> {
        let Self { listener, store, outbox, events_endpoint } = self;
        let registry = Arc::new(GrpcRegistry::new(endpoint)?);
        let contexts = Contexts::new(store.clone(), Arc::new(SystemClock));
        let conversations = Conversations::new(store, registry, Arc::new(SystemClock));
        Ok(Application { listener, contexts, conversations, outbox, events_endpoint })
    }
}

/// Applies every pending context-service migration.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    platform::db::migrate::<Migrator>(settings, SERVICE).await
}
