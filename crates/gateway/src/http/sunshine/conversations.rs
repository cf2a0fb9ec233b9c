//! `/v2/apps/{appId}/conversations`: create and get. A conversation is context-service's, which
//! upserts participants named by `userExternalId` through the registry (Roster creates an
//! unknown one where Sunshine answers 404) and marks every participant associated.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use proto::context::v1 as pb;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    SunshineCaller, SunshineError,
    body::{self, Sent, SunshineBody},
    resource,
};
use crate::clients::{Clients, RequestId};
use crate::http::error::incomplete;

/// Sunshine's limit on participants given at creation.
const MAX_PARTICIPANTS: usize = 10;

/// Sunshine's conversation resource.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = sunshine::Conversation)]
pub struct Conversation {
    id: String,
    /// Exactly `personal` or `sdkGroup`.
    r#type: &'static str,
    #[schema(value_type = Object)]
    metadata: Value,
    /// Always `false`: Roster keeps no default conversation per user.
    is_default: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_updated_at: Option<String>,
}

/// `{ "conversation": {...} }`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = sunshine::ConversationAnswer)]
pub struct ConversationAnswer {
    conversation: Conversation,
}

/// Sunshine's conversation resource; `type` is exactly `personal` or `sdkGroup`.
pub fn conversation(conversation: pb::Conversation) -> Conversation {
    let kind = match conversation.kind() {
        pb::ConversationKind::Group => "sdkGroup",
        _ => "personal",
    };
    let metadata = serde_json::from_str::<Value>(&conversation.metadata_json)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| Value::Object(Map::new()));
    Conversation {
        id: conversation.id,
        r#type: kind,
        metadata,
        is_default: false,
        display_name: conversation.display_name.filter(|v| !v.is_empty()),
        description: conversation.description.filter(|v| !v.is_empty()),
        created_at: conversation.created_at.as_ref().map(resource::time),
        last_updated_at: conversation.updated_at.as_ref().or(conversation.created_at.as_ref()).map(resource::time),
    }
}

/// One entry of `participants`: `userId` or `userExternalId` (`subscribeSDKClient` is accepted
/// and ignored: Roster has no SDK clients to subscribe).
pub fn participant(index: usize, value: &Value) -> Result<pb::ParticipantRef, SunshineError> {
    use pb::participant_ref::Key;
    let Value::Object(entry) = value else {
        return Err(SunshineError::bad_request(format!("participants[{index}] must be an object")));
    };
    let user_id = body::string(entry, &format!("participants[{index}].userId"), "userId", 1024)?.value();
    let external_id =
        body::string(entry, &format!("participants[{index}].userExternalId"), "userExternalId", 1024)?.value();
    body::boolean(entry, "subscribeSDKClient")?;
    let key = match (user_id, external_id) {
        (Some(id), None) => Key::UserId(id),
        (None, Some(external_id)) => Key::ExternalId(external_id),
        _ => {
            return Err(SunshineError::bad_request(format!(
                "participants[{index}] must have exactly one of userId and userExternalId"
            )));
        }
    };
    Ok(pb::ParticipantRef { key: Some(key) })
}

/// What a create body asks for, checked in Sunshine's terms (the service checks a personal
/// conversation has exactly one participant).
fn new_conversation(app_id: &str, body: &Map<String, Value>) -> Result<pb::CreateConversationRequest, SunshineError> {
    let kind = match body.get("type").and_then(Value::as_str) {
        Some("personal") => pb::ConversationKind::Personal,
        Some("sdkGroup") => pb::ConversationKind::Group,
        _ => return Err(SunshineError::bad_request("type must be personal or sdkGroup")),
    };
    let participants = match body.get("participants") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) if list.len() <= MAX_PARTICIPANTS => {
            list.iter().enumerate().map(|(i, p)| participant(i, p)).collect::<Result<_, _>>()?
        }
        Some(_) => return Err(SunshineError::bad_request("participants must be a list of at most 10")),
    };
    // Accepted for the client's sake; context-service has no icon to keep.
    body::string(body, "iconUrl", "iconUrl", 2048)?;
    let metadata_json = match body::metadata(body)? {
        Sent::Value(metadata) => Value::Object(metadata).to_string(),
        Sent::Absent | Sent::Null => String::new(),
    };
    Ok(pb::CreateConversationRequest {
        app_id: app_id.to_owned(),
        kind: kind.into(),
        participants,
        display_name: body::string(body, "displayName", "displayName", 100)?.value(),
        description: body::string(body, "description", "description", 100)?.value(),
        metadata_json,
        channel_id: None,
        agent_id: None,
    })
}

