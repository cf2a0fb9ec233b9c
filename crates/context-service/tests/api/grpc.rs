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

fn new_channel(app: &AppId, name: &str, modality: pb::ChannelModality) -> pb::CreateChannelRequest {
    pb::CreateChannelRequest {
        app_id: app.as_str().into(),
        name: name.into(),
        description: None,
        modality: modality.into(),
        metadata_json: r#"{"team":"support","tier":2,"live":true}"#.into(),
    }
}

fn code_and_field(status: &tonic::Status) -> (ErrorCode, Option<String>) {
    let error = ApiError::from_status(status);
    (error.code, error.field)
}

#[tokio::test]
async fn channels_are_created_read_and_paged() {
    let (mut client, _, shutdown, _db) = spawn().await;
    let app = AppId::generate();
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        let channel = client.create_channel(new_channel(&app, name, pb::ChannelModality::Email)).await.unwrap();
        let channel = channel.into_inner().channel.unwrap();
        assert_eq!((channel.name.as_str(), channel.modality()), (name, pb::ChannelModality::Email));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&channel.metadata_json).unwrap()["tier"], 2);
        ids.push(channel.id);
    }
    let got = client
        .get_channel(pb::GetChannelRequest { app_id: app.as_str().into(), channel_id: ids[1].clone() })
        .await
        .unwrap()
        .into_inner()
        .channel
        .unwrap();
    assert_eq!(got.name, "b");

    let list = |page_token: String| pb::ListChannelsRequest {
        app_id: app.as_str().into(),
        page_token,
        page_size: 2,
        modality: pb::ChannelModality::Unspecified.into(),
    };
    let first = client.list_channels(list(String::new())).await.unwrap().into_inner();
    assert_eq!(first.channels.len(), 2);
    let second = client.list_channels(list(first.next_page_token)).await.unwrap().into_inner();
    assert_eq!((second.channels.len(), second.next_page_token.as_str()), (1, ""));
    let mut seen: Vec<String> = first.channels.into_iter().chain(second.channels).map(|c| c.id).collect();
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
    for garbage in ["zz".to_owned(), hex_of("a1:helper"), hex_of("c1:not-an-id")] {
        let err = client.list_channels(list(garbage)).await.unwrap_err();
        assert_eq!(code_and_field(&err).0, ErrorCode::InvalidPageToken);
    }
    shutdown.trigger();
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn bad_channels_are_refused_with_their_field() {
    let (mut client, _, shutdown, _db) = spawn().await;
    let app = AppId::generate();
    let cases = [
        (pb::CreateChannelRequest { name: String::new(), ..new_channel(&app, "", pb::ChannelModality::Email) }, "name"),
        (new_channel(&app, "n", pb::ChannelModality::Unspecified), "modality"),
        (pb::CreateChannelRequest { modality: 9, ..new_channel(&app, "n", pb::ChannelModality::Email) }, "modality"),
        (
            pb::CreateChannelRequest {
                metadata_json: r#"{"nested":{"a":1}}"#.into(),
                ..new_channel(&app, "n", pb::ChannelModality::Email)
            },
            "metadata",
        ),
        (
            pb::CreateChannelRequest { name: "x".repeat(256), ..new_channel(&app, "n", pb::ChannelModality::Email) },
            "name",
        ),
    ];
    for (request, field) in cases {
        let err = client.create_channel(request).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{field}");
        assert_eq!(code_and_field(&err).1.as_deref(), Some(field));
    }
    let list = pb::ListChannelsRequest { app_id: app.as_str().into(), page_size: 10, ..Default::default() };
    assert!(client.list_channels(list).await.unwrap().into_inner().channels.is_empty(), "nothing was created");
    shutdown.trigger();
}

/// Refusals that need no registry: the registry endpoint of these settings serves nothing.
#[tokio::test]
async fn conversations_name_their_references_and_their_limits() {
    let (mut client, _, shutdown, _db) = spawn().await;
    let app = AppId::generate();
    let by_id = |id: &str| pb::ParticipantRef { key: Some(pb::participant_ref::Key::UserId(id.into())) };
    let request = |channel_id: Option<String>, participants: Vec<pb::ParticipantRef>| pb::CreateConversationRequest {
        app_id: app.as_str().into(),
        kind: pb::ConversationKind::Personal.into(),
        participants,
        channel_id,
        ..Default::default()
    };
    let user = platform::ids::new_id();
    let unknown_channel = client.create_conversation(request(Some(platform::ids::new_id()), vec![by_id(&user)])).await;
    assert_eq!(code_and_field(&unknown_channel.unwrap_err()), (ErrorCode::NotFound, Some("channel_id".into())));
    let malformed_channel = client.create_conversation(request(Some("nope".into()), vec![by_id(&user)])).await;
    assert_eq!(code_and_field(&malformed_channel.unwrap_err()), (ErrorCode::NotFound, Some("channel_id".into())));
    let nobody = client.create_conversation(request(None, vec![by_id("not-an-id")])).await.unwrap_err();
    assert_eq!(code_and_field(&nobody), (ErrorCode::UserNotFound, Some("participants".into())));
    let two = client.create_conversation(request(None, vec![by_id(&user), by_id(&user)])).await.unwrap_err();
    assert_eq!(code_and_field(&two), (ErrorCode::InvalidArgument, Some("participants".into())));
    let no_kind = pb::CreateConversationRequest { kind: 0, ..request(None, vec![by_id(&user)]) };
    let no_kind = client.create_conversation(no_kind).await.unwrap_err();
    assert_eq!(code_and_field(&no_kind), (ErrorCode::MissingField, Some("kind".into())));
    let empty_ref = client.create_conversation(request(None, vec![pb::ParticipantRef { key: None }])).await;
    assert_eq!(code_and_field(&empty_ref.unwrap_err()), (ErrorCode::MissingField, Some("participants".into())));

    let missing = platform::ids::new_id();
    let get = pb::GetConversationRequest { app_id: app.as_str().into(), conversation_id: missing.clone() };
    assert_eq!(code_and_field(&client.get_conversation(get).await.unwrap_err()).0, ErrorCode::NotFound);
    let end = pb::EndConversationRequest { app_id: app.as_str().into(), conversation_id: missing };
    assert_eq!(code_and_field(&client.end_conversation(end).await.unwrap_err()).0, ErrorCode::NotFound);
    shutdown.trigger();
}
