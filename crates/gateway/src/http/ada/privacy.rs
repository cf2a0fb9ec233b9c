//! `POST /api/v1/data-subject-request`: Ada's erasure request. Every end user of the
//! application with the email (profile or member email, case-insensitively), or named by a
//! `chatter_id` (its `end_user_id`), is erased from every service by the registry's worker; the
//! answer comes at once, as Ada's does. The request keeps no personal data once done.

use axum::{Json, extract::State};
use proto::registry::v1 as pb;
use serde::Serialize;
use serde_json::Value;

use super::{AdaBody, AdaCaller, AdaError, error::Errors};
use crate::clients::{Clients, RequestId};

/// The answer: the email the request named, if any.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ada::DataSubjectRequestAnswer)]
pub struct Answer {
    email: Option<String>,
}

/// `POST /api/v1/data-subject-request`.
#[derive(utoipa::ToSchema)]
#[schema(as = ada::DataSubjectRequest)]
#[allow(dead_code)] // described; read field by field
pub struct DataSubjectRequest {
    /// `ERASURE`.
    r#type: String,
    email: Option<String>,
    /// `{ "type": "email" | "chatter_id", "value": "..." }`.
    #[schema(value_type = Option<Vec<Object>>)]
    identifiers: Option<Vec<Value>>,
}

fn subject(key: pb::privacy_subject::Key) -> pb::PrivacySubject {
    pb::PrivacySubject { key: Some(key) }
}

/// The subjects a request names, in Ada's terms; at least one.
fn subjects(body: &AdaBody) -> Result<(Option<String>, Vec<pb::PrivacySubject>), AdaError> {
    use pb::privacy_subject::Key;
    if body.required_string("type")? != "ERASURE" {
        return Err(AdaError::validation("type", "body", "type must be ERASURE"));
    }
    let email = body.optional_string("email")?;
    let mut subjects: Vec<pb::PrivacySubject> = email.iter().map(|e| subject(Key::Email(e.clone()))).collect();
    match body.get("identifiers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(identifiers)) => {
            for (at, identifier) in identifiers.iter().enumerate() {
                let parameter = format!("identifiers[{at}]");
                let text = |key: &str| identifier.get(key).and_then(Value::as_str).map(str::to_owned);
                let (Some(kind), Some(value)) = (text("type"), text("value")) else {
                    return Err(AdaError::validation(&parameter, "body", "an identifier has a type and a value"));
                };
                subjects.push(subject(match kind.as_str() {
                    "email" => Key::Email(value),
                    "chatter_id" => Key::User(pb::UserLookup { key: Some(pb::user_lookup::Key::Id(value)) }),
                    _ => return Err(AdaError::validation(&parameter, "body", "type must be email or chatter_id")),
                }));
            }
        }
        Some(_) => return Err(AdaError::validation("identifiers", "body", "identifiers must be a list")),
    }
    if subjects.is_empty() {
        return Err(AdaError::validation("email", "body", "an email or identifiers are required"));
    }
    Ok((email, subjects))
}

/// `POST /api/v1/data-subject-request`
#[utoipa::path(post, path = "/api/v1/data-subject-request", tag = "Ada", security(("ada_bearer" = [])),
    request_body(content = DataSubjectRequest, content_type = "application/json"),
    responses((status = 200, description = "Ingested: the end users are erased shortly", body = Answer), Errors))]
pub async fn erase(
    AdaCaller(caller): AdaCaller,
    request_id: RequestId,
    State(clients): State<Clients>,
    body: AdaBody,
) -> Result<Json<Answer>, AdaError> {
    let (email, subjects) = subjects(&body)?;
    let request = pb::CreatePrivacyRequestRequest {
        app_id: caller.app_id.as_str().to_owned(),
        action: pb::PrivacyAction::Erase.into(),
        subjects,
        options: Default::default(),
    };
    clients.registry.clone().create_privacy_request(request_id.grpc(request)).await.map_err(super::refused)?;
    Ok(Json(Answer { email }))
}
