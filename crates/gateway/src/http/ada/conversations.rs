//! `/api/v2/conversations`: create, get, end. A conversation is context-service's personal
//! conversation on one of the application's channels, its one participant the end user; creating
//! it marks the end user associated, which keeps it from the reaper of unassociated end users.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use platform::{ApiError, ErrorCode};
use proto::{context::v1 as pb, registry::v1 as registry};
use serde::Serialize;
use serde_json::Value;

use super::{AdaBody, AdaCaller, AdaError, metadata_value, refused, time};
use crate::clients::{Clients, RequestId};
use crate::http::error::incomplete;

/// What a create body asks for, checked in Ada's terms.
#[derive(Debug)]
struct NewConversation {
    channel_id: String,
    /// Absent: a new end user is created for the conversation.
    end_user_id: Option<String>,
    metadata_json: String,
}

fn new_conversation(body: &AdaBody) -> Result<NewConversation, AdaError> {
    Ok(NewConversation {
        channel_id: body.required_string("channel_id")?,
        end_user_id: body.optional_string("end_user_id")?,
        metadata_json: body.metadata()?,
    })
}

/// A reference inside the body (not the resource of the path) that names nothing: 422.
fn unprocessable(message: &str) -> AdaError {
    AdaError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        kind: "unprocessable_entity",
        message: message.into(),
        details: None,
        retry_after: None,
    }
}

/// context-service's answer to a create: a channel or participant it cannot find is the
/// caller's `channel_id` or `end_user_id`.
fn refused_reference(status: tonic::Status) -> AdaError {
    let error = ApiError::from_status(&status);
    match (error.code, error.field.as_deref()) {
        (ErrorCode::NotFound | ErrorCode::UserNotFound, Some("channel_id")) => {
            unprocessable("channel_id does not name a channel of this application.")
        }
        (ErrorCode::NotFound | ErrorCode::UserNotFound, Some("participants")) => {
            unprocessable("end_user_id does not name an end user of this application.")
        }
        _ => refused(status),
    }
}

/// Ada's conversation resource.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ada::Conversation)]
pub struct Conversation {
    id: String,
    channel_id: Option<String>,
    /// `null` when the end user was deleted.
    end_user_id: Option<String>,
    /// `active` or `ended`.
    status: &'static str,
    /// ISO 8601 with offset.
    created_at: Option<String>,
    updated_at: Option<String>,
    #[schema(value_type = Object)]
    metadata: Value,
}

/// `POST /api/v2/conversations`.
#[derive(utoipa::ToSchema)]
#[schema(as = ada::NewConversation)]
#[allow(dead_code)] // described; read by `new_conversation`
pub struct NewConversationBody {
    channel_id: String,
    /// Absent: a new end user is created.
    end_user_id: Option<String>,
    /// At most 4 KB; string keys, string, number and boolean values.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

fn resource(conversation: pb::Conversation, end_user_id: Option<String>) -> Conversation {
    let status = match conversation.status() {
        pb::ConversationStatus::Ended => "ended",
        _ => "active",
    };
    Conversation {
        id: conversation.id,
        channel_id: conversation.channel_id,
        end_user_id,
        status,
        created_at: time(conversation.created_at),
        updated_at: time(conversation.updated_at),
        metadata: metadata_value(&conversation.metadata_json),
    }
}

/// A new end user for a conversation that names none; checks the channel first, so a request
/// bound to fail creates nobody.
async fn new_end_user(
    clients: &Clients,
    request_id: &RequestId,
    app_id: &str,
    channel_id: &str,
) -> Result<String, AdaError> {
    let request = pb::GetChannelRequest { app_id: app_id.to_owned(), channel_id: channel_id.to_owned() };
    clients.context.clone().get_channel(request_id.grpc(request)).await.map_err(refused_reference)?;
    // An Ada end user: should the conversation still fail, the reaper takes it.
    let user = registry::NewUser {
        origin: registry::Origin::Conversation.into(),
        expires_unassociated: true,
        ..Default::default()
    };
    let request = registry::CreateUserRequest { app_id: app_id.to_owned(), user: Some(user) };
    let answer = clients.registry.clone().create_user(request_id.grpc(request)).await.map_err(refused)?;
    Ok(answer.into_inner().user.ok_or_else(incomplete)?.id)
}

/// `POST /api/v2/conversations/`: 201 with the new conversation, its end user associated.
#[utoipa::path(post, path = "/api/v2/conversations", tag = "Ada", security(("ada_bearer" = [])),
    request_body(content = NewConversationBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The new conversation; its end user is associated (kept from the reaper)", body = Conversation),
        (status = 422, description = "`channel_id` or `end_user_id` names nothing of this application", body = super::error::ErrorBody),
        super::error::Errors))]
pub async fn create(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    body: AdaBody,
) -> Result<Response, AdaError> {
    let new = new_conversation(&body)?;
    let app_id = caller.app_id.as_str();
    let end_user_id = match new.end_user_id {
        Some(id) => id,
        None => new_end_user(&clients, &request_id, app_id, &new.channel_id).await?,
    };
    let request = pb::CreateConversationRequest {
        app_id: app_id.to_owned(),
        kind: pb::ConversationKind::Personal.into(),
        participants: vec![pb::ParticipantRef { key: Some(pb::participant_ref::Key::UserId(end_user_id)) }],
        display_name: None,
        description: None,
        metadata_json: new.metadata_json,
        channel_id: Some(new.channel_id),
        agent_id: None,
    };
    let answer =
        clients.context.clone().create_conversation(request_id.grpc(request)).await.map_err(refused_reference)?;
    let answer = answer.into_inner();
    let end_user_id = answer.participants.into_iter().next().map(|p| p.user_id);
    Ok((StatusCode::CREATED, Json(resource(answer.conversation.ok_or_else(incomplete)?, end_user_id))).into_response())
}

