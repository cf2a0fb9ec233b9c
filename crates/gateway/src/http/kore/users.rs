//! `POST /api/public/users`: up to 1,000 users; the valid ones are created through the
//! registry's BatchCreateUsers (each in its own transaction), the invalid ones reported in
//! `failedUserDetails` with Kore's reason shape.

use axum::{Json, body::Bytes, extract::State, extract::rejection::BytesRejection, http::StatusCode};
use proto::registry::v1 as pb;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{
    KoreAdmin, KoreError,
    member::{KoreRole, KoreTask, KoreUser, UserInfo},
};
use crate::clients::{Clients, RequestId};

/// Kore's per-request limit; more is refused whole before anything is written.
pub const MAX_USERS: usize = 1000;

/// Why one user was not created: Kore's `message` (`INVALID_EMAIL`, `DUPLICATE_USER`...) and
/// the status it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    status: u16,
    message: String,
}

impl Failure {
    fn invalid(field: &str) -> Self {
        Self { status: 400, message: format!("INVALID_{}", field.to_uppercase()) }
    }

    fn reason(&self) -> Value {
        json!({
            "statusCode": self.status,
            "message": self.message,
            "errors": [ { "msg": self.message, "code": self.status } ],
        })
    }
}

fn strings(value: Option<&Value>, field: &str) -> Result<Vec<String>, Failure> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            items.iter().map(|item| item.as_str().map(str::to_owned).ok_or_else(|| Failure::invalid(field))).collect()
        }
        Some(_) => Err(Failure::invalid(field)),
    }
}

fn optional_string(object: &Map<String, Value>, key: &str, field: &str) -> Result<Option<String>, Failure> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Failure::invalid(field)),
    }
}

fn flag(object: &Map<String, Value>, key: &str) -> Result<Option<bool>, Failure> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Failure::invalid(key)),
    }
}

/// One of Kore's users, read field by field so a bad one is named in Kore's terms.
fn member(item: &Value) -> Result<pb::NewUser, Failure> {
    let item = item.as_object().ok_or_else(|| Failure::invalid("user"))?;
    let info = item.get("userInfo").and_then(Value::as_object).ok_or_else(|| Failure::invalid("userInfo"))?;
    let email = optional_string(info, "emailId", "email")?
        .filter(|e| !e.is_empty())
        .ok_or_else(|| Failure::invalid("email"))?;
    let roles = match item.get("roles") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(roles)) => roles
            .iter()
            .map(|role| {
                let role = role.as_object().ok_or_else(|| Failure::invalid("roles"))?;
                let role_id = optional_string(role, "roleId", "roles")?.ok_or_else(|| Failure::invalid("roles"))?;
                Ok(KoreRole { role_id, bot_id: optional_string(role, "botId", "roles")? })
            })
            .collect::<Result<_, Failure>>()?,
        Some(_) => return Err(Failure::invalid("roles")),
    };
    let bot_tasks = match item.get("assignBotTasks") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(tasks)) => tasks
            .iter()
            .map(|task| {
                let task = task.as_object().ok_or_else(|| Failure::invalid("assignBotTasks"))?;
                let stream_id = optional_string(task, "streamId", "assignBotTasks")?
                    .ok_or_else(|| Failure::invalid("assignBotTasks"))?;
                Ok(KoreTask { stream_id, dialogs: strings(task.get("dialogs"), "assignBotTasks")? })
            })
            .collect::<Result<_, Failure>>()?,
        Some(_) => return Err(Failure::invalid("assignBotTasks")),
    };
    let user = KoreUser {
        user_info: UserInfo {
            email_id: Some(email),
            org_user_id: optional_string(info, "orgUserId", "orgUserId")?,
            first_name: optional_string(info, "firstName", "firstName")?,
            last_name: optional_string(info, "lastName", "lastName")?,
        },
        groups: strings(item.get("groups"), "groups")?,
        roles,
        assign_bot_tasks: bot_tasks,
        can_create_bot: flag(item, "canCreateBot")?,
        is_developer: flag(item, "isDeveloper")?,
        send_email: flag(item, "sendEmail")?,
    };
    Ok(user.into_new_user())
}

