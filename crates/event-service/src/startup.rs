//! Builds event-service from settings: database (migrated when configured), sealing keys,
//! listener (bound first, so port 0 works); then serves until shutdown.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use platform::{Settings, Shutdown, SystemClock};
use tonic::{server::NamedService, service::Routes};

use crate::{
    app::Events,
    domain::RetryPolicy,
    grpc::{EventGrpc, EventServiceServer},
    migration::Migrator,
    store::{SeaEventStore, sealer_from_settings},
};

pub const SERVICE: &str = "events";

pub struct Application {
    listener: platform::grpc::Listener,
    events: Arc<Events>,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = platform::db::open::<Migrator>(settings, SERVICE).await?;
        let sealer = sealer_from_settings(&db, settings).await?;
        let listener =
            platform::grpc::listen(SERVICE, settings.events.listen, &settings.grpc).await?.watching(db.clone());
        let mut store = SeaEventStore::new(db, sealer);
        if settings.smtp.url.is_some() {
            store = store.with_mail();
        } else {
            tracing::info!(
                "smtp.url is not set: Kore activation emails are not sent (member.activation_requested events are kept)"
            );
        }
        let store = Arc::new(store);
        let events = Arc::new(Events::new(store, Arc::new(SystemClock), retry_policy(settings)));
        Ok(Self { listener, events })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let server = EventServiceServer::new(EventGrpc::new(self.events, shutdown.clone()));
        let name = <EventServiceServer<EventGrpc> as NamedService>::NAME;
        platform::grpc::serve(self.listener, name, Routes::new(server), shutdown).await
    }
}

pub fn retry_policy(settings: &Settings) -> RetryPolicy {
    let w = &settings.webhooks;
    RetryPolicy {
        first_retry: Duration::from_millis(w.first_retry_ms),
        max_backoff: Duration::from_secs(w.max_backoff_secs),
        max_age: Duration::from_secs(w.max_age_secs),
    }
}

/// Applies every pending event-service migration.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    platform::db::migrate::<Migrator>(settings, SERVICE).await
}
