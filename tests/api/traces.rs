//! One request through the gateway is one trace, with spans from the gateway and from every
//! service it touched, joined by W3C trace context carried in gRPC metadata.

use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use reqwest::StatusCode;
use test_support::Backend;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt};

use crate::helpers::{spawn_stack, with_subscriber};

// The subscriber is this test's runtime's alone (`with_subscriber`), whether tests share a
// process or not.
#[test]
fn one_request_is_one_trace_across_every_hop() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new("info"))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    platform::telemetry::install_propagator();
    with_subscriber(subscriber, || traced_request(exporter, provider));
}

async fn traced_request(exporter: InMemorySpanExporter, provider: SdkTracerProvider) {
    // PostgreSQL: sqlx's SQLite driver hands each command's span to its connection's worker
    // thread, which keeps the last one until its next command, so on SQLite a write's server
    // span can end long after its response (docs/operations.md says so).
    let stack = spawn_stack(Backend::Postgres, false).await;
    exporter.reset();
    let body = r#"{"user_id": "traced", "nickname": "t", "profile_url": ""}"#;
    let response = stack.post("/v3/users", Some(&stack.token), body).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Server spans end when their response is fully sent, which can be just after the client
    // has it: wait (boundedly) until every span of the request has ended.
    let attribute = |span: &opentelemetry_sdk::trace::SpanData, key: &str| {
        span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string())
    };
    // Wait for the spans of this request by name: others (the start-up's) may end meanwhile.
    // Bounded generously: on a loaded machine one thread serves the whole stack.
    let mut spans = Vec::new();
    for _ in 0..1000 {
        let _ = provider.force_flush();
        spans = exporter.get_finished_spans().expect("spans");
        let served = |path: &str| {
            spans.iter().any(|s| s.name == "grpc" && attribute(s, "rpc").is_some_and(|rpc| rpc.ends_with(path)))
        };
        let ended = |name: &str| spans.iter().any(|s| s.name == name);
        if ended("http")
            && ended("create_user")
            && served("TokenService/AuthenticateCaller")
            && served("RegistryService/CreateUser")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let http = spans.iter().find(|s| s.name == "http").expect("a gateway span");
    let trace: TraceId = http.span_context.trace_id();
    let rpc = |path: &str| {
        spans
            .iter()
            .find(|s| s.name == "grpc" && attribute(s, "rpc").is_some_and(|rpc| rpc.ends_with(path)))
            .unwrap_or_else(|| {
                panic!("a server span for {path}: {:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>())
            })
    };
    for path in ["TokenService/AuthenticateCaller", "RegistryService/CreateUser"] {
        let server = rpc(path);
        assert_eq!(server.span_context.trace_id(), trace, "{path} joins the gateway's trace");
        assert_eq!(server.parent_span_id, http.span_context.span_id(), "{path} is a child of the gateway span");
    }
    // The registry's own work is inside its server span.
    let create = rpc("RegistryService/CreateUser");
    let inner = spans.iter().find(|s| s.name == "create_user").expect("the handler's span");
    assert_eq!(inner.parent_span_id, create.span_context.span_id());
    assert_ne!(create.span_context.span_id(), SpanId::INVALID);
}
