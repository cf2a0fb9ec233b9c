//! The router: health endpoints, one module per dialect, request ids, tracing, body limits.

pub mod ada;
pub mod error;
pub mod kore;
pub mod openapi;
pub mod sendbird;
pub mod sunshine;

use std::time::Duration;

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, MatchedPath, State},
    http::{Request, StatusCode},
    response::IntoResponse,
};
use platform::config::GatewaySettings;
use serde_json::json;
use tower::util::MapRequest;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::RequestBodyTimeoutLayer,
    trace::TraceLayer,
};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::clients::{Clients, REQUEST_ID_HEADER};

/// Every route of every dialect, with the OpenAPI document that describes them.
pub fn api() -> (Router<Clients>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .merge(sendbird::routes())
        .merge(ada::routes())
        .merge(kore::routes())
        .merge(sunshine::routes())
        .split_for_parts()
}

/// The gateway: each request's path made canonical, then routed.
pub type Service = MapRequest<Router, fn(axum::extract::Request) -> axum::extract::Request>;

pub fn service(clients: Clients, settings: &GatewaySettings) -> Service {
    MapRequest::new(router(clients, settings), canonical_path)
}

/// Paths that name a route another way, rewritten before routing: Zendesk's `/sc` prefix of the
/// Sunshine API, and the trailing slash Ada writes (`/api/v2/end-users/`). The path as sent stays
/// available to handlers as `OriginalUri`.
pub fn canonical_path(mut request: axum::extract::Request) -> axum::extract::Request {
    let path = request.uri().path();
    let canonical = if let Some(rest) = path.strip_prefix("/sc").filter(|rest| rest.starts_with("/v2/apps/")) {
        rest.to_owned()
    } else if path.starts_with("/api/") && path.len() > "/api/".len() && path.ends_with('/') {
        path[..path.len() - 1].to_owned()
    } else {
        return request;
    };
    let original = request.uri().clone();
    let path_and_query = match original.query() {
        Some(query) => format!("{canonical}?{query}"),
        None => canonical,
    };
    let mut parts = original.clone().into_parts();
    let Ok(path_and_query) = path_and_query.parse() else {
        return request;
    };
    parts.path_and_query = Some(path_and_query);
    if let Ok(uri) = axum::http::Uri::from_parts(parts) {
        request.extensions_mut().insert(axum::extract::OriginalUri(original));
        *request.uri_mut() = uri;
    }
    request
}

pub fn router(clients: Clients, settings: &GatewaySettings) -> Router {
    let header = axum::http::HeaderName::from_static(REQUEST_ID_HEADER);
    let (routes, document) = api();
    routes
        .merge(openapi::docs(document))
        .merge(crate::dashboard::routes())
        .fallback(not_found)
        .with_state(clients)
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        // A body that stops arriving ends the request instead of holding the connection.
        .layer(RequestBodyTimeoutLayer::new(Duration::from_millis(settings.body_read_timeout_ms)))
        .layer(axum::middleware::from_fn(record_metrics))
        // Spans name the route template, never the raw URI: paths and queries can hold ids or emails.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str());
            let request_id = request.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
            let span = tracing::info_span!("http", method = %request.method(), route, request_id, otel.kind = "server");
            platform::telemetry::continue_trace(&span, request.headers());
            span
        }))
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(SetRequestIdLayer::new(header, MakeRequestUuid))
        .layer(axum::middleware::from_fn(head_limits))
}

/// The longest request target the gateway reads (RFC 9110 suggests at least 8,000 octets).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header fields, and their bytes, a request may carry.
pub const MAX_HEADERS: usize = 100;
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// 414 and 431 in the dialect's shape. (The HTTP listener's own, larger limits answer bare.)
async fn head_limits(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let too_long = request.uri().path_and_query().map_or(0, |pq| pq.as_str().len()) > MAX_URI_BYTES;
    let header_bytes: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    let status = if too_long {
        StatusCode::URI_TOO_LONG
    } else if request.headers().len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    } else {
        return next.run(request).await;
    };
    error::rejection_for(request.uri().path(), status)
}

/// Counts and times every request by route template (never the raw path), method and status.
async fn record_metrics(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = request.method().to_string();
    let started = platform::Stopwatch::start();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("roster_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("roster_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The status of a client error that axum answered itself (plain text or no body: a path or
/// method rejection, a body over the limit), for a dialect to re-render in its own shape; `None`
/// for everything else.
pub(crate) fn bare_client_error(response: &axum::response::Response) -> Option<StatusCode> {
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    (response.status().is_client_error() && !is_json).then(|| response.status())
}

/// A rendered response's JSON body, for the dialects' snapshot tests.
#[cfg(test)]
pub(crate) fn body_json(response: axum::response::Response) -> serde_json::Value {
    let bytes = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
        .expect("body");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "Health", responses((status = 200, description = "The process answers", body = Object)))]
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Ready: every service it calls answers `grpc.health.v1` SERVING.
#[utoipa::path(get, path = "/readyz", tag = "Health", responses(
    (status = 200, description = "Every service answers", body = Object),
    (status = 503, description = "A service does not answer", body = Object),
))]
async fn readyz(State(clients): State<Clients>) -> impl IntoResponse {
    let checks = clients.health().await;
    let ready = checks.iter().all(|(_, serving)| *serving);
    let body: serde_json::Map<String, serde_json::Value> = checks
        .iter()
        .map(|(name, serving)| ((*name).to_owned(), json!(if *serving { "serving" } else { "unavailable" })))
        .collect();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "status": if ready { "ready" } else { "not ready" }, "services": body })))
}

/// Unknown routes answer JSON in the shape the dialects share (`error` a boolean, a code); under
/// Sunshine's `/v2/apps/` they answer Sunshine's 404.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/v2/apps/") {
        return sunshine::SunshineError::not_found("No such route.").into_response();
    }
    (StatusCode::NOT_FOUND, Json(json!({ "error": true, "code": 404, "message": "No such route." }))).into_response()
}
