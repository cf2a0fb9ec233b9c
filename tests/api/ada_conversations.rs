//! The Ada API v2 channels and conversations, as code written for Ada calls them, and the
//! registry's view of the end users they associate.

use proto::{
    context::v1::{self as context_pb, context_service_client::ContextServiceClient},
    registry::v1::{self as registry_pb, registry_service_client::RegistryServiceClient},
};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use test_support::Backend;

use crate::helpers::{TestStack, spawn_stack};

/// One application's Ada client against the stack's gateway.
struct Ada<'a> {
    stack: &'a TestStack,
    token: String,
}

impl<'a> Ada<'a> {
    fn of(stack: &'a TestStack) -> Self {
        Self { stack, token: stack.token.clone() }
    }

    async fn send(&self, method: Method, path: &str, body: Option<String>) -> Response {
        let mut request =
            self.stack.http.request(method, format!("{}{path}", self.stack.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        request.send().await.expect("request")
    }

    /// A call that must answer `status`, and its JSON body.
    async fn expect(&self, method: Method, path: &str, body: Option<Value>, status: StatusCode) -> Value {
        let response = self.send(method.clone(), path, body.map(|b| b.to_string())).await;
        assert_eq!(response.status(), status, "{method} {path}");
        response.json().await.expect("JSON")
    }

    /// A call that must fail with Ada's error body of `kind`; the body.
    async fn refused(&self, method: Method, path: &str, body: Option<String>, status: StatusCode, kind: &str) -> Value {
        let response = self.send(method.clone(), path, body).await;
        assert_eq!(response.status(), status, "{method} {path}");
        let error: Value = response.json().await.expect("JSON");
        assert_eq!(error["errors"][0]["type"], kind, "{error}");
        assert!(error["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()), "{error}");
        error
    }

    async fn channel(&self, name: &str) -> Value {
        let body = json!({ "name": name, "description": "web chat", "modality": "messaging" });
        self.expect(Method::POST, "/api/v2/channels/", Some(body), StatusCode::CREATED).await
    }
}

fn id_of(resource: &Value, key: &str) -> String {
    resource[key].as_str().unwrap_or_else(|| panic!("{key} in {resource}")).to_owned()
}

async fn registry(stack: &TestStack) -> RegistryServiceClient<tonic::transport::Channel> {
    RegistryServiceClient::new(test_support::channel(stack.stack().registry).await)
}

/// The registry's user, over gRPC.
async fn registry_user(stack: &TestStack, lookup: registry_pb::user_lookup::Key) -> registry_pb::User {
    let request = registry_pb::GetUserRequest {
        app_id: stack.app_id.clone(),
        lookup: Some(registry_pb::UserLookup { key: Some(lookup) }),
    };
    registry(stack).await.get_user(request).await.expect("user exists").into_inner().user.expect("user")
}

#[tokio::test]
async fn channels_are_created_read_and_listed() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let ada = Ada::of(&stack);
    let body = json!({ "name": "Help centre", "description": "web chat", "modality": "email",
                       "metadata": { "team": "support", "tier": 2, "live": true, "score": 0.5 } });
    let created = ada.expect(Method::POST, "/api/v2/channels", Some(body), StatusCode::CREATED).await;
    let id = id_of(&created, "id");
    assert!(platform::ids::is_id(&id));
    assert_eq!(created["type"], "custom");
    assert_eq!((&created["name"], &created["modality"]), (&json!("Help centre"), &json!("email")));
    assert_eq!(created["metadata"], json!({ "team": "support", "tier": 2, "live": true, "score": 0.5 }));
    assert!(created["created_at"].as_str().unwrap().ends_with("+00:00"), "{created}");
    assert_eq!(created["created_at"], created["updated_at"]);
    for path in [format!("/api/v2/channels/{id}"), format!("/api/v2/channels/{id}/")] {
        assert_eq!(ada.expect(Method::GET, &path, None, StatusCode::OK).await, created, "{path}");
    }
    let plain = ada.expect(Method::POST, "/api/v2/channels/", Some(json!({ "name": "Bare" })), StatusCode::CREATED);
    let plain = plain.await;
    assert_eq!(
        (&plain["modality"], &plain["description"], &plain["metadata"]),
        (&json!("messaging"), &Value::Null, &json!({}))
    );
    for name in ["c", "d", "e"] {
        ada.channel(name).await;
    }

    let mut seen = Vec::new();
    let mut url = format!("{}/api/v2/channels?limit=2", stack.base);
    let mut pages = 0;
    loop {
        let page: Value = stack.http.get(&url).bearer_auth(&stack.token).send().await.unwrap().json().await.unwrap();
        pages += 1;
        seen.extend(page["data"].as_array().unwrap().iter().map(|c| id_of(c, "id")));
        match page["meta"]["next_page_url"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len(), pages), (5, 5, 3), "every channel once, two per page");
    let email = ada.expect(Method::GET, "/api/v2/channels/?modality=email&type=custom", None, StatusCode::OK).await;
    assert_eq!(email["data"].as_array().unwrap().len(), 1);
    assert_eq!(email["data"][0], created);
    let native = ada.expect(Method::GET, "/api/v2/channels/?type=native", None, StatusCode::OK).await;
    assert_eq!(native["data"], json!([]));

    for missing in [platform::ids::new_id(), "nope".to_owned()] {
        ada.refused(Method::GET, &format!("/api/v2/channels/{missing}"), None, StatusCode::NOT_FOUND, "not_found")
            .await;
    }
}

#[tokio::test]
async fn a_conversation_with_an_existing_end_user_associates_it() {
    let stack = spawn_stack(Backend::Postgres, true).await;
    let ada = Ada::of(&stack);
    let end_user = ada.expect(Method::POST, "/api/v2/end-users/", Some(json!({})), StatusCode::CREATED).await;
    let end_user_id = id_of(&end_user, "end_user_id");
    let by_id = || registry_pb::user_lookup::Key::Id(end_user_id.clone());
    assert_eq!(registry_user(&stack, by_id()).await.associated_at, None, "not yet in a conversation");
    let channel_id = id_of(&ada.channel("web").await, "id");

    let body = json!({ "channel_id": channel_id, "end_user_id": end_user_id,
                       "metadata": { "source": "checkout", "cart": 3, "vip": false } });
    let created = ada.expect(Method::POST, "/api/v2/conversations/", Some(body), StatusCode::CREATED).await;
    let id = id_of(&created, "id");
    assert!(platform::ids::is_id(&id));
    assert_eq!((&created["channel_id"], &created["end_user_id"]), (&json!(channel_id), &json!(end_user_id)));
    assert_eq!(created["status"], "active");
    assert_eq!(created["metadata"], json!({ "source": "checkout", "cart": 3, "vip": false }));
    assert!(created["updated_at"].as_str().unwrap().ends_with("+00:00"));
    let associated_at = registry_user(&stack, by_id()).await.associated_at.expect("associated");

    // A second conversation keeps the first instant.
    let again = json!({ "channel_id": channel_id, "end_user_id": end_user_id });
    ada.expect(Method::POST, "/api/v2/conversations", Some(again), StatusCode::CREATED).await;
    assert_eq!(registry_user(&stack, by_id()).await.associated_at, Some(associated_at));

    for path in [format!("/api/v2/conversations/{id}"), format!("/api/v2/conversations/{id}/")] {
        assert_eq!(ada.expect(Method::GET, &path, None, StatusCode::OK).await, created, "{path}");
    }
    let ended = ada.expect(Method::POST, &format!("/api/v2/conversations/{id}/end/"), None, StatusCode::OK).await;
    assert_eq!(ended["status"], "ended");
    assert_eq!(
        (&ended["id"], &ended["end_user_id"], &ended["metadata"]),
        (&created["id"], &created["end_user_id"], &created["metadata"])
    );
    let twice = ada.expect(Method::POST, &format!("/api/v2/conversations/{id}/end"), None, StatusCode::OK).await;
    assert_eq!(twice, ended, "ending an ended conversation changes nothing");
    assert_eq!(ada.expect(Method::GET, &format!("/api/v2/conversations/{id}"), None, StatusCode::OK).await, ended);
}

#[tokio::test]
async fn a_conversation_without_an_end_user_creates_one_associated() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let ada = Ada::of(&stack);
    let channel_id = id_of(&ada.channel("web").await, "id");
    let created = ada.expect(
        Method::POST,
        "/api/v2/conversations",
        Some(json!({ "channel_id": channel_id })),
        StatusCode::CREATED,
    );
    let created = created.await;
    assert_eq!(created["metadata"], json!({}));
    let end_user_id = id_of(&created, "end_user_id");
    let user = registry_user(&stack, registry_pb::user_lookup::Key::Id(end_user_id.clone())).await;
    assert_eq!(user.origin(), registry_pb::Origin::Conversation);
    assert!(user.associated_at.is_some(), "associated by its conversation");
    let end_user = ada.expect(Method::GET, &format!("/api/v2/end-users/{end_user_id}"), None, StatusCode::OK).await;
    assert_eq!(end_user["end_user_id"], end_user_id.as_str());
}

#[tokio::test]
async fn references_that_name_nothing_are_422_and_create_nothing() {
    let stack = spawn_stack(Backend::Postgres, false).await;
    let (ada, other) = (Ada::of(&stack), Ada { stack: &stack, token: stack.second_application().await });
    let channel_id = id_of(&ada.channel("web").await, "id");
    let end_user = ada.expect(Method::POST, "/api/v2/end-users/", Some(json!({})), StatusCode::CREATED).await;
    let end_user_id = id_of(&end_user, "end_user_id");
    let their_channel = id_of(&other.channel("theirs").await, "id");
    let their_user = other.expect(Method::POST, "/api/v2/end-users/", Some(json!({})), StatusCode::CREATED).await;
    let their_user = id_of(&their_user, "end_user_id");

    let unprocessable = [
        json!({ "channel_id": platform::ids::new_id(), "end_user_id": end_user_id }),
        json!({ "channel_id": "nope", "end_user_id": end_user_id }),
        json!({ "channel_id": their_channel, "end_user_id": end_user_id }),
        json!({ "channel_id": channel_id, "end_user_id": platform::ids::new_id() }),
        json!({ "channel_id": channel_id, "end_user_id": "nope" }),
        json!({ "channel_id": channel_id, "end_user_id": their_user }),
        // Without an end user: the channel is checked before one is created.
        json!({ "channel_id": platform::ids::new_id() }),
        json!({ "channel_id": their_channel }),
    ];
    for body in unprocessable {
        let error = ada
            .refused(
                Method::POST,
                "/api/v2/conversations/",
                Some(body.to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable_entity",
            )
            .await;
        let message = error["errors"][0]["message"].as_str().unwrap();
        let named = if body["end_user_id"].is_string() && body["channel_id"] == json!(channel_id) {
            "end_user_id"
        } else {
            "channel_id"
        };
        assert!(message.starts_with(named), "{body}: {message}");
    }
    let end_users = ada.expect(Method::GET, "/api/v2/end-users/", None, StatusCode::OK).await;
    assert_eq!(end_users["data"].as_array().unwrap().len(), 1, "no end user was created by a refused conversation");
    let user = registry_user(&stack, registry_pb::user_lookup::Key::Id(end_user_id)).await;
    assert_eq!(user.associated_at, None, "a refused conversation associates nobody");
}

#[tokio::test]
async fn mistakes_get_adas_error_bodies() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let ada = Ada::of(&stack);
    let channel_id = id_of(&ada.channel("web").await, "id");
    let invalid = [
        ("/api/v2/channels/", json!({ "name": "n", "modality": "voice" }), "modality"),
        ("/api/v2/channels", json!({ "name": "n", "modality": 1 }), "modality"),
        ("/api/v2/channels", json!({ "description": "no name" }), "name"),
        ("/api/v2/channels/", json!({ "name": "n", "metadata": { "a": [1] } }), "metadata.a"),
        ("/api/v2/channels/", json!({ "name": "x".repeat(256) }), "name"),
        ("/api/v2/conversations/", json!({ "end_user_id": platform::ids::new_id() }), "channel_id"),
        ("/api/v2/conversations", json!({ "channel_id": 7 }), "channel_id"),
        ("/api/v2/conversations/", json!({ "channel_id": channel_id, "end_user_id": false }), "end_user_id"),
        (
            "/api/v2/conversations/",
            json!({ "channel_id": channel_id, "metadata": { "nested": { "a": 1 } } }),
            "metadata.nested",
        ),
        ("/api/v2/conversations/", json!({ "channel_id": channel_id, "metadata": { "none": null } }), "metadata.none"),
        ("/api/v2/conversations/", json!({ "channel_id": channel_id, "metadata": "flat" }), "metadata"),
    ];
    for (path, body, parameter) in invalid {
        let error =
            ada.refused(Method::POST, path, Some(body.to_string()), StatusCode::BAD_REQUEST, "validation_error").await;
        assert_eq!(error["errors"][0]["details"][0]["parameter"], parameter, "{body}: {error}");
        assert_eq!(error["errors"][0]["details"][0]["location"], "body");
    }
    let not_json = ada.refused(
        Method::POST,
        "/api/v2/conversations/",
        Some("[1".into()),
        StatusCode::BAD_REQUEST,
        "validation_error",
    );
    not_json.await;
    let big = json!({ "channel_id": channel_id, "metadata": { "k": "v".repeat(5000) } }).to_string();
    ada.refused(Method::POST, "/api/v2/conversations/", Some(big), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        .await;
    let big = json!({ "name": "n", "description": "d".repeat(5000) }).to_string();
    ada.refused(Method::POST, "/api/v2/channels", Some(big), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let channels = ada.expect(Method::GET, "/api/v2/channels/", None, StatusCode::OK).await;
    assert_eq!(channels["data"].as_array().unwrap().len(), 1, "no refused channel was created");

    let missing = platform::ids::new_id();
    for (method, path) in [
        (Method::GET, format!("/api/v2/conversations/{missing}")),
        (Method::GET, "/api/v2/conversations/nope/".to_owned()),
        (Method::POST, format!("/api/v2/conversations/{missing}/end/")),
        (Method::POST, format!("/api/v2/conversations/{missing}/end")),
    ] {
        ada.refused(method, &path, None, StatusCode::NOT_FOUND, "not_found").await;
    }
    let anonymous = Ada { stack: &stack, token: String::new() };
    anonymous.refused(Method::GET, "/api/v2/channels/", None, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn another_applications_token_sees_nothing() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let (ada, other) = (Ada::of(&stack), Ada { stack: &stack, token: stack.second_application().await });
    let channel_id = id_of(&ada.channel("web").await, "id");
    let created = ada.expect(
        Method::POST,
        "/api/v2/conversations/",
        Some(json!({ "channel_id": channel_id })),
        StatusCode::CREATED,
    );
    let id = id_of(&created.await, "id");

    other
        .refused(Method::GET, &format!("/api/v2/channels/{channel_id}"), None, StatusCode::NOT_FOUND, "not_found")
        .await;
    assert_eq!(other.expect(Method::GET, "/api/v2/channels", None, StatusCode::OK).await["data"], json!([]));
    other.refused(Method::GET, &format!("/api/v2/conversations/{id}"), None, StatusCode::NOT_FOUND, "not_found").await;
    let end = format!("/api/v2/conversations/{id}/end/");
    other.refused(Method::POST, &end, None, StatusCode::NOT_FOUND, "not_found").await;
    let mine = ada.expect(Method::GET, &format!("/api/v2/conversations/{id}"), None, StatusCode::OK).await;
    assert_eq!(mine["status"], "active", "another application cannot end it");
}

/// The Sunshine shape over gRPC: participants named by external id are upserted (origin
/// conversation) and associated; a user named twice takes one place.
#[tokio::test]
async fn participants_named_by_external_id_are_upserted_and_associated() {
    let stack = spawn_stack(Backend::Postgres, false).await;
    let ada = Ada::of(&stack);
    let known =
        ada.expect(Method::POST, "/api/v2/end-users/", Some(json!({ "external_id": "crm-7" })), StatusCode::CREATED);
    let known = id_of(&known.await, "end_user_id");
    let mut context = ContextServiceClient::new(test_support::channel(stack.stack().context).await);
    let by_external =
        |id: &str| context_pb::ParticipantRef { key: Some(context_pb::participant_ref::Key::ExternalId(id.into())) };
    let request = context_pb::CreateConversationRequest {
        app_id: stack.app_id.clone(),
        kind: context_pb::ConversationKind::Group.into(),
        participants: vec![by_external("sun-1"), by_external("CRM-7"), by_external("Sun-1")],
        display_name: Some("Team".into()),
        ..Default::default()
    };
    let answer = context.create_conversation(request).await.expect("created").into_inner();
    let new_user = registry_user(&stack, registry_pb::user_lookup::Key::ExternalId("sun-1".into())).await;
    assert_eq!(new_user.origin(), registry_pb::Origin::Conversation);
    assert!(new_user.associated_at.is_some());
    assert!(registry_user(&stack, registry_pb::user_lookup::Key::Id(known.clone())).await.associated_at.is_some());
    let placed: Vec<String> = answer.participants.iter().map(|p| p.user_id.clone()).collect();
    assert_eq!(placed, [new_user.id.clone(), known], "in the order given, once each");

    let conversation_id = answer.conversation.expect("conversation").id;
    let page = |page_token: String| context_pb::ListParticipantsRequest {
        app_id: stack.app_id.clone(),
        conversation_id: conversation_id.clone(),
        page_token,
        page_size: 1,
    };
    let first = context.list_participants(page(String::new())).await.unwrap().into_inner();
    let second = context.list_participants(page(first.next_page_token.clone())).await.unwrap().into_inner();
    assert_eq!(first.participants[0].user_id, new_user.id);
    assert_eq!(second.participants.len(), 1);
    assert_eq!(second.next_page_token, "", "two participants, two pages");
}

/// Joining a group conversation upserts and associates the user, once; leaving removes it;
/// personal conversations keep their one participant.
#[tokio::test]
async fn participants_join_and_leave_group_conversations() {
    let stack = spawn_stack(Backend::Sqlite, false).await;
    let mut context = ContextServiceClient::new(test_support::channel(stack.stack().context).await);
    let by_external =
        |id: &str| context_pb::ParticipantRef { key: Some(context_pb::participant_ref::Key::ExternalId(id.into())) };
    let create = |kind: context_pb::ConversationKind| context_pb::CreateConversationRequest {
        app_id: stack.app_id.clone(),
        kind: kind.into(),
        participants: vec![by_external("owner")],
        ..Default::default()
    };
    let group = context.create_conversation(create(context_pb::ConversationKind::Group)).await.unwrap().into_inner();
    let group_id = group.conversation.unwrap().id;
    let join = |conversation_id: &str, who: &str| context_pb::JoinConversationRequest {
        app_id: stack.app_id.clone(),
        conversation_id: conversation_id.to_owned(),
        participant: Some(by_external(who)),
    };
    let joined = context.join_conversation(join(&group_id, "guest")).await.unwrap().into_inner();
    assert!(joined.joined);
    let guest = registry_user(&stack, registry_pb::user_lookup::Key::ExternalId("guest".into())).await;
    assert_eq!(joined.participant.as_ref().unwrap().user_id, guest.id);
    assert!(guest.associated_at.is_some(), "joining associates, as creating does");
    let again = context.join_conversation(join(&group_id, "GUEST")).await.unwrap().into_inner();
    assert!(!again.joined, "once");

    let leave = |who: &str| context_pb::LeaveConversationRequest {
        app_id: stack.app_id.clone(),
        conversation_id: group_id.clone(),
        participant: Some(by_external(who)),
    };
    context.leave_conversation(leave("guest")).await.unwrap();
    assert_eq!(context.leave_conversation(leave("guest")).await.unwrap_err().code(), tonic::Code::NotFound);
    assert_eq!(context.leave_conversation(leave("nobody")).await.unwrap_err().code(), tonic::Code::NotFound);
    let listed = context
        .list_participants(context_pb::ListParticipantsRequest {
            app_id: stack.app_id.clone(),
            conversation_id: group_id.clone(),
            page_token: String::new(),
            page_size: 10,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.participants.len(), 1, "the owner stays");

    let personal =
        context.create_conversation(create(context_pb::ConversationKind::Personal)).await.unwrap().into_inner();
    let personal_id = personal.conversation.unwrap().id;
    let refused = context.join_conversation(join(&personal_id, "guest")).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let missing = context.join_conversation(join(&platform::ids::new_id(), "guest")).await.unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
}