/// A registry refusal of one user in Kore's words.
fn refusal(error: pb::ItemError) -> Failure {
    let field = error.field.as_str();
    match error.code.as_str() {
        "already_exists" | "external_id_taken" | "user_id_taken" => {
            Failure { status: 409, message: "DUPLICATE_USER".into() }
        }
        _ if matches!(field, "email" | "email_id") => Failure::invalid("email"),
        "internal" | "unavailable" => Failure { status: 500, message: "INTERNAL_ERROR".into() },
        _ => Failure::invalid(match field {
            "org_user_id" => "orgUserId",
            "given_name" => "firstName",
            "surname" => "lastName",
            "bot_tasks" | "stream_id" | "dialogs" => "assignBotTasks",
            "roles" | "role_id" | "bot_id" => "roles",
            "groups" => "groups",
            _ => "user",
        }),
    }
}

/// `POST /api/public/users`.
#[derive(utoipa::ToSchema)]
#[schema(as = kore::CreateUsers)]
#[allow(dead_code)] // described, not built: the body is read field by field (`member`)
pub struct CreateUsers {
    /// 1 to 1,000 users.
    users: Vec<KoreUser>,
}

/// The answer: every user created, or the ones that were not, each with its reason.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = kore::CreateUsersAnswer)]
pub enum CreateUsersAnswer {
    Created {
        /// `Users are created Successfully`.
        msg: &'static str,
    },
    Failed {
        #[serde(rename = "failedUserDetails")]
        failed_user_details: Vec<FailedUser>,
    },
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = kore::FailedUser)]
pub struct FailedUser {
    /// The `userInfo` sent, with `status: "failure"` and `reason: { statusCode, message, errors }`.
    #[serde(rename = "userInfo")]
    #[schema(value_type = Object)]
    user_info: Map<String, Value>,
}

/// `{ "users": [...] }` -> `{ "msg": "Users are created Successfully" }`, or 200 with
/// `failedUserDetails` naming each user that was not created (the others are kept).
#[utoipa::path(post, path = "/api/public/users", tag = "Kore.ai", security(("kore_auth" = [])),
    request_body(content = CreateUsers, content_type = "application/json"),
    responses((status = 200, description = "Every valid user created; the others named with their reason", body = CreateUsersAnswer), super::error::Errors))]
