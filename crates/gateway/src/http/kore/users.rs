//! `POST /api/public/users`: up to 1,000 users; the valid ones are created through the
//! registry's BatchCreateUsers (each in its own transaction), the invalid ones reported in
//! `failedUserDetails` with Kore's reason shape. Also what Update User shares with it: the
//! `users` array and the failures' report.

use axum::{Json, body::Bytes, extract::State, extract::rejection::BytesRejection};
use proto::registry::v1 as pb;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    KoreAdmin, KoreError, MAX_PER_REQUEST,
    failure::Failure,
    member::{KoreTask, KoreUser},
    read::{flag, optional_string, roles, strings, user_info},
};
use crate::clients::{Clients, RequestId};

/// One of Kore's users, read field by field so a bad one is named in Kore's terms.
fn member(item: &Value) -> Result<pb::NewUser, Failure> {
    let item = item.as_object().ok_or_else(|| Failure::invalid("user"))?;
    let mut info = user_info(item)?;
    info.email_id = Some(info.email_id.filter(|e| !e.is_empty()).ok_or_else(|| Failure::invalid("email"))?);
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
        user_info: info,
        groups: strings(item.get("groups"), "groups")?,
        roles: roles(item.get("roles"))?,
        assign_bot_tasks: bot_tasks,
        can_create_bot: flag(item, "canCreateBot")?,
        is_developer: flag(item, "isDeveloper")?,
        send_email: flag(item, "sendEmail")?,
    };
    Ok(user.into_new_user())
}

/// Each user's failure, by position in the request, as `failedUserDetails` reports it: the
/// `userInfo` sent with `status: "failure"` and the reason.
pub fn failed_users(users: &[Value], mut failures: Vec<(usize, Failure)>) -> Vec<FailedUser> {
    failures.sort_by_key(|(at, _)| *at);
    failures
        .into_iter()
        .map(|(at, failure)| {
            let mut user_info =
                users.get(at).and_then(|u| u.get("userInfo")).and_then(Value::as_object).cloned().unwrap_or_default();
            user_info.insert("status".into(), "failure".into());
            user_info.insert("reason".into(), failure.reason_value());
            FailedUser { user_info }
        })
        .collect()
}

/// The `users` array of a Create or Update User body: 1 to 1,000 of them, or the whole request
/// is refused before anything is written.
pub fn users_of(body: &Value) -> Result<&[Value], KoreError> {
    let users = body
        .get("users")
        .and_then(Value::as_array)
        .ok_or_else(|| KoreError::bad_request("the body must be an object with a users array"))?;
    if users.is_empty() {
        return Err(KoreError::bad_request("users must not be empty"));
    }
    if users.len() > MAX_PER_REQUEST {
        return Err(KoreError::bad_request(format!(
            "at most {MAX_PER_REQUEST} users per request; this one has {}",
            users.len()
        )));
    }
    Ok(users)
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
    /// The `userInfo` sent, with `status: "failure"` and `reason` (a `kore::Reason`).
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
    let body = super::json_body(body)?;
    let users = users_of(&body)?;
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
                failures.push((at, Failure::from_registry(&error)));
            }
        }
    }
    if failures.is_empty() {
        return Ok(Json(CreateUsersAnswer::Created { msg: "Users are created Successfully" }));
    }
    Ok(Json(CreateUsersAnswer::Failed { failed_user_details: failed_users(users, failures) }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
        let particulars = json!({ "userInfo": { "emailId": "c@example.com", "companyName": "Acme", "worknumber": "321",
            "suiteNo": "4B", "country": "PT" } });
        let info = member(&particulars).unwrap().member.unwrap().info.unwrap();
        let kept = (info.company_name, info.work_number, info.suite_no, info.country, info.city);
        assert_eq!(kept, (Some("Acme".into()), Some("321".into()), Some("4B".into()), Some("PT".into()), None));
        let pending = member(&json!({ "userInfo": { "emailId": "b@example.com" } })).unwrap();
        assert_eq!(pending.member.unwrap().activation, pb::ActivationState::Pending as i32);

        for (item, message) in [
            (json!({ "userInfo": {} }), "INVALID_EMAIL"),
            (json!({ "userInfo": { "emailId": 7 } }), "INVALID_EMAIL"),
            (json!({ "userInfo": { "emailId": "a@b.c" }, "groups": "g" }), "INVALID_GROUPS"),
            (json!({ "userInfo": { "emailId": "a@b.c" }, "roles": [ { "botId": "x" } ] }), "INVALID_ROLES"),
            (json!({ "userInfo": { "emailId": "a@b.c" }, "assignBotTasks": [ {} ] }), "INVALID_ASSIGNBOTTASKS"),
            (json!({ "userInfo": { "emailId": "a@b.c" }, "isDeveloper": "yes" }), "INVALID_ISDEVELOPER"),
            (json!({ "userInfo": { "emailId": "a@b.c", "jTitle": "CTO" } }), "INVALID_USERINFO"),
            (json!({ "userInfo": { "emailId": "a@b.c", "worknumber": 321 } }), "INVALID_WORKNUMBER"),
            (json!("nope"), "INVALID_USER"),
        ] {
            assert_eq!(member(&item).unwrap_err().message, message, "{item}");
        }
    }
}
