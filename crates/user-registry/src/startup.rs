//! Builds the registry from settings: database (migrated when configured), listener (bound
//! first, so port 0 works); then serves until shutdown.

use std::{net::SocketAddr, sync::Arc};

use platform::{Settings, Shutdown, SystemClock, config::ReaperSettings};
use tonic::{server::NamedService, service::Routes};

use crate::{
    app::Registry,
    grpc::{GrpcLifecycle, RegistryGrpc, RegistryServiceServer},
    migration::Migrator,
    store::{SeaOutbox, SeaUserStore, sealer_from_settings},
};

pub const SERVICE: &str = "registry";

/// Largest gRPC message the registry takes or gives: an image of 5 MB and its envelope.
pub const MAX_MESSAGE: usize = 8 * 1024 * 1024;

pub struct Application {
    listener: platform::grpc::Listener,
    registry: Registry,
    reaper: ReaperSettings,
    outbox: Arc<SeaOutbox>,
    events_endpoint: String,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = platform::db::open::<Migrator>(settings, SERVICE).await?;
        let listener =
            platform::grpc::listen(SERVICE, settings.registry.listen, &settings.grpc).await?.watching(db.clone());
        let lifecycle = Arc::new(GrpcLifecycle::new(settings)?);
        let sealer = sealer_from_settings(&db, settings).await?;
        let outbox = Arc::new(SeaOutbox::new(db.clone()));
        let reads = platform::db::open_reader(settings, SERVICE, &db).await?;
        let store = SeaUserStore::new(db, sealer).with_reader(reads);
        let registry = Registry::new(Arc::new(store), lifecycle, Arc::new(SystemClock));
        Ok(Self {
            listener,
            registry,
            reaper: settings.reaper.clone(),
            outbox,
            events_endpoint: settings.events.endpoint.clone(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        if self.reaper.enabled {
            tokio::spawn(reap_until(self.registry.clone(), self.reaper.clone(), shutdown.clone()));
        }
        tokio::spawn(carry_out_privacy_requests(self.registry.clone(), shutdown.clone()));
        // Every change's event, from the outbox to event-service.
        tokio::spawn(platform::outbox::relay(
            self.outbox,
            self.events_endpoint,
            platform::outbox::RelayPace::default(),
            shutdown.clone(),
            SERVICE,
        ));
        // Room for a 5 MB profile image and the rest of the request.
        let server =
            RegistryServiceServer::new(RegistryGrpc::new(self.registry)).max_decoding_message_size(MAX_MESSAGE);
        let name = <RegistryServiceServer<RegistryGrpc> as NamedService>::NAME;
        platform::grpc::serve(self.listener, name, Routes::new(server), shutdown).await
    }
}

/// Runs a reaper pass every `interval_secs` until shutdown. Replicas may all run it: each pass
/// takes only the users no other pass holds.
async fn reap_until(registry: Registry, settings: ReaperSettings, shutdown: Shutdown) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(settings.interval_secs));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = shutdown.requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = ticks.tick() => {
                registry.reap(settings.batch_size).await;
            }
        }
    }
}

/// Applies every pending registry migration.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    platform::db::migrate::<Migrator>(settings, SERVICE).await
}

/// Carries out data-subject requests until shutdown: at once when one is registered in this
/// process, and every few seconds for those registered through another replica or left by a
/// worker that died. Replicas may all run it: a request is held by one worker at a time.
async fn carry_out_privacy_requests(registry: Registry, shutdown: Shutdown) {
    let stop = shutdown.requested();
    tokio::pin!(stop);
    loop {
        registry.run_privacy_requests().await;
        tokio::select! {
            () = &mut stop => return,
            () = registry.privacy_work_or(std::time::Duration::from_secs(5)) => {}
        }
    }
}
