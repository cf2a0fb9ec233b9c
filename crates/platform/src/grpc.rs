//! gRPC servers and clients, built the same way for every service: `grpc.health.v1` and
//! reflection on every server, timeouts on every client.

use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::GrpcSettings;
use tonic::{
    service::Routes,
    transport::{Channel, Endpoint, Server},
};
use tonic_health::ServingStatus;

use crate::Shutdown;

/// Binds a service's listener before anything is served, so port 0 works and a clash is
/// reported with the service's name.
pub async fn bind(service: &str, addr: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("{service} cannot listen on {addr}: {e}"))
}

/// A gRPC service's bound listener, the limits it is served with, and the database its
/// readiness follows.
pub struct Listener {
    tcp: TcpListener,
    limits: GrpcSettings,
    database: Option<sea_orm::DatabaseConnection>,
}

impl Listener {
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.tcp.local_addr()
    }

    /// Health answers NOT_SERVING while `db` cannot be reached (checked every
    /// `READINESS_INTERVAL`), so probes and the gateway's `/readyz` see the outage.
    pub fn watching(self, db: sea_orm::DatabaseConnection) -> Self {
        Self { database: Some(db), ..self }
    }
}

/// How often a service checks that its database answers.
pub const READINESS_INTERVAL: Duration = Duration::from_secs(1);

/// Binds a gRPC service's listener (see `bind`), to be served with `limits`.
pub async fn listen(service: &str, addr: std::net::SocketAddr, limits: &GrpcSettings) -> anyhow::Result<Listener> {
    Ok(Listener { tcp: bind(service, addr).await?, limits: limits.clone(), database: None })
}

/// Keeps health in step with the database until shutdown: SERVING while a ping answers.
async fn follow_database(
    reporter: tonic_health::server::HealthReporter,
    service_name: &'static str,
    db: sea_orm::DatabaseConnection,
    shutdown: Shutdown,
) {
    let mut serving = true;
    let stop = shutdown.requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(READINESS_INTERVAL) => {}
        }
        let answers = tokio::time::timeout(Duration::from_secs(2), db.ping()).await.is_ok_and(|r| r.is_ok());
        if answers != serving && !shutdown.is_requested() {
            serving = answers;
            let status = if answers { ServingStatus::Serving } else { ServingStatus::NotServing };
            if answers {
                tracing::info!(service = service_name, "the database answers again: serving");
            } else {
                tracing::warn!(service = service_name, "the database does not answer: not serving");
            }
            reporter.set_service_status("", status).await;
            reporter.set_service_status(service_name, status).await;
        }
    }
}

/// Serves `routes` (one Roster gRPC service named `service_name`) plus health and reflection on
/// an already-bound listener until shutdown; health turns NOT_SERVING as the drain begins.
/// Connections are pinged when idle (a peer that stops answering is dropped) and carry at most
/// `max_concurrent_streams` calls at once; more wait for a free stream.
pub async fn serve(
    listener: Listener,
    service_name: &'static str,
    routes: Routes,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status(service_name, ServingStatus::Serving).await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let routes = routes.add_service(health).add_service(reflection);
    let Listener { tcp: listener, limits, database } = listener;
    if let Some(db) = database {
        tokio::spawn(follow_database(reporter.clone(), service_name, db, shutdown.clone()));
    }
    let addr = listener.local_addr()?;
    tracing::info!(service = service_name, %addr, "gRPC server listening");

    let draining = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.requested().await;
            reporter.set_service_status("", ServingStatus::NotServing).await;
            reporter.set_service_status(service_name, ServingStatus::NotServing).await;
        }
    };
    let keepalive = Duration::from_secs(limits.keepalive_interval_secs);
    Server::builder()
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(keepalive))
        .http2_keepalive_timeout(Some(Duration::from_secs(limits.keepalive_timeout_secs)))
        .max_concurrent_streams(Some(limits.max_concurrent_streams))
        .trace_fn(crate::telemetry::grpc_server_span)
        .layer(crate::metrics::GrpcMetricsLayer)
        .add_routes(routes)
        // `tcp_nodelay` above applies only to listeners tonic binds itself: without it here every
        // response over ~256 bytes waited ~40 ms for the client's delayed ACK (found by loadgen).
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener)
                .with_nodelay(Some(true))
                .with_keepalive(Some(keepalive)),
            draining,
        )
        .await?;
    tracing::info!(service = service_name, "gRPC server stopped");
    Ok(())
}

/// A lazily connecting channel to another service, with connect and request timeouts.
pub fn channel(endpoint: &str, request_timeout: Duration) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(endpoint.to_owned())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(request_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    Ok(endpoint.connect_lazy())
}
