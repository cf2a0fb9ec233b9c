//! gRPC clients for the four services. Channels connect lazily and reconnect by themselves;
//! every call carries the request id and a deadline.

use std::{sync::Arc, time::Duration};

use axum::{extract::FromRequestParts, http::request::Parts};
use platform::Settings;
use proto::{
    context::v1::context_service_client::ContextServiceClient, events::v1::event_service_client::EventServiceClient,
    registry::v1::registry_service_client::RegistryServiceClient, token::v1::token_service_client::TokenServiceClient,
};
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Shared by every request: one `Arc` clone per request, not one clone of each channel.
#[derive(Clone)]
pub struct Clients(Arc<Upstreams>);

impl std::ops::Deref for Clients {
    type Target = Upstreams;

    fn deref(&self) -> &Upstreams {
        &self.0
    }
}

pub struct Upstreams {
    pub registry: RegistryServiceClient<Channel>,
    pub token: TokenServiceClient<Channel>,
    pub context: ContextServiceClient<Channel>,
    pub events: EventServiceClient<Channel>,
    /// `gateway.public_url`, without a trailing slash.
    pub public_url: Option<String>,
    pub limiter: crate::ratelimit::RateLimiter,
    /// Callers token-service accepted lately (`gateway.caller_cache_ms`).
    pub(crate) callers: crate::caller_cache::CallerCache,
    /// `webhooks.allow_private_targets`: whether a webhook may name a private address.
    pub allow_private_targets: bool,
    /// Failed dashboard sign-ins of this replica, per minute.
    pub sign_in_limit: crate::dashboard::SignInLimit,
    channels: [(&'static str, Channel); 4],
}

impl Clients {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let timeout = Duration::from_millis(settings.gateway.upstream_timeout_ms);
        let registry = platform::grpc::channel(&settings.registry.endpoint, timeout)?;
        let token = platform::grpc::channel(&settings.token.endpoint, timeout)?;
        let context = platform::grpc::channel(&settings.context.endpoint, timeout)?;
        let events = platform::grpc::channel(&settings.events.endpoint, timeout)?;
        Ok(Self(Arc::new(Upstreams {
            // Room for a 5 MB profile image coming back from the registry.
            registry: RegistryServiceClient::new(registry.clone()).max_decoding_message_size(8 * 1024 * 1024),
            token: TokenServiceClient::new(token.clone()),
            context: ContextServiceClient::new(context.clone()),
            events: EventServiceClient::new(events.clone()),
            public_url: settings.gateway.public_url.as_ref().map(|u| u.trim_end_matches('/').to_owned()),
            limiter: crate::ratelimit::RateLimiter::default(),
            callers: crate::caller_cache::CallerCache::new(Duration::from_millis(settings.gateway.caller_cache_ms)),
            allow_private_targets: settings.webhooks.allow_private_targets,
            sign_in_limit: crate::dashboard::SignInLimit::new(),
            channels: [("registry", registry), ("token", token), ("context", context), ("events", events)],
        })))
    }

    /// Each service's `grpc.health.v1` answer, for `/readyz`, checked concurrently.
    pub async fn health(&self) -> [(&'static str, bool); 4] {
        let [a, b, c, d] = &self.channels;
        let (ra, rb, rc, rd) = tokio::join!(is_serving(&a.1), is_serving(&b.1), is_serving(&c.1), is_serving(&d.1));
        [(a.0, ra), (b.0, rb), (c.0, rc), (d.0, rd)]
    }
}

async fn is_serving(channel: &Channel) -> bool {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
    let mut client = HealthClient::new(channel.clone());
    let request = HealthCheckRequest { service: String::new() };
    tokio::time::timeout(Duration::from_secs(2), client.check(request))
        .await
        .ok()
        .and_then(Result::ok)
        .is_some_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
}

/// The base URL links in answers start with: `gateway.public_url`, else `http://<Host>`.
#[derive(Debug, Clone)]
pub struct PublicBase(pub String);

impl PublicBase {
    /// A profile URL as a dialect shows it: an uploaded image's path (what the registry keeps)
    /// as the absolute URL it is served at, any other URL as it is.
    pub fn url(&self, url: String) -> String {
        if url.starts_with("/profile_images/") { format!("{}{url}", self.0) } else { url }
    }
}

impl FromRequestParts<Clients> for PublicBase {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, clients: &Clients) -> Result<Self, Self::Rejection> {
        if let Some(url) = &clients.public_url {
            return Ok(Self(url.clone()));
        }
        let host = parts.headers.get(http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
        Ok(Self(format!("http://{host}")))
    }
}

/// The request id the gateway assigned (or the caller sent), carried into every gRPC call.
#[derive(Debug, Clone, Default)]
pub struct RequestId(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned)))
    }
}

impl RequestId {
    /// Wraps a gRPC message with this request's id and the current trace context.
    pub fn grpc<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        platform::telemetry::inject(request.metadata_mut());
        if let Some(id) = self.0.as_deref().and_then(|id| id.parse().ok()) {
            request.metadata_mut().insert(REQUEST_ID_HEADER, id);
        }
        request
    }
}