/// `POST .../conversations`: 201 `{ "conversation" }`. An unknown `userId` is 404.
#[utoipa::path(post, path = "/v2/apps/{app_id}/conversations", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application")),
    request_body(content = super::schema::NewConversation, content_type = "application/json"),
    responses((status = 201, description = "The new conversation; its participants are associated", body = ConversationAnswer), super::schema::Errors))]
pub async fn create(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    SunshineBody(body): SunshineBody,
) -> Result<(StatusCode, Json<ConversationAnswer>), SunshineError> {
    let request = new_conversation(caller.app_id.as_str(), &body)?;
    let created = clients.context.clone().create_conversation(request_id.grpc(request)).await?;
    let created = created.into_inner().conversation.ok_or_else(incomplete)?;
    Ok((StatusCode::CREATED, Json(ConversationAnswer { conversation: conversation(created) })))
}

/// `GET .../conversations/{conversationId}`
#[utoipa::path(get, path = "/v2/apps/{app_id}/conversations/{conversation_id}", tag = "Sunshine", security(("sunshine_basic" = []), ("sunshine_jwt" = [])), params(("app_id" = String, Path, description = "The application"), ("conversation_id" = String, Path, description = "The conversation's id")),
    responses((status = 200, description = "The conversation", body = ConversationAnswer), super::schema::Errors))]
pub async fn view(
    SunshineCaller(caller): SunshineCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path((_, conversation_id)): Path<(String, String)>,
) -> Result<Json<ConversationAnswer>, SunshineError> {
    let request = pb::GetConversationRequest { app_id: caller.app_id.as_str().to_owned(), conversation_id };
    let found = clients.context.clone().get_conversation(request_id.grpc(request)).await?;
    Ok(Json(ConversationAnswer { conversation: conversation(found.into_inner().conversation.ok_or_else(incomplete)?) }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refused(body: Value) -> (u16, String) {
        let err = new_conversation("app", body.as_object().unwrap()).unwrap_err();
        (err.status.as_u16(), err.title)
    }

    #[test]
    fn create_bodies() {
        let ok = new_conversation(
            "app",
            json!({ "type": "sdkGroup", "displayName": "Team", "metadata": { "lang": "en" }, "iconUrl": "https://i",
                    "participants": [{ "userExternalId": "a", "subscribeSDKClient": true }, { "userId": "5f7e0e2c1e7c7e000f0f9c3a" }] })
            .as_object()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(ok.kind(), pb::ConversationKind::Group);
        assert_eq!(ok.participants.len(), 2);
        assert_eq!(ok.metadata_json, r#"{"lang":"en"}"#);
        assert_eq!(ok.description, None);

        insta::assert_json_snapshot!(vec![
            refused(json!({})),
            refused(json!({ "type": "group" })),
            refused(json!({ "type": "sdkGroup", "participants": vec![json!({ "userExternalId": "a" }); 11] })),
            refused(json!({ "type": "sdkGroup", "participants": [{ "userId": "a", "userExternalId": "b" }] })),
            refused(json!({ "type": "sdkGroup", "participants": [{}] })),
            refused(json!({ "type": "sdkGroup", "participants": ["a"] })),
            refused(json!({ "type": "sdkGroup", "displayName": "" })),
            refused(json!({ "type": "sdkGroup", "description": "d".repeat(101) })),
            refused(json!({ "type": "sdkGroup", "metadata": { "nested": { "a": 1 } } })),
        ]);
    }

    #[test]
    fn resource_types_and_absent_names() {
        let conversation = |c| serde_json::to_value(conversation(c)).unwrap();
        let group = conversation(pb::Conversation {
            id: "c".into(),
            kind: pb::ConversationKind::Group.into(),
            display_name: Some(String::new()),
            created_at: Some(proto::timestamp_from_millis(0)),
            ..Default::default()
        });
        assert_eq!(group["type"], "sdkGroup");
        assert_eq!(group.get("displayName"), None);
        assert_eq!(group["metadata"], json!({}));
        assert_eq!(group["lastUpdatedAt"], "1970-01-01T00:00:00.000Z");
        let personal =
            conversation(pb::Conversation { kind: pb::ConversationKind::Personal.into(), ..Default::default() });
        assert_eq!(personal["type"], "personal");
    }
}
