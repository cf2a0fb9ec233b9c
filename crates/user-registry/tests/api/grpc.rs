//! The registry's gRPC server, over a real socket.

use platform::{ApiError, AppId, ErrorCode};
use proto::registry::v1 as pb;
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::helpers::spawn_registry;

fn create(app_id: &str, user_id: &str) -> pb::CreateUserRequest {
    pb::CreateUserRequest {
        app_id: app_id.to_owned(),
        user: Some(pb::NewUser { user_id: Some(user_id.to_owned()), nickname: "Asty".into(), ..Default::default() }),
    }
}

#[tokio::test]
async fn answers_health_serving_for_itself_and_overall() {
    let registry = spawn_registry().await;
    let mut health = HealthClient::new(test_support::channel(registry.addr).await);
    for service in ["", "roster.registry.v1.RegistryService"] {
        let status =
            health.check(HealthCheckRequest { service: service.into() }).await.expect("health").into_inner().status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
}

#[tokio::test]
async fn creates_and_gets_a_user() {
    let mut registry = spawn_registry().await;
    let app = registry.app_id().await;
    let created = registry
        .client
        .create_user(create(app.as_str(), "jacob"))
        .await
        .expect("created")
        .into_inner()
        .user
        .expect("user");
    assert_eq!(created.user_id, "jacob");
    assert_eq!(created.id.len(), 24);
    assert!(created.is_active);

    let by_user_id = pb::GetUserRequest {
        app_id: app.as_str().into(),
        lookup: Some(pb::UserLookup { key: Some(pb::user_lookup::Key::UserId("jacob".into())) }),
    };
    let fetched = registry.client.get_user(by_user_id).await.expect("found").into_inner().user;
    assert_eq!(fetched, Some(created));
}

#[tokio::test]
async fn errors_carry_stable_codes_across_the_hop() {
    let mut registry = spawn_registry().await;
    let app = registry.app_id().await;
    registry.client.create_user(create(app.as_str(), "jacob")).await.expect("created");

    let duplicate = registry.client.create_user(create(app.as_str(), "jacob")).await.expect_err("taken");
    assert_eq!(duplicate.code(), Code::AlreadyExists);
    assert_eq!(ApiError::from_status(&duplicate).code, ErrorCode::UserIdTaken);

    let too_long = registry.client.create_user(create(app.as_str(), &"x".repeat(81))).await.expect_err("too long");
    let err = ApiError::from_status(&too_long);
    assert_eq!((err.code, err.field.as_deref()), (ErrorCode::ValueTooLong, Some("user_id")));

    let bad_app = registry.client.create_user(create("not-an-app", "jacob")).await.expect_err("bad app");
    assert_eq!(bad_app.code(), Code::InvalidArgument);

    let missing = pb::GetUserRequest {
        app_id: app.as_str().into(),
        lookup: Some(pb::UserLookup { key: Some(pb::user_lookup::Key::UserId("nobody".into())) }),
    };
    let not_found = registry.client.get_user(missing).await.expect_err("missing");
    assert_eq!(ApiError::from_status(&not_found).code, ErrorCode::UserNotFound);
}

#[tokio::test]
async fn reflection_lists_the_service_and_health() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let registry = spawn_registry().await;
    let mut client = ServerReflectionClient::new(test_support::channel(registry.addr).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses =
        client.server_reflection_info(tokio_stream::iter([request])).await.expect("reflection").into_inner();
    let response = responses.message().await.expect("answer").expect("one response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("a list of services: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in ["roster.registry.v1.RegistryService", "grpc.health.v1.Health"] {
        assert!(names.iter().any(|n| n == expected), "{expected} in {names:?}");
    }
}

#[tokio::test]
async fn upsert_by_external_id_creates_once_and_keeps_profiles() {
    let mut registry = spawn_registry().await;
    let app = registry.app_id().await;
    let upsert = |external: &str, email: &str| pb::UpsertUserByExternalIdRequest {
        app_id: app.as_str().into(),
        user: Some(pb::NewUser {
            external_id: Some(external.into()),
            profile: Some(pb::Profile {
                given_name: Some("Ada".into()),
                email: Some(email.into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        mark_authenticated: false,
    };
    let first =
        registry.client.upsert_user_by_external_id(upsert("Crm-1", "ada@example.com")).await.unwrap().into_inner();
    assert!(first.created);
    let user = first.user.unwrap();
    assert_eq!(user.user_id, user.id, "no caller-chosen id: the Roster id");
    assert_eq!(user.profile.as_ref().unwrap().email.as_deref(), Some("ada@example.com"));
    let again =
        registry.client.upsert_user_by_external_id(upsert("CRM-1", "other@example.com")).await.unwrap().into_inner();
    assert!(!again.created);
    assert_eq!(again.user.unwrap().id, user.id);
    // One id however it was typed: composed or decomposed accents, the Kelvin sign.
    let composed = registry.client.upsert_user_by_external_id(upsert("Caf\u{e9}-\u{212a}", "c@example.com")).await;
    let composed = composed.unwrap().into_inner();
    assert!(composed.created);
    let decomposed = registry.client.upsert_user_by_external_id(upsert("CAFE\u{301}-k", "d@example.com")).await;
    let decomposed = decomposed.unwrap().into_inner();
    assert!(!decomposed.created, "the same external id");
    assert_eq!(decomposed.user.unwrap().id, composed.user.unwrap().id);

    let bad_email = registry.client.upsert_user_by_external_id(upsert("Crm-2", "not-an-email")).await.unwrap_err();
    let err = ApiError::from_status(&bad_email);
    assert_eq!((err.code, err.field.as_deref()), (ErrorCode::InvalidArgument, Some("email")));
    let no_external = pb::UpsertUserByExternalIdRequest {
        app_id: app.as_str().into(),
        user: Some(pb::NewUser::default()),
        mark_authenticated: false,
    };
    let missing = registry.client.upsert_user_by_external_id(no_external).await.unwrap_err();
    assert_eq!(ApiError::from_status(&missing).code, ErrorCode::MissingField);
}

/// Users are created only in applications token-service has (issue 16, point 6): every RPC that
/// creates one refuses an unknown application, writing nothing; with token-service away the
/// answer is UNAVAILABLE; a known application is asked about once, then remembered.
#[tokio::test]
async fn users_are_created_only_in_applications_that_exist() {
    let mut registry = spawn_registry().await;
    let unknown = AppId::generate().as_str().to_owned();
    let not_found = |status: tonic::Status| {
        assert_eq!(ApiError::from_status(&status).code, ErrorCode::ApplicationNotFound, "{status:?}");
    };
    not_found(registry.client.create_user(create(&unknown, "ghost")).await.unwrap_err());
    let by_external = pb::UpsertUserByExternalIdRequest {
        app_id: unknown.clone(),
        user: Some(pb::NewUser { external_id: Some("crm-1".into()), ..Default::default() }),
        mark_authenticated: true,
    };
    not_found(registry.client.upsert_user_by_external_id(by_external).await.unwrap_err());
    let from_channel = pb::UpsertUserFromChannelRequest {
        app_id: unknown.clone(),
        identity: Some(pb::Identity { channel_type: "whatsapp".into(), value: "+15550100".into() }),
        profile: None,
    };
    not_found(registry.client.upsert_user_from_channel(from_channel).await.unwrap_err());
    let batch = pb::BatchCreateUsersRequest {
        app_id: unknown.clone(),
        users: vec![pb::NewUser { user_id: Some("ghost".into()), ..Default::default() }],
    };
    not_found(registry.client.batch_create_users(batch).await.unwrap_err());
    let import = pb::ImportUsersRequest {
        app_id: unknown.clone(),
        users: vec![pb::NewUser { user_id: Some("ghost".into()), ..Default::default() }],
    };
    not_found(registry.client.import_users(tokio_stream::iter(vec![import])).await.unwrap_err());
    let conn = registry.connection().await;
    assert_eq!(crate::helpers::count(&conn, "SELECT COUNT(*) FROM users").await, 0, "nothing written");

    // Known once, remembered: token-service may go away and creates in that application go on;
    // an application never seen is then a retryable answer, not a refusal.
    let app = registry.app().await;
    registry.client.create_user(create(&app, "first")).await.expect("created");
    registry.stop_token_service().await;
    registry.client.create_user(create(&app, "second")).await.expect("created from memory");
    let status = registry.client.create_user(create(&unknown, "third")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}
