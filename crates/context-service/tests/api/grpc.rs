//! context-service over a real socket.

use std::collections::HashMap;

use platform::{ApiError, AppId, ErrorCode, Shutdown};
use proto::context::v1::{self as pb, context_service_client::ContextServiceClient};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

async fn spawn()
-> (ContextServiceClient<tonic::transport::Channel>, std::net::SocketAddr, Shutdown, test_support::TestDatabase) {
    test_support::init_logging();
    let db = test_support::TestDatabase::sqlite();
    let settings = test_support::settings(&db, false);
    let app = context_service::Application::build(&settings).await.expect("build");
    let addr = app.local_addr();
    let shutdown = Shutdown::new();
    tokio::spawn(app.run(shutdown.clone()));
    (ContextServiceClient::new(test_support::channel(addr).await), addr, shutdown, db)
}

fn key(app: &AppId) -> Option<pb::ContextKey> {
    Some(pb::ContextKey { app_id: app.as_str().into(), user_id: "u1".into(), agent_id: "bot".into() })
}

#[tokio::test]
async fn answers_health_serving() {
    let (_, addr, shutdown, _db) = spawn().await;
    let mut health = HealthClient::new(test_support::channel(addr).await);
    let status = health
        .check(HealthCheckRequest { service: "roster.context.v1.ContextService".into() })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    shutdown.trigger();
}

#[tokio::test]
async fn sets_and_reads_a_context() {
    let (mut client, _, shutdown, _db) = spawn().await;
    let app = AppId::generate();
    let values = HashMap::from([("customerTier".to_owned(), "premium".to_owned())]);
    client
        .set_context(pb::SetContextRequest {
            key: key(&app),
            language: Some("en-US".into()),
            country: Some("US".into()),
            values: values.clone(),
        })
        .await
        .expect("set");
    let context = client
        .get_context(pb::GetContextRequest { key: key(&app) })
        .await
        .expect("get")
        .into_inner()
        .context
        .expect("context");
    assert_eq!(context.language.as_deref(), Some("en-US"));
    assert_eq!(context.country.as_deref(), Some("US"));
    assert_eq!(context.values, values);
    shutdown.trigger();
}

#[tokio::test]
async fn bad_language_and_missing_context_have_stable_codes() {
    let (mut client, _, shutdown, _db) = spawn().await;
    let app = AppId::generate();
    let bad = client
        .set_context(pb::SetContextRequest {
            key: key(&app),
            language: Some("english please".into()),
            country: None,
            values: HashMap::new(),
        })
        .await
        .unwrap_err();
    let bad = ApiError::from_status(&bad);
    assert_eq!((bad.code, bad.field.as_deref()), (ErrorCode::InvalidArgument, Some("language")));
    let missing = client.get_context(pb::GetContextRequest { key: key(&app) }).await.unwrap_err();
    assert_eq!(ApiError::from_status(&missing).code, ErrorCode::NotFound);
    shutdown.trigger();
}