/// The end user of a conversation: its first participant (none when that user was deleted).
async fn end_user_of(
    clients: &Clients,
    request_id: &RequestId,
    app_id: &str,
    conversation_id: &str,
) -> Result<Option<String>, AdaError> {
    let request = pb::ListParticipantsRequest {
        app_id: app_id.to_owned(),
        conversation_id: conversation_id.to_owned(),
        page_token: String::new(),
        page_size: 1,
    };
    let page = clients.context.clone().list_participants(request_id.grpc(request)).await.map_err(refused)?;
    Ok(page.into_inner().participants.into_iter().next().map(|p| p.user_id))
}

/// `GET /api/v2/conversations/{conversation_id}`
#[utoipa::path(get, path = "/api/v2/conversations/{conversation_id}", tag = "Ada", security(("ada_bearer" = [])), params(("conversation_id" = String, Path, description = "The conversation's id")),
    responses((status = 200, description = "The conversation", body = Conversation), super::error::Errors))]
pub async fn view(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(conversation_id): Path<String>,
) -> Result<Json<Conversation>, AdaError> {
    let app_id = caller.app_id.as_str().to_owned();
    let request = pb::GetConversationRequest { app_id: app_id.clone(), conversation_id: conversation_id.clone() };
    let mut context = clients.context.clone();
    let (conversation, end_user_id) = tokio::join!(
        context.get_conversation(request_id.grpc(request)),
        end_user_of(&clients, &request_id, &app_id, &conversation_id),
    );
    let conversation = conversation.map_err(refused)?.into_inner().conversation.ok_or_else(incomplete)?;
    Ok(Json(resource(conversation, end_user_id?)))
}

/// `POST /api/v2/conversations/{conversation_id}/end/`: status `ended`; ending an ended
/// conversation answers it unchanged.
#[utoipa::path(post, path = "/api/v2/conversations/{conversation_id}/end", tag = "Ada", security(("ada_bearer" = [])), params(("conversation_id" = String, Path, description = "The conversation's id")),
    responses((status = 200, description = "Ended (ending it again answers it unchanged)", body = Conversation), super::error::Errors))]
pub async fn end(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    Path(conversation_id): Path<String>,
) -> Result<Json<Conversation>, AdaError> {
    let app_id = caller.app_id.as_str().to_owned();
    let request = pb::EndConversationRequest { app_id: app_id.clone(), conversation_id: conversation_id.clone() };
    let mut context = clients.context.clone();
    let (conversation, end_user_id) = tokio::join!(
        context.end_conversation(request_id.grpc(request)),
        end_user_of(&clients, &request_id, &app_id, &conversation_id),
    );
    let conversation = conversation.map_err(refused)?.into_inner().conversation.ok_or_else(incomplete)?;
    Ok(Json(resource(conversation, end_user_id?)))
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use serde_json::{Value, json};

    use super::*;

    /// The error bodies channels and conversations add, pinned: status and body.
    #[test]
    fn error_bodies() {
        let status = |err: ApiError| tonic::Status::from(err);
        let conversation = |body: Value| new_conversation(&AdaBody::from_value(body)).unwrap_err();
        let channel = |body: Value| super::super::channels::new_channel("app", &AdaBody::from_value(body)).unwrap_err();
        let cases: Vec<(&str, AdaError)> = vec![
            (
                "unknown channel_id",
                refused_reference(status(
                    ApiError::new(ErrorCode::NotFound, "channel not found").with_field("channel_id"),
                )),
            ),
            (
                "unknown end_user_id",
                refused_reference(status(
                    ApiError::new(ErrorCode::UserNotFound, "participant not found").with_field("participants"),
                )),
            ),
            ("unknown conversation", refused(status(ApiError::new(ErrorCode::NotFound, "conversation not found")))),
            ("missing channel_id", conversation(json!({ "end_user_id": "x" }))),
            ("channel_id not a string", conversation(json!({ "channel_id": 7 }))),
            ("nested metadata", conversation(json!({ "channel_id": "c", "metadata": { "a": { "b": 1 } } }))),
            ("metadata not an object", conversation(json!({ "channel_id": "c", "metadata": [1] }))),
            ("missing name", channel(json!({ "modality": "email" }))),
            ("bad modality", channel(json!({ "name": "n", "modality": "voice" }))),
            (
                "metadata too large, from the service",
                refused(status(
                    ApiError::new(ErrorCode::InvalidArgument, "metadata is invalid: is larger than 4 KB")
                        .with_field("metadata"),
                )),
            ),
        ];
        let rendered: Vec<Value> = cases
            .into_iter()
            .map(|(case, err)| {
                let response = err.into_response();
                let status = response.status().as_u16();
                json!({ "case": case, "status": status, "body": crate::http::body_json(response) })
            })
            .collect();
        insta::assert_json_snapshot!(rendered);
    }
}