pub async fn create(
    KoreAdmin(caller): KoreAdmin,
    request_id: RequestId,
    State(clients): State<Clients>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CreateUsersAnswer>, KoreError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            KoreError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: "The request body is too large.".into(),
                retry_after: None,
            }
        } else {
            KoreError::bad_request("the body could not be read")
        }
    })?;
    let body: Value =
        serde_json::from_slice(&bytes).map_err(|_| KoreError::bad_request("the body is not valid JSON"))?;
    let users = body
        .get("users")
        .and_then(Value::as_array)
        .ok_or_else(|| KoreError::bad_request("the body must be an object with a users array"))?;
    if users.is_empty() {
        return Err(KoreError::bad_request("users must not be empty"));
    }
    if users.len() > MAX_USERS {
        return Err(KoreError::bad_request(format!(
            "at most {MAX_USERS} users per request; this one has {}",
            users.len()
        )));
    }
    let parsed: Vec<Result<pb::NewUser, Failure>> = users.iter().map(member).collect();
    let (valid_at, valid): (Vec<usize>, Vec<pb::NewUser>) =
        parsed.iter().enumerate().filter_map(|(i, p)| p.as_ref().ok().map(|u| (i, u.clone()))).unzip();
    let mut failures: Vec<(usize, Failure)> =
        parsed.into_iter().enumerate().filter_map(|(i, p)| p.err().map(|f| (i, f))).collect();
    if !valid.is_empty() {
        let request = pb::BatchCreateUsersRequest { app_id: caller.app_id.as_str().to_owned(), users: valid };
        let results = clients
            .registry
            .clone()
            .batch_create_users(request_id.grpc(request))
            .await
            .map_err(|status| KoreError::from(platform::ApiError::from_status(&status)))?
            .into_inner()
            .results;
        for result in results {
            if let Some(pb::batch_item_result::Result::Error(error)) = result.result {
                let at = valid_at.get(result.index as usize).copied().unwrap_or_default();
                failures.push((at, refusal(error)));
            }
        }
    }
    if failures.is_empty() {
        return Ok(Json(CreateUsersAnswer::Created { msg: "Users are created Successfully" }));
    }
    failures.sort_by_key(|(at, _)| *at);
    let details = failures
        .into_iter()
        .map(|(at, failure)| {
            let mut user_info = users[at].get("userInfo").and_then(Value::as_object).cloned().unwrap_or_default();
            user_info.insert("status".into(), "failure".into());
            user_info.insert("reason".into(), failure.reason());
            FailedUser { user_info }
        })
        .collect();
    Ok(Json(CreateUsersAnswer::Failed { failed_user_details: details }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kore_users_become_members_or_name_their_mistake() {
        let full = json!({
            "userInfo": { "emailId": "a@example.com", "orgUserId": "o-1", "firstName": "A", "lastName": "B" },
            "groups": ["g1"], "roles": [ { "roleId": "r1", "botId": "st-1" }, { "roleId": "r2" } ],
            "assignBotTasks": [ { "streamId": "st-1", "dialogs": ["dg-1"] }, { "streamId": "st-2" } ],
            "canCreateBot": false, "sendEmail": false
        });
        let user = member(&full).unwrap();
        let m = user.member.unwrap();
        assert_eq!((m.email_id.as_deref(), m.org_user_id.as_deref()), (Some("a@example.com"), Some("o-1")));
        assert_eq!(m.roles[1], pb::RoleBinding { role_id: "r2".into(), bot_id: None });
        assert!(m.bot_tasks[1].dialogs.is_empty(), "no dialogs: every dialog");
        assert!(!m.can_create_bot && m.is_developer, "isDeveloper defaults to true");
        assert_eq!(m.activation, pb::ActivationState::Active as i32, "no email: active at once");
        assert_eq!(user.profile.unwrap().given_name.as_deref(), Some("A"));
        let pending = member(&json!({ "userInfo": { "emailId": "b@example.com" } })).unwrap();
        assert_eq!(pending.member.unwrap().activation, pb::ActivationState::Pending as i32);

        for (item, message) in [
            (json!({ "userInfo": {} }), "INVALID_EMAIL"),
            (json!({ "userInfo": { "emailId": 7 } }), "INVALID_EMAIL"),
            (json!({ "userInfo": { "emailId": "a@b.c" }, "groups": "g" }), "INVALID_GROUPS"),
            (json!({ "userInfo": { "emailId": "a@b.c" }, "roles": [ { "botId": "x" } ] }), "INVALID_ROLES"),
            (json!({ "userInfo": { "emailId": "a@b.c" }, "assignBotTasks": [ {} ] }), "INVALID_ASSIGNBOTTASKS"),
            (json!({ "userInfo": { "emailId": "a@b.c" }, "isDeveloper": "yes" }), "INVALID_ISDEVELOPER"),
            (json!("nope"), "INVALID_USER"),
        ] {
            assert_eq!(member(&item).unwrap_err().message, message, "{item}");
        }
        let duplicate =
            refusal(pb::ItemError { code: "already_exists".into(), message: "x".into(), field: "email_id".into() });
        assert_eq!((duplicate.status, duplicate.message.as_str()), (409, "DUPLICATE_USER"));
        let email =
            refusal(pb::ItemError { code: "invalid_argument".into(), message: "x".into(), field: "email_id".into() });
        assert_eq!(email.message, "INVALID_EMAIL");
    }
}
