//! Prometheus metrics: one recorder per process, served at `GET /metrics` on `metrics.listen`
//! (in the all-in-one process the services share it, told apart by their RPC paths).
//! Names: `roster_grpc_*` per RPC, `roster_http_*` per gateway route, `roster_token_validations`,
//! `roster_cache_requests`, `roster_db_pool_*`.

use std::{
    future::Future,
    pin::Pin,
    sync::OnceLock,
    task::{Context, Poll},
    time::Duration,
};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::ConnectionTrait;
use tokio::net::TcpListener;

use crate::Shutdown;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets, in seconds, from 100 µs to 10 s.
const LATENCY_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Installs the process's recorder (once; later calls answer the same handle).
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), LATENCY_BUCKETS)
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder (a test's) may already be installed; then ours only renders.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Serves `GET /metrics` until shutdown.
pub async fn serve(listener: TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
    let handle = install();
    let upkeep = handle.clone();
    let app = axum::Router::new().route("/metrics", axum::routing::get(move || std::future::ready(handle.render())));
    tracing::info!(addr = %listener.local_addr()?, "metrics listening");
    // Histograms are summarised over a window; keep it moving even without scrapes.
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(5));
        while !stop.is_requested() {
            interval.tick().await;
            upkeep.run_upkeep();
        }
    });
    axum::serve(listener, app).with_graceful_shutdown(shutdown.requested()).await?;
    Ok(())
}

/// Counts every gRPC request by RPC and status, and times it.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcMetricsLayer;

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics { inner }
    }
}

#[derive(Debug, Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for GrpcMetrics<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let rpc = request.uri().path().to_owned();
        let started = crate::Stopwatch::start();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            // Errors come "trailers-only", with grpc-status in the headers; success in trailers.
            let code = match &response {
                Ok(r) => r.headers().get("grpc-status").and_then(|v| v.to_str().ok()).unwrap_or("0").to_owned(),
                Err(_) => "transport".to_owned(),
            };
            if !rpc.starts_with("/grpc.") {
                metrics::counter!("roster_grpc_requests_total", "rpc" => rpc.clone(), "code" => code).increment(1);
                metrics::histogram!("roster_grpc_request_duration_seconds", "rpc" => rpc)
                    .record(started.elapsed().as_secs_f64());
            }
            response
        })
    }
}

/// Samples a database pool's size and idle connections every few seconds, for saturation.
pub fn watch_pool(service: &'static str, db: &sea_orm::DatabaseConnection, max: u32) {
    let db = db.clone();
    metrics::gauge!("roster_db_pool_max_connections", "service" => service).set(f64::from(max));
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(5));
        loop {
            interval.tick().await;
            let (size, idle) = match db.get_database_backend() {
                sea_orm::DatabaseBackend::Postgres => {
                    let pool = db.get_postgres_connection_pool();
                    (pool.size(), pool.num_idle())
                }
                sea_orm::DatabaseBackend::Sqlite => {
                    let pool = db.get_sqlite_connection_pool();
                    (pool.size(), pool.num_idle())
                }
                _ => return,
            };
            if size == 0 && db.ping().await.is_err() {
                // Closed for good (a test's throwaway database): stop sampling.
                return;
            }
            metrics::gauge!("roster_db_pool_connections", "service" => service, "state" => "open").set(f64::from(size));
            metrics::gauge!("roster_db_pool_connections", "service" => service, "state" => "idle").set(idle as f64);
        }
    });
}

/// Outbox rows a relay published to event-service.
pub fn outbox_published(n: u64) {
    metrics::counter!("roster_outbox_published_total").increment(n);
}
